/**
 * YAML text as kubectl reads it. kubectl decodes manifests with go-yaml (a libyaml port), which does
 * not require the continuation lines of a multi-line flow construct (a quoted scalar such as
 * `networks: '[` ... `]'`, or a `[`/`{` collection) to be indented deeper than their key; the YAML
 * 1.2 spec and the `yaml` package do. Manifests published that way (the NAD and pod YAML of many
 * guides) are applied by kubectl, so before parsing, such continuation lines are indented one
 * column deeper than the construct's parent. That never changes a value: inside a flow construct
 * a line's leading white space is folded away. Lines that would end a document (`---`, `...`) are
 * left as they are, so the parser still refuses them as go-yaml does. Text YAML 1.2 accepts is
 * left unchanged.
 */
import {CST, Lexer, parseAllDocuments} from 'yaml';

/** The parse options kubectl's decoder matches: YAML 1.2 core schema, merge keys, unique keys. */
export const YAML_OPTIONS = {version: '1.2', schema: 'core', merge: true, uniqueKeys: true} as const;

/** Index just past the quoted scalar opening at `start`, or -1 when it is never closed. */
function quotedEnd(text: string, start: number): number {
	const quote = text[start];
	for (let i = start + 1; i < text.length; i++) {
		const ch = text[i];
		if (quote === '"' && ch === '\\') i++;
		else if (ch === quote) {
			if (quote === "'" && text[i + 1] === "'") i++;
			else return i + 1;
		}
	}
	return -1;
}

/** Index just past the flow collection opening at `start` (quotes and comments skipped), or -1. */
function flowEnd(text: string, start: number): number {
	let depth = 0;
	for (let i = start; i < text.length; i++) {
		const ch = text[i];
		if (ch === '"' || ch === "'") {
			const end = quotedEnd(text, i);
			if (end === -1) return -1;
			i = end - 1;
		} else if (ch === '#' && /\s/.test(text[i - 1] ?? '\n')) {
			const nl = text.indexOf('\n', i);
			if (nl === -1) return -1;
			i = nl;
		} else if (ch === '[' || ch === '{') depth++;
		else if (ch === ']' || ch === '}') {
			depth--;
			if (depth === 0) return i + 1;
		}
	}
	return -1;
}

/**
 * Indents the continuation lines of the construct spanning [start, end) one column deeper than
 * its parent; undefined when none needed it (or one is a document marker, which stays an error).
 */
function indentContinuations(text: string, start: number, end: number): string | undefined {
	// The node's parent is at the start line's indentation past any `- ` item indicators; YAML
	// wants continuation lines deeper than that, so only lines not deeper are moved, by the least.
	const lineStart = text.lastIndexOf('\n', start - 1) + 1;
	const column = (/^ *(?:- +)*/.exec(text.slice(lineStart, start))?.[0].length ?? 0) + 1;
	let out = text.slice(0, start);
	let changed = false;
	let pos = start;
	for (let nl = text.indexOf('\n', pos); nl !== -1 && nl < end; nl = text.indexOf('\n', pos)) {
		out += text.slice(pos, nl + 1);
		pos = nl + 1;
		const line = text.slice(pos, text.indexOf('\n', pos) === -1 ? undefined : text.indexOf('\n', pos));
		if (/^(---|\.\.\.)(\s|$)/.test(line)) return undefined;
		const spaces = /^ */.exec(line)?.[0].length ?? 0;
		// Spaces go in front even of leading tabs, which stay white space.
		if (line.trim() !== '' && spaces < column) {
			out += ' '.repeat(column - spaces);
			changed = true;
		}
	}
	return changed ? out + text.slice(pos) : undefined;
}

/** The first block-level flow construct whose continuation lines needed indenting, fixed; or undefined. */
function relaxOnce(text: string): string | undefined {
	let offset = 0;
	let depth = 0;
	for (const token of new Lexer().lex(text)) {
		const type = CST.tokenType(token);
		const start = offset;
		// The lexer's control tokens (document, scalar and flow-end markers) are not in the source.
		if (type !== 'doc-mode' && type !== 'scalar' && type !== 'flow-error-end') offset += token.length;
		if (depth === 0 && (type === 'single-quoted-scalar' || type === 'double-quoted-scalar')) {
			const end = quotedEnd(text, start);
			const fixed = end === -1 ? undefined : indentContinuations(text, start, end);
			if (fixed !== undefined) return fixed;
		}
		if (depth === 0 && (type === 'flow-seq-start' || type === 'flow-map-start')) {
			const end = flowEnd(text, start);
			const fixed = end === -1 ? undefined : indentContinuations(text, start, end);
			if (fixed !== undefined) return fixed;
		}
		if (type === 'flow-seq-start' || type === 'flow-map-start') depth++;
		if (type === 'flow-seq-end' || type === 'flow-map-end') depth = Math.max(0, depth - 1);
	}
	return undefined;
}

/** The text with every block-level flow construct's continuation lines indented as YAML 1.2 wants. */
export function relaxFlowIndentation(text: string): string {
	let current = text;
	// Each round fixes one construct and no fix is ever undone, so this ends; the bound is a guard.
	for (let round = 0; round <= text.length; round++) {
		const next = relaxOnce(current);
		if (next === undefined) return current;
		current = next;
	}
	return current;
}

/** Every document of a YAML stream as kubectl decodes it, or the first parse error's message. */
export function parseYamlDocuments(text: string): {values: unknown[]} | {error: string} {
	const values: unknown[] = [];
	for (const doc of parseAllDocuments(relaxFlowIndentation(text), YAML_OPTIONS)) {
		const first = doc.errors[0];
		if (first !== undefined) return {error: first.message};
		values.push(doc.toJS({maxAliasCount: 100}));
	}
	return {values};
}
