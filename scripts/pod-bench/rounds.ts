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

/** A verb's requests that arrive after its result (events sent in the background) are waited for this long. */
const SETTLE_MS = 40;

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

/** Runs one verb of `mode`, recording its time and, when `into` is given, its API requests. */
async function step(
	api: TestApiServer,
	mode: Mode,
	work: () => Promise<number>,
	into?: VerbSamples,
): Promise<void> {
	const before = api.requests.length;
	const ms = await work();
	if (mode.namespace !== undefined) await sleep(SETTLE_MS);
	if (into === undefined) return;
	into.times.push(ms);
	const mine = api.requests.slice(before).filter((record) => {
		const target = requestTarget(record);
		if (target.namespace !== undefined) return target.namespace === mode.namespace;
		return mode.namespace !== undefined && !target.label.startsWith('WATCH');
	});
	for (const [label, n] of countByLabel(mine)) into.requests.set(label, (into.requests.get(label) ?? 0) + n);
}

/** One round of `mode` for pod `i`; recorded into `samples` unless it is a warm-up. */
async function round(api: TestApiServer, mode: Mode, i: number, samples?: ModeSamples): Promise<void> {
	mode.prepare(i);
	await step(api, mode, () => mode.add(i), samples?.add);
	await step(api, mode, () => mode.del(i), samples?.del);
	await step(api, mode, () => mode.del(i), samples?.delAgain);
}

/** `iterations` rounds of every mode after one warm-up round each; samples per mode, in order. */
export async function interleaved(
	api: TestApiServer,
	iterations: number,
	modes: readonly Mode[],
): Promise<ModeSamples[]> {
	for (const mode of modes) await round(api, mode, 0);
	const out = modes.map(() => empty());
	for (let i = 1; i <= iterations; i++) {
		for (const [m, mode] of modes.entries()) await round(api, mode, i, out[m]);
	}
	for (const samples of out) for (const verb of VERBS) samples[verb].times.sort((a, b) => a - b);
	return out;
}
