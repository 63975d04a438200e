/**
 * Watch caches for the daemon: a pod informer (this node's pods only, by `spec.nodeName`) and a
 * NetworkAttachmentDefinition informer, so a warm daemon answers most reads without an API call.
 * A miss (a pod created a moment ago, an informer not synced yet or broken) falls back to a live
 * GET through the ordinary client, as Multus's thick daemon does. Writes always go to the API.
 * @see https://github.com/k8snetworkplumbingwg/multus-cni/blob/master/pkg/server/server.go (newPodInformer)
 */

import {type DraPort, isDraCapable} from '../devices/dra.ts';
import type {KubeClient, Nad, Pod, PodEvent, StatusWriteOutcome} from '../k8s/client.ts';
import {makeApiClient} from '../k8s/user-agent.ts';
import {log} from '../log.ts';
import {tracedApiCall} from '../observe/context.ts';
import {informerState} from '../observe/informer-health.ts';

/** Reads one object from a cache; undefined on a miss. */
export interface ObjectLookup<T> {
	get(namespace: string, name: string): T | undefined;
}

/** Counts what the cache served, for tests and logs. */
export interface CacheStats {
	hits: number;
	misses: number;
}

/** A KubeClient whose reads come from watch caches first and the API on a miss. */
export class CachedKubeClient implements KubeClient {
	readonly stats: CacheStats = {hits: 0, misses: 0};
	readonly #inner: KubeClient;
	readonly #pods: ObjectLookup<Pod> | undefined;
	readonly #nads: ObjectLookup<Nad> | undefined;
	/** The inner client's DRA reads, when it has them (src/devices/dra.ts); always live, not cached. */
	readonly draPort: (() => DraPort) | undefined;

	constructor(
		inner: KubeClient,
		caches: {pods?: ObjectLookup<Pod> | undefined; nads?: ObjectLookup<Nad> | undefined},
	) {
		this.#inner = inner;
		this.#pods = caches.pods;
		this.#nads = caches.nads;
		this.draPort = isDraCapable(inner) ? () => inner.draPort() : undefined;
	}

	async getPod(namespace: string, name: string): Promise<Pod | undefined> {
		const cached = this.#pods?.get(namespace, name);
		if (cached !== undefined) {
			this.stats.hits++;
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

	createEvent(event: PodEvent): Promise<void> {
		return this.#inner.createEvent(event);
	}
}

/** Running informers: lookups, whether both finished their first list, and stop. */
export interface Informers {
	pods: ObjectLookup<Pod> | undefined;
	nads: ObjectLookup<Nad>;
	synced(): boolean;
	stop(): Promise<void>;
}

interface Meta {
	metadata?: {name?: string; namespace?: string; uid?: string; annotations?: Record<string, string>};
}

/** The Pod fields the meta-plugin reads, from an API object. */
function toPod(object: Meta): Pod {
	return {
		name: object.metadata?.name ?? '',
		namespace: object.metadata?.namespace ?? '',
		uid: object.metadata?.uid ?? '',
		annotations: {...(object.metadata?.annotations ?? {})},
	};
}

/** The Nad fields resolution reads, from an API object. */
function toNad(object: Meta & {spec?: {config?: unknown}}): Nad {
	const config = object.spec?.config;
	return {
		name: object.metadata?.name ?? '',
		namespace: object.metadata?.namespace ?? '',
		config: typeof config === 'string' ? config : undefined,
		annotations: {...(object.metadata?.annotations ?? {})},
	};
}

interface Supervisable {
	start(): Promise<void>;
	stop(): Promise<void>;
	on(verb: 'error', cb: (err?: unknown) => void): void;
}

/**
 * Keeps a client-node ListWatch running: it reports a failed list or a broken watch once and
 * stops, so it is restarted here with backoff (1 s doubling to 30 s). Synced once a list succeeded.
 */
function supervise(
	name: string,
	informer: Supervisable,
): {started: Promise<void>; synced(): boolean; stop(): Promise<void>} {
	let stopped = false;
	let synced = false;
	let failed = false;
	let delayMs = 1000;
	let timer: NodeJS.Timeout | undefined;
	const health = informerState(name);
	let runs = 0;
	const run = async () => {
		failed = false;
		if (runs++ > 0) health.relists++;
		health.synced = false;
		await informer.start();
		if (!failed) {
			synced = true;
			health.synced = true;
			health.lastEventAt = performance.now();
			delayMs = 1000;
		}
	};
	informer.on('error', (err) => {
		failed = true;
		health.synced = false;
		if (stopped) return;
		log('warning', 'informer failed; reads fall back to the API until it recovers', {
			informer: name,
			error: String(err),
			retryMs: delayMs,
		});
		clearTimeout(timer);
		timer = setTimeout(() => {
			void run().catch(() => undefined);
		}, delayMs);
		timer.unref();
		delayMs = Math.min(delayMs * 2, 30_000);
	});
	return {
		started: run().catch((err: unknown) =>
			log('warning', 'informer failed to start', {informer: name, error: String(err)}),
		),
		synced: () => synced,
		stop: async () => {
			stopped = true;
			clearTimeout(timer);
			await informer.stop();
		},
	};
}

/**
 * Starts the informers against the API server of `kubeconfig` ('' = in-cluster). The pod
 * informer only runs with a `nodeName` (watching every pod of a cluster is not the daemon's job).
 * Resolves once both made their first attempt; a failing list or watch is logged and retried.
 */
export async function startInformers(options: {
	kubeconfig: string;
	nodeName?: string | undefined;
}): Promise<Informers> {
	const k8s = await import('@kubernetes/client-node');
	const kc = new k8s.KubeConfig();
	if (options.kubeconfig !== '') kc.loadFromFile(options.kubeconfig);
	else kc.loadFromCluster();
	const core = makeApiClient(k8s, kc, k8s.CoreV1Api);
	const custom = makeApiClient(k8s, kc, k8s.CustomObjectsApi);
	// client-node's ListWatch trusts every watch line; a malformed one (no object, no metadata)
	// would throw inside it as an unhandled rejection and end the daemon. Drop those lines here.
	const raw = new k8s.Watch(kc);
	const watch = {
		watch: (
			path: string,
			query: Record<string, string | number | boolean | undefined>,
			callback: (phase: string, object: unknown, watchObject?: unknown) => unknown,
			done: (err: unknown) => void,
		) =>
			raw.watch(
				path,
				query,
				(phase, object, watchObject) => {
					const usable =
						typeof object === 'object' &&
						object !== null &&
						(phase === 'ERROR' || typeof (object as Meta).metadata === 'object');
					if (!usable) {
						log('warning', 'ignoring a malformed watch event', {path, phase});
						return;
					}
					const health = informerState(path.endsWith('/pods') ? 'pods' : 'nads');
					health.lastEventAt = performance.now();
					Promise.resolve(callback(phase, object, watchObject)).catch((err: unknown) =>
						log('warning', 'watch event handler failed', {path, phase, error: String(err)}),
					);
				},
				done,
			),
	} as unknown as InstanceType<typeof k8s.Watch>;
	const nodeName = options.nodeName ?? '';
	const fieldSelector = nodeName === '' ? undefined : `spec.nodeName=${nodeName}`;
	const nadPath = '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions';
	const nadInformer = new k8s.ListWatch<Meta & {spec?: {config?: unknown}}>(
		nadPath,
		watch,
		async () =>
			(await custom.listClusterCustomObject({
				group: 'k8s.cni.cncf.io',
				version: 'v1',
				plural: 'network-attachment-definitions',
			})) as never,
		false,
	);
	const podInformer =
		fieldSelector === undefined
			? undefined
			: new k8s.ListWatch<Meta>(
					'/api/v1/pods',
					watch,
					async () => (await core.listPodForAllNamespaces({fieldSelector})) as never,
					false,
					undefined,
					fieldSelector,
				);
	const nads = supervise('nads', nadInformer);
	const pods = podInformer === undefined ? undefined : supervise('pods', podInformer);
	await Promise.all([nads.started, pods?.started]);
	log('info', 'informers started', {
		pods: pods !== undefined,
		nodeName,
		nadsSynced: nads.synced(),
		podsSynced: pods?.synced(),
	});
	return {
		pods:
			podInformer === undefined
				? undefined
				: {
						get: (namespace, name) => {
							const pod = podInformer.get(name, namespace);
							return pod === undefined ? undefined : toPod(pod);
						},
					},
		nads: {
			get: (namespace, name) => {
				const nad = nadInformer.get(name, namespace);
				return nad === undefined ? undefined : toNad(nad);
			},
		},
		synced: () => nads.synced() && (pods?.synced() ?? true),
		stop: async () => {
			await Promise.all([nads.stop(), pods?.stop()]);
		},
	};
}
