/**
 * Hostile values for the fuzz generators: strings with control characters, NUL, unicode,
 * separators and odd lengths; numbers JSON can spell but JavaScript cannot hold; wrong types; and
 * JSON nested just below, at and far beyond the depth limit. `Raw` splices JSON text that
 * JSON.stringify cannot produce (1e999, 2,000 levels of nesting) into a generated document.
 */
import {MAX_JSON_DEPTH} from '../../../cni/json.ts';
import type {Rng} from './rng.ts';

/** JSON text to splice in verbatim where this value stands. */
export class Raw {
	readonly text: string;
	constructor(text: string) {
		this.text = text;
	}
}

/** Serialises a generated value, splicing every Raw in as its text. */
export function toJsonText(value: unknown): string {
	const raws: string[] = [];
	const text = JSON.stringify(value, (_key, v: unknown) => {
		if (v instanceof Raw) {
			raws.push(v.text);
			return `@@RAW${raws.length - 1}@@`;
		}
		return v;
	});
	return (text ?? 'null').replace(/"@@RAW(\d+)@@"/g, (_m, i: string) => raws[Number(i)] ?? 'null');
}

/** JSON text nested `depth` levels deep (arrays or objects). */
export function nestedText(depth: number, kind: 'array' | 'object'): string {
	return kind === 'array'
		? `${'['.repeat(depth)}${']'.repeat(depth)}`
		: `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Depths around the limit and far beyond it (the issue's ~2,000). */
export function nastyDepth(rng: Rng): number {
	return rng.pick([MAX_JSON_DEPTH - 8, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, 2000, 20_000]);
}

const CONTROL = ['\u0000', '\u0001', '\u0007', '\b', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085'];
const UNICODE = ['é', 'ß', '🙂', '\u202e', '\u200b', '\ufeff', '\uffff', '\ud800', 'Ω', '中'];

/** A string built to break parsers and validators. */
export function nastyString(rng: Rng): string {
	return rng.weighted<string>([
		[3, () => ''],
		[2, () => ' '],
		[3, () => rng.pick(CONTROL)],
		[3, () => `a${rng.pick(CONTROL)}b`],
		[3, () => rng.pick(UNICODE)],
		[2, () => `net${rng.pick(UNICODE)}`],
		[2, () => rng.pick(['.', '..', '/', 'a/b', '../x', '/abs/path', 'rel/path', ':', 'eth0:1', '-x', '*'])],
		[2, () => 'x'.repeat(rng.pick([15, 16, 63, 64, 200, 254, 255, 256, 300]))],
		[1, () => 'y'.repeat(rng.pick([5000, 70_000]))],
		[
			2,
			() => rng.pick(['0.0.0', '1.0', 'v1.0.0', '1.0.0-rc1', '99.0.0', '0.1.0', '1.1.0', '0.3.1', '00.4.0']),
		],
		[2, () => rng.pick(['true', 'null', '1e999', 'NaN', '{}', '[]', '"q"', '\\', '%s', '$(x)'])],
		[1, () => rng.pick(['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'])],
	]);
}

/**
 * The longest name (container ID, network name) drawn for a part of a cache file name: no bound,
 * since cache file names over NAME_MAX are shortened with a hash (src/chain/cache-file.ts).
 */
export const MAX_FILE_NAME_PART = Infinity;

/** nastyString, with long strings cut to MAX_FILE_NAME_PART (for names that end up in file names). */
export function nastyName(rng: Rng): string {
	return nastyString(rng).slice(0, MAX_FILE_NAME_PART);
}

/** A number JSON can carry that breaks assumptions (Infinity as 1e999, -0, unsafe integers, ...). */
export function nastyNumber(rng: Rng): number | Raw {
	return rng.pick<number | Raw>([
		0,
		-1,
		1.5,
		2 ** 31,
		2 ** 53 + 2,
		Number.MAX_VALUE,
		-Number.MAX_VALUE,
		new Raw('1e999'),
		new Raw('-1e999'),
		new Raw('-0'),
		new Raw('1E+400'),
		new Raw('123456789012345678901234567890'),
		new Raw('4.9e-324'),
	]);
}

/**
 * Any hostile JSON value: a wrong type, a nasty string or number, or deep nesting. `name`: the
 * value may become a file name part, so its strings are cut as nastyName does.
 */
export function nastyValue(rng: Rng, name = false): unknown {
	return rng.weighted<unknown>([
		[4, () => (name ? nastyName(rng) : nastyString(rng))],
		[3, () => nastyNumber(rng)],
		[2, () => rng.pick([true, false, null])],
		[2, () => rng.pick([[], {}, [nastyString(rng)], {[nastyString(rng)]: nastyString(rng)}])],
		[1, () => new Raw(nestedText(nastyDepth(rng), rng.pick(['array', 'object'] as const)))],
	]);
}

/** Whole documents that are not what a reader expects (for a stdin, a NAD config, a body). */
export function nastyDocument(rng: Rng): string {
	return rng.weighted<string>([
		[2, () => ''],
		[2, () => rng.pick(['{', '}', '{"a":', 'nul', '[1,]', '{"a":1}}', '\u0000', '\ufeff{}'])],
		[2, () => rng.pick(['[]', 'null', '"text"', '3', 'true', '[{}]'])],
		[3, () => nestedText(nastyDepth(rng), rng.pick(['array', 'object'] as const))],
		[1, () => `{"cniVersion":"1.0.0","x":${nestedText(nastyDepth(rng), 'array')}}`],
		[1, () => '{"a":1,"a":2,"cniVersion":"1.0.0","cniVersion":7}'],
	]);
}
