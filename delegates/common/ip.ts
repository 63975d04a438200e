/**
 * IP text helpers for the delegates: the kernel prints prefixes in canonical form (host bits
 * cleared, IPv6 as inet_ntop prints it), results and configs may not. Comparing through these
 * avoids false mismatches. Parsing and formatting are the netlink codec's, so a delegate's text
 * and the kernel records it compares against always agree (IPv4-mapped addresses included).
 */
import {isIP} from 'node:net';
import {CniError, CniErrorCode} from '../../src/cni/errors.ts';
import {
	formatAddress,
	networkOf,
	type Prefix,
	parseAddress,
	parsePrefix,
} from '../../src/netlink/codec/ip.ts';

/** Runs a codec parse, turning its TypeError into the delegates' config error (code 7). */
function parsed<T>(text: string, what: string, parse: (text: string) => T): T {
	try {
		return parse(text);
	} catch (cause) {
		throw new CniError(CniErrorCode.invalidConfig, `invalid ${what} "${text}"`, {cause});
	}
}

const prefixOf = (cidr: string): Prefix => parsed(cidr, 'prefix', parsePrefix);

/** Canonical address text: `fd00:0::1` → `fd00::1`. */
export function canonicalAddress(address: string): string {
	return formatAddress(parsed(address, 'IP address', parseAddress).bytes);
}

/** Canonical `address/len` keeping host bits (an interface address). A bare address gets /32 or /128. */
export function canonicalCidr(cidr: string): string {
	const prefix = prefixOf(cidr);
	return `${formatAddress(prefix.bytes)}/${prefix.length}`;
}

/** Canonical prefix with host bits cleared, as the kernel stores a route's destination. */
export function canonicalPrefix(cidr: string): string {
	const prefix = prefixOf(cidr);
	return `${formatAddress(networkOf(prefix))}/${prefix.length}`;
}

/** True when two address texts name the same address. */
export function sameAddress(a: string | undefined, b: string | undefined): boolean {
	if (a === undefined || b === undefined) return a === b;
	return canonicalAddress(a) === canonicalAddress(b);
}

/** True for the default destination of either family (`0.0.0.0/0`, `::/0`). */
export function isDefaultPrefix(cidr: string): boolean {
	return cidr.endsWith('/0');
}

/** True for an IPv6 link-local prefix or address (fe80::/10). */
export function isLinkLocal(cidr: string): boolean {
	const [address = ''] = cidr.split('/');
	if (isIP(address) !== 6) return false;
	const {bytes} = parseAddress(address);
	return bytes[0] === 0xfe && ((bytes[1] ?? 0) & 0xc0) === 0x80;
}

/** True for a valid IPv4/IPv6 address text. */
export function isAddress(text: string): boolean {
	return isIP(text) !== 0;
}
