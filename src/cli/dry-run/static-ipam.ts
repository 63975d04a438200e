/**
 * The `static` IPAM section as the reference `static` plugin reads it, for the --simulate
 * stand-in and for plain dry-run's check of a main plugin's config: what it refuses (an address without a prefix, a bad gateway or route) is refused here
 * with its message and code (999, as its Go errors reach the runtime), in the order it finds them
 * (gateways and routes while decoding the JSON, in document order; addresses after).
 */
import {isIP} from 'node:net';
import {CniError, CniErrorCode} from '../../cni/errors.ts';
import {isJsonObject} from '../../cni/json.ts';

export interface StaticIpam {
	ips: {address: string; gateway?: string}[];
	routes: {dst: string; gw?: string}[];
}

/** Go's net.ParseIP: dotted quad (no leading zeros) or IPv6 without a zone. */
function isGoIp(text: string): boolean {
	return !text.includes('%') && isIP(text) !== 0;
}

/** Go's net.ParseCIDR. */
function isGoCidr(text: string): boolean {
	const slash = text.indexOf('/');
	if (slash === -1) return false;
	const address = text.slice(0, slash);
	const length = text.slice(slash + 1);
	if (!isGoIp(address) || !/^\d{1,3}$/.test(length)) return false;
	return Number(length) <= (isIP(address) === 4 ? 32 : 128);
}

const refused = (message: string) => new CniError(CniErrorCode.internal, message);

/** How Go's encoding/json names a JSON value's kind in an UnmarshalTypeError. */
function goKind(value: unknown): string {
	if (Array.isArray(value)) return 'array';
	return typeof value === 'object' ? 'object' : typeof value;
}

/** Go's error for `value` where the static plugin's IPAMConfig wants `goType` at `field`. */
const typeError = (value: unknown, field: string, goType: string) =>
	refused(`json: cannot unmarshal ${goKind(value)} into Go struct field ${field} of type ${goType}`);

/** What Go's decoding of `addresses` into []main.Address refuses (a wrong JSON type). */
function checkAddressTypes(addresses: unknown): void {
	if (addresses === undefined || addresses === null) return;
	if (!Array.isArray(addresses)) throw typeError(addresses, 'IPAMConfig.ipam.addresses', '[]main.Address');
	for (const a of addresses) {
		if (a === null) continue;
		if (!isJsonObject(a)) throw typeError(a, 'IPAMConfig.ipam.addresses', 'main.Address');
		const address = a['address'];
		if (address !== undefined && address !== null && typeof address !== 'string')
			throw typeError(address, 'Address.ipam.addresses.address', 'string');
	}
}

/** The addresses and routes of a `static` IPAM section (nothing for other types), or static's error. */
export function staticIpam(ipam: unknown): StaticIpam {
	if (!isJsonObject(ipam) || ipam['type'] !== 'static') return {ips: [], routes: []};
	checkAddressTypes(ipam['addresses']);
	const addresses = Array.isArray(ipam['addresses']) ? ipam['addresses'].filter(isJsonObject) : [];
	const routeList = Array.isArray(ipam['routes']) ? ipam['routes'].filter(isJsonObject) : [];
	for (const key of Object.keys(ipam)) {
		if (key === 'addresses')
			for (const a of addresses)
				if (typeof a['gateway'] === 'string' && !isGoIp(a['gateway']))
					throw refused(`invalid IP address: ${a['gateway']}`);
		if (key === 'routes')
			for (const r of routeList) {
				if (typeof r['dst'] === 'string' && !isGoCidr(r['dst']))
					throw refused(`invalid CIDR address: ${r['dst']}`);
				if (typeof r['gw'] === 'string' && !isGoIp(r['gw'])) throw refused(`invalid IP address: ${r['gw']}`);
			}
	}
	const ips: StaticIpam['ips'] = [];
	for (const a of addresses) {
		// A missing address is Go's zero value, "", which is no CIDR either.
		const address = typeof a['address'] === 'string' ? a['address'] : '';
		if (!isGoCidr(address))
			throw refused(`the 'address' field is expected to be in CIDR notation, got: '${address}'`);
		ips.push({address, ...(typeof a['gateway'] === 'string' ? {gateway: a['gateway']} : {})});
	}
	const routes: StaticIpam['routes'] = [];
	for (const r of routeList) {
		if (typeof r['dst'] !== 'string') continue;
		routes.push({dst: r['dst'], ...(typeof r['gw'] === 'string' ? {gw: r['gw']} : {})});
	}
	return {ips, routes};
}

/** The reference main plugins that fail when IPAM returns no address (their ADD's own message). */
const NEED_AN_ADDRESS: ReadonlySet<string> = new Set(['bridge', 'macvlan', 'ipvlan', 'ptp']);

/** Addresses the runtime adds to static's own (the `ips` capability, `args.cni.ips`). */
function runtimeAddresses(config: Record<string, unknown>): number {
	const rc = config['runtimeConfig'];
	const args = config['args'];
	const cni = isJsonObject(args) ? args['cni'] : undefined;
	const fromRc = isJsonObject(rc) && Array.isArray(rc['ips']) ? rc['ips'].length : 0;
	const fromArgs = isJsonObject(cni) && Array.isArray(cni['ips']) ? cni['ips'].length : 0;
	return fromRc + fromArgs;
}

/**
 * What the ADD of the binary plugin `type` with `config` (its stdin) fails on in its `static`
 * IPAM: static's own error, or the main plugin's when static returns no address at all.
 */
export function staticIpamFailure(type: string, config: Record<string, unknown>): CniError | undefined {
	const ipam = config['ipam'];
	if (!isJsonObject(ipam) || ipam['type'] !== 'static') return undefined;
	let parsed: StaticIpam;
	try {
		parsed = staticIpam(ipam);
	} catch (error) {
		return error as CniError;
	}
	if (NEED_AN_ADDRESS.has(type) && parsed.ips.length === 0 && runtimeAddresses(config) === 0)
		return refused('IPAM plugin returned missing IP config');
	return undefined;
}
