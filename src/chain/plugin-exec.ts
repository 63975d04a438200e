/**
 * The exec seam (libcni pkg/invoke): finding a delegate binary on CNI_PATH and running it with
 * execa. This is the only module of src/ that spawns processes; tests swap in FakePluginExec.
 */
import {stat} from 'node:fs/promises';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {ErrorSchema} from '../cni/spec.ts';
import {log} from '../log.ts';

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
}

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

/** The "not found" error: names the type and every directory searched (code 7). */
export function pluginNotFound(type: string, path: readonly string[]): CniError {
	if (path.length === 0) {
		return new CniError(CniErrorCode.invalidConfig, `failed to find plugin "${type}": CNI_PATH is empty`);
	}
	return new CniError(
		CniErrorCode.invalidConfig,
		`failed to find plugin "${type}" in path [${path.join(' ')}]`,
	);
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

export interface ExecaPluginExecOptions {
	/** How many times "text file busy" (ETXTBSY) is retried (libcni: 5). */
	busyRetries?: number;
	/** Pause between those retries in ms (libcni: 1000). */
	busyDelayMs?: number;
	/** Receives each plugin's stderr instead of our own stderr (`plexus dry-run --execute` shows it per plugin). */
	onStderr?: ((pluginPath: string, stderr: Uint8Array) => void) | undefined;
}

/** Runs delegate binaries with execa. */
export class ExecaPluginExec implements PluginExec {
	readonly #busyRetries: number;
	readonly #busyDelayMs: number;
	readonly #onStderr: ExecaPluginExecOptions['onStderr'];

	constructor(options: ExecaPluginExecOptions = {}) {
		this.#busyRetries = options.busyRetries ?? 5;
		this.#busyDelayMs = options.busyDelayMs ?? 1000;
		this.#onStderr = options.onStderr;
	}

	find(type: string, path: readonly string[]): Promise<string> {
		return findInPath(type, path);
	}

	async exec(request: ExecRequest): Promise<Uint8Array> {
		// Loaded on first use: a chain of in-process delegates never pays for execa.
		const {execa} = await import('execa');
		for (let attempt = 0; ; attempt++) {
			const run = await execa(request.pluginPath, [], {
				input: request.stdin,
				env: {...request.env},
				extendEnv: false,
				encoding: 'buffer',
				stripFinalNewline: false,
				reject: false,
				...(request.timeoutMs === undefined ? {} : {timeout: request.timeoutMs}),
			});
			const stderr = run.stderr;
			// Plugin logs belong on our stderr, as libcni copies them.
			if (this.#onStderr !== undefined) this.#onStderr(request.pluginPath, stderr);
			else if (stderr.length > 0) process.stderr.write(stderr);
			if (!run.failed) return run.stdout;
			const text = `${run.originalMessage ?? ''} ${run.shortMessage}`;
			if (run.cause !== undefined && (run.cause as NodeJS.ErrnoException).code === 'ETXTBSY') {
				if (attempt < this.#busyRetries) {
					log('debug', 'delegate binary busy, retrying', {plugin: request.pluginPath, attempt});
					await sleep(this.#busyDelayMs);
					continue;
				}
			}
			if (run.timedOut) {
				throw new CniError(
					CniErrorCode.tryAgainLater,
					`plugin "${request.pluginPath}" timed out after ${request.timeoutMs}ms`,
				);
			}
			if (run.exitCode === undefined) {
				throw new CniError(
					CniErrorCode.internal,
					`failed to run plugin "${request.pluginPath}": ${text.trim()}`,
				);
			}
			throw decodePluginError(run.stdout, stderr, `exit status ${run.exitCode}`);
		}
	}
}
