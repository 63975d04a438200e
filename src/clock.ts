/**
 * Clocks without their first-use cost in a one-shot process:
 * - monotonicMs, as performance.now(): the `performance` global loads node:perf_hooks (histograms,
 *   timerify, event-loop delay) on first use, ~1.5 ms of every one-shot CNI call on the bench
 *   machine, where process.hrtime is part of Node's bootstrap. The daemon's own timers keep
 *   performance.now().
 * - isoNow, as new Date().toISOString(): V8's first date formatting sets up its date cache and
 *   time zone, 0.8-1.9 ms in a fresh process on the bench machine; the UTC calendar arithmetic
 *   below needs none of it.
 */

/** Milliseconds from an arbitrary fixed point; only differences mean anything. */
export function monotonicMs(): number {
	return Number(process.hrtime.bigint()) / 1e6;
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/**
 * `epochMs` (default: now) as `YYYY-MM-DDTHH:MM:SS.sssZ`, exactly what Date#toISOString gives for
 * years 0000-9999. The date is the proleptic Gregorian civil date of the day count (H. Hinnant's
 * days-to-civil algorithm).
 */
export function isoNow(epochMs: number = Date.now()): string {
	const ms = Math.floor(epochMs);
	const days = Math.floor(ms / 86_400_000);
	const inDay = ms - days * 86_400_000;
	const z = days + 719_468;
	const era = Math.floor(z / 146_097);
	const doe = z - era * 146_097;
	const yoe = Math.floor(
		(doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
	);
	const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
	const mp = Math.floor((5 * doy + 2) / 153);
	const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
	const month = mp < 10 ? mp + 3 : mp - 9;
	const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
	const hours = Math.floor(inDay / 3_600_000);
	const minutes = Math.floor((inDay % 3_600_000) / 60_000);
	const seconds = Math.floor((inDay % 60_000) / 1000);
	return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}T${pad(hours, 2)}:${pad(minutes, 2)}:${pad(seconds, 2)}.${pad(inDay % 1000, 3)}Z`;
}
