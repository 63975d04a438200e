/**
 * The vlan delegate's kernel work: create an 802.1Q sub-interface of a master (on the host, created
 * straight into the pod netns, or inside the pod netns with `linkInContainer`), apply an IPAM
 * result to it, verify it for CHECK, and delete it. Reference:
 * containernetworking/plugins plugins/main/vlan/vlan.go and pkg/ipam (ConfigureIface).
 */
import {randomBytes} from 'node:crypto';
import {CniError, CniErrorCode} from '../../src/cni/errors.ts';
import {isIpv4} from '../../src/cni/result.ts';
import {isNotFound} from '../../src/netlink/errors.ts';
import {type Link, type Netlink, RT_TABLE} from '../../src/netlink/netlink.ts';
import {delay, type Result} from '../common/cni.ts';
import {canonicalCidr, canonicalPrefix, sameAddress} from '../common/ip.ts';
import {addRouteOnce, message, routeSpec} from '../common/routes.ts';
import {invalidMtuMessage} from './config.ts';

/** How long ConfigureIface waits for IPv6 addresses to finish DAD before adding v6 routes. */
export const SETTLE_TIMEOUT_MS = 10_000;
const SETTLE_POLL_MS = 50;

/** A random temporary name (`vlan` + 8 hex digits): the final name may exist on the master's side. */
export function temporaryName(): string {
	return `vlan${randomBytes(4).toString('hex')}`;
}

/** The master link, looked up where `linkInContainer` says; a missing one names the key's value. */
export function findMaster(nl: Netlink, master: string): Link {
	const link = nl.findLink(master);
	if (link === undefined) {
		throw new CniError(CniErrorCode.invalidConfig, `failed to lookup master "${master}": link not found`);
	}
	return link;
}

/** Checks `mtu` against the master's (0 means "inherit"); the reference's exact message. */
export function assertMtu(mtu: number, master: Link): void {
	if (mtu < 0 || mtu > master.mtu) {
		throw new CniError(CniErrorCode.invalidConfig, invalidMtuMessage(mtu, master.mtu));
	}
}

/** Where and how to create one VLAN link. */
export interface CreateVlan {
	/** Handle in the netns holding the master (the pod's with linkInContainer, else the host's). */
	readonly masterNl: Netlink;
	/** Handle in the pod netns. */
	readonly podNl: Netlink;
	/** The pod netns path (used to create from the host side straight into it). */
	readonly netns: string;
	readonly master: Link;
	readonly vlanId: number;
	/** 0: inherit the master's. */
	readonly mtu: number;
	/** Final name inside the pod netns. */
	readonly ifname: string;
}

/**
 * Creates the VLAN under a temporary name (in the pod netns from either side), then renames it to
 * its final name. On a failed rename the temporary link is removed, so nothing is left behind.
 */
export function createVlan(spec: CreateVlan): Link {
	const tmp = temporaryName();
	const inPod = spec.masterNl === spec.podNl;
	try {
		spec.masterNl.addLink({
			kind: 'vlan',
			name: tmp,
			parent: spec.master.index,
			id: spec.vlanId,
			...(spec.mtu === 0 ? {} : {mtu: spec.mtu}),
			...(inPod ? {} : {netns: spec.netns}),
		});
	} catch (err) {
		throw new CniError(
			CniErrorCode.internal,
			`failed to create vlan ${spec.vlanId} on master "${spec.master.name}": ${message(err)}`,
			{cause: err},
		);
	}
	try {
		spec.podNl.setLink(tmp, {name: spec.ifname});
	} catch (err) {
		try {
			spec.podNl.deleteLink(tmp);
		} catch {
			// Best effort: the rename error below is the one that matters.
		}
		throw new CniError(CniErrorCode.internal, `failed to rename vlan to "${spec.ifname}": ${message(err)}`, {
			cause: err,
		});
	}
	return spec.podNl.getLink(spec.ifname);
}

/** Deletes the VLAN link `ifname`; a missing one is success (DEL). */
export function deleteVlan(podNl: Netlink, ifname: string): void {
	try {
		podNl.deleteLink(ifname);
	} catch (err) {
		if (isNotFound(err)) return;
		throw new CniError(CniErrorCode.internal, `failed to delete vlan "${ifname}": ${message(err)}`, {
			cause: err,
		});
	}
}

/** A sysctl path under /proc/sys/net for one interface (slash form: names may contain dots). */
function ifaceSysctl(family: 'ipv6', ifname: string, key: string): string {
	return `net/${family}/conf/${ifname}/${key}`;
}

/**
 * Applies the IPs and routes of `result` that belong to interface number `ifaceIndex` to the link
 * `ifname` (pkg/ipam ConfigureIface): IPv6 enabled and keep_addr_on_down set when it has a v6
 * address, addresses added, link up, v6 DAD settled when a v6 gateway is used, then routes, whose
 * gateway defaults to the interface's gateway of the same family.
 */
export async function configureInterface(
	nl: Netlink,
	ifname: string,
	result: Result,
	ifaceIndex: number,
): Promise<void> {
	const ips = (result.ips ?? []).filter((ip) => ip.interface === ifaceIndex);
	let v4gw: string | undefined;
	let v6gw: string | undefined;
	if (ips.some((ip) => !isIpv4(ip.address))) {
		for (const [name, key] of [
			['lo', 'disable_ipv6'],
			[ifname, 'disable_ipv6'],
		] as const) {
			writeSysctlIfPresent(nl, ifaceSysctl('ipv6', name, key), '0');
		}
		writeSysctlIfPresent(nl, ifaceSysctl('ipv6', ifname, 'keep_addr_on_down'), '1');
	}
	for (const ip of ips) {
		try {
			nl.addAddress(ifname, ip.address);
		} catch (err) {
			throw new CniError(
				CniErrorCode.internal,
				`failed to add IP address "${ip.address}" to "${ifname}": ${message(err)}`,
				{cause: err},
			);
		}
		if (ip.gateway !== undefined) {
			if (isIpv4(ip.address)) v4gw ??= ip.gateway;
			else v6gw ??= ip.gateway;
		}
	}
	try {
		nl.setLink(ifname, {up: true});
	} catch (err) {
		throw new CniError(CniErrorCode.internal, `failed to set "${ifname}" up: ${message(err)}`, {cause: err});
	}
	if (v6gw !== undefined) await settleAddresses(nl, ifname);
	for (const route of result.routes ?? []) {
		const gateway = route.gw ?? (isIpv4(route.dst) ? v4gw : v6gw);
		addRouteOnce(nl, routeSpec(route, ifname, gateway), ifname);
	}
}

/** Waits until no IPv6 address of `ifname` is tentative (DAD done), as pkg/ip SettleAddresses. */
async function settleAddresses(nl: Netlink, ifname: string): Promise<void> {
	const deadline = Date.now() + SETTLE_TIMEOUT_MS;
	for (;;) {
		const tentative = nl
			.listAddresses({link: ifname, family: 6})
			.filter((a) => a.tentative && a.scope === 'universe');
		if (tentative.length === 0) return;
		if (Date.now() > deadline) {
			throw new CniError(
				CniErrorCode.internal,
				`link "${ifname}" still has tentative addresses after ${SETTLE_TIMEOUT_MS / 1000} seconds`,
			);
		}
		await delay(SETTLE_POLL_MS);
	}
}

/** Writes a sysctl, ignoring a missing file (IPv6 disabled in the kernel). */
function writeSysctlIfPresent(nl: Netlink, key: string, value: string): void {
	try {
		nl.writeSysctl(key, value);
	} catch (err) {
		if (isMissingFile(err)) return;
		throw new CniError(CniErrorCode.internal, `failed to write sysctl "${key}": ${message(err)}`, {
			cause: err,
		});
	}
}

function isMissingFile(err: unknown): boolean {
	return isNotFound(err) || (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** What CHECK compares: the link in the pod netns against the config and prevResult. */
export interface ExpectedVlan {
	readonly ifname: string;
	readonly vlanId: number;
	/** 0: not compared. */
	readonly mtu: number;
	readonly mac: string | undefined;
	readonly master: Link;
	readonly masterInPod: boolean;
}

/** Verifies the VLAN link for CHECK: kind, VLAN id, parent, MAC and MTU. */
export function assertVlan(podNl: Netlink, expected: ExpectedVlan): Link {
	const link = podNl.findLink(expected.ifname);
	if (link === undefined) {
		throw new CniError(CniErrorCode.internal, `failed to find vlan "${expected.ifname}" in the pod netns`);
	}
	if (link.kind !== 'vlan' || link.vlan === undefined) {
		throw new CniError(
			CniErrorCode.internal,
			`link "${expected.ifname}" is of kind "${link.kind}", not vlan`,
		);
	}
	if (link.vlan.id !== expected.vlanId) {
		throw new CniError(
			CniErrorCode.internal,
			`vlan "${expected.ifname}" has VLAN id ${link.vlan.id}, config says ${expected.vlanId}`,
		);
	}
	if (expected.masterInPod && link.parentIndex !== expected.master.index) {
		throw new CniError(
			CniErrorCode.internal,
			`vlan "${expected.ifname}" is not on master "${expected.master.name}"`,
		);
	}
	if (expected.mac !== undefined && link.mac?.toLowerCase() !== expected.mac.toLowerCase()) {
		throw new CniError(
			CniErrorCode.internal,
			`vlan "${expected.ifname}" has MAC ${link.mac}, prevResult says ${expected.mac}`,
		);
	}
	if (expected.mtu !== 0 && link.mtu !== expected.mtu) {
		throw new CniError(
			CniErrorCode.internal,
			`vlan "${expected.ifname}" has MTU ${link.mtu}, config says ${expected.mtu}`,
		);
	}
	return link;
}

/** Verifies that the link carries each of `cidrs` (ValidateExpectedInterfaceIPs). */
export function assertAddresses(podNl: Netlink, ifname: string, cidrs: readonly string[]): void {
	const present = new Set(podNl.listAddresses({link: ifname}).map((a) => a.cidr));
	for (const cidr of cidrs) {
		if (!present.has(canonicalCidr(cidr))) {
			throw new CniError(CniErrorCode.internal, `interface "${ifname}" is missing IP address "${cidr}"`);
		}
	}
}

/** Verifies that a route to each destination exists, with the given gateway if any (ValidateExpectedRoute). */
export function assertRoutes(podNl: Netlink, routes: Result['routes']): void {
	for (const route of routes ?? []) {
		const found = podNl
			.listRoutes({table: route.table ?? RT_TABLE.main, dst: canonicalPrefix(route.dst)})
			.some((r) => route.gw === undefined || sameAddress(r.gateway, route.gw));
		if (!found) {
			const via = route.gw === undefined ? '' : ` via ${route.gw}`;
			throw new CniError(CniErrorCode.internal, `route "${route.dst}${via}" not found in the pod netns`);
		}
	}
}
