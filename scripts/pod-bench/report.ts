/**
 * The benchmark's printed tables: times and ratios to the floor, API requests per verb, STATUS
 * against a bare Node start, the burst, many NADs and the idle daemon's watches.
 */
import {formatMs, quantile, ratio} from '../bench-stats.ts';
import {perOperation, rate} from './api-requests.ts';
import type {BurstVerb, IdleWatches, ManyNads} from './load.ts';
import type {Mode} from './modes.ts';
import type {ModeSamples} from './rounds.ts';

/** Columns padded to their widest cell, two spaces apart. */
export function table(rows: string[][]): string {
	const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
	return rows
		.map((r) =>
			r
				.map((cell, i) => cell.padEnd(widths[i] ?? 0))
				.join('  ')
				.trimEnd(),
		)
		.join('\n');
}

const median = (xs: readonly number[]) => quantile(xs, 0.5);
const p90 = (xs: readonly number[]) => quantile(xs, 0.9);
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

/** Medians, p90s and ratios of every mode to the first (the floor). */
export function timesTable(modes: readonly Mode[], samples: readonly ModeSamples[]): string {
	const floor = samples[0];
	if (floor === undefined) return '';
	const rows = [
		[
			'mode',
			'ADD p50',
			'ADD p90',
			'DEL p50',
			'DEL p90',
			'ADD / floor',
			'DEL / floor',
			'DEL again p50',
			'again / DEL',
		],
	];
	for (const [m, mode] of modes.entries()) {
		const s = samples[m];
		if (s === undefined) continue;
		rows.push([
			mode.label,
			formatMs(median(s.add.times)),
			formatMs(p90(s.add.times)),
			formatMs(median(s.del.times)),
			formatMs(p90(s.del.times)),
			ratio(median(s.add.times), median(floor.add.times)),
			ratio(median(s.del.times), median(floor.del.times)),
			formatMs(median(s.delAgain.times)),
			ratio(median(s.delAgain.times), median(s.del.times)),
		]);
	}
	return table(rows);
}

const POD_NAD_READS = /^(GET|LIST) (pods|network-attachment-definitions)$/;
const STATUS_WRITES = /^(PUT|PATCH) pods\/status$/;

/** API requests per ADD, DEL and repeated DEL of each mode that uses the API server. */
export function requestsTable(modes: readonly Mode[], samples: readonly ModeSamples[]): string {
	const rows = [['mode', 'verb', 'pod/NAD reads', 'status writes', 'all requests by verb, per operation']];
	for (const [m, mode] of modes.entries()) {
		const s = samples[m];
		if (s === undefined || mode.namespace === undefined) continue;
		for (const [verb, v] of [
			['ADD', s.add],
			['DEL', s.del],
			['DEL again', s.delAgain],
		] as const) {
			const n = v.times.length;
			rows.push([
				mode.label,
				verb,
				String(Number(rate(v.requests, POD_NAD_READS, n).toFixed(2))),
				String(Number(rate(v.requests, STATUS_WRITES, n).toFixed(2))),
				perOperation(v.requests, n),
			]);
		}
	}
	return table(rows);
}

/** One-shot STATUS against `node -e 0`. */
export function statusTable(times: {status: number[]; bareNode: number[]}): string {
	return table([
		['STATUS (one-shot, 1.1.0 conf)', 'node -e 0', 'STATUS / node -e 0'],
		[
			formatMs(median(times.status)),
			formatMs(median(times.bareNode)),
			ratio(median(times.status), median(times.bareNode)),
		],
	]);
}

/** The burst's failures, p50/p99 and the daemon's peak RSS. */
export function burstTable(pods: number, burst: {add: BurstVerb; del: BurstVerb; peakRss: number}): string {
	const rows = [['burst (3 attachments each)', 'pods', 'failures', 'p50', 'p99', 'peak daemon RSS']];
	for (const [verb, b] of [
		['ADD', burst.add],
		['DEL', burst.del],
	] as const) {
		const cells = [
			String(pods),
			String(b.failures.length),
			formatMs(median(b.times)),
			formatMs(quantile(b.times, 0.99)),
		];
		rows.push([verb, ...cells, mb(burst.peakRss)]);
	}
	return table(rows);
}

/** The daemon's RSS with many NADs in its informer. */
export function manyNadsTable(many: ManyNads): string {
	return table([
		['NADs in the informer', 'daemon RSS', 'NAD reads of an ADD naming the last NAD'],
		[String(many.count), mb(many.rss), String(many.nadReadsOfAdd)],
	]);
}

/**
 * An idle daemon's watch requests: those seen in the idle window, and the hourly rate per informer,
 * the larger of the observed rate and the rate the shortest requested watch timeout allows.
 */
export function idleTable(idle: IdleWatches): string {
	const shortest = idle.timeouts.length === 0 ? undefined : Math.min(...idle.timeouts);
	const longest = idle.timeouts.length === 0 ? undefined : Math.max(...idle.timeouts);
	const rows = [
		[
			'informer watch',
			`requests in ${idle.seconds} s idle`,
			'timeoutSeconds asked',
			'watch requests per hour',
		],
	];
	const labels =
		idle.byResource.size === 0
			? ['WATCH pods', 'WATCH network-attachment-definitions']
			: [...idle.byResource.keys()];
	for (const label of labels) {
		const seen = idle.byResource.get(label) ?? 0;
		const observed = (seen * 3600) / idle.seconds;
		const bound = shortest === undefined ? 0 : 3600 / shortest;
		const note = idle.untimed > 0 ? ` (${idle.untimed} watches without timeoutSeconds: observed rate)` : '';
		const perHour = `≤ ${Math.ceil(Math.max(observed, bound))}${note}`;
		rows.push([label, String(seen), shortest === undefined ? 'none' : `${shortest}–${longest} s`, perHour]);
	}
	return table(rows);
}
