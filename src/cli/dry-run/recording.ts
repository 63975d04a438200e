/**
 * What `plexus dry-run --execute` records: every delegate run through the one seam (binaries and
 * built-ins alike, by the RecordingPluginExec decorator), with its stdin, stdout, stderr, duration
 * and error, named by the chain it belongs to (the attachment scope ADD's steps run it in).
 */
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {type PluginExec, ProcessPluginExec} from '../../chain/plugin-exec.ts';
import {type ExecRecord, RecordingPluginExec} from '../../chain/recording-exec.ts';
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

/** The step of one ADD or DEL run through the seam (undefined for other verbs). */
function stepOf(run: ExecRecord, current: Context, stderr: Uint8Array | undefined): ExecutedStep | undefined {
	const {command} = run;
	if (command !== 'ADD' && command !== 'DEL') return undefined;
	return {
		command,
		...where(command, current),
		type: run.type,
		runsAs: run.builtin ? 'builtin' : 'binary',
		path: run.builtin ? null : run.request.pluginPath,
		stdin: Buffer.from(run.request.stdin).toString('utf8'),
		stdout: Buffer.from(run.stdout).toString('utf8'),
		stderr: Buffer.from(stderr ?? new Uint8Array()).toString('utf8'),
		durationMs: Math.round(run.durationMs),
		error: run.error?.message ?? null,
	};
}

/** What one run records into: every delegate run, the chain running now, and the temp result cache. */
export interface Recording {
	readonly cacheDir: string;
	readonly steps: ExecutedStep[];
	readonly current: Context;
	/** Finds and runs binaries (each one's stderr kept for its step). */
	readonly binaries: PluginExec;
	/** `exec` with every ADD and DEL run through it (built-ins and binaries) recorded as a step. */
	record(exec: PluginExec): PluginExec;
}

/** Runs `fn` with a fresh recording; its result cache is a temp dir removed afterwards. */
export async function withRecording(fn: (recording: Recording) => Promise<Execution>): Promise<Execution> {
	const cacheDir = await mkdtemp(join(tmpdir(), 'plexus-execute-'));
	try {
		const steps: ExecutedStep[] = [];
		const current: Context = {network: '', ifname: ''};
		const stderr = new Map<string, Uint8Array>();
		const binaries = new ProcessPluginExec({busyRetries: 0, onStderr: (path, err) => stderr.set(path, err)});
		const record = (exec: PluginExec) =>
			new RecordingPluginExec(exec, (run) => {
				const step = stepOf(run, current, stderr.get(run.request.pluginPath));
				stderr.delete(run.request.pluginPath);
				if (step !== undefined) steps.push(step);
			});
		return await fn({cacheDir, steps, current, binaries, record});
	} finally {
		await rm(cacheDir, {recursive: true, force: true});
	}
}
