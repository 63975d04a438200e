/**
 * CNI results of every version and the one table that converts between them, following libcni's
 * pkg/types/{020,040,100} converters field by field:
 * - parsing keeps only the fields the version's Go struct has (libcni decodes into typed structs);
 * - 1.0.0 ↔ 1.1.0 pass every field through (the Go types are shared);
 * - down to 0.3.x/0.4.0 adds `ips[].version` from the address family and drops interface
 *   `mtu`/`socketPath`/`pciID`, while routes keep `mtu`/`advmss`/`priority`/`table`/`scope`
 *   (Go's `types.Route` is shared across versions);
 * - down to 0.1.0/0.2.0 keeps the first IPv4 and first IPv6 address, splits routes by the family
 *   of `dst` keeping only `dst`/`gw`, and fails when there is no address at all.
 */
import {CniError, CniErrorCode} from './errors.ts';
import {describeIssues, Result020Schema, Result040Schema, Result100Schema} from './spec.ts';
import {type CniVersion, isSupportedVersion} from './versions.ts';

export interface Dns {
	nameservers?: string[];
	domain?: string;
	search?: string[];
	options?: string[];
}

export interface Route {
	dst: string;
	gw?: string;
	mtu?: number;
	advmss?: number;
	priority?: number;
	table?: number;
	scope?: number;
}

export interface Interface040 {
	name: string;
	mac?: string;
	sandbox?: string;
}

export interface Interface100 extends Interface040 {
	mtu?: number;
	socketPath?: string;
	pciID?: string;
}

export interface IpConfig100 {
	interface?: number;
	address: string;
	gateway?: string;
}

export interface IpConfig040 extends IpConfig100 {
	version: '4' | '6';
}

/** 1.0.0 and 1.1.0. */
export interface Result100 {
	cniVersion: string;
	interfaces?: Interface100[];
	ips?: IpConfig100[];
	routes?: Route[];
	dns?: Dns;
}

/** 0.3.0, 0.3.1 and 0.4.0. */
export interface Result040 {
	cniVersion: string;
	interfaces?: Interface040[];
	ips?: IpConfig040[];
	routes?: Route[];
	dns: Dns;
}

export interface Ip020 {
	ip: string;
	gateway?: string;
	routes?: Route[];
}

/** 0.1.0 and 0.2.0. */
export interface Result020 {
	cniVersion: string;
	ip4?: Ip020;
	ip6?: Ip020;
	dns: Dns;
}

export type CniResult = Result020 | Result040 | Result100;

/** The three result layouts; versions within one layout convert by relabelling. */
type Layout = '020' | '040' | '100';

/** The conversion table: which layout each version uses. */
export const RESULT_LAYOUT: Readonly<Record<CniVersion, Layout>> = {
	'0.1.0': '020',
	'0.2.0': '020',
	'0.3.0': '040',
	'0.3.1': '040',
	'0.4.0': '040',
	'1.0.0': '100',
	'1.1.0': '100',
};

/** Drops undefined values and empty arrays/strings, as Go's `omitempty` does when marshalling. */
function compact<T>(value: Record<string, unknown>): T {
	const out: Record<string, unknown> = {};
	for (const [key, field] of Object.entries(value)) {
		if (field === undefined || field === '') continue;
		if (Array.isArray(field) && field.length === 0) continue;
		out[key] = field;
	}
	return out as T;
}

/** A number field Go marshals with `omitempty` (0 is dropped). */
function nonZero(value: number | undefined): number | undefined {
	return value === 0 ? undefined : value;
}

function copyDns(dns: Dns | undefined): Dns {
	if (dns === undefined) return {};
	return compact({
		nameservers: dns.nameservers?.slice(),
		domain: dns.domain,
		search: dns.search?.slice(),
		options: dns.options?.slice(),
	});
}

function copyRoute(route: Route): Route {
	return compact({
		dst: route.dst,
		gw: route.gw,
		mtu: nonZero(route.mtu),
		advmss: nonZero(route.advmss),
		priority: nonZero(route.priority),
		table: route.table,
		scope: route.scope,
	});
}

function copyInterface040(intf: Interface040): Interface040 {
	return compact({name: intf.name, mac: intf.mac, sandbox: intf.sandbox});
}

function copyInterface100(intf: Interface100): Interface100 {
	return compact({
		name: intf.name,
		mac: intf.mac,
		mtu: nonZero(intf.mtu),
		sandbox: intf.sandbox,
		socketPath: intf.socketPath,
		pciID: intf.pciID,
	});
}

function copyIp100(ip: IpConfig100): IpConfig100 {
	return compact({interface: ip.interface, address: ip.address, gateway: ip.gateway});
}

function copyIp020(ip: Ip020 | undefined): Ip020 | undefined {
	if (ip === undefined) return undefined;
	return compact({ip: ip.ip, gateway: ip.gateway, routes: ip.routes?.map(copyRoute)});
}

/** True for an IPv4 address or CIDR (including IPv4-mapped IPv6, as Go's `To4()`). */
export function isIpv4(addressOrCidr: string): boolean {
	const ip = addressOrCidr.split('/')[0] ?? '';
	if (!ip.includes(':')) return true;
	return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip);
}

/** The 1.x result for `result` (any layout), i.e. the up-conversion half of the table. */
function toLayout100(result: CniResult, version: string): Result100 {
	const from = layoutOf(result.cniVersion);
	if (from === '020') {
		const r = result as Result020;
		const ips: IpConfig100[] = [];
		const routes: Route[] = [];
		for (const ip of [r.ip4, r.ip6]) {
			if (ip === undefined) continue;
			ips.push(compact<IpConfig100>({address: ip.ip, gateway: ip.gateway}));
			for (const route of ip.routes ?? []) routes.push(copyRoute(route));
		}
		return finish100({cniVersion: version, ips, routes, dns: copyDns(r.dns)});
	}
	const r = result as Result100 | Result040;
	return finish100({
		cniVersion: version,
		interfaces: r.interfaces?.map((i) => (from === '040' ? copyInterface040(i) : copyInterface100(i))),
		ips: r.ips?.map(copyIp100),
		routes: r.routes?.map(copyRoute),
		dns: copyDns(r.dns),
	});
}

/** 1.x marshalling: empty lists and an empty dns block are left out. */
function finish100(result: Record<string, unknown>): Result100 {
	const out = compact<Result100>(result);
	if (out.dns !== undefined && Object.keys(out.dns).length === 0) delete out.dns;
	return out;
}

function to040(result: Result100, version: string): Result040 {
	return compact({
		cniVersion: version,
		interfaces: result.interfaces?.map(copyInterface040),
		ips: result.ips?.map((ip) =>
			compact<IpConfig040>({version: isIpv4(ip.address) ? '4' : '6', ...copyIp100(ip)}),
		),
		routes: result.routes?.map(copyRoute),
		dns: copyDns(result.dns),
	});
}

function to020(result: Result100, version: string): Result020 {
	let ip4: Ip020 | undefined;
	let ip6: Ip020 | undefined;
	for (const ip of result.ips ?? []) {
		const entry = compact<Ip020>({ip: ip.address, gateway: ip.gateway});
		if (isIpv4(ip.address)) ip4 ??= entry;
		else ip6 ??= entry;
		if (ip4 !== undefined && ip6 !== undefined) break;
	}
	for (const route of result.routes ?? []) {
		const target = isIpv4(route.dst) ? ip4 : ip6;
		if (target === undefined) continue;
		target.routes ??= [];
		target.routes.push(compact<Route>({dst: route.dst, gw: route.gw}));
	}
	if (ip4 === undefined && ip6 === undefined) {
		throw new CniError(
			CniErrorCode.incompatibleVersion,
			`failed to convert result to version "${version}": cannot convert: no valid IP addresses`,
		);
	}
	return compact({cniVersion: version, ip4, ip6, dns: copyDns(result.dns)});
}

/** The layout of a version, or a code-1 error naming it. */
function layoutOf(version: string): Layout {
	if (!isSupportedVersion(version)) {
		throw new CniError(CniErrorCode.incompatibleVersion, `unsupported CNI result version "${version}"`);
	}
	return RESULT_LAYOUT[version];
}

/**
 * Converts a result to `toVersion` (libcni's `GetAsVersion`). The input must be canonical
 * (from parseResult or a previous conversion).
 */
export function convertResult(result: CniResult, toVersion: string): CniResult {
	const from = layoutOf(result.cniVersion);
	const to = layoutOf(toVersion);
	if (from === to) {
		// Same layout: relabel (libcni's convertInternal / convertFrom100).
		return parseResult({...result, cniVersion: toVersion});
	}
	const v1 = toLayout100(result, toVersion);
	if (to === '100') return v1;
	if (to === '040') return to040(v1, toVersion);
	return to020(v1, toVersion);
}

/**
 * Validates a result object of any version and returns its canonical form (only the fields its
 * version defines, Go field order, `omitempty` applied). A result without `cniVersion` is read as
 * `fallbackVersion` (libcni's fixupResultVersion assumes the config's version).
 */
export function parseResult(raw: unknown, fallbackVersion?: string): CniResult {
	if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
		throw new CniError(CniErrorCode.decodeFailure, 'failed to decode result: expected a JSON object');
	}
	const declared = (raw as Record<string, unknown>)['cniVersion'];
	const version = typeof declared === 'string' && declared !== '' ? declared : fallbackVersion;
	if (version === undefined) {
		throw new CniError(CniErrorCode.decodeFailure, 'failed to decode result: missing "cniVersion"');
	}
	const layout = layoutOf(version);
	const input = {...raw, cniVersion: version};
	const schema = layout === '020' ? Result020Schema : layout === '040' ? Result040Schema : Result100Schema;
	const parsed = schema.safeParse(input);
	if (!parsed.success) {
		throw new CniError(
			CniErrorCode.decodeFailure,
			`failed to decode result (cniVersion "${version}"): ${describeIssues(parsed.error)}`,
		);
	}
	if (layout === '020') {
		const r = parsed.data as Result020;
		return compact({cniVersion: version, ip4: copyIp020(r.ip4), ip6: copyIp020(r.ip6), dns: copyDns(r.dns)});
	}
	if (layout === '040') {
		const r = parsed.data as Result040;
		return compact({
			cniVersion: version,
			interfaces: r.interfaces?.map(copyInterface040),
			ips: r.ips?.map((ip) => compact<IpConfig040>({version: ip.version, ...copyIp100(ip)})),
			routes: r.routes?.map(copyRoute),
			dns: copyDns(r.dns),
		});
	}
	const r = parsed.data as Result100;
	return finish100({
		cniVersion: version,
		interfaces: r.interfaces?.map(copyInterface100),
		ips: r.ips?.map(copyIp100),
		routes: r.routes?.map(copyRoute),
		dns: copyDns(r.dns),
	});
}
