// plexus dry-run --execute on the host kernel (root): a bridge the `bridge` plugin creates for the
// run (it was not there before) is reported as kept, since CNI never deletes bridges, not as a
// leak; the veths on it are gone after DEL. `ip` is the oracle.
import {execa} from 'execa';
import {afterEach, describe, expect, test} from 'vitest';
import {
	cleanup,
	executeCleanly,
	existingHostLinks,
	leftBehind,
	type Scratch,
	scratchExample,
} from './testing/execute.ts';

let scratch: Scratch | undefined;

afterEach(async () => {
	if (scratch !== undefined) await cleanup(scratch);
	scratch = undefined;
});

describe('plexus dry-run --execute and the bridges CNI never deletes', () => {
	test('002-multi-interface with its bridges made by the plugin: kept, not left behind', async () => {
		scratch = await scratchExample('002-multi-interface.yaml');
		// The scratch bridges (cleanup still deletes them by name): the plugin makes them instead.
		const bridges = [];
		for (const name of scratch.hostLinks) {
			const {stdout} = await execa('ip', ['-json', '-details', 'link', 'show', name]);
			const [info] = JSON.parse(stdout) as {linkinfo?: {info_kind?: string}}[];
			if (info?.linkinfo?.info_kind === 'bridge') bridges.push(name);
		}
		expect(bridges.length).toBeGreaterThanOrEqual(2);
		for (const name of bridges) await execa('ip', ['link', 'del', name]);
		const {run} = await executeCleanly(scratch);
		expect(run.leftovers).toEqual([]);
		expect([...run.kept].sort()).toEqual(bridges.map((b) => `bridge "${b}"`).sort());
		expect(await leftBehind(scratch, run)).toEqual([]);
		// The bridges are there (kept), with no port left on them.
		expect(await existingHostLinks(bridges)).toEqual(bridges);
		for (const name of bridges) {
			const {stdout} = await execa('ip', ['-json', 'link', 'show', 'master', name]);
			expect(JSON.parse(stdout === '' ? '[]' : stdout)).toEqual([]);
		}
	});
});
