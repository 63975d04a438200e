/**
 * The YAML subset kubeconfigs are written in (block mappings and sequences, plain and quoted
 * one-line scalars, comments), parsed without loading the `yaml` package; anything else (flow
 * collections, anchors, tags, block or multi-line scalars, escapes, documents markers, tabs)
 * returns undefined and the caller uses `yaml` as before.
 *
 * Why not always `yaml`: importing it costs ~0.13 s of CPU per process on the bench machine
 * (`node -e "import('yaml')"` 0.21 s vs `node -e 0` 0.08 s, compile cache on), paid by every
 * one-shot ADD and DEL whose kubeconfig is YAML (Multus' thin install writes YAML ones), against
 * a delegates-only floor of ~0.1 s. The output is checked against `yaml` in the tests.
 */

/** Thrown inside the parser when the text leaves the subset. */
class OutsideSubset extends Error {}

interface Line {
	indent: number;
	text: string;
}

/** Plain or quoted one-line scalar to its value; true/false/null as YAML 1.2 core schema. */
function scalar(raw: string): unknown {
	let text = raw;
	if (text.startsWith('"')) {
		if (!text.endsWith('"') || text.length < 2 || text.slice(1, -1).includes('"') || text.includes('\\')) {
			throw new OutsideSubset();
		}
		return text.slice(1, -1);
	}
	if (text.startsWith("'")) {
		const inner = text.slice(1, -1);
		if (!text.endsWith("'") || text.length < 2 || inner.replaceAll("''", '').includes("'")) {
			throw new OutsideSubset();
		}
		return inner.replaceAll("''", "'");
	}
	if (/^[[\]{}&*!|>%@`,?]/.test(text)) throw new OutsideSubset();
	const comment = text.search(/\s#/);
	if (comment !== -1) text = text.slice(0, comment);
	text = text.trim();
	if (text.includes(': ') || text.endsWith(':')) throw new OutsideSubset();
	if (/^(true|True|TRUE)$/.test(text)) return true;
	if (/^(false|False|FALSE)$/.test(text)) return false;
	if (/^(null|Null|NULL|~|)$/.test(text)) return null;
	// Numbers stay strings: no kubeconfig field is a number, and the readers want strings.
	if (/^[-+]?(\.?\d|\.inf|\.nan)/i.test(text)) throw new OutsideSubset();
	return text;
}

/** Parses the block at `lines[at]` (indented `indent`); returns the value and the next line. */
function block(lines: Line[], at: number, indent: number): [unknown, number] {
	const first = lines[at];
	if (first === undefined) return [null, at];
	return first.text === '-' || first.text.startsWith('- ')
		? sequence(lines, at, indent)
		: mapping(lines, at, indent);
}

function sequence(lines: Line[], at: number, indent: number): [unknown[], number] {
	const items: unknown[] = [];
	let i = at;
	for (let line = lines[i]; line !== undefined && line.indent === indent; line = lines[i]) {
		if (line.text !== '-' && !line.text.startsWith('- ')) break;
		const rest = line.text.slice(1).trimStart();
		if (rest === '') {
			const next = lines[i + 1];
			if (next === undefined || next.indent <= indent) {
				items.push(null);
				i++;
			} else {
				const [value, after] = block(lines, i + 1, next.indent);
				items.push(value);
				i = after;
			}
			continue;
		}
		// "- key: value": the item is a mapping whose first key sits after the dash.
		const inner = indent + (line.text.length - rest.length);
		lines[i] = {indent: inner, text: rest};
		if (!/^[^\s'"][^:]*:(\s|$)/.test(rest)) {
			items.push(scalar(rest));
			i++;
			continue;
		}
		const [value, after] = mapping(lines, i, inner);
		items.push(value);
		i = after;
	}
	return [items, i];
}

function mapping(lines: Line[], at: number, indent: number): [Record<string, unknown>, number] {
	const out: Record<string, unknown> = {};
	let i = at;
	for (let line = lines[i]; line !== undefined && line.indent === indent; line = lines[i]) {
		if (line.text === '-' || line.text.startsWith('- ')) break;
		const match = /^([A-Za-z0-9_.\-/]+):(?:\s+(.*))?$/.exec(line.text);
		if (match === null) throw new OutsideSubset();
		const key = match[1] as string;
		if (Object.hasOwn(out, key)) throw new OutsideSubset();
		const raw = (match[2] ?? '').trim();
		i++;
		const next = lines[i];
		if (raw !== '' && !raw.startsWith('#')) {
			if (next !== undefined && next.indent > indent) throw new OutsideSubset();
			out[key] = scalar(raw);
		} else if (
			next !== undefined &&
			(next.indent > indent || (next.indent === indent && next.text.startsWith('-')))
		) {
			const [value, after] = block(lines, i, next.indent);
			out[key] = value;
			i = after;
		} else {
			out[key] = null;
		}
	}
	return [out, i];
}

/** The kubeconfig document, or undefined when the text is not in the subset (use `yaml`). */
export function parseKubeconfigYaml(text: string): Record<string, unknown> | undefined {
	const lines: Line[] = [];
	for (const rawLine of text.split('\n')) {
		const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
		const body = line.trimStart();
		if (body === '' || body.startsWith('#')) continue;
		if (line.includes('\t') || body.startsWith('---') || body.startsWith('...') || body.startsWith('%')) {
			return undefined;
		}
		lines.push({indent: line.length - body.length, text: body.trimEnd()});
	}
	try {
		const [value, end] = mapping(lines, 0, lines[0]?.indent ?? 0);
		return end === lines.length ? value : undefined;
	} catch (error) {
		if (error instanceof OutsideSubset) return undefined;
		throw error;
	}
}
