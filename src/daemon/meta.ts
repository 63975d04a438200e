/**
 * The meta-plugin as the daemon runs it: the same `createPlexusPlugin` the one-shot binary uses,
 * with daemon-lifetime state the one-shot process cannot keep: one Kubernetes client per
 * kubeconfig (client-node loaded once, connections kept warm), pod and NAD watch caches, and
 * per-delegate metrics.
 */
import {type PluginExec, ProcessPluginExec} from '../chain/plugin-exec.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import {hasKubeConfig, type KubeClient, NodeKubeClient} from '../k8s/client.ts';
import {kubeClientOptions} from '../k8s/client-options.ts';
import type {PlexusConf} from '../k8s/conf.ts';
import {log} from '../log.ts';
import {createPlexusPlugin} from '../meta/plugin.ts';
import {timedExec} from '../observe/timed-exec.ts';
import {CachedKubeClient, type Informers, startInformers} from './kube-cache.ts';
import type {DelegateObserver} from './metrics.ts';

/** How long /readyz waits for the in-cluster informers to sync (Multus waits up to 20 s). */
export const INFORMER_SYNC_WAIT_MS = 20_000;

type CreateClient = (options: {
	kubeconfig: string;
	callTimeoutMs?: number;
	requestTimeoutMs?: number;
}) => KubeClient;

/** Watch caches: which node's pods to watch and how informers are started (tests replace it). */
export interface InformerOptions {
	nodeName?: string | undefined;
	start?: typeof startInformers | undefined;
}

/**
 * Kubernetes clients kept for the daemon's life, one per (kubeconfig, call bound). DEL gets the
 * short bound the one-shot plugin uses, so a DEL never waits long on an absent API server. With
 * `informers`, reads are served from watch caches (started on a kubeconfig's first use) and fall
 * back to a live GET on a miss.
 */
export class KubeClients {
	readonly #clients = new Map<string, KubeClient>();
	readonly #informers = new Map<string, {running: Informers | undefined; started: Promise<void>}>();
	readonly #create: CreateClient;
	readonly #informerOptions: InformerOptions | undefined;

	constructor(create: CreateClient = (options) => new NodeKubeClient(options), informers?: InformerOptions) {
		this.#create = create;
		this.#informerOptions = informers;
	}

	/** The client for this conf and verb, or undefined when no API server is configured. */
	get(conf: PlexusConf, env: Readonly<Record<string, string>>, verb: 'ADD' | 'DEL'): KubeClient | undefined {
		const options = kubeClientOptions(conf, env, verb);
		if (options === undefined) return undefined;
		const key = `${conf.kubeconfig}\u0000${options.callTimeoutMs ?? ''}`;
		let client = this.#clients.get(key);
		if (client === undefined) {
			client = this.#create({...options, kubeconfig: conf.kubeconfig});
			if (this.#informerOptions !== undefined) client = this.#cached(conf.kubeconfig, client);
			this.#clients.set(key, client);
		}
		return client;
	}

	/** Starts the watch caches of `kubeconfig` now (the daemon's own in-cluster config at start-up). */
	prestart(kubeconfig: string): void {
		if (this.#informerOptions !== undefined) this.#informersFor(kubeconfig);
	}

	/** Wraps `inner` with the watch caches of `kubeconfig`, starting them on first use. */
	#cached(kubeconfig: string, inner: KubeClient): KubeClient {
		const informers = this.#informersFor(kubeconfig);
		return new CachedKubeClient(inner, {
			pods: {get: (namespace, name) => informers.running?.pods?.get(namespace, name)},
			nads: {get: (namespace, name) => informers.running?.nads.get(namespace, name)},
		});
	}

	#informersFor(kubeconfig: string): {running: Informers | undefined; started: Promise<void>} {
		let entry = this.#informers.get(kubeconfig);
		if (entry === undefined) {
			const start = this.#informerOptions?.start ?? startInformers;
			const created: {running: Informers | undefined; started: Promise<void>} = {
				running: undefined,
				started: Promise.resolve(),
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

	/** True when every informer started so far finished a list (vacuously true with none). */
	informersSynced(): boolean {
		return [...this.#informers.values()].every((entry) => entry.running?.synced() ?? false);
	}

	/** Resolves once every informer started so far made its first attempt (tests). */
	async informersStarted(): Promise<void> {
		await Promise.all([...this.#informers.values()].map((entry) => entry.started));
	}

	/** Stops every informer (on daemon shutdown, so no watch keeps the process alive). */
	async close(): Promise<void> {
		await this.informersStarted();
		await Promise.all([...this.#informers.values()].map((entry) => entry.running?.stop()));
		this.#informers.clear();
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
	return createPlexusPlugin({
		kube: (conf, env, verb) => clients.get(conf, env, verb),
		exec: context.exec ?? new ProcessPluginExec(),
		wrapExec: (exec) => timedExec(exec, context.observeDelegate, {timeoutMs: context.delegateTimeoutMs}),
		hostRoot: context.hostRoot,
	});
}

/**
 * Loads what the meta-plugin imports lazily on its first call (the built-in delegates, the
 * netlink core), so the first pod a fresh daemon serves does not pay for module loading.
 */
export async function prewarm(): Promise<void> {
	await Promise.all([import('../../delegates/index.ts'), import('../netlink/kernel.ts')]);
}
