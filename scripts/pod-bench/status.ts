/**
 * One-shot STATUS against a bare Node start: containerd 2.x turns kubelet's runtime-status poll
 * (every 5 s) into a CNI STATUS for a 1.1.0 conf, so its cost is paid by every idle node. Both are
 * exec'd in turns; times ascending, in ms.
 */
import type {Bed} from './bed.ts';
import {NODE, ok, PLEXUS, run} from './processes.ts';

/** Ascending wall times of `bin/plexus` STATUS and of `node -e 0`, `iterations` each, interleaved. */
export async function statusTimes(
	bed: Bed,
	iterations: number,
): Promise<{status: number[]; bareNode: number[]}> {
	const env = {
		PATH: process.env['PATH'] ?? '/usr/bin:/bin',
		CNI_COMMAND: 'STATUS',
		CNI_PATH: bed.env('STATUS', '', {namespace: '', name: ''})['CNI_PATH'] ?? '',
	};
	const status: number[] = [];
	const bareNode: number[] = [];
	for (let i = 0; i < iterations; i++) {
		status.push(ok('one-shot STATUS', await run(PLEXUS, env, bed.conf('1.1.0'))));
		bareNode.push(ok('node -e 0', await run(NODE, {PATH: env.PATH}, '', ['-e', '0'])));
	}
	return {status: status.sort((a, b) => a - b), bareNode: bareNode.sort((a, b) => a - b)};
}
