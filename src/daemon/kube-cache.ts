/**
 * Watch caches for the daemon: a pod informer (this node's pods only, by `spec.nodeName`) and a
 * NetworkAttachmentDefinition informer (reflectors of ../k8s/informer/), and this node's
 * ResourceSlices once a pod needs DRA devices (./slice-cache.ts), so a warm daemon answers
 * every read without an API call. A NAD missing from a synced cache is missing (a client-go
 * lister's answer, as Multus' thick plugin reads NADs): no GET. A pod miss (a pod created a moment
 * ago), any miss of an informer not synced yet or broken, or a cached pod of another UID than
 * the runtime asks for (deleted and re-created under its name, the DELETED event not seen yet)
 * falls back to a live GET through the ordinary client, as Multus's thick daemon does. Writes go to the API: the status write PUTs the cached
 * pod (its resourceVersion) without reading it first; events are queued off the critical path.
 * @see https://github.com/k8snetworkplumbingwg/multus-cni/blob/master/pkg/server/server.go (newPodInformer)
 */

import {type DraPort, isDraCapable} from '../devices/dra.ts';
import {SLICES_PATH} from '../devices/dra-rest.ts';
import {
	type ApiObject,
	type KubeClient,
	NAD_PATH,
	type Nad,
	openRestClient,
	type Pod,
	type PodEvent,
	type StatusWriteOutcome,
	toNad,
	toPod,
} from '../k8s/client.ts';
import {Reflector} from '../k8s/informer/reflector.ts';
import {log} from '../log.ts';
import {tracedApiCall} from '../observe/context.ts';
import {informerState} from '../observe/informer-health.ts';
import type {EventQueue} from './event-queue.ts';
import {CachedDraPort, NodeSlices} from './slice-cache.ts';

/** Reads one object from a cache; undefined on a miss. */
export interface ObjectLookup<T> {
	get(namespace: string, name: string): T | undefined;
	/** The API object as cached (a status write PUTs it without a GET); optional. */
	raw?(namespace: string, name: string): ApiObject | undefined;
	/**
	 * True while the cache has listed and is watching: then a miss means "no such object", as a
	 * client-go lister answers (Multus' thick plugin reads NADs so), and no GET is made; optional.
	 */
	synced?(): boolean;
}

/** A client that can be handed the latest version of a pod (NodeKubeClient). */
type Remembering = KubeClient & {rememberPod?(pod: ApiObject): void};

/** Per-request context of a CachedKubeClient. */
export interface CacheRequest {
	/** The pod the runtime asks about (CNI_ARGS): a cached pod of another UID is stale. */
	pod?: {namespace: string; name: string; uid: string} | undefined;
	/** Where events go instead of a POST on the critical path. */
	events?: EventQueue | undefined;
}

/** Counts what the cache served, for tests and logs. */
export interface CacheStats {
	hits: number;
	misses: number;
}

/** A KubeClient whose reads come from watch caches first and the API on a miss. */
export class CachedKubeClient implements KubeClient {
	readonly stats: CacheStats = {hits: 0, misses: 0};
	readonly #inner: Remembering;
	readonly #pods: ObjectLookup<Pod> | undefined;
	readonly #nads: ObjectLookup<Nad> | undefined;
	readonly #request: CacheRequest;
	/**
	 * The inner client's DRA reads, when it has them (src/devices/dra.ts): this node's slices from
	 * the slice cache (./slice-cache.ts), pods and claims live.
	 */
	readonly draPort: (() => DraPort) | undefined;

	constructor(
		inner: Remembering,
		caches: {
			pods?: ObjectLookup<Pod> | undefined;
			nads?: ObjectLookup<Nad> | undefined;
			/** Resolves once the informers started (./slice-cache.ts bounds the wait). */
			slices?: (() => Promise<NodeSlices | undefined>) | undefined;
		},
		request: CacheRequest = {},
	) {
		this.#inner = inner;
		this.#pods = caches.pods;
		this.#nads = caches.nads;
		this.#request = request;
		this.draPort = isDraCapable(inner)
			? () => new CachedDraPort(inner.draPort(), async () => caches.slices?.())
			: undefined;
	}

	/** True when `pod` is not the one the runtime asks about (same name, another UID). */
	#stale(pod: Pod): boolean {
		const wanted = this.#request.pod;
		return (
			wanted !== undefined &&
			wanted.uid !== '' &&
			wanted.namespace === pod.namespace &&
			wanted.name === pod.name &&
			wanted.uid !== pod.uid
		);
	}

	async getPod(namespace: string, name: string): Promise<Pod | undefined> {
		const cached = this.#pods?.get(namespace, name);
		if (cached !== undefined && !this.#stale(cached)) {
			this.stats.hits++;
			const raw = this.#pods?.raw?.(namespace, name);
			if (raw !== undefined) this.#inner.rememberPod?.(raw);
			return tracedApiCall(`get pod "${namespace}/${name}" (watch cache)`, async () => cached);
		}
		this.stats.misses++;
		return this.#inner.getPod(namespace, name);
	}

	async getNad(namespace: string, name: string): Promise<Nad | undefined> {
		const cached = this.#nads?.get(namespace, name);
		if (cached !== undefined) {
			this.stats.hits++;
			return tracedApiCall(
				`get network-attachment-definition "${namespace}/${name}" (watch cache)`,
				async () => cached,
			);
		}
		if (this.#nads?.synced?.() === true) {
			this.stats.hits++;
			return tracedApiCall(
				`get network-attachment-definition "${namespace}/${name}" (watch cache: none)`,
				async () => undefined,
			);
		}
		this.stats.misses++;
		return this.#inner.getNad(namespace, name);
	}

	setPodAnnotation(
		namespace: string,
		name: string,
		uid: string | undefined,
		key: string,
		value: string,
	): Promise<StatusWriteOutcome> {
		return this.#inner.setPodAnnotation(namespace, name, uid, key, value);
	}

	async createEvent(event: PodEvent): Promise<void> {
		const queue = this.#request.events;
		if (queue === undefined) return this.#inner.createEvent(event);
		queue.push(() => this.#inner.createEvent(event));
	}
}

/** Running informers: lookups, whether both finished their first list, and stop. */
export interface Informers {
	pods: ObjectLookup<Pod> | undefined;
	nads: ObjectLookup<Nad>;
	/** This node's ResourceSlices, reflected from the first DRA read on (with a node name only). */
	slices?: NodeSlices | undefined;
	synced(): boolean;
	stop(): Promise<void>;
	/** The reflectors' counters (lists, watches, bookmarks, …), by informer; optional for fakes. */
	stats?(): Record<string, Reflector['stats']>;
}

/** A lookup over a reflector's store, converting with `convert`. */
function lookup<T>(reflector: Reflector, convert: (object: ApiObject) => T): ObjectLookup<T> {
	return {
		get: (namespace, name) => {
			const object = reflector.store.get(`${namespace}/${name}`);
			return object === undefined ? undefined : convert(object);
		},
		raw: (namespace, name) => reflector.store.get(`${namespace}/${name}`),
		synced: () => reflector.synced,
	};
}

/** A reflector reporting its health under `name` (the informer metrics). */
function reflect(
	rest: Awaited<ReturnType<typeof openRestClient>>,
	name: string,
	path: string,
	fieldSelector?: string,
): Reflector {
	const health = informerState(name);
	const reflector: Reflector = new Reflector(rest, {
		path,
		fieldSelector,
		onActivity: () => {
			health.lastEventAt = performance.now();
		},
		onSynced: (synced) => {
			health.synced = synced;
			health.relists = Math.max(0, reflector.stats.lists - 1);
		},
	});
	return reflector;
}

/**
 * Starts the informers against the API server of `kubeconfig` ('' = in-cluster). The pod
 * informer only runs with a `nodeName` (watching every pod of a cluster is not the daemon's job).
 * Resolves once both made their first list attempt; a failing list or watch is logged and retried.
 */
export async function startInformers(options: {
	kubeconfig: string;
	nodeName?: string | undefined;
}): Promise<Informers> {
	const rest = await openRestClient(options.kubeconfig);
	const nodeName = options.nodeName ?? '';
	const nads = reflect(rest, 'nads', `${NAD_PATH}/network-attachment-definitions`);
	const pods =
		nodeName === '' ? undefined : reflect(rest, 'pods', '/api/v1/pods', `spec.nodeName=${nodeName}`);
	const slices =
		nodeName === ''
			? undefined
			: new NodeSlices(nodeName, () =>
					reflect(rest, 'resourceslices', SLICES_PATH, `spec.nodeName=${nodeName}`),
				);
	await Promise.all([nads.start(), pods?.start()]);
	log('info', 'informers started', {
		pods: pods !== undefined,
		nodeName,
		nadsSynced: nads.synced,
		podsSynced: pods?.synced,
	});
	return {
		pods: pods === undefined ? undefined : lookup(pods, (object) => toPod(object)),
		nads: lookup(nads, (object) => toNad(object)),
		slices,
		synced: () => nads.synced && (pods?.synced ?? true),
		stop: async () => {
			await Promise.all([nads.stop(), pods?.stop(), slices?.stop()]);
			rest.close();
		},
		stats: () => {
			const sliceStats = slices?.stats();
			return {
				nads: nads.stats,
				...(pods === undefined ? {} : {pods: pods.stats}),
				...(sliceStats === undefined ? {} : {resourceslices: sliceStats}),
			};
		},
	};
}
