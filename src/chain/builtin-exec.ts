/**
 * Built-in delegates behind the exec seam: a PluginExec that finds the in-process plugins
 * (`vrf`, `vlan`, `route-override`, `passthru`, or any CniPlugin a caller registers) by `type`
 * before CNI_PATH, and runs them through src/cni/dispatch.ts with exactly the stdin bytes and the
 * environment (CNI_COMMAND, CNI_ARGS, ...) a binary of that name would get. Everything else goes to
 * the PluginExec it wraps. Decorators (timing, recording, stand-ins) wrap this one interface and so
 * see built-ins and binaries alike.
 *
 * The built-ins may be given lazily (LazyBuiltins: their type names now, a loader for the plugins):
 * the production seam loads delegates/index.ts and the Netlink core only on the first built-in
 * find/exec, so a verb whose chains name no built-in (STATUS, most ADDs and DELs) never imports
 * them (~35 modules fewer per one-shot run; measured with a resolve-hook probe).
 */
import {dispatch} from '../cni/dispatch.ts';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {MAX_COMPOSED_JSON_DEPTH} from '../cni/json.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import {type ExecRequest, type PluginExec, validatePluginType} from './plugin-exec.ts';

/**
 * What find() answers for a built-in: `builtin://<type>`. A path findInPath returns is made by
 * path.join, which never leaves "//" in it, so no binary can be taken for a built-in.
 */
const BUILTIN_SCHEME = 'builtin://';

/** The pluginPath of the built-in `type` (its basename is the type, as a binary's is). */
export function builtinPath(type: string): string {
	return `${BUILTIN_SCHEME}${type}`;
}

/** The built-in type a pluginPath names, or undefined for a binary's path. */
export function builtinTypeOf(pluginPath: string): string | undefined {
	return pluginPath.startsWith(BUILTIN_SCHEME) ? pluginPath.slice(BUILTIN_SCHEME.length) : undefined;
}

/** True when `pluginPath` (from a PluginExec's find) names an in-process built-in. */
export function isBuiltinPath(pluginPath: string): boolean {
	return builtinTypeOf(pluginPath) !== undefined;
}

/** Built-ins known by type name now, loaded on first use (the loader is called at most once). */
export interface LazyBuiltins {
	readonly types: ReadonlySet<string>;
	load(): Promise<ReadonlyMap<string, CniPlugin>>;
}

/** True for a LazyBuiltins (a map of plugins has neither `load` nor `types`). */
function isLazy(builtins: ReadonlyMap<string, CniPlugin> | LazyBuiltins): builtins is LazyBuiltins {
	return 'load' in builtins && 'types' in builtins;
}

/**
 * Runs `builtins` in-process and everything else through `binaries`.
 *
 * @example
 * const exec = new BuiltinPluginExec(new ProcessPluginExec(), createBuiltins({openNetlink, exec: binaries}));
 * new ChainExecutor({path, exec});
 */
export class BuiltinPluginExec implements PluginExec {
	readonly #binaries: PluginExec;
	readonly #types: ReadonlySet<string>;
	readonly #load: () => Promise<ReadonlyMap<string, CniPlugin>>;
	#loaded: Promise<ReadonlyMap<string, CniPlugin>> | undefined;
	#warmRequested = false;
	/** Work to start once the next binary delegate has been spawned (duringNextRun). */
	#pending: (() => void)[] = [];

	constructor(binaries: PluginExec, builtins: ReadonlyMap<string, CniPlugin> | LazyBuiltins) {
		this.#binaries = binaries;
		if (isLazy(builtins)) {
			this.#types = builtins.types;
			this.#load = () => builtins.load();
		} else {
			this.#types = new Set(builtins.keys());
			this.#load = async () => builtins;
		}
	}

	/** The types run in-process. */
	get types(): readonly string[] {
		return [...this.#types];
	}

	/**
	 * Has the built-ins load during the next binary delegate's run when `types` names one: the load
	 * then overlaps a delegate the process waits for anyway, instead of happening when the built-in
	 * is due (a one-shot ADD or DEL loads route-override's code, the Netlink core among it). Started
	 * right away it would hold up that delegate's spawn instead. A failed load fails that built-in's
	 * exec, as without warming.
	 */
	warm(types: Iterable<string>): void {
		for (const type of types) if (this.#types.has(type)) this.#warmRequested = true;
	}

	/**
	 * Starts `task` right after the next binary delegate is spawned, while the process waits for
	 * it, instead of now, in front of that spawn (an ADD's event posts); `flush` starts what is
	 * still waiting.
	 */
	duringNextRun(task: () => void): void {
		this.#pending.push(task);
	}

	/** Starts every task duringNextRun still holds. */
	flush(): void {
		for (const task of this.#pending.splice(0)) task();
	}

	/** A built-in's `builtin://<type>`, else the binary's path on `path` (throws PluginNotFoundError). */
	async find(type: string, path: readonly string[]): Promise<string> {
		validatePluginType(type);
		if (this.#types.has(type)) return builtinPath(type);
		return this.#binaries.find(type, path);
	}

	/**
	 * Dispatches a built-in's request in-process (no timeout: it cannot be killed, and it never waits
	 * on anything but netlink and its IPAM binary); a binary's goes to the wrapped exec.
	 */
	async exec(request: ExecRequest): Promise<Uint8Array> {
		const type = builtinTypeOf(request.pluginPath);
		if (type === undefined) {
			const run = this.#binaries.exec(request); // spawned by now (ProcessPluginExec spawns at once)
			if (this.#warmRequested && this.#loaded === undefined) {
				this.#loaded = this.#load();
				this.#loaded.catch(() => {});
			}
			this.flush();
			return run;
		}
		this.#loaded ??= this.#load();
		const plugin = this.#types.has(type) ? (await this.#loaded).get(type) : undefined;
		if (plugin === undefined) {
			throw new CniError(CniErrorCode.invalidConfig, `failed to find plugin "${type}": not a built-in here`);
		}
		const env = request.env;
		const outcome = await dispatch(plugin, {
			getenv: (name) => env[name],
			stdin: request.stdin,
			env,
			// Delegate stdin is composed by the executor (prevResult included): the composed ceiling.
			maxJsonDepth: MAX_COMPOSED_JSON_DEPTH,
		});
		if (!outcome.ok) throw outcome.error;
		return Buffer.from(outcome.stdout, 'utf8');
	}
}

/**
 * The exec a built-in gets for its own IPAM plugin: the type is looked up among the binaries only
 * (Go's ipam.ExecAdd searches CNI_PATH, never a caller's built-ins), and the run goes through
 * `seam()`, the decorated seam, so an IPAM run is timed and recorded like any delegate run.
 */
export function ipamExecOf(binaries: PluginExec, seam: () => PluginExec): PluginExec {
	return {
		find: (type, path) => binaries.find(type, path),
		exec: (request) => seam().exec(request),
	};
}
