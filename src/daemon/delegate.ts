/**
 * POST /delegate: run one delegate network (a conf or a conflist, the request's config) for a
 * running pod, the hot-plug path of Multus's thick daemon. The config is executed as libcni would,
 * by the chain executor, with the request's own CNI_PATH, CNI_ARGS and container/netns/ifname;
 * `runtimeConfig` (where /delegate's interface attributes land) becomes the capability arguments.
 */
import {basename} from 'node:path';
import {performance} from 'node:perf_hooks';
import {ChainExecutor, type ChainOptions} from '../chain/executor.ts';
import {confListFromConf, type NetworkList, parseNetworkList} from '../chain/network-list.ts';
import {type ExecRequest, type PluginExec, ProcessPluginExec} from '../chain/plugin-exec.ts';
import {parseCniArgs} from '../cni/env.ts';
import {toCniError} from '../cni/errors.ts';
import type {CniPlugin, PluginRequest} from '../cni/plugin.ts';
import {SUPPORTED_VERSIONS} from '../cni/versions.ts';
import type {DelegateObserver} from './metrics.ts';

/** The `name` of a delegate conf (the network: the NAD's CNI network name), '' when unreadable. */
function networkName(stdin: Uint8Array): string {
	try {
		const name = (JSON.parse(Buffer.from(stdin).toString('utf8')) as Record<string, unknown> | null)?.[
			'name'
		];
		return typeof name === 'string' ? name : '';
	} catch {
		return '';
	}
}

/**
 * A PluginExec that reports each binary delegate's duration and outcome to `observe`, labelled
 * with the binary's name and the network (`nad`, else the `name` of the conf it was given), and
 * kills a delegate that runs longer than `timeoutMs` (the run then fails with code 11).
 */
export class TimedPluginExec implements PluginExec {
	readonly #inner: PluginExec;
	readonly #observe: DelegateObserver;
	readonly #nad: string | undefined;
	readonly #timeoutMs: number | undefined;

	constructor(
		inner: PluginExec,
		observe: DelegateObserver,
		options: {nad?: string; timeoutMs?: number | undefined} = {},
	) {
		this.#inner = inner;
		this.#observe = observe;
		this.#nad = options.nad;
		this.#timeoutMs = options.timeoutMs;
	}

	find(type: string, path: readonly string[]): Promise<string> {
		return this.#inner.find(type, path);
	}

	async exec(request: ExecRequest): Promise<Uint8Array> {
		const started = performance.now();
		const sample = {
			nad: this.#nad ?? networkName(request.stdin),
			plugin: basename(request.pluginPath),
			command: request.env['CNI_COMMAND'] ?? '',
			ifname: request.env['CNI_IFNAME'],
			stdin: request.stdin,
		};
		try {
			const timeoutMs = request.timeoutMs ?? this.#timeoutMs;
			const out = await this.#inner.exec(timeoutMs === undefined ? request : {...request, timeoutMs});
			this.#observe({...sample, seconds: (performance.now() - started) / 1000});
			return out;
		} catch (err) {
			const cause = toCniError(err);
			const seconds = (performance.now() - started) / 1000;
			this.#observe({...sample, seconds, errorCode: cause.code, error: cause.message});
			throw err;
		}
	}
}

/**
 * Wraps an in-process delegate so each verb reports its duration and outcome to `observe`,
 * labelled with the network (`name` of the conf it was given) and the delegate's type.
 */
export function timedPlugin(plugin: CniPlugin, observe: DelegateObserver): CniPlugin {
	const timed =
		<T>(verb: (request: PluginRequest) => Promise<T>) =>
		async (request: PluginRequest): Promise<T> => {
			const started = performance.now();
			const name = request.config['name'];
			const sample = {
				nad: typeof name === 'string' ? name : '',
				plugin: plugin.type,
				command: request.command,
				ifname: request.ifname,
				stdin: request.stdin,
			};
			try {
				const out = await verb(request);
				observe({...sample, seconds: (performance.now() - started) / 1000});
				return out;
			} catch (err) {
				const cause = toCniError(err);
				const seconds = (performance.now() - started) / 1000;
				observe({...sample, seconds, errorCode: cause.code, error: cause.message});
				throw err;
			}
		};
	const status = plugin.status;
	const gc = plugin.gc;
	return {
		type: plugin.type,
		supportedVersions: plugin.supportedVersions,
		add: timed((r) => plugin.add(r)),
		del: timed((r) => plugin.del(r)),
		check: timed((r) => plugin.check(r)),
		...(status === undefined ? {} : {status: timed((r) => status.call(plugin, r))}),
		...(gc === undefined ? {} : {gc: timed((r) => gc.call(plugin, r))}),
	};
}

export interface DelegateRunnerOptions {
	/** The result cache root for delegate attachments (libcni's cacheDir). */
	cacheDir?: string | undefined;
	/** Runs binaries (default: the chain executor's ProcessPluginExec). */
	exec?: PluginExec | undefined;
	/** In-process delegates by type. */
	inProcess?: ChainOptions['inProcess'];
	/** Per-delegate timeout in ms. */
	timeoutMs?: number | undefined;
	/** Receives per-delegate timings (binary delegates). */
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
		if (this.#options.observe !== undefined)
			exec = new TimedPluginExec(exec, this.#options.observe, {nad: list.name});
		const executor = new ChainExecutor({
			path: request.path,
			cacheDir: this.#options.cacheDir,
			exec,
			inProcess: this.#options.inProcess,
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
