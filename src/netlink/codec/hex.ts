/** Hex text ↔ bytes, for golden-byte fixtures and debugging dumps. */

/** Bytes → spaced lowercase hex (`0a 00 …`). */
export function hex(bytes: Uint8Array): string {
	return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Hex text → bytes; whitespace and `|` separators are ignored. */
export function bytes(text: string): Uint8Array {
	const clean = text.replace(/[\s|]+/g, '');
	if (!/^([0-9a-f]{2})*$/i.test(clean)) throw new TypeError(`invalid hex ${JSON.stringify(text)}`);
	return Uint8Array.from(clean.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
}
