/**
 * Netlink attributes (struct rtattr / nlattr: u16 len, u16 type, payload padded to 4 bytes) and the
 * little helpers every codec uses. Integers are in host byte order, which Plexus requires to be
 * little-endian (x86-64, arm64); a big-endian host fails loudly at load.
 */
import {endianness} from 'node:os';
import {NLA_TYPE_MASK} from './constants.ts';

if (endianness() !== 'LE') throw new Error('the netlink codec supports little-endian hosts only');

/** Rounds up to the netlink alignment (4). */
export function align(n: number): number {
	return (n + 3) & ~3;
}

/** Concatenates byte chunks. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
	let size = 0;
	for (const part of parts) size += part.length;
	const out = new Uint8Array(size);
	let offset = 0;
	for (const part of parts) {
		out.set(part, offset);
		offset += part.length;
	}
	return out;
}

/** One encoded attribute: header, payload, zero padding. */
export function attr(type: number, payload: Uint8Array): Uint8Array {
	const out = new Uint8Array(align(4 + payload.length));
	const view = new DataView(out.buffer);
	view.setUint16(0, 4 + payload.length, true);
	view.setUint16(2, type, true);
	out.set(payload, 4);
	return out;
}

export function u8Attr(type: number, value: number): Uint8Array {
	return attr(type, Uint8Array.of(value));
}

export function u16Attr(type: number, value: number): Uint8Array {
	const payload = new Uint8Array(2);
	new DataView(payload.buffer).setUint16(0, value, true);
	return attr(type, payload);
}

/** A 16-bit value in network byte order (e.g. IFLA_VLAN_PROTOCOL). */
export function be16Attr(type: number, value: number): Uint8Array {
	const payload = new Uint8Array(2);
	new DataView(payload.buffer).setUint16(0, value, false);
	return attr(type, payload);
}

export function u32Attr(type: number, value: number): Uint8Array {
	const payload = new Uint8Array(4);
	new DataView(payload.buffer).setUint32(0, value >>> 0, true);
	return attr(type, payload);
}

export function s32Attr(type: number, value: number): Uint8Array {
	const payload = new Uint8Array(4);
	new DataView(payload.buffer).setInt32(0, value, true);
	return attr(type, payload);
}

/** A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND, ...). */
export function strAttr(type: number, value: string): Uint8Array {
	const text = new TextEncoder().encode(value);
	const payload = new Uint8Array(text.length + 1);
	payload.set(text);
	return attr(type, payload);
}

/** A flag attribute (no payload, e.g. FRA_L3MDEV is a u8 but flags like this exist too). */
export function flagAttr(type: number): Uint8Array {
	return attr(type, new Uint8Array(0));
}

/** A nested attribute holding already encoded children. */
export function nestAttr(type: number, children: readonly Uint8Array[]): Uint8Array {
	return attr(type, concat(children));
}

/** Attributes by type (flag bits masked off); the last occurrence of a type wins. */
export type AttrMap = ReadonlyMap<number, Uint8Array>;

/** Parses the attributes in `buf[start, end)`; a malformed length stops parsing there. */
export function parseAttrs(buf: Uint8Array, start = 0, end = buf.length): AttrMap {
	const attrs = new Map<number, Uint8Array>();
	const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
	let offset = start;
	while (offset + 4 <= end) {
		const len = view.getUint16(offset, true);
		if (len < 4 || offset + len > end) break;
		const type = view.getUint16(offset + 2, true) & NLA_TYPE_MASK;
		attrs.set(type, buf.subarray(offset + 4, offset + len));
		offset += align(len);
	}
	return attrs;
}

function viewOf(b: Uint8Array): DataView {
	return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

export function readU8(b: Uint8Array | undefined): number | undefined {
	return b === undefined || b.length < 1 ? undefined : b[0];
}

export function readU16(b: Uint8Array | undefined): number | undefined {
	return b === undefined || b.length < 2 ? undefined : viewOf(b).getUint16(0, true);
}

export function readBe16(b: Uint8Array | undefined): number | undefined {
	return b === undefined || b.length < 2 ? undefined : viewOf(b).getUint16(0, false);
}

export function readU32(b: Uint8Array | undefined): number | undefined {
	return b === undefined || b.length < 4 ? undefined : viewOf(b).getUint32(0, true);
}

export function readS32(b: Uint8Array | undefined): number | undefined {
	return b === undefined || b.length < 4 ? undefined : viewOf(b).getInt32(0, true);
}

/** A NUL-terminated (or unterminated) string attribute. */
export function readStr(b: Uint8Array | undefined): string | undefined {
	if (b === undefined) return undefined;
	const nul = b.indexOf(0);
	return new TextDecoder().decode(nul < 0 ? b : b.subarray(0, nul));
}

/** A fixed-size struct writer: little-endian fields at offsets. */
export class Struct {
	readonly bytes: Uint8Array;
	private readonly view: DataView;

	constructor(size: number) {
		this.bytes = new Uint8Array(size);
		this.view = new DataView(this.bytes.buffer);
	}

	u8(offset: number, value: number): this {
		this.view.setUint8(offset, value);
		return this;
	}

	u16(offset: number, value: number): this {
		this.view.setUint16(offset, value, true);
		return this;
	}

	u32(offset: number, value: number): this {
		this.view.setUint32(offset, value >>> 0, true);
		return this;
	}

	s32(offset: number, value: number): this {
		this.view.setInt32(offset, value, true);
		return this;
	}
}

/** A little-endian reader over a struct at the start of `b`. */
export function reader(b: Uint8Array): DataView {
	return viewOf(b);
}
