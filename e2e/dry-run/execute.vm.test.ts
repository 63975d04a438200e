// plexus dry-run --execute for the examples that need vrf and 8021q (000, 004), on the qemu test
// bed's kernel: really run in a netns the tool makes for the run, then DEL leaves nothing and the
// netns is gone (`ip` as the oracle).
// Run: scripts/vm/run -- node_modules/.bin/vitest run --project vm e2e/dry-run/execute.vm.test.ts
import {afterEach, describe, expect, test} from 'vitest';
import {cleanup, executeCleanly, leftBehind, type Scratch, scratchExample} from './testing/execute.ts';

let scratch: Scratch | undefined;

afterEach(async () => {
	if (scratch !== undefined) await cleanup(scratch);
	scratch = undefined;
});

describe('plexus dry-run --execute on a kernel with vrf and 8021q', () => {
	test('000-vrf: net1 in VRF blue, net2 in VRF red, then nothing left', async () => {
		scratch = await scratchExample('000-vrf.yaml');
		const {run} = await executeCleanly(scratch);
		expect(run.view?.vrfs).toEqual([
			{name: 'blue', table: expect.any(Number), ports: ['net1']},
			{name: 'red', table: expect.any(Number), ports: ['net2']},
		]);
		expect(run.view?.addresses).toEqual(
			expect.arrayContaining([
				{dev: 'net1', cidr: '10.10.10.2/24'},
				{dev: 'net2', cidr: '20.20.20.2/24'},
			]),
		);
		expect(run.steps.filter((s) => s.command === 'ADD' && s.type === 'vrf').map((s) => s.error)).toEqual([
			null,
			null,
		]);
		expect(run.leftovers).toEqual([]);
		expect(run.netnsCreated).toBe(true);
		expect(await leftBehind(scratch, run)).toEqual([]);
	});

	test('004-vlan-chaining: net1.3 and net1.4 on net1, then nothing left', async () => {
		scratch = await scratchExample('004-vlan-chaining.yaml');
		const {run} = await executeCleanly(scratch);
		expect(run.view?.links).toEqual(
			expect.arrayContaining([
				expect.objectContaining({name: 'net1.3', kind: 'vlan', vlan: 3}),
				expect.objectContaining({name: 'net1.4', kind: 'vlan', vlan: 4}),
			]),
		);
		expect(run.view?.addresses).toEqual(
			expect.arrayContaining([
				{dev: 'net1.3', cidr: '192.168.3.10/24'},
				{dev: 'net1.4', cidr: '192.168.4.10/24'},
			]),
		);
		expect(run.leftovers).toEqual([]);
		expect(run.netnsCreated).toBe(true);
		expect(await leftBehind(scratch, run)).toEqual([]);
	});
});
