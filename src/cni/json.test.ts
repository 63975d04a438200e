import {describe, expect, test} from 'vitest';
import {
	checkJsonDepth,
	decodeJson,
	decodeJsonObject,
	findNonFiniteNumber,
	isJsonObject,
	MAX_COMPOSED_JSON_DEPTH,
	MAX_JSON_DEPTH,
	nestsDeeperThan,
} from './json.ts';

describe('decodeJson', () => {
	test('parses text and bytes alike', () => {
		expect(decodeJson('{"a":1}', 'x')).toEqual({a: 1});
		expect(decodeJson(new TextEncoder().encode('[1,2]'), 'x')).toEqual([1, 2]);
	});

	test('a syntax error is code 6 naming what was read', () => {
		expect(() => decodeJson('{', 'plugin result')).toThrow(
			expect.objectContaining({code: 6, message: expect.stringMatching(/^failed to decode plugin result: /)}),
		);
	});
});

describe('decodeJsonObject', () => {
	test.each(['[]', 'null', '"text"', '3'])('%s is not an object: code 6', (text) => {
		expect(() => decodeJsonObject(text, 'network config')).toThrow(
			expect.objectContaining({code: 6, message: 'failed to decode network config: expected a JSON object'}),
		);
	});

	test('an object comes back as is', () => {
		expect(decodeJsonObject('{"name":"n","x":{"y":[1]}}', 'network config')).toEqual({
			name: 'n',
			x: {y: [1]},
		});
	});
});

describe('nesting depth (issue 12)', () => {
	const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

	test.each([
		['[]', 1],
		['{"a":{"b":[1,{"c":2}]}}', 4],
		['"[[[[{{{{"', 0],
		['{"a":"\\"[[[[","b":[]}', 2],
		['{"a":"\\\\","b":[[]]}', 3],
		['{"a":"x\\\\\\"[[","b":[[[]]]}', 4],
		['{"é":"ü[","b":["€",{"c":"\\u005b"}]}', 3],
		['[[["unterminated [[[[', 3],
		['{"a":"\\', 1],
	])('%s nests %i levels', (text, depth) => {
		expect(nestsDeeperThan(text, depth)).toBe(false);
		expect(nestsDeeperThan(text, depth - 1)).toBe(depth > 0);
		expect(nestsDeeperThan(new TextEncoder().encode(text), depth)).toBe(false);
	});

	test('long strings and long runs of escapes are skipped without recursion', () => {
		const escapes = `["${'\\\\'.repeat(4_000_000)}",[[]]]`;
		expect(nestsDeeperThan(escapes, 3)).toBe(false);
		expect(nestsDeeperThan(escapes, 2)).toBe(true);
		const quoted = `["${'\\"['.repeat(2_000_000)}",[]]`;
		expect(nestsDeeperThan(quoted, 2)).toBe(false);
		expect(nestsDeeperThan(quoted, 1)).toBe(true);
		expect(nestsDeeperThan(`["${'a'.repeat(16_000_000)}",[]]`, 1)).toBe(true);
	});

	test('agrees with a character-by-character scan on random text, valid or not', () => {
		// The straightforward scan the regular expressions replace (kept here as the reference).
		const reference = (text: string, limit: number): boolean => {
			let depth = 0;
			let inString = false;
			for (let i = 0; i < text.length; i++) {
				const c = text[i];
				if (inString) {
					if (c === '\\') i++;
					else if (c === '"') inString = false;
				} else if (c === '"') inString = true;
				else if (c === '{' || c === '[') {
					if (++depth > limit) return true;
				} else if (c === '}' || c === ']') depth--;
			}
			return false;
		};
		const alphabet = ['{', '}', '[', ']', '"', '\\', 'a', 'é', ' ', ':'];
		for (let n = 0; n < 20_000; n++) {
			const text = Array.from(
				{length: Math.floor(Math.random() * 40)},
				() => alphabet[Math.floor(Math.random() * alphabet.length)],
			).join('');
			for (const limit of [0, 1, 2, 4]) {
				expect(nestsDeeperThan(text, limit), `${JSON.stringify(text)} limit ${limit}`).toBe(
					reference(text, limit),
				);
				expect(nestsDeeperThan(new TextEncoder().encode(text), limit)).toBe(reference(text, limit));
			}
		}
	});

	test('bytes are measured at their offset in a larger buffer', () => {
		const bytes = new TextEncoder().encode('[[[ ]]] [[]]');
		expect(nestsDeeperThan(bytes.subarray(8), 2)).toBe(false);
		expect(nestsDeeperThan(bytes.subarray(8), 1)).toBe(true);
	});

	test(`a document nested deeper than ${MAX_JSON_DEPTH} levels is code 7 naming the limit, before any parse`, () => {
		expect(() => decodeJson(deep(MAX_JSON_DEPTH), 'network config')).not.toThrow();
		for (const n of [MAX_JSON_DEPTH + 1, 2000, 200_000]) {
			expect(() => decodeJsonObject(deep(n), 'network config')).toThrow(
				expect.objectContaining({
					code: 7,
					message: `invalid network config: JSON nests deeper than the limit of ${MAX_JSON_DEPTH} levels`,
				}),
			);
		}
	});

	test('the composed ceiling leaves room for what Plexus wraps around accepted inputs', () => {
		expect(MAX_COMPOSED_JSON_DEPTH).toBeGreaterThanOrEqual(MAX_JSON_DEPTH + 8);
		expect(() =>
			decodeJson(deep(MAX_JSON_DEPTH + 8), 'cached result', MAX_COMPOSED_JSON_DEPTH),
		).not.toThrow();
		expect(() => checkJsonDepth(deep(MAX_COMPOSED_JSON_DEPTH + 1), 'x', MAX_COMPOSED_JSON_DEPTH)).toThrow(
			expect.objectContaining({code: 7}),
		);
	});

	test('a number out of float64 range is code 6 naming where it is', () => {
		expect(() => decodeJson('{"plugins":[{"mtu":1e999}]}', 'network config')).toThrow(
			expect.objectContaining({
				code: 6,
				message:
					'failed to decode network config: the number at "plugins.0.mtu" is out of range (larger than a float64 can hold)',
			}),
		);
		expect(findNonFiniteNumber(JSON.parse('{"a":[1,-1e400]}'))).toBe('a.1');
		expect(findNonFiniteNumber({a: [1, 2.5, -0]})).toBeUndefined();
	});
});

describe('isJsonObject', () => {
	test.each([
		[{}, true],
		[{a: 1}, true],
		[[], false],
		[null, false],
		['x', false],
		[1, false],
		[undefined, false],
	])('%j → %s', (value, expected) => {
		expect(isJsonObject(value)).toBe(expected);
	});
});
