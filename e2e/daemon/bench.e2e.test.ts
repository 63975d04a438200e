/**
 * scripts/bench runs end to end in a small configuration and prints its tables; the burst has no
 * failures. Times are printed, never asserted (they depend on the machine).
 */
import {resolve} from 'node:path';
import {execa} from 'execa';
import {beforeAll, expect, it} from 'vitest';
import {requireShim} from '../helpers/daemon.ts';

beforeAll(requireShim);

it('scripts/bench measures floor, one-shot and daemon+shim, and a burst with no failures', async () => {
	const bench = await execa(
		resolve(import.meta.dirname, '../../scripts/bench'),
		['--iterations', '1', '--pods', '3'],
		{
			reject: false,
		},
	);
	expect(bench.stderr).toBe('');
	expect(bench.exitCode).toBe(0);
	expect(bench.stdout).toContain('daemon NODE_OPTIONS="--max-semi-space-size=');
	const lines = bench.stdout.split('\n');
	for (const mode of ['floor (delegates alone)', 'plexus one-shot', 'plexus daemon + shim']) {
		expect(lines.some((line) => line.startsWith(mode) && /\d+(\.\d+)? m?s/.test(line))).toBe(true);
	}
	const burst = lines.filter((line) => /^(ADD|DEL) {2,}3 {2,}/.test(line));
	expect(burst).toHaveLength(2);
	for (const line of burst) expect(line.split(/ {2,}/)[2]).toBe('0');
	expect(bench.stdout).not.toContain('first burst failure');
}, 300_000);
