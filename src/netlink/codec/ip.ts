/**
 * IP address and prefix text ↔ bytes, with the kernel's canonical output form (inet_ntop: lowercase,
 * the longest run of ≥2 zero groups compressed, embedded IPv4 for mapped/compatible addresses),
 * so records compare equal to `ip -json` output.
 */
import {isIPv4, isIPv6} from 'node:net';
import type {IpFamily} from '../netlink.ts';

/** A parsed prefix: address bytes, family and length. */
export interface Prefix {
	readonly family: IpFamily;
	readonly bytes: Uint8Array;
	readonly length: number;
}

/** The family of an address text, or undefined when it is not an address. */
export function familyOf(text: string): IpFamily | undefined {
	if (isIPv4(text)) return 4;
	if (isIPv6(text)) return 6;
	return undefined;
}

function parseV4(text: string): Uint8Array {
	return Uint8Array.from(text.split('.').map(Number));
}

function parseV6(text: string): Uint8Array {
	const bytes = new Uint8Array(16);
	let body = text;
	const tail: number[] = [];
	const lastColon = body.lastIndexOf(':');
	if (body.includes('.', lastColon)) {
		const v4 = parseV4(body.slice(lastColon + 1));
		tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
		body = `${body.slice(0, lastColon + 1)}x`;
	}
	const halves = body.split('::');
	const words = (part: string | undefined): number[] =>
		part === undefined || part === ''
			? []
			: part.split(':').map((w) => (w === 'x' ? -1 : Number.parseInt(w, 16)));
	const head = words(halves[0]);
	const rest = words(halves[1]);
	const all = (list: number[]): number[] => list.flatMap((w) => (w === -1 ? tail : [w]));
	const left = all(head);
	const right = all(rest);
	const groups =
		halves.length === 2
			? [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right]
			: left;
	groups.forEach((word, i) => {
		bytes[i * 2] = word >> 8;
		bytes[i * 2 + 1] = word & 0xff;
	});
	return bytes;
}

/** Address text → bytes (4 or 16); throws TypeError when it is not an address. */
export function parseAddress(text: string): {family: IpFamily; bytes: Uint8Array} {
	const family = familyOf(text);
	if (family === 4) return {family, bytes: parseV4(text)};
	if (family === 6) return {family, bytes: parseV6(text)};
	throw new TypeError(`invalid IP address ${JSON.stringify(text)}`);
}

/**
 * Prefix text (`10.0.0.0/24`, `fd00::/64`) → bytes and length. A bare address is a host prefix
 * (/32 or /128). Host bits are kept as written (the kernel rejects them for routes: EINVAL).
 */
export function parsePrefix(text: string): Prefix {
	const slash = text.indexOf('/');
	const addr = slash < 0 ? text : text.slice(0, slash);
	const {family, bytes} = parseAddress(addr);
	const max = family === 4 ? 32 : 128;
	if (slash < 0) return {family, bytes, length: max};
	const lenText = text.slice(slash + 1);
	const length = Number(lenText);
	if (!/^\d{1,3}$/.test(lenText) || length > max) {
		throw new TypeError(`invalid prefix length in ${JSON.stringify(text)}`);
	}
	return {family, bytes, length};
}

/** Bytes (4 or 16) → canonical address text. */
export function formatAddress(bytes: Uint8Array): string {
	if (bytes.length === 4) return Array.from(bytes).join('.');
	if (bytes.length !== 16) throw new TypeError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
	const words: number[] = [];
	for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
	let bestStart = -1;
	let bestLen = 0;
	for (let i = 0; i < 8; ) {
		if (words[i] !== 0) {
			i++;
			continue;
		}
		let j = i;
		while (j < 8 && words[j] === 0) j++;
		if (j - i > bestLen) {
			bestStart = i;
			bestLen = j - i;
		}
		i = j;
	}
	if (bestLen < 2) bestStart = -1;
	// IPv4-compatible (::a.b.c.d) and IPv4-mapped (::ffff:a.b.c.d) addresses, as glibc's inet_ntop prints them.
	if (bestStart === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
		const v4 = Array.from(bytes.subarray(12)).join('.');
		return bestLen === 5 ? `::ffff:${v4}` : `::${v4}`;
	}
	const hex = (list: number[]): string => list.map((w) => w.toString(16)).join(':');
	if (bestStart < 0) return hex(words);
	return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** Canonical text of an address given as text (`fd00:0::1` → `fd00::1`). */
export function canonicalAddress(text: string): string {
	return formatAddress(parseAddress(text).bytes);
}

/** Canonical `address/len` of a prefix given as text; a bare address gets /32 or /128. */
export function canonicalPrefix(text: string): string {
	const prefix = parsePrefix(text);
	return `${formatAddress(prefix.bytes)}/${prefix.length}`;
}

/** The prefix with host bits cleared (`10.0.0.7/24` → bytes of 10.0.0.0). */
export function networkOf(prefix: Prefix): Uint8Array {
	const out = new Uint8Array(prefix.bytes);
	for (let bit = prefix.length; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
	return out;
}

/** True when `addr` (bytes) lies inside `prefix`. */
export function prefixContains(prefix: Prefix, addr: Uint8Array): boolean {
	if (addr.length !== prefix.bytes.length) return false;
	const net = networkOf(prefix);
	const masked = networkOf({family: prefix.family, bytes: addr, length: prefix.length});
	return net.every((b, i) => b === masked[i]);
}
