/**
 * The object store behind the test API server, standing in for etcd plus kube-apiserver's watch
 * cache: namespaced and cluster-scoped objects per kind, one global resourceVersion counter that
 * every write (create, replace, patch, delete) advances, optimistic concurrency (409 on a stale
 * resourceVersion or another uid), and a bounded history of change events that watches replay
 * from a resourceVersion. Events older than the history (dropped by the bound or by `compact`)
 * are gone, so a watch from before them is told "too old resource version" (410).
 */
import {randomUUID} from 'node:crypto';
import {groupSuffix, isNamespaced, type ResourceKind} from './kinds.ts';
import {jsonPatch, mergePatch} from './patch.ts';
import {isPlainObject, StoreError} from './status.ts';

export type {ResourceKind} from './kinds.ts';
export {jsonPatch, mergePatch} from './patch.ts';
export {StoreError} from './status.ts';

export type KubeObject = Record<string, unknown> & {metadata: ObjectMeta};

export interface ObjectMeta {
	name: string;
	/** The namespace; absent on cluster-scoped objects. */
	namespace?: string;
	uid: string;
	resourceVersion: string;
	creationTimestamp: string;
	annotations?: Record<string, string>;
	labels?: Record<string, string>;
	[key: string]: unknown;
}

/** One change, as a watch delivers it. `previous` is the object before a MODIFIED or DELETED. */
export interface StoreEvent {
	type: 'ADDED' | 'MODIFIED' | 'DELETED';
	kind: ResourceKind;
	object: KubeObject;
	previous: KubeObject | undefined;
	resourceVersion: number;
}

/** DeleteOptions.preconditions: the delete fails with 409 when they do not hold. */
export interface Preconditions {
	uid?: string;
	resourceVersion?: string;
}

/** Options of an `ObjectStore`. */
export interface StoreOptions {
	/** How many change events a watch can replay; older ones are compacted away. Default 1000. */
	historyLimit?: number | undefined;
}

/** The in-memory object store, shared by every resource kind so resourceVersion is global. */
export class ObjectStore {
	#objects = new Map<string, KubeObject>();
	#version = 1000;
	#history: StoreEvent[] = [];
	/** The newest resourceVersion whose event is gone: watches must start at or after it. */
	#compactedTo = 1000;
	#listeners = new Set<(event: StoreEvent) => void>();
	readonly historyLimit: number;

	constructor(options: StoreOptions = {}) {
		this.historyLimit = options.historyLimit ?? 1000;
	}

	#key(kind: ResourceKind, namespace: string, name: string): string {
		return `${kind.group}/${kind.plural}/${isNamespaced(kind) ? namespace : ''}/${name}`;
	}

	#nextVersion(): string {
		this.#version += 1;
		return String(this.#version);
	}

	#record(type: StoreEvent['type'], kind: ResourceKind, object: KubeObject, previous?: KubeObject): void {
		const event: StoreEvent = {type, kind, object, previous, resourceVersion: this.#version};
		this.#history.push(event);
		if (this.#history.length > this.historyLimit) {
			const dropped = this.#history.splice(0, this.#history.length - this.historyLimit);
			this.#compactedTo = dropped.at(-1)?.resourceVersion ?? this.#compactedTo;
		}
		for (const listener of this.#listeners) listener(event);
	}

	get(kind: ResourceKind, namespace: string, name: string): KubeObject | undefined {
		const found = this.#objects.get(this.#key(kind, namespace, name));
		return found === undefined ? undefined : structuredClone(found);
	}

	/** Every object of `kind`, in `namespace` or across all namespaces when undefined, by name. */
	list(kind: ResourceKind, namespace: string | undefined): KubeObject[] {
		const base = `${kind.group}/${kind.plural}/`;
		const prefix = namespace === undefined || !isNamespaced(kind) ? base : `${base}${namespace}/`;
		return [...this.#objects.entries()]
			.filter(([key]) => key.startsWith(prefix))
			.sort(([a], [b]) => a.localeCompare(b))
			.map(([, value]) => structuredClone(value));
	}

	/** The current (newest) resourceVersion, as a list returns it. */
	get resourceVersion(): string {
		return String(this.#version);
	}

	/** The oldest resourceVersion a watch can start from; anything older is 410 Gone. */
	get oldestResourceVersion(): number {
		return this.#compactedTo;
	}

	/**
	 * The events after resourceVersion `from`, oldest first; undefined when some of them were
	 * compacted away (the caller answers "too old resource version").
	 */
	eventsSince(from: number): StoreEvent[] | undefined {
		if (from < this.#compactedTo) return undefined;
		return this.#history.filter((e) => e.resourceVersion > from);
	}

	/** Drops the history up to `resourceVersion` (default: all of it), as etcd compaction does. */
	compact(resourceVersion = this.#version): void {
		const upTo = Math.min(resourceVersion, this.#version);
		this.#history = this.#history.filter((e) => e.resourceVersion > upTo);
		this.#compactedTo = Math.max(this.#compactedTo, upTo);
	}

	/** Removes every object without events and compacts the history: a fresh, empty cluster. */
	clear(): void {
		this.#objects.clear();
		this.compact();
	}

	/** Calls `listener` for every change from now on; returns the unsubscribe function. */
	subscribe(listener: (event: StoreEvent) => void): () => void {
		this.#listeners.add(listener);
		return () => this.#listeners.delete(listener);
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
			...(isNamespaced(kind) ? {namespace} : {}),
			uid: randomUUID(),
			resourceVersion: this.#nextVersion(),
			creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
		});
		if (!isNamespaced(kind)) delete object.metadata.namespace;
		this.#objects.set(this.#key(kind, namespace, name), object);
		this.#record('ADDED', kind, structuredClone(object));
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
				...(isNamespaced(kind) ? {namespace} : {}),
				uid: current.metadata.uid,
				creationTimestamp: current.metadata.creationTimestamp,
				resourceVersion: '',
			});
			if (!isNamespaced(kind)) delete next.metadata.namespace;
		}
		next.metadata.resourceVersion = this.#nextVersion();
		this.#objects.set(this.#key(kind, namespace, name), next);
		this.#record('MODIFIED', kind, structuredClone(next), current);
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

	/**
	 * Deletes an object (immediately: no graceful deletion). The DELETED event carries the object
	 * at the deletion's resourceVersion, as etcd reports it. Preconditions that do not hold are a 409.
	 */
	delete(kind: ResourceKind, namespace: string, name: string, preconditions: Preconditions = {}): KubeObject {
		const key = this.#key(kind, namespace, name);
		const current = this.#objects.get(key);
		if (current === undefined) throw notFound(kind, name);
		this.#checkPreconditions(kind, current, {...preconditions});
		this.#objects.delete(key);
		const gone = structuredClone(current);
		gone.metadata.resourceVersion = this.#nextVersion();
		this.#record('DELETED', kind, gone, current);
		return structuredClone(gone);
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

/** The 404 kube-apiserver answers for a missing object of `kind`. */
export function notFound(kind: ResourceKind, name: string): StoreError {
	return new StoreError(404, 'NotFound', `${kind.plural}${groupSuffix(kind)} "${name}" not found`);
}
