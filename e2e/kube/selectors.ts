/**
 * Field and label selectors as kube-apiserver parses them for list and watch: a field selector
 * is `key=value`, `key==value` or `key!=value` terms joined by commas, over the fields a kind
 * supports (any other field is a 400 "field label not supported"); a label selector also has
 * `key`, `!key`, `key in (a,b)` and `key notin (a,b)`.
 */
import {isNamespaced, type ResourceKind} from './kinds.ts';
import {isPlainObject, StoreError} from './status.ts';

/** A parsed selector: true when an object matches. */
export type Selector = (object: Record<string, unknown>) => boolean;

const ANY: Selector = () => true;

/** The string value at a dotted path ("spec.nodeName"); '' when absent, as the real server compares. */
function fieldValue(object: Record<string, unknown>, path: string): string {
	let node: unknown = object;
	for (const key of path.split('.')) node = isPlainObject(node) ? node[key] : undefined;
	if (node === undefined || node === null) return '';
	return typeof node === 'string' ? node : JSON.stringify(node);
}

/** Parses `fieldSelector` for `kind`; unsupported fields are a 400 as kube-apiserver answers. */
export function fieldSelector(kind: ResourceKind, text: string | undefined): Selector {
	if (text === undefined || text.trim() === '') return ANY;
	const allowed = [
		'metadata.name',
		...(isNamespaced(kind) ? ['metadata.namespace'] : []),
		...(kind.fields ?? []),
	];
	const terms = text.split(',').map((term) => {
		const match = /^\s*([^!=\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(term);
		if (match === null) throw new StoreError(400, 'BadRequest', `invalid field selector: "${term}"`);
		const [, field = '', op, value = ''] = match;
		if (!allowed.includes(field))
			throw new StoreError(400, 'BadRequest', `field label not supported: ${field}`);
		return {field, negate: op === '!=', value};
	});
	return (object) => terms.every((t) => (fieldValue(object, t.field) === t.value) !== t.negate);
}

/** Parses `labelSelector` (equality and set-based terms). */
export function labelSelector(text: string | undefined): Selector {
	if (text === undefined || text.trim() === '') return ANY;
	// Split on commas outside parentheses.
	const terms = text.match(/(?:[^,(]|\([^)]*\))+/g) ?? [];
	const tests = terms.map((raw): ((labels: Record<string, string>) => boolean) => {
		const term = raw.trim();
		let match = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
		if (match !== null) {
			const [, key = '', op, list = ''] = match;
			const values = list.split(',').map((v) => v.trim());
			return (labels) => (key in labels && values.includes(labels[key] ?? '')) === (op === 'in');
		}
		match = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term);
		if (match !== null) {
			const [, key = '', op, value = ''] = match;
			return op === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
		}
		match = /^(!?)([\w./-]+)$/.exec(term);
		if (match !== null) {
			const [, not, key = ''] = match;
			return (labels) => key in labels === (not === '');
		}
		throw new StoreError(400, 'BadRequest', `unable to parse requirement: "${term}"`);
	});
	return (object) => {
		const meta = object['metadata'];
		const labels = isPlainObject(meta) && isPlainObject(meta['labels']) ? meta['labels'] : {};
		return tests.every((t) => t(labels as Record<string, string>));
	};
}
