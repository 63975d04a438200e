/**
 * The vrf delegate's kernel work inside one network namespace: find or create the VRF device,
 * enslave an interface keeping its global IPv6 addresses and its routes (moved into the VRF's
 * table), release it, and delete the VRF with its last member. Reference:
 * containernetworking/plugins plugins/meta/vrf/vrf.go.
 */
import {CniError, CniErrorCode} from '../../src/cni/errors.ts';
import {isExists, isNotFound, LinkNotFoundError} from '../../src/netlink/errors.ts';
import {
	type Address,
	type Link,
	type Netlink,
	type Route,
	type RouteSpec,
	RT_TABLE,
} from '../../src/netlink/netlink.ts';
import {delay} from '../common/cni.ts';
import {RESERVED_TABLES, VRF_TABLE_MAX} from './config.ts';

/**
 * How long to wait for the kernel's local route of a restored IPv6 address: doubling delays from
 * 10 ms, nine tries, about 2.5 s in all (the reference's backoff since v1.7.0).
 */
export const LOCAL_ROUTE_WAIT = {firstDelayMs: 10, tries: 9} as const;

/** The VRF device called `name`, undefined when there is none; a non-VRF link of that name is an error. */
export function findVrf(nl: Netlink, name: string): Link | undefined {
	const link = nl.findLink(name);
	if (link === undefined) return undefined;
	if (link.kind !== 'vrf' || link.vrf === undefined) {
		throw new CniError(CniErrorCode.invalidConfig, `link "${name}" exists and is not a VRF`);
	}
	return link;
}

/**
 * The smallest table id ≥ 1 that no VRF in this netns uses, skipping the reserved 253–255.
 * Only VRF devices count (as in the reference); routes and rules are not looked at.
 */
export function freeTableId(links: readonly Link[]): number {
	const used = new Set<number>();
	for (const link of links) if (link.vrf !== undefined) used.add(link.vrf.table);
	for (let table = 1; table <= VRF_TABLE_MAX; table++) {
		if (!used.has(table) && !RESERVED_TABLES.has(table)) return table;
	}
	throw new CniError(CniErrorCode.internal, 'failed to find a free routing table for a VRF: all are in use');
}

/**
 * The VRF `name`, created up with `table` (0: the first free one) when missing. An existing VRF
 * with another table than a non-zero `table` is an error; two VRFs may share an explicit table.
 */
export function ensureVrf(nl: Netlink, name: string, table: number): Link {
	const existing = findVrf(nl, name);
	if (existing !== undefined) {
		const current = existing.vrf?.table;
		if (table !== 0 && current !== table) {
			throw new CniError(
				CniErrorCode.invalidConfig,
				`VRF "${name}" already exist with different routing table ${current}: config asks for table ${table}`,
			);
		}
		return existing;
	}
	const chosen = table === 0 ? freeTableId(nl.listLinks({kind: 'vrf'})) : table;
	try {
		nl.addLink({kind: 'vrf', name, table: chosen, up: true});
	} catch (err) {
		throw new CniError(
			CniErrorCode.internal,
			`failed to add VRF "${name}" with table ${chosen}: ${message(err)}`,
			{
				cause: err,
			},
		);
	}
	const created = nl.getLink(name);
	if (!created.up) nl.setLink(name, {up: true});
	return nl.getLink(name);
}

/** Global (scope universe) IPv6 addresses of a link: those the kernel may drop when it cycles it. */
function globalIpv6(nl: Netlink, link: number): Address[] {
	return nl.listAddresses({link, family: 6}).filter((a) => a.scope === 'universe');
}

/**
 * Enslaves `ifname` to `vrf`. Before, it remembers the link's global IPv6 addresses and its routes
 * in the main table (universe scope, oif = the link); after, it restores addresses the kernel
 * dropped (the enslave cycles the link; without keep_addr_on_down IPv6 addresses go), waits for
 * their local routes in the VRF table, and re-adds the remembered routes into that table.
 * Connected and local routes are not copied: the kernel recreates them in the VRF table itself.
 */
export async function enslave(nl: Netlink, vrf: Link, ifname: string): Promise<void> {
	const table = vrf.vrf?.table ?? RT_TABLE.main;
	const link = nl.findLink(ifname);
	if (link === undefined) {
		throw new CniError(
			CniErrorCode.internal,
			`failed to find interface "${ifname}" to add to VRF "${vrf.name}"`,
		);
	}
	if (link.masterIndex !== undefined && link.masterIndex !== 0) {
		const master = nl.findLink(link.masterIndex)?.name ?? `ifindex ${link.masterIndex}`;
		throw new CniError(
			CniErrorCode.invalidConfig,
			`interface "${ifname}" has already a master set: "${master}", refusing to move it into VRF "${vrf.name}"`,
		);
	}
	const addresses = globalIpv6(nl, link.index);
	const routes = nl
		.listRoutes({table: RT_TABLE.main, oif: link.index})
		.filter((r) => r.scope === 'universe' && r.type === 'unicast');

	try {
		nl.setLink(link.index, {master: vrf.index});
	} catch (err) {
		throw new CniError(
			CniErrorCode.internal,
			`failed to set VRF "${vrf.name}" as master of "${ifname}": ${message(err)}`,
			{cause: err},
		);
	}

	const kept = new Set(globalIpv6(nl, link.index).map((a) => a.cidr));
	for (const address of addresses) {
		if (kept.has(address.cidr)) continue;
		try {
			nl.addAddress(link.index, address.cidr, {nodad: address.nodad, noprefixroute: address.noprefixroute});
		} catch (err) {
			if (!isExists(err)) {
				throw new CniError(
					CniErrorCode.internal,
					`failed to restore address "${address.cidr}" on "${ifname}" in VRF "${vrf.name}": ${message(err)}`,
					{cause: err},
				);
			}
		}
		await waitForLocalRoute(nl, link.index, table, address.address, ifname);
	}

	for (const route of routes) {
		const spec = toSpec(route, table);
		try {
			nl.replaceRoute(spec);
		} catch (err) {
			throw new CniError(
				CniErrorCode.internal,
				`failed to add route "${describeRoute(route)}" to VRF "${vrf.name}" table ${table}: ${message(err)}`,
				{cause: err},
			);
		}
	}
}

/** Waits for the kernel to install the /128 local route of `address` in `table`. */
async function waitForLocalRoute(
	nl: Netlink,
	index: number,
	table: number,
	address: string,
	ifname: string,
): Promise<void> {
	const dst = `${address}/128`;
	let wait: number = LOCAL_ROUTE_WAIT.firstDelayMs;
	for (let attempt = 0; attempt < LOCAL_ROUTE_WAIT.tries; attempt++) {
		if (nl.listRoutes({family: 6, table, oif: index, dst}).length > 0) return;
		await delay(wait);
		wait *= 2;
	}
	throw new CniError(
		CniErrorCode.internal,
		`failed getting local/host addresses for "${ifname}" in table ${table} with dst "${address}"`,
	);
}

/** A saved route as a spec for the VRF table, keeping every attribute the kernel reported. */
function toSpec(route: Route, table: number): RouteSpec {
	return {
		dst: route.dst,
		table,
		scope: route.scope,
		type: route.type,
		protocol: route.protocol,
		onlink: route.onlink,
		...(route.gateway === undefined ? {} : {gateway: route.gateway}),
		...(route.oif === undefined ? {} : {oif: route.oif}),
		...(route.metric === undefined ? {} : {metric: route.metric}),
		...(route.prefsrc === undefined ? {} : {prefsrc: route.prefsrc}),
		...(route.mtu === undefined ? {} : {mtu: route.mtu}),
		...(route.advmss === undefined ? {} : {advmss: route.advmss}),
	};
}

/** `dst via gw`, for messages. */
function describeRoute(route: Route): string {
	return route.gateway === undefined ? route.dst : `${route.dst} via ${route.gateway}`;
}

/**
 * Releases `ifname` (when given) from the VRF `name` and deletes the VRF when no member is left
 * (unless `deleteWhenEmpty` is false). Everything already gone (VRF, interface) is success, so DEL
 * can run any number of times.
 */
export function release(nl: Netlink, name: string, ifname: string | undefined, deleteWhenEmpty = true): void {
	const vrf = nl.findLink(name);
	if (vrf === undefined || vrf.kind !== 'vrf') return;
	const link = ifname === undefined ? undefined : nl.findLink(ifname);
	if (link !== undefined && link.masterIndex === vrf.index) {
		try {
			nl.setLink(link.index, {master: null});
		} catch (err) {
			if (!(err instanceof LinkNotFoundError)) {
				throw new CniError(
					CniErrorCode.internal,
					`failed to release "${ifname}" from VRF "${name}": ${message(err)}`,
					{cause: err},
				);
			}
		}
	}
	if (!deleteWhenEmpty || nl.listLinks({master: vrf.index}).length > 0) return;
	try {
		nl.deleteLink(vrf.index);
	} catch (err) {
		if (!isNotFound(err)) {
			throw new CniError(CniErrorCode.internal, `failed to delete VRF "${name}": ${message(err)}`, {
				cause: err,
			});
		}
	}
}

/** Fails unless `ifname` is a member of the VRF `name` (CHECK). */
export function assertMember(nl: Netlink, name: string, ifname: string): void {
	const vrf = findVrf(nl, name);
	if (vrf === undefined) {
		throw new CniError(CniErrorCode.internal, `failed to find VRF "${name}"`);
	}
	if (!nl.listLinks({master: vrf.index}).some((link) => link.name === ifname)) {
		throw new CniError(CniErrorCode.internal, `failed to find "${ifname}" associated to vrf "${name}"`);
	}
}

function message(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}
