/**
 * The exec seam (libcni pkg/invoke): finding a delegate binary on CNI_PATH and running it with
 * posix_spawn (./native-spawn.ts: a fork of Node costs 5-11 ms more per delegate, growing with
 * the process's size). This is the only module of src/ that starts processes; tests swap in
 * FakePluginExec. A request with a `root` runs the plugin chrooted into that directory through
 * the static plexus-chroot-exec helper (see ./host-root.ts and shim/plexus-chroot-exec.c).
 */
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {MAX_JSON_DEPTH, nestsDeeperThan} from '../cni/json.ts';
import {ErrorSchema} from '../cni/spec.ts';
import {stat} from '../fs/promises.ts';
import {log} from '../log.ts';
import {type SpawnedChild, spawnChild} from './native-spawn.ts';

/** One delegate run, as the binary will see it. */
export interface ExecRequest {
	/** Absolute path from find(). */
	readonly pluginPath: string;
	/** The exact stdin bytes. */
	readonly stdin: Uint8Array;
	/** The complete environment (caller env + CNI_* overrides). */
	readonly env: Readonly<Record<string, string>>;
	/** Kill the delegate after this many milliseconds (undefined: no limit). */
	readonly timeoutMs?: number | undefined;
	/**
	 * Run the plugin chrooted into this directory (`pluginPath` is then a path inside it), as
	 * Multus thick's `chrootDir` does; undefined: in our own root.
	 */
	readonly root?: string | undefined;
}

/** The exit status of the chroot helper when it could not chroot or exec (shim/plexus-chroot-exec.c). */
const CHROOT_EXEC_FAILED = 127;

/** The static helper that chroots and execs a plugin (built by `npm ci` next to plexus-shim). */
export const CHROOT_EXEC_HELPER = fileURLToPath(
	new URL('../../shim/build/Release/plexus-chroot-exec', import.meta.url),
);

/** Finds and runs delegate binaries. */
export interface PluginExec {
	/** The path of `type` in the first directory of `path` that has it as a regular file. Throws CniError. */
	find(type: string, path: readonly string[]): Promise<string>;
	/** Runs the plugin; resolves its stdout bytes, or throws the CniError it reported. */
	exec(request: ExecRequest): Promise<Uint8Array>;
}

/**
 * Refuses a `type` that is not a plain file name (code 7): empty, containing "/", "." or ".."
 * components, NUL or other control characters. libcni only rejects the path separator; anything
 * that can walk out of CNI_PATH is refused here too.
 */
export function validatePluginType(type: string): void {
	const refuse = (why: string) =>
		new CniError(CniErrorCode.invalidConfig, `invalid plugin type "${type}": ${why}`, {
			details: 'the "type" of a plugin must be a plain file name found on CNI_PATH',
		});
	if (type === '') throw refuse('empty');
	if (type.includes('/')) throw refuse('contains "/"');
	if (type === '.' || type === '..' || type.includes('..')) throw refuse('contains ".."');
	// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
	if (/[\u0000-\u001f\u007f]/.test(type)) throw refuse('contains control characters');
}

/** A delegate binary that is on no CNI_PATH directory (code 7); DEL branches on it. */
export class PluginNotFoundError extends CniError {
	/** The plugin type looked for. */
	readonly type: string;
	/** Every directory searched, in order. */
	readonly path: readonly string[];
	/** The host root the directories were searched in (`plexus daemon --chroot-dir`), if any. */
	readonly root: string | undefined;

	constructor(type: string, path: readonly string[], root?: string) {
		const where = root === undefined ? '' : ` under host root "${root}"`;
		super(
			CniErrorCode.invalidConfig,
			path.length === 0
				? `failed to find plugin "${type}": CNI_PATH is empty`
				: `failed to find plugin "${type}" in path [${path.join(' ')}]${where}`,
		);
		this.type = type;
		this.path = [...path];
		this.root = root;
	}
}

/**
 * The "not found" error: names the type and every directory searched (code 7), and the host root
 * the directories were searched in when there is one.
 */
export function pluginNotFound(type: string, path: readonly string[], root?: string): PluginNotFoundError {
	return new PluginNotFoundError(type, path, root);
}

/** Searches `path` for `type` like libcni's FindInPath: the first directory holding it as a regular file. */
export async function findInPath(type: string, path: readonly string[]): Promise<string> {
	validatePluginType(type);
	for (const dir of path) {
		const full = join(dir, type);
		try {
			if ((await stat(full)).isFile()) return full;
		} catch {
			// Not in this directory; keep looking.
		}
	}
	throw pluginNotFound(type, path);
}

/**
 * Turns a failed delegate's output into a CniError as libcni's pluginErr does: the error JSON on
 * stdout keeps the delegate's own code; with empty stdout, stderr text is the message.
 */
export function decodePluginError(stdout: Uint8Array, stderr: Uint8Array, failure: string): CniError {
	const out = Buffer.from(stdout).toString('utf8');
	const err = Buffer.from(stderr).toString('utf8').trim();
	if (out.trim() === '') {
		const msg =
			err === ''
				? `netplugin failed with no error message: ${failure}`
				: `netplugin failed: ${JSON.stringify(err)}`;
		return new CniError(CniErrorCode.internal, msg);
	}
	if (nestsDeeperThan(out, MAX_JSON_DEPTH)) {
		return new CniError(
			CniErrorCode.internal,
			`netplugin failed but its diagnostic message nests deeper than the JSON limit of ${MAX_JSON_DEPTH} levels`,
		);
	}
	let parsed: unknown;
	try {
		parsed = JSON.parse(out);
	} catch (e) {
		return new CniError(
			CniErrorCode.internal,
			`netplugin failed but error parsing its diagnostic message ${JSON.stringify(out)}: ${(e as Error).message}`,
		);
	}
	const decoded = ErrorSchema.safeParse(parsed);
	if (!decoded.success) {
		return new CniError(
			CniErrorCode.internal,
			`netplugin failed but its diagnostic message is not a CNI error: ${JSON.stringify(out)}`,
		);
	}
	const {code, msg, details} = decoded.data;
	return new CniError(code === 0 ? CniErrorCode.internal : code, msg, {details});
}

export interface ProcessPluginExecOptions {
	/** How many times "text file busy" (ETXTBSY) is retried (libcni: 5). */
	busyRetries?: number;
	/** Pause between those retries in ms (libcni: 1000). */
	busyDelayMs?: number;
	/** Receives each plugin's stderr instead of our own stderr (`plexus dry-run --execute` shows it per plugin). */
	onStderr?: ((pluginPath: string, stderr: Uint8Array) => void) | undefined;
}

/** After a timeout's SIGTERM, SIGKILL follows this much later (execa's forceKillAfterDelay). */
const FORCE_KILL_AFTER_MS = 5000;
/** The most stdout or stderr kept from one run (execa's maxBuffer); beyond it the plugin is killed. */
const MAX_OUTPUT_BYTES = 100 * 2 ** 20;

/** How one run ended. */
interface Run {
	stdout: Uint8Array;
	stderr: Uint8Array;
	/** The exit status; undefined when the process never ran or died by a signal. */
	exitCode: number | undefined;
	/** Why it did not run or exit (spawn error, signal, output limit); undefined after a clean exit. */
	failure: string | undefined;
	/** The spawn error's code (ETXTBSY is retried). */
	errno: string | undefined;
	timedOut: boolean;
}

/** Children still running, killed if this process exits first (execa's `cleanup`). */
const running = new Set<SpawnedChild>();
let cleanupInstalled = false;

function killRunningOnExit(): void {
	if (cleanupInstalled) return;
	cleanupInstalled = true;
	process.once('exit', () => {
		for (const child of running) child.kill('SIGTERM');
	});
}

const bytes = (chunks: Buffer[]): Uint8Array => {
	const all = Buffer.concat(chunks);
	return new Uint8Array(all.buffer, all.byteOffset, all.length);
};

/**
 * Runs `file` once with exactly `env`, `stdin` as its input, collecting both outputs; with `root`,
 * through the chroot helper (it execs the plugin in place, so signals and the exit status are the
 * plugin's own).
 */
async function runOnce(
	file: string,
	stdin: Uint8Array,
	env: Record<string, string>,
	timeoutMs?: number,
	root?: string,
): Promise<Run> {
	let child: SpawnedChild;
	try {
		child =
			root === undefined
				? spawnChild(file, [file], env)
				: spawnChild(CHROOT_EXEC_HELPER, [CHROOT_EXEC_HELPER, root, file], env);
	} catch (error) {
		const e = error as NodeJS.ErrnoException;
		return {
			stdout: new Uint8Array(),
			stderr: new Uint8Array(),
			exitCode: undefined,
			failure: e.message,
			errno: e.code,
			timedOut: false,
		};
	}
	running.add(child);
	killRunningOnExit();
	let failure: string | undefined;
	let timedOut = false;
	let forceKill: NodeJS.Timeout | undefined;
	const timer =
		timeoutMs === undefined
			? undefined
			: setTimeout(() => {
					timedOut = true;
					child.kill('SIGTERM');
					forceKill = setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_AFTER_MS);
					forceKill.unref();
				}, timeoutMs);
	const out: Buffer[] = [];
	const err: Buffer[] = [];
	const collect = (chunks: Buffer[]) => {
		let size = 0;
		return (chunk: Buffer) => {
			size += chunk.length;
			if (size > MAX_OUTPUT_BYTES) {
				failure ??= `output larger than ${MAX_OUTPUT_BYTES} bytes`;
				child.kill('SIGKILL');
				return;
			}
			chunks.push(chunk);
		};
	};
	child.stdout.on('data', collect(out));
	child.stderr.on('data', collect(err));
	// A read error ends that output as EOF would; the exit status still decides.
	child.stdout.on('error', () => {});
	child.stderr.on('error', () => {});
	// A plugin may exit without reading its stdin (EPIPE): its exit status is what counts.
	child.stdin.on('error', () => {});
	child.stdin.end(stdin);
	const exit = await child.closed;
	child.stdin.destroy();
	running.delete(child);
	clearTimeout(timer);
	clearTimeout(forceKill);
	if (exit.signal !== null) failure ??= `killed by signal ${exit.signal}`;
	return {
		stdout: bytes(out),
		stderr: bytes(err),
		exitCode: exit.code ?? undefined,
		failure,
		errno: undefined,
		timedOut,
	};
}

/**
 * True when the chroot helper could not exec the plugin because it was busy (ETXTBSY): the helper
 * reports it as text, which is matched as libcni matches "text file busy".
 */
function helperBusy(request: ExecRequest, run: Run): boolean {
	if (request.root === undefined || run.exitCode !== CHROOT_EXEC_FAILED || run.stdout.length > 0)
		return false;
	const text = Buffer.from(run.stderr).toString('utf8');
	return text.startsWith('plexus-chroot-exec: failed to exec') && text.includes('Text file busy');
}

/**
 * Runs delegate binaries as processes, through posix_spawn (./native-spawn.ts). It kept its name
 * from when it used execa (importing execa cost every one-shot process ~45 ms and every exec
 * ~1.5 ms), then node:child_process (a fork of Node per delegate: 7 ms from a 56 MB process,
 * 13 ms from 180 MB, against 2 ms this way).
 */
export class ProcessPluginExec implements PluginExec {
	readonly #busyRetries: number;
	readonly #busyDelayMs: number;
	readonly #onStderr: ProcessPluginExecOptions['onStderr'];

	constructor(options: ProcessPluginExecOptions = {}) {
		this.#busyRetries = options.busyRetries ?? 5;
		this.#busyDelayMs = options.busyDelayMs ?? 1000;
		this.#onStderr = options.onStderr;
	}

	find(type: string, path: readonly string[]): Promise<string> {
		return findInPath(type, path);
	}

	async exec(request: ExecRequest): Promise<Uint8Array> {
		for (let attempt = 0; ; attempt++) {
			const run = await runOnce(
				request.pluginPath,
				request.stdin,
				{...request.env},
				request.timeoutMs,
				request.root,
			);
			const stderr = run.stderr;
			// Plugin logs belong on our stderr, as libcni copies them.
			if (this.#onStderr !== undefined) this.#onStderr(request.pluginPath, stderr);
			else if (stderr.length > 0) process.stderr.write(stderr);
			if (run.failure === undefined && run.exitCode === 0) return run.stdout;
			if ((run.errno === 'ETXTBSY' || helperBusy(request, run)) && attempt < this.#busyRetries) {
				log('debug', 'delegate binary busy, retrying', {plugin: request.pluginPath, attempt});
				await sleep(this.#busyDelayMs);
				continue;
			}
			if (run.timedOut) {
				throw new CniError(
					CniErrorCode.tryAgainLater,
					`plugin "${request.pluginPath}" timed out after ${request.timeoutMs}ms`,
				);
			}
			if (run.exitCode === undefined || run.failure !== undefined) {
				const where = request.root === undefined ? '' : ` in host root "${request.root}"`;
				throw new CniError(
					CniErrorCode.internal,
					`failed to run plugin "${request.pluginPath}"${where}: ${run.failure ?? 'no exit status'}`,
				);
			}
			throw decodePluginError(run.stdout, stderr, `exit status ${run.exitCode}`);
		}
	}
}
