/**
 * node:net's isIP with node:net loaded on the first call: importing it costs every one-shot process
 * ~8 ms (37 internal modules), and STATUS, DEL and VERSION never call it.
 */

/** 4 or 6 for an IPv4 or IPv6 address text, else 0 (node:net isIP). */
export function isIP(text: string): number {
	return process.getBuiltinModule('node:net').isIP(text);
}
