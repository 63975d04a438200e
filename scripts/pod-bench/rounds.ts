/**
 * Interleaved rounds: in each round every mode ADDs its pod, DELs it, and DELs it again (containerd
 * calls DEL up to three times per pod), so a change in machine load hits all modes alike. Times are
 * collected per verb; the API requests each verb made are counted from the server's log, told apart
 * by the mode's Kubernetes namespace.
 */
import {setTimeout as sleep} from 'node:timers/promises';
import type {TestApiServer} from '../../e2e/kube/apiserver.ts';
import {countByLabel, requestTarget} from './api-requests.ts';
import type {Mode} from './modes.ts';

/** A verb's requests that arrive after its result (events sent in the background): the log must be quiet this long. */
const QUIET_MS = 150;
const SETTLE_MAX_MS = 3000;

export const VERBS = ['add', 'del', 'delAgain'] as const;
export type Verb = (typeof VERBS)[number];

/** Samples of one verb: times in ms (ascending once done) and API request counts by label. */
export interface VerbSamples {
	times: number[];
	requests: Map<string, number>;
}

export type ModeSamples = Record<Verb, VerbSamples>;

function empty(): ModeSamples {
	const samples = () => ({times: [], requests: new Map<string, number>()});
	return {add: samples(), del: samples(), delAgain: samples()};
}

/** Waits until no request has reached `api` for QUIET_MS (at most SETTLE_MAX_MS). */
async function quiet(api: TestApiServer): Promise<void> {
	const deadline = performance.now() + SETTLE_MAX_MS;
	let seen = api.requests.length;
	while (performance.now() < deadline) {
		await sleep(QUIET_MS);
		if (api.requests.length === seen) return;
		seen = api.requests.length;
	}
}

/** Runs one verb of `mode`, recording its time and, when `into` is given, its API requests. */
async function step(
	api: TestApiServer,
	modeNamespaces: ReadonlySet<string>,
	mode: Mode,
	work: () => Promise<number>,
	into?: VerbSamples,
): Promise<void> {
	const before = api.requests.length;
	const ms = await work();
	if (mode.namespace !== undefined) await quiet(api);
	if (into === undefined) return;
	into.times.push(ms);
	// A verb's requests: those of its mode's namespace, and the ones outside every mode's namespace
	// (the cluster network's NAD in kube-system, cluster-wide lists) but not the informers' watches.
	const mine = api.requests.slice(before).filter((record) => {
		const target = requestTarget(record);
		if (target.label.startsWith('WATCH ') || mode.namespace === undefined) return false;
		return target.namespace === mode.namespace || !modeNamespaces.has(target.namespace ?? '');
	});
	for (const [label, n] of countByLabel(mine)) into.requests.set(label, (into.requests.get(label) ?? 0) + n);
}

/** One round of `mode` for pod `i`; recorded into `samples` unless it is a warm-up. */
async function round(
	api: TestApiServer,
	modeNamespaces: ReadonlySet<string>,
	mode: Mode,
	i: number,
	samples?: ModeSamples,
): Promise<void> {
	mode.prepare(i);
	await step(api, modeNamespaces, mode, () => mode.add(i), samples?.add);
	await step(api, modeNamespaces, mode, () => mode.del(i), samples?.del);
	await step(api, modeNamespaces, mode, () => mode.del(i), samples?.delAgain);
}

/** `iterations` rounds of every mode after one warm-up round each; samples per mode, in order. */
export async function interleaved(
	api: TestApiServer,
	iterations: number,
	modes: readonly Mode[],
): Promise<ModeSamples[]> {
	const namespaces = new Set(modes.flatMap((m) => (m.namespace === undefined ? [] : [m.namespace])));
	for (const mode of modes) await round(api, namespaces, mode, 0);
	const out = modes.map(() => empty());
	for (let i = 1; i <= iterations; i++) {
		for (const [m, mode] of modes.entries()) await round(api, namespaces, mode, i, out[m]);
	}
	for (const samples of out) for (const verb of VERBS) samples[verb].times.sort((a, b) => a - b);
	return out;
}
