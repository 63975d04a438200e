/**
 * The kernel implementation of Netlink: rtnetlink requests over a NETLINK_ROUTE socket opened
 * inside the netns (./socket.ts), encoded and decoded by ./codec. Sysctls are read and written
 * through a /proc/sys/net file opened inside the same netns.
 * Slightly over the house limit: one method per Netlink operation of the interface, each a
 * request/decode pair; the codecs and the socket already live in their own files.
 */
import {closeSync, constants as fsConstants, openSync, readSync, writeSync} from 'node:fs';
import {decodeAddress, encodeAddressBody, encodeAddressQuery} from './codec/addr.ts';
import {NLM_F, RTEXT_FILTER_SKIP_STATS, RTM} from './codec/constants.ts';
import {canonicalAddress, canonicalPrefix as canonicalPrefixOf, familyOf} from './codec/ip.ts';
import {
	decodeLink,
	encodeLinkBody,
	encodeLinkQuery,
	type LinkMessage,
	macvlanData,
	vethData,
	vlanData,
	vrfData,
} from './codec/link.ts';
import {
	decodeRoute,
	encodeRouteBody,
	encodeRouteLookup,
	encodeRouteQuery,
	type RouteMessage,
} from './codec/route.ts';
import {decodeRule, encodeRuleBody, encodeRuleQuery} from './codec/rule.ts';
import {ENODEV, ENOENT, LinkNotFoundError, NetlinkError, NetnsNotFoundError} from './errors.ts';
import type {
	Address,
	AddressOptions,
	IpFamily,
	Link,
	LinkChanges,
	LinkRef,
	LinkSpec,
	Netlink,
	NetnsPath,
	Route,
	RouteFilter,
	RouteSpec,
	Rule,
	RuleSpec,
} from './netlink.ts';
import {RT_TABLE} from './netlink.ts';
import {type RtnlOptions, RtnlSocket} from './rtnl.ts';
import {closeFd, isSyscallError, openFileInNetns} from './socket.ts';
import {sysctlName, sysctlPath} from './sysctl.ts';

/** Opens a Netlink handle on `netns` (a path), or on the caller's netns when absent. */
export function openNetlink(netns?: NetnsPath, options: RtnlOptions = {}): Netlink {
	return new KernelNetlink(netns, options);
}

const ENETUNREACH = 101;
const EHOSTUNREACH = 113;

function describe(ref: LinkRef): string {
	return typeof ref === 'number' ? `#${ref}` : JSON.stringify(ref);
}

/** Opens a netns file from the main thread for IFLA_NET_NS_FD (opening does not enter it). */
function withNetnsFd<T>(netns: NetnsPath | undefined, fn: (fd: number | undefined) => T): T {
	if (netns === undefined) return fn(undefined);
	let fd: number;
	try {
		fd = openSync(netns, fsConstants.O_RDONLY);
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NetnsNotFoundError(netns, err);
		throw err;
	}
	try {
		return fn(fd);
	} finally {
		closeSync(fd);
	}
}

class KernelNetlink implements Netlink {
	readonly netns: NetnsPath | undefined;
	private readonly socket: RtnlSocket;

	constructor(netns: NetnsPath | undefined, options: RtnlOptions) {
		this.netns = netns;
		this.socket = new RtnlSocket(netns, options);
	}

	close(): void {
		this.socket.close();
	}

	// ---- links -------------------------------------------------------------------------------

	listLinks(filter: {readonly master?: LinkRef; readonly kind?: string} = {}): Link[] {
		const master = filter.master === undefined ? undefined : this.index(filter.master);
		const query: Parameters<typeof encodeLinkQuery>[0] = {extMask: RTEXT_FILTER_SKIP_STATS};
		const body = encodeLinkQuery({
			...query,
			...(master === undefined ? {} : {master}),
			...(filter.kind === undefined ? {} : {kind: filter.kind}),
		});
		const links = this.socket.dump(RTM.getLink, body, 'list links').map((m) => decodeLink(m.payload));
		// The same filters again, for kernels without strict dump checking.
		return links.filter(
			(l) =>
				(master === undefined || l.masterIndex === master) &&
				(filter.kind === undefined || l.kind === filter.kind),
		);
	}

	findLink(ref: LinkRef): Link | undefined {
		// No link can have such a name; the kernel would refuse the attribute (ERANGE/EINVAL).
		if (typeof ref === 'string' && (ref === '' || new TextEncoder().encode(ref).length >= 16))
			return undefined;
		const body =
			typeof ref === 'number'
				? encodeLinkQuery({index: ref, extMask: RTEXT_FILTER_SKIP_STATS})
				: encodeLinkQuery({name: ref, extMask: RTEXT_FILTER_SKIP_STATS});
		try {
			const [reply] = this.socket.request(RTM.getLink, 0, body, `find link ${describe(ref)}`);
			return reply === undefined ? undefined : decodeLink(reply.payload);
		} catch (err) {
			if (err instanceof NetlinkError && err.errno === ENODEV) return undefined;
			throw err;
		}
	}

	getLink(ref: LinkRef): Link {
		const link = this.findLink(ref);
		if (link === undefined) throw new LinkNotFoundError(ref);
		return link;
	}

	addLink(spec: LinkSpec): void {
		const operation = `add link ${JSON.stringify(spec.name)}`;
		const peerNetns = spec.kind === 'veth' ? spec.peer.netns : undefined;
		withNetnsFd(spec.netns, (netnsFd) =>
			withNetnsFd(peerNetns, (peerFd) => {
				const msg: LinkMessage = {
					name: spec.name,
					...(spec.mtu === undefined ? {} : {mtu: spec.mtu}),
					...(spec.mac === undefined ? {} : {mac: spec.mac}),
					...(spec.up === undefined ? {} : {up: spec.up}),
					...(netnsFd === undefined ? {} : {netnsFd}),
					...this.kindMessage(spec, peerFd, operation),
				};
				this.socket.request(RTM.newLink, NLM_F.create | NLM_F.excl, encodeLinkBody(msg), operation);
			}),
		);
	}

	/** IFLA_LINK and IFLA_LINKINFO of a new link of `spec.kind`. */
	private kindMessage(spec: LinkSpec, peerFd: number | undefined, operation: string): LinkMessage {
		switch (spec.kind) {
			case 'veth': {
				const peer: LinkMessage = {
					name: spec.peer.name,
					...(spec.peer.mac === undefined ? {} : {mac: spec.peer.mac}),
					...(peerFd === undefined ? {} : {netnsFd: peerFd}),
				};
				return {info: {kind: 'veth', data: vethData(peer)}};
			}
			case 'bridge':
			case 'dummy':
				return {info: {kind: spec.kind}};
			case 'vrf':
				return {info: {kind: 'vrf', data: vrfData(spec.table)}};
			case 'macvlan':
				return {
					link: this.index(spec.parent, operation),
					info: {kind: 'macvlan', data: macvlanData(spec.mode)},
				};
			case 'vlan':
				return {
					link: this.index(spec.parent, operation),
					info: {kind: 'vlan', data: vlanData(spec.id, spec.protocol)},
				};
		}
	}

	setLink(ref: LinkRef, changes: LinkChanges): void {
		const operation = `set link ${describe(ref)}`;
		const index = this.index(ref, operation);
		const msg: LinkMessage = {
			index,
			...(changes.up === undefined ? {} : {up: changes.up}),
			...(changes.name === undefined ? {} : {name: changes.name}),
			...(changes.mtu === undefined ? {} : {mtu: changes.mtu}),
			...(changes.mac === undefined ? {} : {mac: changes.mac}),
			...(changes.master === undefined
				? {}
				: {master: changes.master === null ? 0 : this.index(changes.master, operation)}),
		};
		withNetnsFd(changes.netns, (netnsFd) => {
			const body = encodeLinkBody(netnsFd === undefined ? msg : {...msg, netnsFd});
			this.linkRequest(RTM.newLink, body, operation, ref);
		});
	}

	deleteLink(ref: LinkRef): void {
		const operation = `delete link ${describe(ref)}`;
		const index = this.index(ref, operation);
		this.linkRequest(RTM.delLink, encodeLinkBody({index}), operation, ref);
	}

	/** A request about one existing link (or its addresses): ENODEV becomes LinkNotFoundError. */
	private linkRequest(type: number, body: Uint8Array, operation: string, ref: LinkRef, flags = 0): void {
		try {
			this.socket.request(type, flags, body, operation);
		} catch (err) {
			if (err instanceof NetlinkError && err.errno === ENODEV && !(err instanceof LinkNotFoundError)) {
				throw new LinkNotFoundError(ref, operation, err.extack);
			}
			throw err;
		}
	}

	/** Resolves a link to its ifindex in this netns; a name that is absent is a LinkNotFoundError. */
	private index(ref: LinkRef, operation?: string): number {
		if (typeof ref === 'number') return ref;
		const link = this.findLink(ref);
		if (link === undefined) throw new LinkNotFoundError(ref, operation);
		return link.index;
	}

	// ---- addresses ---------------------------------------------------------------------------

	listAddresses(filter: {readonly link?: LinkRef; readonly family?: IpFamily} = {}): Address[] {
		const index = filter.link === undefined ? undefined : this.index(filter.link, 'list addresses');
		const body = encodeAddressQuery(filter.family, index);
		const out: Address[] = [];
		for (const m of this.socket.dump(RTM.getAddr, body, 'list addresses')) {
			const a = decodeAddress(m.payload);
			if (a === undefined) continue;
			if (index !== undefined && a.index !== index) continue;
			if (filter.family !== undefined && a.family !== filter.family) continue;
			out.push(a);
		}
		return out;
	}

	addAddress(link: LinkRef, cidr: string, options: AddressOptions = {}): void {
		const operation = `add address ${cidr} to link ${describe(link)}`;
		const body = encodeAddressBody({index: this.index(link, operation), cidr, ...options});
		const flags = NLM_F.create | (options.replace === true ? NLM_F.replace : NLM_F.excl);
		this.linkRequest(RTM.newAddr, body, operation, link, flags);
	}

	deleteAddress(link: LinkRef, cidr: string): void {
		const operation = `delete address ${cidr} from link ${describe(link)}`;
		const body = encodeAddressBody({index: this.index(link, operation), cidr});
		this.linkRequest(RTM.delAddr, body, operation, link);
	}

	// ---- routes ------------------------------------------------------------------------------

	listRoutes(filter: RouteFilter = {}): Route[] {
		const table = filter.table === 'all' ? undefined : (filter.table ?? RT_TABLE.main);
		const oif = filter.oif === undefined ? undefined : this.index(filter.oif, 'list routes');
		const dst = filter.dst === undefined ? undefined : canonicalDst(filter.dst);
		const body = encodeRouteQuery({
			...(filter.family === undefined ? {} : {family: filter.family}),
			...(table === undefined ? {} : {table}),
			...(oif === undefined ? {} : {oif}),
			...(filter.protocol === undefined ? {} : {protocol: filter.protocol}),
			...(filter.type === undefined ? {} : {type: filter.type}),
		});
		let replies: ReturnType<RtnlSocket['dump']>;
		try {
			replies = this.socket.dump(RTM.getRoute, body, 'list routes');
		} catch (err) {
			// A single-family dump of a table that does not exist (yet) is ENOENT: no routes.
			if (err instanceof NetlinkError && err.errno === ENOENT && table !== undefined) return [];
			throw err;
		}
		const out: Route[] = [];
		for (const m of replies) {
			const r = decodeRoute(m.payload);
			if (r === undefined) continue;
			if (filter.family !== undefined && r.family !== filter.family) continue;
			if (table !== undefined && r.table !== table) continue;
			if (oif !== undefined && r.oif !== oif && !r.nexthops.some((h) => h.oif === oif)) continue;
			if (filter.type !== undefined && r.type !== filter.type) continue;
			if (filter.protocol !== undefined && r.protocol !== filter.protocol) continue;
			if (dst !== undefined && r.dst !== dst) continue;
			out.push(r);
		}
		return out;
	}

	getRoute(address: string, options: {readonly oif?: LinkRef} = {}): Route | undefined {
		const operation = `look up route to ${address}`;
		const oif = options.oif === undefined ? undefined : this.index(options.oif, operation);
		try {
			const [reply] = this.socket.request(
				RTM.getRoute,
				0,
				encodeRouteLookup(canonicalAddress(address), oif),
				operation,
			);
			return reply === undefined ? undefined : decodeRoute(reply.payload);
		} catch (err) {
			if (err instanceof NetlinkError && (err.errno === ENETUNREACH || err.errno === EHOSTUNREACH))
				return undefined;
			throw err;
		}
	}

	addRoute(route: RouteSpec): void {
		this.routeRequest(RTM.newRoute, NLM_F.create | NLM_F.excl, route, 'add');
	}

	replaceRoute(route: RouteSpec): void {
		this.routeRequest(RTM.newRoute, NLM_F.create | NLM_F.replace, route, 'replace');
	}

	deleteRoute(route: RouteSpec): void {
		this.routeRequest(RTM.delRoute, 0, route, 'delete');
	}

	private routeRequest(type: number, flags: number, route: RouteSpec, verb: string): void {
		const operation = `${verb} route ${JSON.stringify(route.dst)}${route.table === undefined ? '' : ` in table ${route.table}`}`;
		const {oif, ...rest} = route;
		const msg: RouteMessage = {...rest, ...(oif === undefined ? {} : {oif: this.index(oif, operation)})};
		this.socket.request(type, flags, encodeRouteBody(msg, type === RTM.delRoute), operation);
	}

	// ---- rules -------------------------------------------------------------------------------

	listRules(filter: {readonly family?: IpFamily} = {}): Rule[] {
		const out: Rule[] = [];
		for (const m of this.socket.dump(RTM.getRule, encodeRuleQuery(filter.family), 'list rules')) {
			const r = decodeRule(m.payload);
			if (r !== undefined && (filter.family === undefined || r.family === filter.family)) out.push(r);
		}
		return out;
	}

	addRule(rule: RuleSpec): void {
		this.socket.request(
			RTM.newRule,
			NLM_F.create | NLM_F.excl,
			encodeRuleBody(rule),
			`add rule ${describeRule(rule)}`,
		);
	}

	deleteRule(rule: RuleSpec): void {
		this.socket.request(RTM.delRule, 0, encodeRuleBody(rule, true), `delete rule ${describeRule(rule)}`);
	}

	// ---- sysctl ------------------------------------------------------------------------------

	readSysctl(key: string): string {
		const path = sysctlPath(key);
		const fd = this.openSysctl(path, fsConstants.O_RDONLY, `read sysctl ${JSON.stringify(sysctlName(key))}`);
		try {
			const chunks: Buffer[] = [];
			const buf = Buffer.alloc(4096);
			for (;;) {
				const n = readSync(fd, buf, 0, buf.length, null);
				if (n === 0) break;
				chunks.push(Buffer.from(buf.subarray(0, n)));
			}
			return Buffer.concat(chunks).toString('utf8').replace(/\n$/, '');
		} finally {
			closeFd(fd);
		}
	}

	writeSysctl(key: string, value: string): void {
		const path = sysctlPath(key);
		const operation = `write sysctl ${JSON.stringify(sysctlName(key))}`;
		const fd = this.openSysctl(path, fsConstants.O_WRONLY, operation);
		try {
			writeSync(fd, value);
		} catch (err) {
			const errno = (err as NodeJS.ErrnoException).errno;
			throw new NetlinkError(operation, typeof errno === 'number' ? Math.abs(errno) : 5, undefined, {
				cause: err,
			});
		} finally {
			closeFd(fd);
		}
	}

	private openSysctl(path: string, flags: number, operation: string): number {
		try {
			return openFileInNetns(this.netns, path, flags);
		} catch (err) {
			if (isSyscallError(err) && err.syscall === 'open')
				throw new NetlinkError(operation, err.errno, undefined, {cause: err});
			throw err;
		}
	}
}

function canonicalDst(dst: string): string {
	// Normalised through the codec's prefix parser so `fd00:0::/64` matches `fd00::/64`.
	const family = familyOf(dst.split('/')[0] ?? '');
	if (family === undefined) throw new TypeError(`invalid route destination ${JSON.stringify(dst)}`);
	return canonicalPrefixOf(dst);
}

function describeRule(rule: RuleSpec): string {
	const parts = [`family ${rule.family}`];
	if (rule.priority !== undefined) parts.push(`priority ${rule.priority}`);
	if (rule.l3mdev === true) parts.push('l3mdev');
	if (rule.table !== undefined) parts.push(`table ${rule.table}`);
	return `"${parts.join(' ')}"`;
}
