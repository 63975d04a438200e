/**
 * The meta-plugin as the daemon runs it: the same `createPlexusPlugin` the one-shot binary uses,
 * with daemon-lifetime state the one-shot process cannot keep: one Kubernetes client per
 * kubeconfig (connections kept warm), pod and NAD watch caches (stopped when no request used their
 * kubeconfig for `idleMs`), events sent after the result from a bounded queue, and per-delegate
 * metrics.
 */
import {type PluginExec, ProcessPluginExec} from '../chain/plugin-exec.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import {hasKubeConfig, type KubeClient, NodeKubeClient} from '../k8s/client.ts';
import {kubeClientOptions} from '../k8s/client-options.ts';
import {podRefFromArgs} from '../k8s/k8s-args.ts';
import {log} from '../log.ts';
import type {PlexusConf} from '../meta/conf/conf.ts';
import {createPlexusPlugin} from '../meta/plugin.ts';
import {timedExec} from '../observe/timed-exec.ts';
import {EventQueue} from './event-queue.ts';
import {CachedKubeClient, type Informers, startInformers} from './kube-cache.ts';
import type {DelegateObserver} from './metrics.ts';
import {RepeatedDels} from './repeat-del.ts';

/** How long /readyz waits for the in-cluster informers to sync (Multus waits up to 20 s). */
export const INFORMER_SYNC_WAIT_MS = 20_000;

type CreateClient = (options: {
	kubeconfig: string;
	callTimeoutMs?: number;
	requestTimeoutMs?: number;
}) => KubeClient;

/** Informers of a kubeconfig no request used for this long are stopped (restarted on next use). */
export const INFORMER_IDLE_MS = 15 * 60_000;

/** Watch caches: which node's pods to watch and how informers are started (tests replace it). */
export interface InformerOptions {
	nodeName?: string | undefined;
	start?: typeof startInformers | undefined;
	/** Stop a kubeconfig's informers after this long without a request (default INFORMER_IDLE_MS). */
	idleMs?: number | undefined;
}

interface InformerEntry {
	running: Informers | undefined;
	started: Promise<void>;
	lastUsed: number;
}

/** The pod of a request, from its CNI_ARGS (`K8S_POD_*`). */
function requestPod(env: Readonly<Record<string, string>>) {
	const pairs = (env['CNI_ARGS'] ?? '')
		.split(';')
		.filter((pair) => pair.includes('='))
		.map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as const);
	return podRefFromArgs(pairs);
}

/**
 * Kubernetes clients kept for the daemon's life, one per (kubeconfig, call bound). DEL gets the
 * short bound the one-shot plugin uses, so a DEL never waits long on an absent API server. With
 * `informers`, reads are served from watch caches (started on a kubeconfig's first use, stopped
 * after `idleMs` without one) and fall back to a live GET on a miss; events go through `events`.
 */
export class KubeClients {
	readonly #clients = new Map<string, KubeClient>();
	readonly #informers = new Map<string, InformerEntry>();
	readonly #create: CreateClient;
	readonly #informerOptions: InformerOptions | undefined;
	readonly #idleTimer: NodeJS.Timeout | undefined;
	/** The queue events wait in, sent after the result (only with informers: the daemon). */
	readonly events: EventQueue | undefined;

	constructor(create: CreateClient = (options) => new NodeKubeClient(options), informers?: InformerOptions) {
		this.#create = create;
		this.#informerOptions = informers;
		if (informers !== undefined) {
			this.events = new EventQueue();
			const idleMs = informers.idleMs ?? INFORMER_IDLE_MS;
			this.#idleTimer = setInterval(
				() => void this.stopIdle(idleMs),
				Math.max(10, Math.min(idleMs / 4, 60_000)),
			);
			this.#idleTimer.unref();
		}
	}

	/** The client for this conf and verb, or undefined when no API server is configured. */
	get(conf: PlexusConf, env: Readonly<Record<string, string>>, verb: 'ADD' | 'DEL'): KubeClient | undefined {
		const options = kubeClientOptions(conf, env, verb);
		if (options === undefined) return undefined;
		const key = `${conf.kubeconfig}\u0000${options.callTimeoutMs ?? ''}`;
		let client = this.#clients.get(key);
		if (client === undefined) {
			client = this.#create({...options, kubeconfig: conf.kubeconfig});
			this.#clients.set(key, client);
		}
		if (this.#informerOptions === undefined) return client;
		return this.#cached(conf.kubeconfig, client, requestPod(env));
	}

	/** Starts the watch caches of `kubeconfig` now (the daemon's own in-cluster config at start-up). */
	prestart(kubeconfig: string): void {
		if (this.#informerOptions !== undefined) this.#informersFor(kubeconfig);
	}

	/** Wraps `inner` with the watch caches of `kubeconfig` for one request, starting them on first use. */
	#cached(kubeconfig: string, inner: KubeClient, pod: ReturnType<typeof requestPod>): KubeClient {
		const informers = this.#informersFor(kubeconfig);
		informers.lastUsed = performance.now();
		return new CachedKubeClient(
			inner,
			{
				pods: {
					get: (namespace, name) => informers.running?.pods?.get(namespace, name),
					raw: (namespace, name) => informers.running?.pods?.raw?.(namespace, name),
				},
				nads: {
					get: (namespace, name) => informers.running?.nads.get(namespace, name),
					synced: () => informers.running?.nads.synced?.() ?? false,
				},
				slices: () => informers.started.then(() => informers.running?.slices),
			},
			{pod, events: this.events},
		);
	}

	#informersFor(kubeconfig: string): InformerEntry {
		let entry = this.#informers.get(kubeconfig);
		if (entry === undefined) {
			const start = this.#informerOptions?.start ?? startInformers;
			const created: InformerEntry = {
				running: undefined,
				started: Promise.resolve(),
				lastUsed: performance.now(),
			};
			created.started = start({kubeconfig, nodeName: this.#informerOptions?.nodeName}).then(
				(running) => {
					created.running = running;
				},
				(err: unknown) => log('warning', 'informers did not start; reads use the API', {error: String(err)}),
			);
			entry = created;
			this.#informers.set(kubeconfig, entry);
		}
		return entry;
	}

	/**
	 * Stops the informers of every kubeconfig no request used for `idleMs` (a conf edited away, an
	 * API server gone): they would otherwise keep a watch open, or keep retrying, forever.
	 */
	async stopIdle(idleMs: number): Promise<string[]> {
		const now = performance.now();
		const idle = [...this.#informers].filter(([, entry]) => now - entry.lastUsed >= idleMs);
		for (const [kubeconfig] of idle) this.#informers.delete(kubeconfig);
		await Promise.all(
			idle.map(async ([kubeconfig, entry]) => {
				await entry.started;
				await entry.running?.stop();
				log('info', 'informers stopped: no request used their kubeconfig', {kubeconfig, idleMs});
			}),
		);
		return idle.map(([kubeconfig]) => kubeconfig);
	}

	/** True when every informer started so far finished a list (vacuously true with none). */
	informersSynced(): boolean {
		return [...this.#informers.values()].every((entry) => entry.running?.synced() ?? false);
	}

	/** Resolves once every informer started so far made its first attempt (tests). */
	async informersStarted(): Promise<void> {
		await Promise.all([...this.#informers.values()].map((entry) => entry.started));
	}

	/** The running informers, by kubeconfig (tests, the bench). */
	running(): ReadonlyMap<string, Informers> {
		const out = new Map<string, Informers>();
		for (const [kubeconfig, entry] of this.#informers)
			if (entry.running !== undefined) out.set(kubeconfig, entry.running);
		return out;
	}

	/** Stops every informer and sends the queued events (on daemon shutdown). */
	async close(): Promise<void> {
		clearInterval(this.#idleTimer);
		await this.informersStarted();
		await Promise.all([...this.#informers.values()].map((entry) => entry.running?.stop()));
		this.#informers.clear();
		await this.events?.flush();
		await Promise.all(
			[...this.#clients.values()].map((client) => (client as {close?: () => Promise<void>}).close?.()),
		);
	}

	/** How many distinct clients exist. */
	get size(): number {
		return this.#clients.size;
	}
}

/** What a daemon plugin loader receives. */
export interface DaemonPluginContext {
	observeDelegate: DelegateObserver;
	/** Kill a delegate binary after this long (its run fails with code 11); undefined: no limit. */
	delegateTimeoutMs?: number | undefined;
	/** Serve Kubernetes reads from watch caches (undefined: every read is a live GET). */
	informers?: InformerOptions | undefined;
	/** The daemon's environment: with the in-cluster variables, its informers start at once. */
	env?: Readonly<Record<string, string | undefined>> | undefined;
	/** Adds a readiness condition to /readyz (the daemon is ready when all of them hold). */
	addReadiness?: ((ready: () => boolean) => void) | undefined;
	/** Registers cleanup to run when the daemon stops. */
	onClose?: ((close: () => Promise<void>) => void) | undefined;
	/** Runs delegate binaries (default: ProcessPluginExec; the daemon's --chroot-dir decorates it). */
	exec?: PluginExec | undefined;
	/** The host's root when delegates run chrooted there (the readiness file is read inside it). */
	hostRoot?: string | undefined;
}

/**
 * The meta-plugin for the daemon: shared Kubernetes clients, timed (and time-limited) delegate
 * binaries, timed built-in delegates.
 */
export function createDaemonMetaPlugin(
	context: DaemonPluginContext,
	clients = new KubeClients(undefined, context.informers),
): CniPlugin {
	context.onClose?.(() => clients.close());
	if (hasKubeConfig('', context.env ?? {})) {
		clients.prestart('');
		// Like Multus: ready once the caches synced, or after INFORMER_SYNC_WAIT_MS regardless
		// (reads fall back to the API), so a slow API server cannot keep every pod from starting.
		const since = performance.now();
		context.addReadiness?.(
			() => clients.informersSynced() || performance.now() - since > INFORMER_SYNC_WAIT_MS,
		);
	}
	const plugin = createPlexusPlugin({
		kube: (conf, env, verb) => clients.get(conf, env, verb),
		exec: context.exec ?? new ProcessPluginExec(),
		wrapExec: (exec) => timedExec(exec, context.observeDelegate, {timeoutMs: context.delegateTimeoutMs}),
		hostRoot: context.hostRoot,
	});
	return afterResultEvents(new RepeatedDels().wrap(plugin), clients.events);
}

/** `plugin` with every verb run as a request of `events`: queued events go out after its result. */
function afterResultEvents(plugin: CniPlugin, events: EventQueue | undefined): CniPlugin {
	if (events === undefined) return plugin;
	const {status, gc} = plugin;
	return {
		type: plugin.type,
		supportedVersions: plugin.supportedVersions,
		add: (request) => events.during(() => plugin.add(request)),
		del: (request) => events.during(() => plugin.del(request)),
		check: (request) => events.during(() => plugin.check(request)),
		...(status === undefined ? {} : {status: (request) => events.during(() => status.call(plugin, request))}),
		...(gc === undefined ? {} : {gc: (request) => events.during(() => gc.call(plugin, request))}),
	};
}

/**
 * Loads what the meta-plugin imports lazily on its first call (the built-in delegates, the
 * netlink core), so the first pod a fresh daemon serves does not pay for module loading.
 */
export async function prewarm(): Promise<void> {
	await Promise.all([import('../../delegates/index.ts'), import('../netlink/kernel.ts')]);
}
