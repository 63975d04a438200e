/**
 * The chain executor: libcni's AddNetworkList / CheckNetworkList / DelNetworkList /
 * GCNetworkList / GetStatusNetworkList, verb for verb. Every delegate runs through one PluginExec:
 * binaries on CNI_PATH, and the built-ins when the exec is a BuiltinPluginExec (./builtin-exec.ts).
 * One executor = one CNI_PATH, one cache dir; the meta-plugin runs one chain per attachment.
 */
import {formatCniArgs, validateContainerId, validateIfname, validateNetworkName} from '../cni/env.ts';
import {CniError, CniErrorCode, toCniError} from '../cni/errors.ts';
import {decodeJson} from '../cni/json.ts';
import type {CniCommand} from '../cni/plugin.ts';
import {type CniResult, parseResult} from '../cni/result.ts';
import type {GcAttachment} from '../cni/spec.ts';
import {versionAtLeast} from '../cni/versions.ts';
import {type AttachmentKey, DEFAULT_CACHE_DIR, ResultCache} from './cache.ts';
import {buildDelegateConf, buildGcConf, buildStatusConf, type DelegateConf} from './delegate-conf.ts';
import type {NetworkList, PluginEntry} from './network-list.ts';
import {type PluginExec, PluginNotFoundError, ProcessPluginExec, validatePluginType} from './plugin-exec.ts';

/** The per-invocation arguments (libcni RuntimeConf). */
export interface RuntimeConf {
	containerId: string;
	netns: string;
	ifname: string;
	/** CNI_ARGS pairs. */
	args: readonly (readonly [string, string])[];
	/** Capability arguments; each plugin gets the ones it declares, as `runtimeConfig`. */
	capabilityArgs: Readonly<Record<string, unknown>>;
}

export interface GcArgs {
	/** Attachments still in use; undefined (cnitool's GC) means none are, and no list is sent. */
	validAttachments?: readonly GcAttachment[] | undefined;
}

export interface ChainOptions {
	/** CNI_PATH directories searched for delegate binaries. */
	path: readonly string[];
	/** The result cache root (libcni's cacheDir, default /var/lib/cni). */
	cacheDir?: string | undefined;
	/**
	 * Finds and runs every delegate (default: ProcessPluginExec, binaries only); a
	 * BuiltinPluginExec answers the built-in types in-process.
	 */
	exec?: PluginExec | undefined;
	/** The environment delegates inherit before the CNI_* overrides (default: process.env). */
	env?: Readonly<Record<string, string | undefined>> | undefined;
	/** Per-delegate timeout in ms (default: none). */
	timeoutMs?: number | undefined;
}

/** The stdin of `plugin` in `list` for `rt`, with `prevResult` (libcni's buildOneConfig). */
function delegateConf(
	list: NetworkList,
	plugin: PluginEntry,
	rt: RuntimeConf,
	prevResult: CniResult | undefined,
): DelegateConf {
	return buildDelegateConf({
		name: list.name,
		cniVersion: list.cniVersion,
		plugin: plugin.raw,
		prevResult,
		capabilityArgs: rt.capabilityArgs,
	});
}

/** `type="bridge" name="x"`, libcni's pluginDescription. */
function pluginDescription(plugin: PluginEntry): string {
	return plugin.name === undefined || plugin.name === ''
		? `type="${plugin.type}"`
		: `type="${plugin.type}" name="${plugin.name}"`;
}

/** Prefixes a delegate failure with its context, keeping the delegate's code and details. */
function wrap(prefix: string, err: unknown): CniError {
	const cause = toCniError(err);
	return new CniError(cause.code, `${prefix}: ${cause.message}`, {details: cause.details, cause});
}

/** One plugin's ADD before it runs (ChainExecutor.prepareAdd). */
export type AddStep = {
	/** The exact stdin bytes and their object. */
	conf: DelegateConf;
	/** The delegate's complete environment (caller env + CNI_* overrides). */
	env: Record<string, string>;
} & (
	| {/** The binary's path, or a built-in's `builtin://<type>` (./builtin-exec.ts). */ target: string}
	| {target: undefined /** Why ADD would fail before running it. */; failure: CniError}
);

/**
 * Told about each plugin of an ADD as it is about to run, so a caller can persist which plugins
 * ran (the meta-plugin's attachment cache) before anything happens.
 */
export interface AddProgress {
	/** Plugin `index` of the list is found and valid, and runs once this resolves. */
	starting(index: number): Promise<void>;
	/**
	 * Plugin `index` answered code 1 (incompatible CNI version): skel refuses a version before the
	 * plugin's own code runs, so it did nothing.
	 */
	refused(index: number): Promise<void>;
	/** Plugin `index` cannot run at all (not found, invalid type or name): it never starts. */
	unrunnable?(index: number, error: CniError): void;
}

/** How one plugin's DEL went (ChainExecutor.delPlugin). */
export type DelStep =
	| {outcome: 'done'}
	/** Its `type` is not a plugin name at all (it can never have run). */
	| {outcome: 'invalid'; error: CniError}
	/** Not in-process and on no CNI_PATH directory. */
	| {outcome: 'missing'; error: PluginNotFoundError}
	/** It answered code 1: it does not run this cniVersion (so it never ran this config). */
	| {outcome: 'refused'; error: CniError}
	| {outcome: 'failed'; error: CniError};

/**
 * Checks the names libcni refuses before it runs any plugin of an ADD (container ID, network
 * name, interface name); throws the CniError ADD would report.
 */
export function validateNames(
	list: Pick<NetworkList, 'name'>,
	rt: Pick<RuntimeConf, 'containerId' | 'ifname'>,
): void {
	validateContainerId(rt.containerId);
	validateNetworkName(list.name);
	validateIfname(rt.ifname);
}

const EMPTY_RT: RuntimeConf = {containerId: '', netns: '', ifname: '', args: [], capabilityArgs: {}};

export class ChainExecutor {
	readonly cache: ResultCache;
	readonly #path: readonly string[];
	/** The seam every delegate runs through. */
	readonly exec: PluginExec;
	readonly #env: Readonly<Record<string, string | undefined>>;
	readonly #timeoutMs: number | undefined;

	constructor(options: ChainOptions) {
		this.#path = options.path;
		this.cache = new ResultCache(options.cacheDir ?? DEFAULT_CACHE_DIR);
		this.exec = options.exec ?? new ProcessPluginExec();
		this.#env = options.env ?? process.env;
		this.#timeoutMs = options.timeoutMs;
	}

	/** The environment of one delegate run: caller env, then the six CNI_* variables (last wins). */
	#envFor(command: CniCommand, rt: RuntimeConf): Record<string, string> {
		const env: Record<string, string> = {};
		for (const [k, v] of Object.entries(this.#env)) if (v !== undefined) env[k] = v;
		return {
			...env,
			CNI_COMMAND: command,
			CNI_CONTAINERID: rt.containerId,
			CNI_NETNS: rt.netns,
			CNI_ARGS: formatCniArgs(rt.args),
			CNI_IFNAME: rt.ifname,
			CNI_PATH: this.#path.join(':'),
		};
	}

	/** Resolves where `type` runs: the binary's path or a built-in's (throws when missing). */
	#locate(type: string): Promise<string> {
		validatePluginType(type);
		return this.exec.find(type, this.#path);
	}

	/** Runs one delegate and returns its stdout bytes; throws the CniError it reported. */
	#run(target: string, command: CniCommand, conf: DelegateConf, rt: RuntimeConf): Promise<Uint8Array> {
		const env = this.#envFor(command, rt);
		return this.exec.exec({pluginPath: target, stdin: conf.stdin, env, timeoutMs: this.#timeoutMs});
	}

	/** The cache key of `rt` in `list`. */
	#key(list: NetworkList, rt: RuntimeConf): AttachmentKey {
		return {networkName: list.name, containerId: rt.containerId, ifname: rt.ifname};
	}

	/**
	 * One plugin's ADD exactly as addNetworkList performs it, short of running it: the exact stdin
	 * (with `prevResult`), the environment, and where it runs (an in-process plugin or a binary
	 * path), or the failure addNetworkList would report before running it. `plexus dry-run` shows
	 * these, so what it prints is what ADD sends.
	 */
	async prepareAdd(
		list: NetworkList,
		plugin: PluginEntry,
		rt: RuntimeConf,
		prevResult: CniResult | undefined,
	): Promise<AddStep> {
		const conf = delegateConf(list, plugin, rt, prevResult);
		const env = this.#envFor('ADD', rt);
		try {
			const target = await this.#locate(plugin.type);
			validateNames(list, rt);
			return {target, conf, env};
		} catch (err) {
			return {
				target: undefined,
				failure: wrap(`plugin ${pluginDescription(plugin)} failed (add)`, err),
				conf,
				env,
			};
		}
	}

	/**
	 * ADD: plugins in order, each getting the previous one's result as `prevResult`; stops at the
	 * first failure (no rollback); caches and returns the final result once the whole chain succeeded.
	 * `progress` hears of each plugin before it runs (a plugin that cannot be found or run never does).
	 */
	async addNetworkList(list: NetworkList, rt: RuntimeConf, progress?: AddProgress): Promise<CniResult> {
		let result: CniResult | undefined;
		for (const [index, plugin] of list.plugins.entries()) {
			const step = await this.prepareAdd(list, plugin, rt, result);
			if (step.target === undefined) {
				progress?.unrunnable?.(index, step.failure);
				throw step.failure;
			}
			await progress?.starting(index);
			try {
				const stdout = await this.#run(step.target, 'ADD', step.conf, rt);
				result = decodeResult(stdout, list.cniVersion);
			} catch (err) {
				if (toCniError(err).code === CniErrorCode.incompatibleVersion) await progress?.refused(index);
				throw wrap(`plugin ${pluginDescription(plugin)} failed (add)`, err);
			}
		}
		if (result === undefined) {
			throw new CniError(CniErrorCode.invalidConfig, `network "${list.name}" has no plugins`);
		}
		await this.cache.write({
			...this.#key(list, rt),
			config: list.bytes,
			netns: rt.netns,
			cniArgs: rt.args,
			capabilityArgs: rt.capabilityArgs,
			result,
		});
		return result;
	}

	/**
	 * DEL: plugins in reverse order, each getting the cached ADD result as `prevResult` (conf ≥ 0.4.0;
	 * an unusable cache file is removed and DEL goes on without it); halts at the first failure.
	 * The cache file is removed once every plugin succeeded. (libcni keeps it for confs < 0.4.0,
	 * where it never reads it; it is removed here too so GC does not DEL that attachment forever.)
	 */
	async delNetworkList(list: NetworkList, rt: RuntimeConf): Promise<void> {
		const key = this.#key(list, rt);
		let cached: CniResult | undefined;
		if (versionAtLeast(list.cniVersion, '0.4.0')) {
			try {
				cached = await this.cache.getResult(key, list.cniVersion);
			} catch {
				await this.cache.remove(key);
				cached = undefined;
			}
		}
		for (const plugin of [...list.plugins].reverse()) {
			try {
				const target = await this.#locate(plugin.type);
				const conf = delegateConf(list, plugin, rt, cached);
				await this.#run(target, 'DEL', conf, rt);
			} catch (err) {
				throw wrap(`plugin ${pluginDescription(plugin)} failed (delete)`, err);
			}
		}
		await this.cache.remove(key);
	}

	/**
	 * The DEL of one plugin of `list` with `prevResult` (one step of delNetworkList, for callers that
	 * choose which plugins to undo). Never throws: the outcome says whether the plugin is not a
	 * valid name, not installed, refused the version, failed, or is done. Errors carry libcni's
	 * `plugin type="x" failed (delete)` prefix.
	 */
	async delPlugin(
		list: NetworkList,
		plugin: PluginEntry,
		rt: RuntimeConf,
		prevResult: CniResult | undefined,
	): Promise<DelStep> {
		const prefix = `plugin ${pluginDescription(plugin)} failed (delete)`;
		let target: string;
		try {
			target = await this.#locate(plugin.type);
		} catch (err) {
			if (err instanceof PluginNotFoundError) return {outcome: 'missing', error: err};
			return {outcome: 'invalid', error: wrap(prefix, err)};
		}
		const conf = delegateConf(list, plugin, rt, prevResult);
		try {
			await this.#run(target, 'DEL', conf, rt);
			return {outcome: 'done'};
		} catch (err) {
			const error = wrap(prefix, err);
			return {outcome: error.code === CniErrorCode.incompatibleVersion ? 'refused' : 'failed', error};
		}
	}

	/** CHECK (≥ 0.4.0): every plugin in order with the cached result as `prevResult`; `disableCheck` skips. */
	async checkNetworkList(list: NetworkList, rt: RuntimeConf): Promise<void> {
		if (!versionAtLeast(list.cniVersion, '0.4.0')) {
			throw new CniError(
				CniErrorCode.incompatibleVersion,
				`configuration version "${list.cniVersion}" does not support the CHECK command`,
			);
		}
		if (list.disableCheck) return;
		let cached: CniResult | undefined;
		try {
			cached = await this.cache.getResult(this.#key(list, rt), list.cniVersion);
		} catch (err) {
			throw wrap(`failed to get network "${list.name}" cached result`, err);
		}
		for (const plugin of list.plugins) {
			const target = await this.#locate(plugin.type);
			const conf = delegateConf(list, plugin, rt, cached);
			await this.#run(target, 'CHECK', conf, rt);
		}
	}

	/** STATUS (≥ 1.1.0, a no-op below): every plugin in order; the first failure is returned as is. */
	async statusNetworkList(list: NetworkList): Promise<void> {
		if (!versionAtLeast(list.cniVersion, '1.1.0')) return;
		for (const plugin of list.plugins) {
			const target = await this.#locate(plugin.type);
			await this.#run(target, 'STATUS', buildStatusConf(list.name, list.cniVersion, plugin.raw), EMPTY_RT);
		}
	}

	/**
	 * GC: DEL for every cached attachment of this network that is not in `validAttachments` (with the
	 * runtime args it was added with), then (≥ 1.1.0) GC to every plugin with the valid list.
	 * Failures are collected and reported together. `disableGC` makes it a no-op.
	 */
	async gcNetworkList(list: NetworkList, args: GcArgs = {}): Promise<void> {
		if (list.disableGC) return;
		const valid = new Set((args.validAttachments ?? []).map((a) => `${a.containerID}\u0000${a.ifname}`));
		const errors: CniError[] = [];
		for (const cached of await this.cache.list(list.name)) {
			if (valid.has(`${cached.containerId}\u0000${cached.ifname}`)) continue;
			const rt: RuntimeConf = {
				containerId: cached.containerId,
				netns: cached.netns,
				ifname: cached.ifname,
				args: cached.cniArgs,
				capabilityArgs: cached.capabilityArgs,
			};
			try {
				await this.delNetworkList(list, rt);
			} catch (err) {
				errors.push(wrap(`failed to delete stale attachment ${rt.containerId} ${rt.ifname}`, err));
			}
		}
		if (versionAtLeast(list.cniVersion, '1.1.0')) {
			for (const plugin of list.plugins) {
				try {
					const target = await this.#locate(plugin.type);
					const conf = buildGcConf(list.name, list.cniVersion, plugin.raw, args.validAttachments);
					await this.#run(target, 'GC', conf, EMPTY_RT);
				} catch (err) {
					errors.push(wrap(`failed to GC plugin ${plugin.type}`, err));
				}
			}
		}
		if (errors.length === 1) throw errors[0];
		if (errors.length > 1) {
			throw new CniError(errors[0]?.code ?? CniErrorCode.internal, errors.map((e) => e.message).join('; '));
		}
	}

	/** The cached final ADD result in the list's version, or undefined (libcni GetNetworkListCachedResult). */
	getCachedResult(list: NetworkList, rt: RuntimeConf): Promise<CniResult | undefined> {
		return this.cache.getResult(this.#key(list, rt), list.cniVersion);
	}
}

/** Decodes an ADD stdout into a result; a result without cniVersion is read as the conf's version. */
function decodeResult(stdout: Uint8Array, confVersion: string): CniResult {
	return parseResult(decodeJson(stdout, 'plugin result'), confVersion);
}
