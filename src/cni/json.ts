/**
 * JSON decoding at the protocol's edges (stdin, plugin stdout, cache files, NADs, conf files): one
 * place that turns a parse failure into the spec's decode error (code 6) with a message naming
 * what was being read, and that bounds how deeply a document may nest.
 *
 * V8's JSON.parse is iterative, but JSON.stringify, structuredClone, the schema validator and any walker of ours
 * recurse: a document nested a few thousand levels deep parses fine and then fails somewhere
 * later with "Maximum call stack size exceeded" (issue 12: code 999 at ADD and at every DEL). The
 * nesting is therefore measured on the text, with a linear scan, before anything parses it.
 */
import {CniError, CniErrorCode} from './errors.ts';

/**
 * The deepest nesting (objects and arrays) any JSON document Plexus reads from outside may have:
 * the conf on stdin (prevResult included), NAD configs, the networks annotations, conf files,
 * delegate results and the daemon's request bodies. Real configs nest about 8 levels.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * The ceiling for documents Plexus composes from accepted inputs and reads back: a delegate's
 * stdin (its conf plus prevResult), network lists with merged `cni-args`, and the cache files.
 * Such compositions add a few levels to inputs of at most MAX_JSON_DEPTH, so an input that was
 * accepted at ADD can always be read again at DEL.
 */
export const MAX_COMPOSED_JSON_DEPTH = 2 * MAX_JSON_DEPTH;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The next delimiter outside a string: a quote or a bracket (lastIndex is just past it). */
const DELIMITER = /["{}[\]]/g;
/** A run of string characters up to the next quote or backslash (always matches, maybe empty). */
const STRING_RUN = /[^"\\]*/y;

/**
 * True when `text` nests objects/arrays deeper than `limit`. One pass, skipping string contents
 * (with their escapes); no recursion. The regular expressions jump over everything that is no
 * delimiter in native code: in a one-shot process, where a loop over every character runs
 * interpreted, that is ~3x faster on API objects (measured: ~1 ms of a one-shot ADD). Malformed
 * text is measured as far as it goes (JSON.parse reports the syntax error).
 */
export function nestsDeeperThan(input: string | Uint8Array, limit: number): boolean {
	// Bytes and UTF-16 units agree on every ASCII delimiter, and latin1 maps each byte to one unit;
	// multi-byte UTF-8 sequences never contain an ASCII byte.
	const text =
		typeof input === 'string'
			? input
			: Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
	let depth = 0;
	DELIMITER.lastIndex = 0;
	while (DELIMITER.test(text)) {
		const c = text.charCodeAt(DELIMITER.lastIndex - 1);
		if (c === QUOTE) {
			let i = DELIMITER.lastIndex;
			for (;;) {
				if (i >= text.length) return false;
				STRING_RUN.lastIndex = i;
				STRING_RUN.test(text);
				i = STRING_RUN.lastIndex;
				if (i >= text.length) return false;
				if (text.charCodeAt(i) !== BACKSLASH) break;
				i += 2;
			}
			DELIMITER.lastIndex = i + 1;
		} else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
			depth++;
			if (depth > limit) return true;
		} else {
			depth--;
		}
	}
	return false;
}

/** The code-7 error for a document nested deeper than `limit` levels, naming what and the limit. */
export function tooDeep(what: string, limit: number): CniError {
	return new CniError(
		CniErrorCode.invalidConfig,
		`invalid ${what}: JSON nests deeper than the limit of ${limit} levels`,
	);
}

/**
 * Refuses a document nested deeper than `limit` (default MAX_JSON_DEPTH) before it is parsed.
 *
 * @throws CniError code 7 `invalid <what>: JSON nests deeper than the limit of <limit> levels`.
 */
export function checkJsonDepth(
	text: string | Uint8Array,
	what: string,
	limit: number = MAX_JSON_DEPTH,
): void {
	if (nestsDeeperThan(text, limit)) throw tooDeep(what, limit);
}

/**
 * The path (`plugins.0.mtu`) of the first number in a parsed document that JSON.parse turned into
 * ±Infinity (`1e999`): JavaScript cannot hold it, Go's decoder (libcni, every delegate) refuses it,
 * and re-encoding would silently turn it into `null`. Undefined when there is none. Iterative.
 */
export function findNonFiniteNumber(value: unknown): string | undefined {
	const stack: [unknown, string][] = [[value, '']];
	for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
		const [v, path] = next;
		if (typeof v === 'number' && !Number.isFinite(v)) return path === '' ? '(the document)' : path;
		if (typeof v !== 'object' || v === null) continue;
		for (const [key, child] of Object.entries(v)) stack.push([child, path === '' ? key : `${path}.${key}`]);
	}
	return undefined;
}

/** The message part for a number out of float64 range at `path`. */
export function outOfRange(path: string): string {
	return `the number at "${path}" is out of range (larger than a float64 can hold)`;
}

/**
 * Parses JSON text or bytes; a document nested deeper than `limit` is code 7 (see checkJsonDepth),
 * a syntax error or a number out of float64 range is `failed to decode <what>: <reason>` (code 6).
 */
export function decodeJson(
	input: string | Uint8Array,
	what: string,
	limit: number = MAX_JSON_DEPTH,
): unknown {
	checkJsonDepth(input, what, limit);
	const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
	let value: unknown;
	try {
		value = JSON.parse(text) as unknown;
	} catch (err) {
		throw new CniError(CniErrorCode.decodeFailure, `failed to decode ${what}: ${(err as Error).message}`);
	}
	const at = findNonFiniteNumber(value);
	if (at !== undefined)
		throw new CniError(CniErrorCode.decodeFailure, `failed to decode ${what}: ${outOfRange(at)}`);
	return value;
}

/** True for a JSON object: not null, not an array (what configs, results and their sections are). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** As decodeJson, and the value must be a JSON object (`failed to decode <what>: expected a JSON object`). */
export function decodeJsonObject(
	input: string | Uint8Array,
	what: string,
	limit: number = MAX_JSON_DEPTH,
): Record<string, unknown> {
	const value = decodeJson(input, what, limit);
	if (!isJsonObject(value)) {
		throw new CniError(CniErrorCode.decodeFailure, `failed to decode ${what}: expected a JSON object`);
	}
	return value;
}
