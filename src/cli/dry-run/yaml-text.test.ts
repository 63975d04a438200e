// YAML as kubectl (go-yaml) reads it: flow constructs whose continuation lines are not indented
// deeper than their key parse, with the values YAML gives them when indented; nothing else moves.
import {describe, expect, test} from 'vitest';
import {parseYamlDocuments, relaxFlowIndentation} from './yaml-text.ts';

describe('relaxFlowIndentation', () => {
	test.each([
		['a single-quoted scalar', "a:\n  k: '[\n  x,\n  y\n  ]'\n", {a: {k: '[ x, y ]'}}],
		['a double-quoted scalar with an escaped quote', 'k: "x\\"\ny"\n', {k: 'x" y'}],
		['a quoted scalar with an empty line (a line feed)', "k: 'a\n\nb'\n", {k: 'a\nb'}],
		['a flow sequence', 'k: [\na,\n"b,]",\n]\n', {k: ['a', 'b,]']}],
		['a flow mapping with a comment', 'k: {\na: 1, # not } the end\n}\n', {k: {a: 1}}],
		[
			'a JSON file indented with tabs',
			'{\n\t"kind": "Pod",\n\t"n": [\n\t\t1\n\t]\n}\n',
			{kind: 'Pod', n: [1]},
		],
	])('%s', (_what, text, value) => {
		expect(parseYamlDocuments(text)).toEqual({values: [value]});
	});

	test('text YAML 1.2 already accepts is unchanged', () => {
		const text = "a: 'x\n  y'\nb: [1,\n  2]\nc: |\n  it's [\nd: plain it's\n";
		expect(relaxFlowIndentation(text)).toBe(text);
	});

	test('a document marker inside a quoted scalar still ends the document', () => {
		expect(parseYamlDocuments("a: 'x\n---\ny'\n")).toEqual({
			error: expect.stringContaining("Missing closing 'quote"),
		});
	});
});
