/**
 * The processes the benchmark times and watches: a CNI verb exec'd as kubelet's runtime execs a
 * plugin (CNI_* in the environment, the conf on stdin), `plexus daemon` started and stopped, and a
 * process's resident memory from /proc.
 */
import {type ChildProcess, spawn} from 'node:child_process';
import {readFileSync} from 'node:fs';
import {request as httpRequest} from 'node:http';
import {join, resolve} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {spawnChild} from '../../src/chain/native-spawn.ts';

export const REPO = resolve(import.meta.dirname, '../..');
export const PLEXUS = join(REPO, 'bin/plexus');
export const SHIM = join(REPO, 'shim/build/Release/plexus-shim');
export const NODE = join(REPO, 'node_modules/.bin/node');

/** What one exec gave: exit code, stdout and wall time in ms. */
export interface Run {
	code: number | null;
	stdout: string;
	ms: number;
}

/**
 * Runs `file args` with `env` and `stdin`, resolving its exit code, stdout and wall time. It starts
 * the process as kubelet's runtime does (Go's os/exec: a vfork-style clone), through the same
 * posix_spawn as the delegates (src/chain/native-spawn.ts): a fork of this large process would
 * add 10-15 ms to every measured exec that containerd never pays.
 */
export async function run(
	file: string,
	env: Record<string, string>,
	stdin: string,
	args: string[] = [],
): Promise<Run> {
	const started = performance.now();
	const child = spawnChild(file, [file, ...args], env);
	const chunks: Buffer[] = [];
	child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
	child.stderr.resume();
	child.stdin.on('error', () => {});
	child.stdin.end(stdin);
	const exit = await child.closed;
	return {code: exit.code, stdout: Buffer.concat(chunks).toString(), ms: performance.now() - started};
}

/** The run's time, or an error with the tool's output when the verb did not succeed. */
export function ok(label: string, result: Run): number {
	if (result.code !== 0) throw new Error(`${label} failed (exit ${result.code}): ${result.stdout}`);
	return result.ms;
}

function probe(socketPath: string, path: string): Promise<number> {
	return new Promise((done) => {
		const req = httpRequest({socketPath, path}, (res) => {
			res.resume();
			res.on('end', () => done(res.statusCode ?? 0));
		});
		req.on('error', () => done(0));
		req.end();
	});
}

/** NODE_OPTIONS of the daemon: $BENCH_NODE_OPTIONS, else the DaemonSet's, so the bench measures what is deployed. */
export function daemonNodeOptions(): string {
	const override = process.env['BENCH_NODE_OPTIONS'];
	if (override !== undefined) return override;
	const manifest = readFileSync(join(REPO, 'conf/deploy/daemonset.yaml'), 'utf8');
	return /- name: NODE_OPTIONS\n\s+value: (.+)\n/.exec(manifest)?.[1]?.trim() ?? '';
}

/** Starts `plexus daemon` on `socketPath` for node `nodeName` and waits until it is ready. */
export async function startDaemon(socketPath: string, nodeName: string): Promise<ChildProcess> {
	const args = ['daemon', '--socket', socketPath, '--metrics-address', 'off', '--grace-ms', '0'];
	const child = spawn(PLEXUS, [...args, '--log-level', 'warning'], {
		stdio: ['ignore', 'ignore', 'inherit'],
		env: {
			...process.env,
			PLEXUS_SOCKET: socketPath,
			NODE_NAME: nodeName,
			NODE_OPTIONS: daemonNodeOptions(),
		},
	});
	for (let i = 0; i < 400; i++) {
		if ((await probe(socketPath, '/readyz')) === 200) return child;
		if (child.exitCode !== null) break;
		await sleep(25);
	}
	child.kill('SIGKILL');
	throw new Error('plexus daemon did not become ready');
}

/** Stops a daemon started by `startDaemon` and waits for it to exit. */
export async function stopDaemon(daemon: ChildProcess | undefined): Promise<void> {
	if (daemon === undefined || daemon.exitCode !== null || daemon.signalCode !== null) return;
	const exited = new Promise((done) => daemon.once('exit', done));
	daemon.kill('SIGTERM');
	await exited;
}

/** Resident set size of `pid` in bytes, from /proc. */
export function rss(pid: number): number {
	const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
	return Number(match?.[1] ?? 0) * 1024;
}
