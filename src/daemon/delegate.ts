/**
 * POST /delegate: run one delegate network (a conf or a conflist, the request's config) for a
 * running pod, the hot-plug path of Multus's thick daemon. The config is executed as libcni would,
 * by the chain executor, with the request's own CNI_PATH, CNI_ARGS and container/netns/ifname;
 * `runtimeConfig` (where /delegate's interface attributes land) becomes the capability arguments.
 */
import {ChainExecutor} from '../chain/executor.ts';
import {confListFromConf, type NetworkList, parseNetworkList} from '../chain/network-list.ts';
import {type PluginExec, ProcessPluginExec} from '../chain/plugin-exec.ts';
import {parseCniArgs} from '../cni/env.ts';
import type {CniPlugin, PluginRequest} from '../cni/plugin.ts';
import {SUPPORTED_VERSIONS} from '../cni/versions.ts';
import {timedExec} from '../observe/timed-exec.ts';
import type {DelegateObserver} from './metrics.ts';

export interface DelegateRunnerOptions {
	/** The result cache root for delegate attachments (libcni's cacheDir). */
	cacheDir?: string | undefined;
	/** Runs the delegates (default: ProcessPluginExec, binaries only; a BuiltinPluginExec adds built-ins). */
	exec?: PluginExec | undefined;
	/** Per-delegate timeout in ms. */
	timeoutMs?: number | undefined;
	/** Receives per-delegate timings. */
	observe?: DelegateObserver | undefined;
}

/** Runs the request's config as one network with the chain executor. */
export class DelegateRunner implements CniPlugin {
	readonly type = 'plexus-delegate';
	readonly supportedVersions = SUPPORTED_VERSIONS;
	readonly #options: DelegateRunnerOptions;

	constructor(options: DelegateRunnerOptions = {}) {
		this.#options = options;
	}

	/** The network and an executor bound to the request's CNI_PATH and environment. */
	#prepare(request: PluginRequest): {list: NetworkList; executor: ChainExecutor} {
		const list = Array.isArray(request.config['plugins'])
			? parseNetworkList(request.stdin)
			: confListFromConf(request.stdin);
		let exec: PluginExec = this.#options.exec ?? new ProcessPluginExec();
		if (this.#options.observe !== undefined) exec = timedExec(exec, this.#options.observe, {nad: list.name});
		const executor = new ChainExecutor({
			path: request.path,
			cacheDir: this.#options.cacheDir,
			exec,
			env: request.env,
			timeoutMs: this.#options.timeoutMs,
		});
		return {list, executor};
	}

	/** libcni's RuntimeConf from the request; `runtimeConfig` supplies the capability arguments. */
	#runtime(request: PluginRequest) {
		const runtimeConfig = request.config['runtimeConfig'];
		return {
			containerId: request.containerId,
			netns: request.netns,
			ifname: request.ifname,
			args: parseCniArgs(request.args),
			capabilityArgs:
				typeof runtimeConfig === 'object' && runtimeConfig !== null && !Array.isArray(runtimeConfig)
					? (runtimeConfig as Record<string, unknown>)
					: {},
		};
	}

	async add(request: PluginRequest): Promise<Record<string, unknown>> {
		const {list, executor} = this.#prepare(request);
		return (await executor.addNetworkList(list, this.#runtime(request))) as unknown as Record<
			string,
			unknown
		>;
	}

	async del(request: PluginRequest): Promise<void> {
		const {list, executor} = this.#prepare(request);
		await executor.delNetworkList(list, this.#runtime(request));
	}

	async check(request: PluginRequest): Promise<void> {
		const {list, executor} = this.#prepare(request);
		await executor.checkNetworkList(list, this.#runtime(request));
	}

	async status(request: PluginRequest): Promise<void> {
		const {list, executor} = this.#prepare(request);
		await executor.statusNetworkList(list);
	}
}
