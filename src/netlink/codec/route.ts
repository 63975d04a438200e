/** Routes: struct rtmsg (12 bytes) + RTA_* attributes, including RTA_METRICS and RTA_MULTIPATH. */
import {
	type IpFamily,
	type NextHop,
	ROUTE_TYPES,
	type Route,
	type RouteScope,
	type RouteSpec,
	type RouteType,
	RT_PROTO,
	RT_TABLE,
} from '../netlink.ts';
import {attr, concat, nestAttr, parseAttrs, reader, readU32, Struct, u32Attr} from './attrs.ts';
import {
	AF_INET,
	AF_INET6,
	RT_SCOPE,
	RTA,
	RTAX,
	RTM_F_FIB_MATCH,
	RTM_F_LOOKUP_TABLE,
	RTNH_F_ONLINK,
} from './constants.ts';
import {formatAddress, parseAddress, parsePrefix} from './ip.ts';

export const RTMSG_LEN = 12;

const SCOPE_BY_NUMBER = new Map<number, RouteScope>(
	Object.entries(RT_SCOPE).map(([name, value]) => [value, name as RouteScope]),
);

export function scopeToNumber(scope: RouteScope): number {
	return RT_SCOPE[scope];
}

/** rtm_scope → name; values between the named ones (user-defined) round to the nearest wider one. */
export function scopeFromNumber(value: number): RouteScope {
	const named = SCOPE_BY_NUMBER.get(value);
	if (named !== undefined) return named;
	return value < RT_SCOPE.site ? 'universe' : value < RT_SCOPE.link ? 'site' : 'link';
}

export function typeToNumber(type: RouteType): number {
	return ROUTE_TYPES.indexOf(type);
}

export function typeFromNumber(value: number): RouteType {
	return ROUTE_TYPES[value] ?? 'unspec';
}

/** A route request: a RouteSpec with its link already resolved to an ifindex. */
export type RouteMessage = Omit<RouteSpec, 'oif'> & {readonly oif?: number};

/**
 * The body of RTM_NEWROUTE/RTM_DELROUTE. For `forDelete`, unset scope/type/protocol are sent as
 * "match anything" (scope nowhere, type/protocol 0), the way iproute2 deletes.
 */
export function encodeRouteBody(msg: RouteMessage, forDelete = false): Uint8Array {
	const dst = parsePrefix(msg.dst);
	const table = msg.table ?? RT_TABLE.main;
	const type = msg.type ?? (forDelete ? 'unspec' : 'unicast');
	const defaultScope: RouteScope = forDelete ? 'nowhere' : type === 'local' ? 'host' : 'universe';
	const protocol = msg.protocol ?? (forDelete ? RT_PROTO.unspec : RT_PROTO.boot);
	const header = new Struct(RTMSG_LEN)
		.u8(0, dst.family === 4 ? AF_INET : AF_INET6)
		.u8(1, dst.length)
		.u8(4, table < 256 ? table : RT_TABLE.unspec)
		.u8(5, protocol)
		.u8(6, scopeToNumber(msg.scope ?? defaultScope))
		.u8(7, typeToNumber(type))
		.u32(8, msg.onlink === true ? RTNH_F_ONLINK : 0).bytes;
	const parts = [header];
	if (dst.length > 0) parts.push(attr(RTA.dst, dst.bytes)); // host bits are the kernel's to reject (EINVAL)
	parts.push(u32Attr(RTA.table, table));
	if (msg.gateway !== undefined) {
		const gw = parseAddress(msg.gateway);
		if (gw.family !== dst.family) {
			throw new TypeError(
				`gateway ${JSON.stringify(msg.gateway)} is not of the family of ${JSON.stringify(msg.dst)}`,
			);
		}
		parts.push(attr(RTA.gateway, gw.bytes));
	}
	if (msg.oif !== undefined) parts.push(u32Attr(RTA.oif, msg.oif));
	if (msg.metric !== undefined) parts.push(u32Attr(RTA.priority, msg.metric));
	if (msg.prefsrc !== undefined) parts.push(attr(RTA.prefsrc, parseAddress(msg.prefsrc).bytes));
	const metrics: Uint8Array[] = [];
	if (msg.mtu !== undefined) metrics.push(u32Attr(RTAX.mtu, msg.mtu));
	if (msg.advmss !== undefined) metrics.push(u32Attr(RTAX.advmss, msg.advmss));
	if (metrics.length > 0) parts.push(nestAttr(RTA.metrics, metrics));
	return concat(parts);
}

/** The body of an RTM_GETROUTE dump with kernel-side filters (table, oif; needs strict checking). */
export function encodeRouteQuery(filter: {
	family?: IpFamily;
	table?: number;
	oif?: number;
	protocol?: number;
	type?: RouteType;
}): Uint8Array {
	const family = filter.family === 4 ? AF_INET : filter.family === 6 ? AF_INET6 : 0;
	const header = new Struct(RTMSG_LEN)
		.u8(0, family)
		.u8(4, filter.table !== undefined && filter.table < 256 ? filter.table : 0)
		.u8(5, filter.protocol ?? 0)
		.u8(7, filter.type === undefined ? 0 : typeToNumber(filter.type)).bytes;
	const parts = [header];
	if (filter.table !== undefined) parts.push(u32Attr(RTA.table, filter.table));
	if (filter.oif !== undefined) parts.push(u32Attr(RTA.oif, filter.oif));
	return concat(parts);
}

/** The body of a (non-dump) RTM_GETROUTE lookup of one address, answered with the FIB entry. */
export function encodeRouteLookup(address: string, oif?: number): Uint8Array {
	const {family, bytes} = parseAddress(address);
	const header = new Struct(RTMSG_LEN)
		.u8(0, family === 4 ? AF_INET : AF_INET6)
		.u8(1, family === 4 ? 32 : 128)
		// IPv4 reports the main table unless asked for the lookup table; IPv6 refuses that flag.
		.u32(8, family === 4 ? RTM_F_FIB_MATCH | RTM_F_LOOKUP_TABLE : RTM_F_FIB_MATCH).bytes;
	const parts = [header, attr(RTA.dst, bytes)];
	if (oif !== undefined) parts.push(u32Attr(RTA.oif, oif));
	return concat(parts);
}

function decodeNexthops(buf: Uint8Array): NextHop[] {
	const hops: NextHop[] = [];
	const view = reader(buf);
	let offset = 0;
	while (offset + 8 <= buf.length) {
		const len = view.getUint16(offset, true);
		if (len < 8 || offset + len > buf.length) break;
		const attrs = parseAttrs(buf, offset + 8, offset + len);
		const gw = attrs.get(RTA.gateway);
		const oif = view.getInt32(offset + 4, true);
		hops.push({
			gateway: gw === undefined ? undefined : formatAddress(gw),
			oif: oif === 0 ? undefined : oif,
			weight: view.getUint8(offset + 3) + 1,
			onlink: (view.getUint8(offset + 2) & RTNH_F_ONLINK) !== 0,
		});
		offset += (len + 3) & ~3;
	}
	return hops;
}

/** Decodes an RTM_NEWROUTE payload; undefined for families other than IPv4/IPv6. */
export function decodeRoute(payload: Uint8Array): Route | undefined {
	const view = reader(payload);
	const familyNum = view.getUint8(0);
	if (familyNum !== AF_INET && familyNum !== AF_INET6) return undefined;
	const family: IpFamily = familyNum === AF_INET ? 4 : 6;
	const dstLen = view.getUint8(1);
	const attrs = parseAttrs(payload, RTMSG_LEN);
	const dstBytes = attrs.get(RTA.dst) ?? new Uint8Array(family === 4 ? 4 : 16);
	const gw = attrs.get(RTA.gateway);
	const prefsrc = attrs.get(RTA.prefsrc);
	const metricsBytes = attrs.get(RTA.metrics);
	const metrics = metricsBytes === undefined ? undefined : parseAttrs(metricsBytes);
	const multipath = attrs.get(RTA.multipath);
	return {
		family,
		dst: `${formatAddress(dstBytes)}/${dstLen}`,
		table: readU32(attrs.get(RTA.table)) ?? view.getUint8(4),
		type: typeFromNumber(view.getUint8(7)),
		scope: scopeFromNumber(view.getUint8(6)),
		protocol: view.getUint8(5),
		gateway: gw === undefined ? undefined : formatAddress(gw),
		oif: readU32(attrs.get(RTA.oif)),
		prefsrc: prefsrc === undefined ? undefined : formatAddress(prefsrc),
		metric: readU32(attrs.get(RTA.priority)),
		onlink: (view.getUint32(8, true) & RTNH_F_ONLINK) !== 0,
		mtu: readU32(metrics?.get(RTAX.mtu)),
		advmss: readU32(metrics?.get(RTAX.advmss)),
		nexthops: multipath === undefined ? [] : decodeNexthops(multipath),
	};
}
