/**
 * What `plexus dry-run --execute` records: every delegate run (binaries through the exec seam,
 * built-ins wrapped), with its stdin, stdout, stderr, duration and error, named by the chain it
 * belongs to (the attachment scope ADD's steps run it in).
 */
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {basename, join} from 'node:path';
import {type ExecRequest, type PluginExec, ProcessPluginExec} from '../../chain/plugin-exec.ts';
import {toCniError} from '../../cni/errors.ts';
import type {CniPlugin, PluginRequest} from '../../cni/plugin.ts';
import {currentAttachment} from '../../observe/context.ts';
import type {ExecutedStep, Execution} from './types.ts';

/** The chain a step belongs to outside any attachment scope (a bare network list). */
export interface Context {
	network: string;
	ifname: string;
}

/**
 * Which chain a step belongs to: for ADD, the attachment scope ADD's steps run it in (or the bare
 * list's); DEL steps are shown without one.
 */
function where(command: 'ADD' | 'DEL', current: Context): Context {
	if (command === 'DEL') return {network: '', ifname: ''};
	const at = currentAttachment();
	return at === undefined ? {...current} : {network: at.network, ifname: at.ifname};
}

/** Runs binaries through the exec seam, recording every run. */
export class RecordingExec implements PluginExec {
	readonly #inner: ProcessPluginExec;
	readonly #stderr = new Map<string, Uint8Array>();
	readonly #steps: ExecutedStep[];
	readonly #current: Context;

	constructor(steps: ExecutedStep[], current: Context) {
		this.#steps = steps;
		this.#current = current;
		this.#inner = new ProcessPluginExec({
			busyRetries: 0,
			onStderr: (path, err) => this.#stderr.set(path, err),
		});
	}

	find(type: string, path: readonly string[]): Promise<string> {
		return this.#inner.find(type, path);
	}

	async exec(request: ExecRequest): Promise<Uint8Array> {
		const command = request.env['CNI_COMMAND'];
		const started = performance.now();
		let stdout: Uint8Array = new Uint8Array();
		let error: string | null = null;
		this.#stderr.delete(request.pluginPath);
		try {
			stdout = await this.#inner.exec(request);
			return stdout;
		} catch (e) {
			error = toCniError(e).message;
			throw e;
		} finally {
			if (command === 'ADD' || command === 'DEL') {
				this.#steps.push({
					command,
					...where(command, this.#current),
					type: basename(request.pluginPath),
					runsAs: 'binary',
					path: request.pluginPath,
					stdin: Buffer.from(request.stdin).toString('utf8'),
					stdout: Buffer.from(stdout).toString('utf8'),
					stderr: Buffer.from(this.#stderr.get(request.pluginPath) ?? new Uint8Array()).toString('utf8'),
					durationMs: Math.round(performance.now() - started),
					error,
				});
			}
		}
	}
}

/** Wraps the in-process built-ins to record ADD and DEL like the binaries. */
function recordBuiltins(
	plugins: ReadonlyMap<string, CniPlugin>,
	steps: ExecutedStep[],
	current: Context,
): Map<string, CniPlugin> {
	const timed =
		<T>(type: string, command: 'ADD' | 'DEL', run: (r: PluginRequest) => Promise<T>) =>
		async (request: PluginRequest): Promise<T> => {
			const started = performance.now();
			let out: T | undefined;
			let error: string | null = null;
			try {
				out = await run(request);
				return out;
			} catch (e) {
				error = toCniError(e).message;
				throw e;
			} finally {
				steps.push({
					command,
					...where(command, current),
					type,
					runsAs: 'builtin',
					path: null,
					stdin: Buffer.from(request.stdin).toString('utf8'),
					stdout: out === undefined ? '' : JSON.stringify(out),
					stderr: '',
					durationMs: Math.round(performance.now() - started),
					error,
				});
			}
		};
	const out = new Map<string, CniPlugin>();
	for (const [type, plugin] of plugins) {
		out.set(type, {
			...plugin,
			add: timed(type, 'ADD', (r) => plugin.add(r)),
			del: timed(type, 'DEL', (r) => plugin.del(r)),
			check: (r) => plugin.check(r),
		});
	}
	return out;
}

/** What one run records into: every delegate run, the chain running now, and the temp result cache. */
export interface Recording {
	readonly cacheDir: string;
	readonly steps: ExecutedStep[];
	readonly current: Context;
	/** Finds and runs binaries, recording each run. */
	readonly exec: RecordingExec;
	/** The in-process delegates `plugins`, each run recorded too. */
	record(plugins: ReadonlyMap<string, CniPlugin>): Map<string, CniPlugin>;
}

/** Runs `fn` with a fresh recording; its result cache is a temp dir removed afterwards. */
export async function withRecording(fn: (recording: Recording) => Promise<Execution>): Promise<Execution> {
	const cacheDir = await mkdtemp(join(tmpdir(), 'plexus-execute-'));
	try {
		const steps: ExecutedStep[] = [];
		const current: Context = {network: '', ifname: ''};
		return await fn({
			cacheDir,
			steps,
			current,
			exec: new RecordingExec(steps, current),
			record: (plugins) => recordBuiltins(plugins, steps, current),
		});
	} finally {
		await rm(cacheDir, {recursive: true, force: true});
	}
}
