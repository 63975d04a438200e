/**
 * The benchmark behind scripts/bench, on the path every pod takes: the meta-plugin against the
 * in-repo API server (the e2e tests' server: pod and NADs read, network-status written, events
 * posted), in one interleaved run of three modes (see pod-bench/modes.ts): the floor (the same
 * delegate chains alone), one-shot bin/plexus, and plexus-shim + a warm `plexus daemon`. Prints
 * ADD/DEL medians, p90s and ratios to the floor, a repeated DEL, API requests per verb, one-shot
 * STATUS against `node -e 0`, a burst of pods through the daemon (failures, p50/p99, peak RSS),
 * the watch requests of an idle daemon, and the daemon's memory with many NADs in its informer.
 * Exits non-zero only when an operation failed. Root; works only in network namespaces and links
 * it creates and removes.
 *   scripts/bench [--iterations N] [--pods N] [--nads N] [--idle-seconds N] [--status-iterations N]
 *   (defaults 20, 100, 10000, 60, 20)
 */
import type {ChildProcess} from 'node:child_process';
import {existsSync} from 'node:fs';
import {loadavg} from 'node:os';
import {join} from 'node:path';
import {ensureBundle} from './bundle/bundle.ts';
import {Bed, NODE_NAME} from './pod-bench/bed.ts';
import {burst, idleWatches, manyNads} from './pod-bench/load.ts';
import {daemonMode, floorMode, oneShotMode} from './pod-bench/modes.ts';
import {daemonNodeOptions, SHIM, startDaemon, stopDaemon} from './pod-bench/processes.ts';
import {
	burstTable,
	idleTable,
	manyNadsTable,
	requestsTable,
	statusTable,
	timesTable,
} from './pod-bench/report.ts';
import {interleaved} from './pod-bench/rounds.ts';
import {statusTimes} from './pod-bench/status.ts';

/** A positive integer option, bounded by `max`. */
function option(argv: readonly string[], name: string, fallback: number, max = 1000): number {
	const i = argv.indexOf(name);
	if (i < 0) return fallback;
	const n = Number(argv[i + 1]);
	if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${name} must be an integer in 1..${max}`);
	return n;
}

/** The 1, 5 and 15 minute load averages, as `uptime` prints them. */
function loadText(): string {
	return loadavg()
		.map((n) => n.toFixed(2))
		.join(' ');
}

function print(text: string): void {
	process.stdout.write(`${text}\n`);
}

async function bench(bed: Bed, argv: readonly string[]): Promise<boolean> {
	const iterations = option(argv, '--iterations', 20);
	const pods = option(argv, '--pods', 100);
	const socketPath = join(bed.dir, 'run', 'plexus.sock');
	let daemon: ChildProcess | undefined;
	try {
		daemon = await startDaemon(socketPath, NODE_NAME);
		const pid = daemon.pid ?? 0;
		const modes = [floorMode(bed), oneShotMode(bed), daemonMode(bed, socketPath)];
		const samples = await interleaved(bed.api, iterations, modes);
		print(`${timesTable(modes, samples)}\n\n${requestsTable(modes, samples)}\n`);
		print(`${statusTable(await statusTimes(bed, option(argv, '--status-iterations', 20)))}\n`);
		const load = await burst(bed, socketPath, pid, pods);
		print(`${burstTable(pods, load)}\n`);
		print(`${idleTable(await idleWatches(bed, option(argv, '--idle-seconds', 60, 3600)))}\n`);
		await stopDaemon(daemon);
		print(manyNadsTable(await manyNads(bed, option(argv, '--nads', 10_000, 100_000))));
		const failure = load.add.failures[0] ?? load.del.failures[0];
		if (failure !== undefined) print(`first burst failure: ${failure.stdout}`);
		return failure === undefined;
	} finally {
		await stopDaemon(daemon);
	}
}

async function main(argv: readonly string[]): Promise<number> {
	if (!existsSync(SHIM)) throw new Error(`${SHIM} is missing: run "npm ci"`);
	await ensureBundle(); // one-shot mode runs bin/plexus, that is dist/plexus: current with the sources
	// Other work on the machine moves every number; the output says how loaded it was.
	const loadBefore = loadText();
	const bed = await Bed.create();
	try {
		print(
			'pod: cluster network (bridge) + nad-a (bridge → route-override) + nad-b (macvlan → tuning) + nad-c (bridge), host-local IPAM;',
		);
		print(
			`API server: in-repo, pod/NAD reads, network-status write, events; daemon NODE_OPTIONS="${daemonNodeOptions()}"\n`,
		);
		const passed = await bench(bed, argv);
		print(`\nload average (1/5/15 min) at start ${loadBefore}, at end ${loadText()}`);
		return passed ? 0 : 1;
	} finally {
		await bed.close();
	}
}

process.exitCode = await main(process.argv.slice(2));
