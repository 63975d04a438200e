/**
 * Kernel state of a sandbox's network namespace as plain strings, read with `ip -json` entered
 * through the netns path the runtime reports (containerd's netns are not in /var/run/netns, so
 * `ip -n` cannot name them; `nsenter --net=<path>` can).
 */
import {execa} from 'execa';

/** `ip -json <args>` inside the netns at `path` (the host's when undefined), parsed. */
export async function ipJsonAt<T>(path: string | undefined, ...args: string[]): Promise<T> {
	const command =
		path === undefined ? ['ip', '-json', ...args] : ['nsenter', `--net=${path}`, 'ip', '-json', ...args];
	const [file, ...rest] = command as [string, ...string[]];
	const {stdout} = await execa(file, rest);
	return JSON.parse(stdout.trim() === '' ? '[]' : stdout) as T;
}

interface IpLink {
	ifname: string;
	address?: string;
	operstate?: string;
	link_type?: string;
	linkinfo?: {info_kind?: string};
}

interface IpAddr {
	ifname: string;
	addr_info: {family: string; local: string; prefixlen: number; scope: string}[];
}

interface IpRoute {
	type?: string;
	dst: string;
	gateway?: string;
	dev?: string;
	table?: string;
}

/** One link: name, kind (`loopback` for lo, else the rtnetlink kind) and MAC. */
export interface LinkView {
	name: string;
	kind: string;
	mac: string;
}

/** What a test compares against its expectation. */
export interface NetnsView {
	/** Sorted by name. */
	links: LinkView[];
	/** `"<dev> <address>/<prefix>"`, IPv4 and global IPv6 (link-local IPv6 and lo's ::1 left out), sorted. */
	addresses: string[];
	/** `"[table <t>] <dst> [via <gw>] dev <dev>"`, every table but `local`, IPv4 and IPv6, sorted. */
	routes: string[];
}

/** Reads links, addresses and routes of the netns at `path`. */
export async function netnsView(path: string): Promise<NetnsView> {
	const links = (await ipJsonAt<IpLink[]>(path, '-details', 'link', 'show'))
		.map((l) => ({
			name: l.ifname,
			kind: l.linkinfo?.info_kind ?? l.link_type ?? 'unknown',
			mac: l.address ?? '',
		}))
		.sort((a, b) => a.name.localeCompare(b.name));
	const addresses = (await ipJsonAt<IpAddr[]>(path, 'address', 'show'))
		.flatMap((link) =>
			link.addr_info
				.filter((a) => a.family === 'inet' || (a.scope === 'global' && link.ifname !== 'lo'))
				.map((a) => `${link.ifname} ${a.local}/${a.prefixlen}`),
		)
		.sort();
	const routes: string[] = [];
	for (const family of ['-4', '-6']) {
		for (const route of await ipJsonAt<IpRoute[]>(path, family, 'route', 'show', 'table', 'all')) {
			if (route.table === 'local' || (family === '-6' && route.dst.startsWith('fe80::'))) continue;
			if (family === '-6' && route.type === 'multicast') continue;
			const table = route.table === undefined || route.table === 'main' ? '' : `table ${route.table} `;
			const via = route.gateway === undefined ? '' : ` via ${route.gateway}`;
			routes.push(`${table}${route.dst}${via} dev ${route.dev ?? '?'}`);
		}
	}
	return {links, addresses, routes: routes.sort()};
}
