/**
 * JSON decoding at the protocol's edges (stdin, plugin stdout, cache files): one place that turns a
 * parse failure into the spec's decode error (code 6) with a message naming what was being read.
 */
import {CniError, CniErrorCode} from './errors.ts';

/** Parses JSON text or bytes; a syntax error is `failed to decode <what>: <reason>` (code 6). */
export function decodeJson(input: string | Uint8Array, what: string): unknown {
	const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
	try {
		return JSON.parse(text) as unknown;
	} catch (err) {
		throw new CniError(CniErrorCode.decodeFailure, `failed to decode ${what}: ${(err as Error).message}`);
	}
}

/** As decodeJson, and the value must be a JSON object (`failed to decode <what>: expected a JSON object`). */
export function decodeJsonObject(input: string | Uint8Array, what: string): Record<string, unknown> {
	const value = decodeJson(input, what);
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw new CniError(CniErrorCode.decodeFailure, `failed to decode ${what}: expected a JSON object`);
	}
	return value as Record<string, unknown>;
}
