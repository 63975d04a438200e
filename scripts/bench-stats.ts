/**
 * Small statistics for the benchmarks: quantiles of sorted samples, the summary cells of a table
 * row and a ratio label.
 */

/** The q-quantile (0..1) of ascending `sorted`; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
	if (sorted.length === 0) return Number.NaN;
	return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Milliseconds as a short label: `0.42 ms`, `12.3 ms`, `1.52 s`. */
export function formatMs(ms: number): string {
	if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
	return ms >= 10 ? `${ms.toFixed(1)} ms` : `${ms.toFixed(2)} ms`;
}

/** [n, median, p90] cells for ascending samples in ms. */
export function summarize(sorted: readonly number[]): [string, string, string] {
	return [String(sorted.length), formatMs(quantile(sorted, 0.5)), formatMs(quantile(sorted, 0.9))];
}

/** `a / b` as `1.17×`, `12.3×` or `250×` (two decimals below 10: the targets are 1.15×, 1.1×, 2.5×). */
export function ratio(a: number, b: number): string {
	const r = a / b;
	return `${r.toFixed(r >= 100 ? 0 : r >= 10 ? 1 : 2)}×`;
}
