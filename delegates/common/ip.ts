/**
 * IP text helpers: the kernel prints prefixes in canonical form (host bits cleared, IPv6 in
 * RFC 5952 shape), results and configs may not. Comparing through these avoids false mismatches.
 */
import {isIP} from 'node:net';
import {CniError, CniErrorCode} from '../../src/cni/errors.ts';

/** IPv4 or IPv6 address text → 4 or 16 bytes; a CniError(7) for anything else. */
function toBytes(address: string): number[] {
	const kind = isIP(address);
	if (kind === 4) return address.split('.').map(Number);
	if (kind !== 6) throw new CniError(CniErrorCode.invalidConfig, `invalid IP address "${address}"`);
	let text = address;
	let tail: number[] = [];
	const lastColon = text.lastIndexOf(':');
	if (text.slice(lastColon + 1).includes('.')) {
		tail = text
			.slice(lastColon + 1)
			.split('.')
			.map(Number);
		text = `${text.slice(0, lastColon + 1)}0:0`;
	}
	const [head = '', rest] = text.split('::');
	const left = head === '' ? [] : head.split(':');
	const right = rest === undefined || rest === '' ? [] : rest.split(':');
	const fill = rest === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
	const groups = [...left, ...fill, ...right].map((g) => Number.parseInt(g, 16));
	const bytes = groups.flatMap((g) => [g >> 8, g & 0xff]);
	if (tail.length === 4) bytes.splice(12, 4, ...tail);
	return bytes;
}

/** 4 or 16 bytes → canonical text (dotted quad, or RFC 5952 compressed lowercase IPv6). */
function fromBytes(bytes: readonly number[]): string {
	if (bytes.length === 4) return bytes.join('.');
	const groups: number[] = [];
	for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
	let bestStart = -1;
	let bestLen = 0;
	for (let i = 0; i < 8; ) {
		if (groups[i] !== 0) {
			i++;
			continue;
		}
		let j = i;
		while (j < 8 && groups[j] === 0) j++;
		if (j - i > bestLen && j - i >= 2) {
			bestStart = i;
			bestLen = j - i;
		}
		i = j;
	}
	const hex = groups.map((g) => g.toString(16));
	if (bestStart < 0) return hex.join(':');
	const left = hex.slice(0, bestStart).join(':');
	const right = hex.slice(bestStart + bestLen).join(':');
	return `${left}::${right}`;
}

/** Canonical address text: `fd00:0::1` → `fd00::1`. */
export function canonicalAddress(address: string): string {
	return fromBytes(toBytes(address));
}

/** Canonical `address/len` keeping host bits (an interface address). A bare address gets /32 or /128. */
export function canonicalCidr(cidr: string): string {
	const [address = '', len] = cidr.split('/');
	const bytes = toBytes(address);
	return `${fromBytes(bytes)}/${len ?? bytes.length * 8}`;
}

/** Canonical prefix with host bits cleared, as the kernel stores a route's destination. */
export function canonicalPrefix(cidr: string): string {
	const [address = '', lenText] = cidr.split('/');
	const bytes = toBytes(address);
	const len = lenText === undefined ? bytes.length * 8 : Number(lenText);
	if (!Number.isInteger(len) || len < 0 || len > bytes.length * 8) {
		throw new CniError(CniErrorCode.invalidConfig, `invalid prefix "${cidr}"`);
	}
	const masked = bytes.map((byte, i) => {
		const bits = Math.min(8, Math.max(0, len - i * 8));
		return byte & ((0xff << (8 - bits)) & 0xff);
	});
	return `${fromBytes(masked)}/${len}`;
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
	const bytes = toBytes(address);
	return bytes[0] === 0xfe && ((bytes[1] ?? 0) & 0xc0) === 0x80;
}

/** True for a valid IPv4/IPv6 address text. */
export function isAddress(text: string): boolean {
	return isIP(text) !== 0;
}
