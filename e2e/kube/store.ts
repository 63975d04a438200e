/**
 * The object store behind the test API server: namespaced objects per resource, a global
 * resourceVersion counter, and the patch flavours kube-apiserver accepts (JSON merge patch,
 * strategic merge patch treated as a merge, and JSON patch, RFC 6902).
 */
import {randomUUID} from 'node:crypto';

export type KubeObject = Record<string, unknown> & {metadata: ObjectMeta};

export interface ObjectMeta {
	name: string;
	namespace: string;
	uid: string;
	resourceVersion: string;
	creationTimestamp: string;
	annotations?: Record<string, string>;
	labels?: Record<string, string>;
	[key: string]: unknown;
}

/** What the store reports when a write cannot happen; the server maps it to a Status object. */
export class StoreError extends Error {
	override name = 'StoreError' as const;
	readonly code: number;
	readonly reason: string;

	constructor(code: number, reason: string, message: string) {
		super(message);
		this.code = code;
		this.reason = reason;
	}
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

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

/** One namespaced resource kind, e.g. pods or network-attachment-definitions. */
export interface ResourceKind {
	/** The plural used in the REST path and in Status details ("pods"). */
	readonly plural: string;
	readonly apiVersion: string;
	readonly kind: string;
	readonly group: string;
}

/** The in-memory object store, shared by every resource kind so resourceVersion is global. */
export class ObjectStore {
	#objects = new Map<string, KubeObject>();
	#version = 1000;

	#key(kind: ResourceKind, namespace: string, name: string): string {
		return `${kind.group}/${kind.plural}/${namespace}/${name}`;
	}

	#nextVersion(): string {
		this.#version += 1;
		return String(this.#version);
	}

	get(kind: ResourceKind, namespace: string, name: string): KubeObject | undefined {
		const found = this.#objects.get(this.#key(kind, namespace, name));
		return found === undefined ? undefined : structuredClone(found);
	}

	/** Every object of `kind`, in `namespace` or across all namespaces when undefined, by name. */
	list(kind: ResourceKind, namespace: string | undefined): KubeObject[] {
		const base = `${kind.group}/${kind.plural}/`;
		const prefix = namespace === undefined ? base : `${base}${namespace}/`;
		return [...this.#objects.entries()]
			.filter(([key]) => key.startsWith(prefix))
			.sort(([a], [b]) => a.localeCompare(b))
			.map(([, value]) => structuredClone(value));
	}

	get resourceVersion(): string {
		return String(this.#version);
	}

	/** Creates an object; the server assigns uid, resourceVersion and creationTimestamp. */
	create(kind: ResourceKind, namespace: string, body: Record<string, unknown>): KubeObject {
		const meta = isPlainObject(body['metadata']) ? body['metadata'] : {};
		let name = typeof meta['name'] === 'string' ? meta['name'] : '';
		if (name === '' && typeof meta['generateName'] === 'string') {
			name = `${meta['generateName']}${randomUUID().slice(0, 5)}`;
		}
		if (name === '') throw new StoreError(422, 'Invalid', `${kind.kind} "": metadata.name: Required value`);
		if (this.#objects.has(this.#key(kind, namespace, name))) {
			throw new StoreError(
				409,
				'AlreadyExists',
				`${kind.plural}${groupSuffix(kind)} "${name}" already exists`,
			);
		}
		const object = asStored(kind, body, meta, {
			name,
			namespace,
			uid: randomUUID(),
			resourceVersion: this.#nextVersion(),
			creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
		});
		this.#objects.set(this.#key(kind, namespace, name), object);
		return structuredClone(object);
	}

	/**
	 * Replaces an object (PUT). A stale `metadata.resourceVersion` or a different `metadata.uid` is a
	 * 409 Conflict, as kube-apiserver's optimistic concurrency does; an empty one means "last write wins".
	 * `status` replaces only status and metadata (the pods/status subresource keeps spec).
	 */
	replace(
		kind: ResourceKind,
		namespace: string,
		name: string,
		body: Record<string, unknown>,
		subresource: 'status' | undefined,
	): KubeObject {
		const current = this.#objects.get(this.#key(kind, namespace, name));
		if (current === undefined) throw notFound(kind, name);
		const meta = isPlainObject(body['metadata']) ? body['metadata'] : {};
		if (typeof meta['name'] === 'string' && meta['name'] !== name) {
			throw new StoreError(
				400,
				'BadRequest',
				`the name of the object (${meta['name']}) does not match the name on the URL (${name})`,
			);
		}
		this.#checkPreconditions(kind, current, meta);
		let next: KubeObject;
		if (subresource === 'status') {
			next = {...structuredClone(current), status: structuredClone(body['status'])};
			next.metadata = {...next.metadata};
			if (isPlainObject(meta['annotations']))
				next.metadata.annotations = structuredClone(meta['annotations']) as Record<string, string>;
			else delete next.metadata.annotations;
			if (isPlainObject(meta['labels']))
				next.metadata.labels = structuredClone(meta['labels']) as Record<string, string>;
		} else {
			next = asStored(kind, body, meta, {
				name,
				namespace,
				uid: current.metadata.uid,
				creationTimestamp: current.metadata.creationTimestamp,
				resourceVersion: '',
			});
		}
		next.metadata.resourceVersion = this.#nextVersion();
		this.#objects.set(this.#key(kind, namespace, name), next);
		return structuredClone(next);
	}

	/** Applies a patch of the given content type; preconditions in the patched metadata apply as for PUT. */
	patch(
		kind: ResourceKind,
		namespace: string,
		name: string,
		contentType: string,
		patch: unknown,
		subresource: 'status' | undefined,
	): KubeObject {
		const current = this.#objects.get(this.#key(kind, namespace, name));
		if (current === undefined) throw notFound(kind, name);
		let patched: unknown;
		if (contentType === 'application/json-patch+json') patched = jsonPatch(current, patch);
		else if (
			contentType === 'application/merge-patch+json' ||
			contentType === 'application/strategic-merge-patch+json'
		) {
			if (!isPlainObject(patch))
				throw new StoreError(400, 'BadRequest', 'merge patch body must be a JSON object');
			const meta = isPlainObject(patch['metadata']) ? patch['metadata'] : {};
			this.#checkPreconditions(kind, current, meta);
			patched = mergePatch(current, patch);
		} else {
			throw new StoreError(
				415,
				'UnsupportedMediaType',
				`the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json`,
			);
		}
		if (!isPlainObject(patched)) throw new StoreError(422, 'Invalid', 'patch produced a non-object');
		const body = {...patched, metadata: {...(patched['metadata'] as object), resourceVersion: ''}};
		return this.replace(kind, namespace, name, body, subresource);
	}

	delete(kind: ResourceKind, namespace: string, name: string): KubeObject {
		const key = this.#key(kind, namespace, name);
		const current = this.#objects.get(key);
		if (current === undefined) throw notFound(kind, name);
		this.#objects.delete(key);
		return current;
	}

	#checkPreconditions(kind: ResourceKind, current: KubeObject, meta: Record<string, unknown>): void {
		const rv = meta['resourceVersion'];
		if (typeof rv === 'string' && rv !== '' && rv !== current.metadata.resourceVersion) {
			throw new StoreError(
				409,
				'Conflict',
				`Operation cannot be fulfilled on ${kind.plural}${groupSuffix(kind)} "${current.metadata.name}": the object has been modified; please apply your changes to the latest version and try again`,
			);
		}
		const uid = meta['uid'];
		if (typeof uid === 'string' && uid !== '' && uid !== current.metadata.uid) {
			throw new StoreError(
				409,
				'Conflict',
				`Operation cannot be fulfilled on ${kind.plural}${groupSuffix(kind)} "${current.metadata.name}": Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid}`,
			);
		}
	}
}

/**
 * A client's `body` as the store keeps it: the kind's apiVersion and kind, and the server-owned
 * metadata (`server`) over the metadata the client sent (`meta`).
 */
function asStored(
	kind: ResourceKind,
	body: Record<string, unknown>,
	meta: Record<string, unknown>,
	server: Pick<ObjectMeta, 'name' | 'namespace' | 'uid' | 'resourceVersion' | 'creationTimestamp'>,
): KubeObject {
	return {
		...structuredClone(body),
		apiVersion: kind.apiVersion,
		kind: kind.kind,
		metadata: {...structuredClone(meta), ...server},
	};
}

function groupSuffix(kind: ResourceKind): string {
	return kind.group === '' ? '' : `.${kind.group}`;
}

export function notFound(kind: ResourceKind, name: string): StoreError {
	return new StoreError(404, 'NotFound', `${kind.plural}${groupSuffix(kind)} "${name}" not found`);
}
