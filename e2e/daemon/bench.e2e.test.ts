/**
 * scripts/bench runs end to end in a small configuration and prints every table: times and ratios
 * of the floor, one-shot and daemon+shim modes, API requests per verb, STATUS against a bare Node
 * start, the burst, the idle daemon's watches and many NADs. Times are printed, never asserted
 * (they depend on the machine); what is asserted is that every operation succeeded and was counted.
 */
import {resolve} from 'node:path';
import {execa} from 'execa';
import {beforeAll, expect, it} from 'vitest';
import {requireShim} from '../helpers/daemon.ts';

beforeAll(requireShim);

/** The cells of the table row starting with `label` (cells are two or more spaces apart). */
function row(lines: readonly string[], label: RegExp): string[][] {
	return lines.filter((line) => label.test(line)).map((line) => line.split(/ {2,}/));
}

it('scripts/bench measures floor, one-shot and daemon+shim over the API server, and a burst with no failures', async () => {
	const args = [
		'--iterations',
		'1',
		'--pods',
		'3',
		'--nads',
		'20',
		'--idle-seconds',
		'1',
		'--status-iterations',
		'1',
	];
	const bench = await execa(resolve(import.meta.dirname, '../../scripts/bench'), args, {reject: false});
	expect(bench.exitCode).toBe(0);
	expect(bench.stdout).toContain('daemon NODE_OPTIONS="--max-semi-space-size=');
	const lines = bench.stdout.split('\n');
	for (const mode of ['floor (delegates alone)', 'plexus one-shot', 'plexus daemon + shim']) {
		const [cells] = row(lines, new RegExp(`^${mode.replace(/[+()]/g, '\\$&')} +\\d`));
		expect(cells?.slice(1, 5).every((cell) => /^\d+(\.\d+)? m?s$/.test(cell))).toBe(true);
	}
	// Every Plexus ADD wrote network-status once and read through the API or its informers.
	const adds = row(lines, /^plexus (one-shot|daemon \+ shim) +ADD /);
	expect(adds).toHaveLength(2);
	for (const cells of adds) {
		expect(cells[3]).toBe('1');
		expect(cells[4]).toContain('pods/status');
	}
	expect(row(lines, /^\d+(\.\d+)? m?s +\d+(\.\d+)? m?s +\d+(\.\d+)?×$/)).toHaveLength(1);
	const burst = row(lines, /^(ADD|DEL) {2,}3 {2,}/);
	expect(burst).toHaveLength(2);
	for (const cells of burst) expect(cells[2]).toBe('0');
	expect(row(lines, /^WATCH /).length).toBeGreaterThan(0);
	const [many] = row(lines, /^20 {2,}\d/);
	// NADs in the informer, the daemon's RSS, and the NAD reads of an ADD naming the last one.
	expect(many?.[1]).toMatch(/MB$/);
	expect(many?.[2]).toBe('0');
	expect(bench.stdout).not.toContain('first burst failure');
}, 300_000);
