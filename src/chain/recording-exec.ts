/**
 * The one decorator that watches delegate runs: every run through the wrapped PluginExec (a
 * binary, or a built-in behind BuiltinPluginExec) is timed and handed to a sink as an ExecRecord
 * (what it was sent, what it answered or how it failed, how long it took). The daemon's metrics
 * and logs (src/daemon/delegate.ts timedExec) and `plexus dry-run`'s step tables are such sinks.
 */
import {basename} from 'node:path';
import {monotonicMs} from '../clock.ts';
import {type CniError, toCniError} from '../cni/errors.ts';
import {isBuiltinPath} from './builtin-exec.ts';
import type {ExecRequest, PluginExec} from './plugin-exec.ts';

/** One finished delegate run. */
export interface ExecRecord {
	/** The request as the wrapped exec received it (its timeout applied). */
	readonly request: ExecRequest;
	/** The plugin's `type`: the binary's file name, or the built-in's type. */
	readonly type: string;
	/** It ran in-process (a built-in), not as a binary. */
	readonly builtin: boolean;
	/** CNI_COMMAND of the run ('' when unset). */
	readonly command: string;
	/** Its stdout bytes (empty when it failed). */
	readonly stdout: Uint8Array;
	/** How it failed, or undefined. */
	readonly error: CniError | undefined;
	/** monotonicMs() when it started. */
	readonly startedMs: number;
	readonly durationMs: number;
}

export interface RecordingOptions {
	/** The timeout of a run that has none of its own (undefined: no limit). */
	readonly timeoutMs?: number | undefined;
}

/** Hands every run through `inner` to `record`, then answers or fails exactly as `inner` did. */
export class RecordingPluginExec implements PluginExec {
	readonly #inner: PluginExec;
	readonly #record: (run: ExecRecord) => void;
	readonly #timeoutMs: number | undefined;

	constructor(inner: PluginExec, record: (run: ExecRecord) => void, options: RecordingOptions = {}) {
		this.#inner = inner;
		this.#record = record;
		this.#timeoutMs = options.timeoutMs;
	}

	find(type: string, path: readonly string[]): Promise<string> {
		return this.#inner.find(type, path);
	}

	async exec(given: ExecRequest): Promise<Uint8Array> {
		const timeoutMs = given.timeoutMs ?? this.#timeoutMs;
		const request = timeoutMs === given.timeoutMs ? given : {...given, timeoutMs};
		const startedMs = monotonicMs();
		const base = {
			request,
			type: basename(request.pluginPath),
			builtin: isBuiltinPath(request.pluginPath),
			command: request.env['CNI_COMMAND'] ?? '',
			startedMs,
		};
		let stdout: Uint8Array;
		try {
			stdout = await this.#inner.exec(request);
		} catch (err) {
			const error = toCniError(err);
			this.#record({...base, stdout: new Uint8Array(), error, durationMs: monotonicMs() - startedMs});
			throw err;
		}
		this.#record({...base, stdout, error: undefined, durationMs: monotonicMs() - startedMs});
		return stdout;
	}
}
