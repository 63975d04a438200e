import {describe, expect, test} from 'vitest';
import {decodeJson, decodeJsonObject} from './json.ts';

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
