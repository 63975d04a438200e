/**
 * The meta-plugin as the daemon runs it: the same `createPlexusPlugin` the one-shot binary uses,
 * with daemon-lifetime state the one-shot process cannot keep: one Kubernetes client per
 * kubeconfig (client-node loaded once, connections kept warm) and per-delegate metrics.
 */
import {ExecaPluginExec} from '../chain/plugin-exec.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import {hasKubeConfig, type KubeClient, NodeKubeClient} from '../k8s/client.ts';
import type {PlexusConf} from '../k8s/conf.ts';
import {defaultBuiltins} from '../meta/deps.ts';
import {createPlexusPlugin} from '../meta/plugin.ts';
import {TimedPluginExec, timedPlugin} from './delegate.ts';
import type {DelegateObserver} from './metrics.ts';

/** The bound of a Kubernetes call during DEL, as the one-shot meta-plugin uses it. */
export const DEL_CALL_TIMEOUT_MS = 2000;

/**
 * Kubernetes clients kept for the daemon's life, one per (kubeconfig, call bound). DEL gets the
 * short bound the one-shot plugin uses, so a DEL never waits long on an absent API server.
 */
export class KubeClients {
	readonly #clients = new Map<string, KubeClient>();
	readonly #create: (options: {
		kubeconfig: string;
		callTimeoutMs?: number;
		requestTimeoutMs?: number;
	}) => KubeClient;

	constructor(
		create: (options: {
			kubeconfig: string;
			callTimeoutMs?: number;
			requestTimeoutMs?: number;
		}) => KubeClient = (options) => new NodeKubeClient(options),
	) {
		this.#create = create;
	}

	/** The client for this conf and verb, or undefined when no API server is configured. */
	get(conf: PlexusConf, env: Readonly<Record<string, string>>, verb: 'ADD' | 'DEL'): KubeClient | undefined {
		if (!hasKubeConfig(conf.kubeconfig, env)) return undefined;
		const callTimeoutMs =
			verb === 'DEL'
				? Math.min(conf.apiTimeoutMs ?? DEL_CALL_TIMEOUT_MS, DEL_CALL_TIMEOUT_MS)
				: conf.apiTimeoutMs;
		const key = `${conf.kubeconfig}\u0000${callTimeoutMs ?? ''}`;
		let client = this.#clients.get(key);
		if (client === undefined) {
			client = this.#create({
				kubeconfig: conf.kubeconfig,
				...(callTimeoutMs === undefined
					? {}
					: {callTimeoutMs, requestTimeoutMs: Math.min(callTimeoutMs, 2000)}),
			});
			this.#clients.set(key, client);
		}
		return client;
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
}

/**
 * The meta-plugin for the daemon: shared Kubernetes clients, timed (and time-limited) delegate
 * binaries, timed built-in delegates.
 */
export function createDaemonMetaPlugin(context: DaemonPluginContext, clients = new KubeClients()): CniPlugin {
	return createPlexusPlugin({
		kube: (conf, env, verb) => clients.get(conf, env, verb),
		exec: new TimedPluginExec(new ExecaPluginExec(), context.observeDelegate, {
			timeoutMs: context.delegateTimeoutMs,
		}),
		inProcess: async (conf, exec) => {
			const builtins = await defaultBuiltins(conf, exec);
			return new Map(
				[...builtins].map(([type, plugin]) => [type, timedPlugin(plugin, context.observeDelegate)]),
			);
		},
	});
}
