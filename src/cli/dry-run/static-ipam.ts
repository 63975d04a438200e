/**
 * The `static` IPAM section as the reference `static` plugin reads it, for the --simulate
 * stand-in: what it refuses (an address without a prefix, a bad gateway or route) is refused here
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

/** The addresses and routes of a `static` IPAM section (nothing for other types), or static's error. */
export function staticIpam(ipam: unknown): StaticIpam {
	if (!isJsonObject(ipam) || ipam['type'] !== 'static') return {ips: [], routes: []};
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
		if (typeof a['address'] !== 'string') continue;
		if (!isGoCidr(a['address']))
			throw refused(`the 'address' field is expected to be in CIDR notation, got: '${a['address']}'`);
		ips.push({address: a['address'], ...(typeof a['gateway'] === 'string' ? {gateway: a['gateway']} : {})});
	}
	const routes: StaticIpam['routes'] = [];
	for (const r of routeList) {
		if (typeof r['dst'] !== 'string') continue;
		routes.push({dst: r['dst'], ...(typeof r['gw'] === 'string' ? {gw: r['gw']} : {})});
	}
	return {ips, routes};
}
