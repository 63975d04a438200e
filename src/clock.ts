/**
 * A monotonic clock in milliseconds for durations and deadlines, as performance.now() but without
 * its cost in a one-shot process: the `performance` global loads node:perf_hooks (histograms,
 * timerify, event-loop delay) on first use, ~1.5 ms of every one-shot CNI call on the bench machine,
 * where process.hrtime is part of Node's bootstrap. The daemon's own timers keep performance.now().
 */

/** Milliseconds from an arbitrary fixed point; only differences mean anything. */
export function monotonicMs(): number {
	return Number(process.hrtime.bigint()) / 1e6;
}
