/**
 * The daemon under load and at rest: a burst of pods ADDed and DELeted through the shim at once
 * (failures, p50/p99, peak daemon RSS), the memory of a daemon with many NADs in its informer,
 * and the watch requests an idle daemon makes.
 */
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {requestTarget} from './api-requests.ts';
import {type Bed, NODE_NAME} from './bed.ts';
import {ok, type Run, rss, run, SHIM, startDaemon, stopDaemon} from './processes.ts';

/** One burst verb: the failed runs and the ascending times. */
export interface BurstVerb {
	failures: Run[];
	times: number[];
}

/** Samples the peak RSS of `pid` every 10 ms until `stop()`. */
function peakSampler(pid: number): {stop(): number} {
	let peak = rss(pid);
	const timer = setInterval(() => {
		peak = Math.max(peak, rss(pid));
	}, 10);
	return {
		stop: () => {
			clearInterval(timer);
			return Math.max(peak, rss(pid));
		},
	};
}

/** `pods` pods on the cluster network + nad-b + nad-c (3 attachments each) ADDed, then DELeted, all at once. */
export async function burst(
	bed: Bed,
	socketPath: string,
	daemonPid: number,
	pods: number,
): Promise<{add: BurstVerb; del: BurstVerb; peakRss: number}> {
	const namespace = 'bench-burst';
	bed.createNads(namespace);
	const targets = Array.from({length: pods}, (_, n) => {
		const pod = {namespace, name: `burst-${n}`};
		bed.createPod(pod, 'nad-b,nad-c');
		return {pod, netns: bed.netns()};
	});
	const sampler = peakSampler(daemonPid);
	const all = async (command: string): Promise<BurstVerb> => {
		const results = await Promise.all(
			targets.map(({pod, netns}) =>
				run(SHIM, bed.env(command, netns, pod, {PLEXUS_SOCKET: socketPath}), bed.conf()),
			),
		);
		return {
			failures: results.filter((r) => r.code !== 0),
			times: results.map((r) => r.ms).sort((a, b) => a - b),
		};
	};
	try {
		const add = await all('ADD');
		const del = await all('DEL');
		return {add, del, peakRss: sampler.stop()};
	} finally {
		sampler.stop();
	}
}

/** What `manyNads` saw: the daemon's RSS with the NADs in its informer, and API reads of one ADD naming the last NAD. */
export interface ManyNads {
	count: number;
	rss: number;
	nadReadsOfAdd: number;
}

/** Resolves once `read()` has not changed for `quietMs` (bounded by `maxMs`). */
async function settled(read: () => number, quietMs: number, maxMs: number): Promise<void> {
	let last = read();
	let quietSince = performance.now();
	const deadline = performance.now() + maxMs;
	while (performance.now() < deadline && performance.now() - quietSince < quietMs) {
		await sleep(200);
		const now = read();
		if (now !== last) {
			last = now;
			quietSince = performance.now();
		}
	}
}

/** Resolves once `done()` holds (polled every 100 ms), or throws after `maxMs`. */
async function until(what: string, done: () => boolean, maxMs: number): Promise<void> {
	const deadline = performance.now() + maxMs;
	while (!done()) {
		if (performance.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
		await sleep(100);
	}
}

/**
 * Creates `count` NADs, starts a second daemon whose informer lists them all, waits until that
 * informer watches (so its list is stored), lets memory settle, then ADDs a pod naming the last NAD.
 */
export async function manyNads(bed: Bed, count: number): Promise<ManyNads> {
	const namespace = 'bench-many';
	const network = bed.networks()[3];
	for (let n = 0; n < count; n++) {
		bed.api.createNad(namespace, `nad-${n}`, JSON.stringify({...network, name: `nad-${n}`}));
	}
	const socketPath = join(bed.dir, 'run-many', 'plexus.sock');
	const listed = bed.api.requests.length;
	const daemon = await startDaemon(socketPath, NODE_NAME);
	try {
		const pid = daemon.pid ?? 0;
		const attach = async (name: string, networks: string) => {
			const pod = {namespace, name};
			bed.createPod(pod, networks);
			const netns = bed.netns();
			const env = (command: string) => bed.env(command, netns, pod, {PLEXUS_SOCKET: socketPath});
			const before = bed.api.requests.length;
			ok(`many-NADs ADD ${name}`, await run(SHIM, env('ADD'), bed.conf()));
			const reads = bed.api.requests
				.slice(before)
				.filter((r) => requestTarget(r).label === 'GET network-attachment-definitions').length;
			ok(`many-NADs DEL ${name}`, await run(SHIM, env('DEL'), bed.conf()));
			return reads;
		};
		// The first ADD starts the informers (they start on a kubeconfig's first use).
		await attach('warm', 'nad-0');
		await until(
			'the NAD informer to watch',
			() =>
				bed.api.requests
					.slice(listed)
					.some((r) => requestTarget(r).label === 'WATCH network-attachment-definitions'),
			120_000,
		);
		await settled(() => rss(pid), 2000, 60_000);
		const memory = rss(pid);
		return {count, rss: memory, nadReadsOfAdd: await attach('many', `nad-${count - 1}`)};
	} finally {
		await stopDaemon(daemon);
	}
}

/** The watch requests of an idle daemon over `seconds`, and the timeoutSeconds every watch of the run asked for. */
export interface IdleWatches {
	seconds: number;
	byResource: Map<string, number>;
	timeouts: number[];
	/** Watch requests seen without timeoutSeconds (the server then picks the timeout). */
	untimed: number;
}

/** Waits `seconds` with no CNI traffic and counts the watches the daemon opens meanwhile. */
export async function idleWatches(bed: Bed, seconds: number): Promise<IdleWatches> {
	const before = bed.api.requests.length;
	await sleep(seconds * 1000);
	const byResource = new Map<string, number>();
	for (const record of bed.api.requests.slice(before)) {
		const {label} = requestTarget(record);
		if (label.startsWith('WATCH ')) byResource.set(label, (byResource.get(label) ?? 0) + 1);
	}
	const watches = bed.api.requests.filter((r) => requestTarget(r).label.startsWith('WATCH '));
	const timeouts = watches
		.map((r) => Number(r.query['timeoutSeconds']))
		.filter((n) => Number.isFinite(n) && n > 0);
	return {seconds, byResource, timeouts, untimed: watches.length - timeouts.length};
}
