/**
 * The patch flavours kube-apiserver accepts: JSON merge patch (RFC 7386; strategic merge patch is
 * treated as a merge) and JSON patch (RFC 6902).
 */
import {isPlainObject, StoreError} from './status.ts';

/** RFC 7386 JSON merge patch: objects merge recursively, null deletes, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
	if (!isPlainObject(patch)) return structuredClone(patch);
	const out: Record<string, unknown> = isPlainObject(target) ? {...target} : {};
	for (const [key, value] of Object.entries(patch)) {
		if (value === null) delete out[key];
		else out[key] = mergePatch(out[key], value);
	}
	return out;
}

interface JsonPatchOp {
	op: string;
	path: string;
	value?: unknown;
	from?: string;
}

function pointerTokens(pointer: string): string[] {
	if (pointer === '') return [];
	if (!pointer.startsWith('/')) throw new StoreError(422, 'Invalid', `invalid json pointer "${pointer}"`);
	return pointer
		.slice(1)
		.split('/')
		.map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function parentOf(doc: unknown, tokens: string[], path: string): {parent: unknown; key: string} {
	let node = doc;
	for (const token of tokens.slice(0, -1)) {
		if (Array.isArray(node)) node = node[Number(token)];
		else if (isPlainObject(node)) node = node[token];
		else node = undefined;
		if (node === undefined) throw new StoreError(422, 'Invalid', `json patch path "${path}" does not exist`);
	}
	return {parent: node, key: tokens.at(-1) ?? ''};
}

function getAt(doc: unknown, path: string): unknown {
	let node = doc;
	for (const token of pointerTokens(path)) {
		if (Array.isArray(node)) node = node[Number(token)];
		else if (isPlainObject(node)) node = node[token];
		else return undefined;
	}
	return node;
}

/** RFC 6902 JSON patch (add, remove, replace, move, copy, test) on a deep copy of `doc`. */
export function jsonPatch(doc: unknown, ops: unknown): unknown {
	if (!Array.isArray(ops)) throw new StoreError(400, 'BadRequest', 'json patch must be an array');
	let out = structuredClone(doc);
	for (const raw of ops as JsonPatchOp[]) {
		const tokens = pointerTokens(raw.path);
		if (raw.op === 'test') {
			if (JSON.stringify(getAt(out, raw.path)) !== JSON.stringify(raw.value)) {
				throw new StoreError(422, 'Invalid', `json patch test failed at "${raw.path}"`);
			}
			continue;
		}
		let value = raw.value;
		if (raw.op === 'move' || raw.op === 'copy') {
			value = structuredClone(getAt(out, raw.from ?? ''));
			if (raw.op === 'move') out = jsonPatch(out, [{op: 'remove', path: raw.from}]);
		}
		if (tokens.length === 0) {
			if (raw.op === 'remove') throw new StoreError(422, 'Invalid', 'cannot remove the document root');
			out = structuredClone(value);
			continue;
		}
		const {parent, key} = parentOf(out, tokens, raw.path);
		const op = raw.op === 'move' || raw.op === 'copy' ? 'add' : raw.op;
		if (Array.isArray(parent)) {
			const index = key === '-' ? parent.length : Number(key);
			if (op === 'add') parent.splice(index, 0, value);
			else if (op === 'remove') parent.splice(index, 1);
			else if (op === 'replace') parent[index] = value;
			else throw new StoreError(422, 'Invalid', `unknown json patch op "${raw.op}"`);
		} else if (isPlainObject(parent)) {
			if ((op === 'remove' || op === 'replace') && !(key in parent)) {
				throw new StoreError(422, 'Invalid', `json patch path "${raw.path}" does not exist`);
			}
			if (op === 'add' || op === 'replace') parent[key] = value;
			else if (op === 'remove') delete parent[key];
			else throw new StoreError(422, 'Invalid', `unknown json patch op "${raw.op}"`);
		} else {
			throw new StoreError(422, 'Invalid', `json patch path "${raw.path}" does not exist`);
		}
	}
	return out;
}
