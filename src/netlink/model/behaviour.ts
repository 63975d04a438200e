/**
 * The kernel behaviours the model reproduces, shared by several requests: routes the kernel
 * derives from addresses (in the VRF table of a link's master), carrier and IPv6 setup, link
 * down/up effects (route flush, IPv6 address loss without keep_addr_on_down), masters (VRF
 * cycling, bridge MTU/MAC), and what deleting or moving a link drags along. The contract suite
 * and the differential tests against real kernels (e2e/netlink/model.*) pin each of them down.
 */
import {formatAddress, networkOf, parsePrefix} from '../codec/ip.ts';
import {EINVAL, EOPNOTSUPP, NetlinkError} from '../errors.ts';
import {type Address, type Link, type Route, RT_PROTO, RT_TABLE} from '../netlink.ts';
import {
	type AddrState,
	ELOOP,
	ENETDOWN,
	ERANGE,
	eui64LinkLocal,
	IFA_F_NODAD,
	IFA_F_NOPREFIXROUTE,
	IFA_F_PERMANENT,
	IFF_BROADCAST,
	IFF_LOOPBACK,
	IFF_LOWER_UP,
	IFF_MULTICAST,
	IFF_RUNNING,
	IFF_UP,
	IFNAMSIZ,
	type LinkState,
	type Namespace,
	route,
} from './state.ts';

/** The table a link's routes go to: its VRF's, else main (and local for local/broadcast routes). */
export function tablesOf(ns: Namespace, link: LinkState): {main: number; local: number} {
	const master = link.master === undefined ? undefined : ns.links.get(link.master);
	if (master?.vrfTable !== undefined) return {main: master.vrfTable, local: master.vrfTable};
	return {main: RT_TABLE.main, local: RT_TABLE.local};
}

export function ipv6Enabled(ns: Namespace, link: LinkState): boolean {
	return link.conf[6].get('disable_ipv6') !== '1' && ns.conf[6].all.get('disable_ipv6') !== '1';
}

/** The kernel's routes for one IPv4 address: local, the prefix route, broadcast (link up). */
function v4AddressRoutes(
	addr: AddrState,
	link: LinkState,
	t: {main: number; local: number},
	net: string,
): Route[] {
	const kernel = RT_PROTO.kernel;
	const oif = link.index;
	const src = addr.address;
	const loopback = link.name === 'lo' && link.kind === undefined;
	const out = [
		route({
			family: 4,
			dst: `${src}/32`,
			table: t.local,
			type: 'local',
			scope: 'host',
			protocol: kernel,
			prefsrc: src,
			oif,
		}),
	];
	if (!link.up) return out;
	if ((addr.flags & IFA_F_NOPREFIXROUTE) === 0 && addr.prefixLen < 32) {
		const type = loopback ? 'local' : 'unicast';
		const scope = loopback ? 'host' : 'link';
		const table = loopback ? t.local : t.main;
		out.push(route({family: 4, dst: net, table, type, scope, protocol: kernel, prefsrc: src, oif}));
	}
	if (addr.prefixLen < 31) {
		const bcast = new Uint8Array(networkOf(parsePrefix(`${src}/${addr.prefixLen}`)));
		for (let bit = addr.prefixLen; bit < 32; bit++) bcast[bit >> 3]! |= 0x80 >> (bit & 7);
		const dst = `${formatAddress(bcast)}/32`;
		out.push(
			route({
				family: 4,
				dst,
				table: t.local,
				type: 'broadcast',
				scope: 'link',
				protocol: kernel,
				prefsrc: src,
				oif,
			}),
		);
	}
	return out;
}

/** The kernel's routes for one IPv6 address: local, and the prefix route (link up, not link-local). */
function v6AddressRoutes(
	addr: AddrState,
	link: LinkState,
	t: {main: number; local: number},
	net: string,
): Route[] {
	if (addr.localRoute === false) return [];
	const kernel = RT_PROTO.kernel;
	const oif = link.index;
	const out = [
		route({
			family: 6,
			dst: `${addr.address}/128`,
			table: t.local,
			type: 'local',
			protocol: kernel,
			metric: 0,
			oif,
		}),
	];
	const linkLocal = addr.address.startsWith('fe80:');
	if (link.up && !linkLocal && (addr.flags & IFA_F_NOPREFIXROUTE) === 0 && addr.prefixLen < 128) {
		out.push(route({family: 6, dst: net, table: t.main, protocol: kernel, metric: 256, oif}));
	}
	return out;
}

/** The routes the kernel maintains by itself for the current addresses and link states. */
export function derivedRoutes(ns: Namespace): Route[] {
	const out: Route[] = [];
	const kernel = RT_PROTO.kernel;
	for (const addr of ns.addrs) {
		const link = ns.links.get(addr.index);
		if (link === undefined) continue;
		const prefix = parsePrefix(`${addr.address}/${addr.prefixLen}`);
		const net = `${formatAddress(networkOf(prefix))}/${addr.prefixLen}`;
		const tables = tablesOf(ns, link);
		out.push(
			...(addr.family === 4
				? v4AddressRoutes(addr, link, tables, net)
				: v6AddressRoutes(addr, link, tables, net)),
		);
	}
	for (const link of ns.links.values()) {
		if (!link.v6ready || link.kind === 'vrf' || link.mac === undefined || link.name === 'lo') continue;
		if (!ipv6Enabled(ns, link)) continue;
		const t = tablesOf(ns, link);
		const oif = link.index;
		out.push(route({family: 6, dst: 'fe80::/64', table: t.main, protocol: kernel, metric: 256, oif}));
		out.push(
			route({
				family: 6,
				dst: 'ff00::/8',
				table: t.local,
				type: 'multicast',
				protocol: kernel,
				metric: 256,
				oif,
			}),
		);
	}
	return out;
}

/** The vlans stacked on `lower`, in any netns. */
export function vlansOn(ns: Namespace, lower: LinkState, all: Iterable<Namespace>): [Namespace, LinkState][] {
	const out: [Namespace, LinkState][] = [];
	for (const other of all) {
		for (const l of other.links.values()) {
			if (l.kind === 'vlan' && l.parent?.ns === ns && l.parent.index === lower.index) out.push([other, l]);
		}
	}
	return out;
}

/** Link goes down: static routes through it are flushed, IPv6 addresses go unless kept; its vlans follow. */
export function linkDown(ns: Namespace, link: LinkState): void {
	if (!link.up) return;
	link.up = false;
	link.v6ready = false;
	for (const [vns, vlan] of vlansOn(ns, link, ns.world())) linkDown(vns, vlan);
	ns.routes = ns.routes.filter((r) => r.oif !== link.index);
	const keep =
		Number(ns.conf[6].all.get('keep_addr_on_down') ?? '0') ||
		Number(link.conf[6].get('keep_addr_on_down') ?? '0');
	for (let i = ns.addrs.length - 1; i >= 0; i--) {
		const a = ns.addrs[i]!;
		if (a.index !== link.index || a.family !== 6) continue;
		if (keep > 0 && (a.flags & IFA_F_PERMANENT) !== 0 && !a.address.startsWith('fe80:')) {
			a.localRoute = false;
			continue;
		}
		ns.addrs.splice(i, 1);
	}
}

/** Link comes up: IPv6 gets its EUI-64 link-local address; its vlans come up too. */
export function linkUp(ns: Namespace, link: LinkState): void {
	if (link.up) return;
	link.up = true;
	for (const [vns, vlan] of vlansOn(ns, link, ns.world())) linkUp(vns, vlan);
	for (const a of ns.addrs) if (a.index === link.index && a.family === 6) a.localRoute = true;
	if (link.name === 'lo' && link.kind === undefined) {
		addAddrState(ns, link, '127.0.0.1/8', 'host', 0);
		addAddrState(ns, link, '::1/128', 'host', 0);
	}
}

/** Whether an up link has carrier: a veth when its peer is up, a vlan/macvlan with its lower, a bridge with a port (or none). */
export function carrier(ns: Namespace, link: LinkState, depth = 0): boolean {
	if (!link.up || depth > 8) return false;
	const parent = link.parent === undefined ? undefined : link.parent.ns.links.get(link.parent.index);
	if (link.kind === 'veth') return parent?.up === true;
	if (link.kind === 'vlan' || link.kind === 'macvlan') {
		return parent !== undefined && link.parent !== undefined && carrier(link.parent.ns, parent, depth + 1);
	}
	if (link.kind === 'bridge') {
		// A bridge without ports has carrier (operstate "unknown"); with ports, when one of them has.
		const ports = [...ns.links.values()].filter((p) => p.master === link.index);
		return ports.length === 0 || ports.some((p) => carrier(ns, p, depth + 1));
	}
	return true;
}

/**
 * After every change: links that are up with carrier get IPv6 configured (addrconf waits for
 * carrier): the EUI-64 link-local address, and with it the fe80::/64 and ff00::/8 routes.
 */
export function settle(world: Iterable<Namespace>): void {
	for (const ns of world) {
		for (const link of ns.links.values()) {
			if (link.v6ready || link.name === 'lo' || !carrier(ns, link)) continue;
			link.v6ready = true;
			if (link.mac === undefined || link.kind === 'vrf' || !ipv6Enabled(ns, link)) continue;
			const ll = eui64LinkLocal(link.mac);
			if (!ns.addrs.some((a) => a.index === link.index && a.address === ll)) {
				addAddrState(ns, link, `${ll}/64`, 'link', 0);
			}
		}
	}
}

export function addAddrState(
	ns: Namespace,
	link: LinkState,
	cidr: string,
	scope: Address['scope'],
	flags: number,
): void {
	const p = parsePrefix(cidr);
	const address = formatAddress(p.bytes);
	if (ns.addrs.some((a) => a.index === link.index && a.address === address)) return;
	ns.addrs.push({
		index: link.index,
		family: p.family,
		address,
		prefixLen: p.length,
		flags: flags | IFA_F_PERMANENT,
		scope,
		peer: undefined,
		broadcast: undefined,
		label: p.family === 4 ? link.name : undefined,
	});
}

/** IFLA_MASTER: release from the old master, attach to the new one (VRFs cycle an up link). */
export function setMaster(
	ns: Namespace,
	link: LinkState,
	master: LinkState | undefined,
	operation: string,
): void {
	if (master !== undefined) {
		if (master.kind !== 'bridge' && master.kind !== 'vrf') throw new NetlinkError(operation, EOPNOTSUPP);
		if (master.index === link.index)
			throw new NetlinkError(operation, master.kind === 'bridge' ? ELOOP : EINVAL);
		if (master.kind === 'vrf' && link.kind === 'vrf') {
			throw new NetlinkError(operation, EINVAL, 'Can not enslave an L3 master device to a VRF');
		}
	}
	if (link.master === master?.index) return;
	const old = link.master === undefined ? undefined : ns.links.get(link.master);
	const cycles = link.up && (old?.kind === 'vrf' || master?.kind === 'vrf');
	if (cycles) linkDown(ns, link);
	link.master = master?.index;
	if (cycles) linkUp(ns, link);
	for (const bridge of [old, master]) if (bridge?.kind === 'bridge') adjustBridge(ns, bridge);
}

/** A bridge follows its ports: smallest MTU, lowest MAC (unless set explicitly). */
export function adjustBridge(ns: Namespace, bridge: LinkState): void {
	const ports = [...ns.links.values()].filter((l) => l.master === bridge.index);
	if (ports.length === 0) return;
	if (!bridge.mtuSet) bridge.mtu = Math.min(...ports.map((p) => p.mtu));
	if (!bridge.macSet) {
		const macs = ports.map((p) => p.mac).filter((m): m is string => m !== undefined);
		if (macs.length > 0) bridge.mac = macs.sort()[0];
	}
}

/** Unregisters a link: peers, upper devices and ports follow, as the kernel does. */
export function removeLink(ns: Namespace, link: LinkState): void {
	if (!ns.links.has(link.index)) return;
	detach(ns, link);
	ns.links.delete(link.index);
	for (const other of ns.world()) {
		for (const l of [...other.links.values()]) {
			if (l.parent?.ns !== ns || l.parent.index !== link.index) continue;
			if (l.kind === 'veth' || l.kind === 'vlan' || l.kind === 'macvlan') removeLink(other, l);
		}
	}
}

/** What leaving a netns (deletion or a move) does inside it: addresses, routes, ports, master. */
export function detach(ns: Namespace, link: LinkState): void {
	if (link.master !== undefined) setMaster(ns, link, undefined, 'release link');
	for (const port of ns.links.values())
		if (port.master === link.index) setMaster(ns, port, undefined, 'release port');
	linkDown(ns, link);
	for (let i = ns.addrs.length - 1; i >= 0; i--) if (ns.addrs[i]!.index === link.index) ns.addrs.splice(i, 1);
	ns.routes = ns.routes.filter((r) => r.oif !== link.index);
}

export function sameRouteKey(a: Route, b: Route): boolean {
	const metric = (r: Route): number => r.metric ?? (r.family === 6 ? 1024 : 0);
	return a.family === b.family && a.table === b.table && a.dst === b.dst && metric(a) === metric(b);
}

export function hasPorts(ns: Namespace, link: LinkState): boolean {
	return [...ns.links.values()].some((p) => p.master === link.index);
}

export function toLink(ns: Namespace, link: LinkState): Link {
	const parent = link.parent;
	const crossNs = parent !== undefined && parent.ns !== ns;
	let flags = link.up ? IFF_UP : 0;
	flags |= link.name === 'lo' && link.kind === undefined ? IFF_LOOPBACK : IFF_BROADCAST | IFF_MULTICAST;
	const hasCarrier = carrier(ns, link);
	if (hasCarrier) flags |= IFF_RUNNING | IFF_LOWER_UP;
	const out: {-readonly [K in keyof Link]: Link[K]} = {
		index: link.index,
		name: link.name,
		kind: link.kind,
		mtu: link.mtu,
		mac: link.mac,
		up: link.up,
		flags,
		operState:
			link.kind === undefined || (link.kind === 'bridge' && hasCarrier && !hasPorts(ns, link))
				? 'unknown'
				: hasCarrier
					? 'up'
					: link.up
						? 'lowerlayerdown'
						: 'down',
		masterIndex: link.master,
		parentIndex: parent?.index,
		linkNetnsId: crossNs ? ns.netnsIdOf(parent.ns) : undefined,
	};
	if (link.vrfTable !== undefined) out.vrf = {table: link.vrfTable};
	if (link.vlan !== undefined) out.vlan = {...link.vlan};
	if (link.macvlanMode !== undefined) out.macvlan = {mode: link.macvlanMode};
	return out;
}

export function toAddress(a: AddrState): Address {
	return {
		family: a.family,
		index: a.index,
		address: a.address,
		prefixLen: a.prefixLen,
		cidr: `${a.address}/${a.prefixLen}`,
		peer: a.peer,
		broadcast: a.broadcast,
		label: a.label,
		scope: a.scope,
		flags: a.flags,
		permanent: (a.flags & IFA_F_PERMANENT) !== 0,
		tentative: false,
		nodad: (a.flags & IFA_F_NODAD) !== 0,
		noprefixroute: (a.flags & IFA_F_NOPREFIXROUTE) !== 0,
	};
}

/** vlan_dev_open: a vlan cannot come up on a down lower device. */
export function checkLowerUp(link: LinkState, operation: string): void {
	if (link.kind !== 'vlan' || link.parent === undefined) return;
	if (link.parent.ns.links.get(link.parent.index)?.up !== true) throw new NetlinkError(operation, ENETDOWN);
}

export function checkName(name: string, operation: string): void {
	if (name.length >= IFNAMSIZ)
		throw new NetlinkError(operation, ERANGE, 'Attribute failed policy validation');
	if (name === '' || name === '.' || name === '..' || /[/:\s]/.test(name))
		throw new NetlinkError(operation, EINVAL);
}
