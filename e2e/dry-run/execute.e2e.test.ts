// plexus dry-run --execute on the host kernel (root): the examples that need no vrf/8021q
// (001 route-override, 002 multi-interface, 003 macvlan) really run in a netns the tool makes for the run, with the
// reference plugins from /usr/lib/cni and the built-ins in-process, then DEL leaves nothing and the
// netns is gone: `ip` is the oracle for the netns and the host, host-local's dataDir for
// reservations. --netns runs in the operator's netns instead. 000 and 004 run in the vm test.
import {existsSync} from 'node:fs';
import {basename} from 'node:path';
import {execa} from 'execa';
import {afterEach, describe, expect, test} from 'vitest';
import {inNetns, throwawayNetnsPath} from '../../src/cli/dry-run/execute.ts';
import {withPlaceholder} from '../../src/cli/dry-run/plan.ts';
import {netnsExists} from '../../src/netlink/netns.ts';
import {
	cleanup,
	execute,
	executeCleanly,
	existingHostLinks,
	ipNetnsList,
	leftBehind,
	operatorNetns,
	type Scratch,
	scratchExample,
} from './testing/execute.ts';

let scratch: Scratch | undefined;

afterEach(async () => {
	if (scratch !== undefined) await cleanup(scratch);
	scratch = undefined;
});

/** Host-side interfaces (no sandbox) the ADD results named. */
function hostSide(report: Awaited<ReturnType<typeof execute>>['report']): string[] {
	const names = new Set<string>();
	for (const step of report.execution?.steps ?? []) {
		if (step.command !== 'ADD' || step.stdout === '') continue;
		const result = JSON.parse(step.stdout) as {interfaces?: {name: string; sandbox?: string}[]};
		for (const i of result.interfaces ?? []) if ((i.sandbox ?? '') === '') names.add(i.name);
	}
	return [...names];
}

describe('plexus dry-run --execute', () => {
	test('001-route-override: macvlan + route-override on eth1 and eth2, then nothing left', async () => {
		scratch = await scratchExample('001-route-override.yaml');
		const {report, run, stderr} = await executeCleanly(scratch);
		expect(stderr).toBe('');
		// In a netns made for the run, at the path the plan showed every plugin as CNI_NETNS.
		expect(run.netnsCreated).toBe(true);
		expect(run.netns).toMatch(/^\/var\/run\/netns\/plexus-dryrun-[0-9a-f]{8}$/);
		const plannedNetns = report.attachments.flatMap((a) => a.plugins.map((p) => p.env['CNI_NETNS']));
		expect(new Set(plannedNetns)).toEqual(new Set([run.netns]));
		// Every planned plugin ran, in order, with the stdin the plan showed (prevResult apart).
		const planned = report.attachments.flatMap((a) => a.plugins.map((p) => p.type));
		const added = run.steps.filter((s) => s.command === 'ADD' && s.type !== 'static');
		expect(added.map((s) => s.type)).toEqual(planned);
		expect(added.every((s) => s.error === null && s.durationMs >= 0)).toBe(true);
		// What the plan printed is what the real run sent, byte for byte (prevResult as the placeholder).
		const plans = report.attachments.flatMap((a) => a.plugins);
		for (const [i, p] of plans.entries())
			expect(p.stdin).toBe(withPlaceholder(Buffer.from(added[i]?.stdin ?? ''), p.prevResultFrom));
		expect(run.steps.filter((s) => s.command === 'DEL').map((s) => s.type)).toEqual([
			'route-override',
			'macvlan',
			'route-override',
			'macvlan',
			'bridge',
		]);
		// The netns as ADD left it.
		expect(run.view?.addresses).toEqual(
			expect.arrayContaining([
				{dev: 'eth1', cidr: '192.168.100.10/24'},
				{dev: 'eth2', cidr: '192.168.200.10/24'},
			]),
		);
		expect(run.view?.routes).toEqual(
			expect.arrayContaining([
				expect.objectContaining({dst: '10.0.0.0/8', gateway: '192.168.100.1', dev: 'eth1'}),
				expect.objectContaining({dst: '172.16.0.0/12', gateway: '192.168.200.1', dev: 'eth2'}),
			]),
		);
		// And after DEL, by the tool and by the oracle.
		expect(run.leftovers).toEqual([]);
		expect(await leftBehind(scratch, run)).toEqual([]);
		const veths = hostSide(report).filter((n) => !scratch?.hostLinks.includes(n));
		expect(veths.length).toBeGreaterThan(0);
		expect(await existingHostLinks(veths)).toEqual([]);
	});

	test('002-multi-interface: eth0, net1 and net2 on three bridges, then nothing left', async () => {
		scratch = await scratchExample('002-multi-interface.yaml');
		const {report, run} = await executeCleanly(scratch);
		expect(run.view?.links.map((l) => l.name)).toEqual(expect.arrayContaining(['eth0', 'net1', 'net2']));
		expect(run.view?.addresses).toEqual(
			expect.arrayContaining([
				{dev: 'net1', cidr: '10.10.10.5/24'},
				{dev: 'net2', cidr: '10.20.20.5/24'},
			]),
		);
		expect(run.leftovers).toEqual([]);
		expect(await leftBehind(scratch, run)).toEqual([]);
		const veths = hostSide(report).filter((n) => !scratch?.hostLinks.includes(n));
		expect(veths.length).toBeGreaterThanOrEqual(3);
		expect(await existingHostLinks(veths)).toEqual([]);
	});

	test('003-macvlan: a single-plugin conf, then nothing left', async () => {
		scratch = await scratchExample('003-macvlan.yaml');
		const {report, run} = await executeCleanly(scratch);
		expect(run.view?.links.map((l) => l.name)).toEqual(expect.arrayContaining(['eth0', 'macvlan0']));
		expect(run.leftovers).toEqual([]);
		expect(await leftBehind(scratch, run)).toEqual([]);
		expect(await existingHostLinks(hostSide(report).filter((n) => !scratch?.hostLinks.includes(n)))).toEqual(
			[],
		);
	});

	test("an ADD failing half-way is reported with ADD's message, and its rollback leaves only the record of what it could not undo", async () => {
		scratch = await scratchExample('003-macvlan.yaml', [
			{
				apiVersion: 'k8s.cni.cncf.io/v1',
				kind: 'NetworkAttachmentDefinition',
				metadata: {name: 'broken', namespace: 'vpp-server'},
				spec: {config: '{"cniVersion":"1.0.0","name":"broken","type":"macvlan","master":"pxnothere0"}'},
			},
		]);
		const {readFile, writeFile} = await import('node:fs/promises');
		const text = await readFile(scratch.podFile, 'utf8');
		await writeFile(
			scratch.podFile,
			text.replace(
				'[{"name": "macvlan0", "interface": "macvlan0"}]',
				'[{"name": "macvlan0", "interface": "macvlan0"}, {"name": "broken"}]',
			),
		);
		const {exitCode, report} = await execute(scratch);
		expect(exitCode).toBe(1);
		// ADD's failure, then the failed attachment's own DEL failing too (the reference macvlan
		// looks its master up on DEL as well), exactly as ADD's rollback would report it.
		expect(report.findings).toEqual([
			{
				severity: 'error',
				source: 'execute',
				network: 'vpp-server/broken',
				message:
					'failed to add network "vpp-server/broken" (element 2 of annotation "k8s.v1.cni.cncf.io/networks") as interface "net2" of pod "vpp-server/vpp-app": plugin type="macvlan" name="broken" failed (add): Link not found',
			},
			{
				severity: 'error',
				source: 'execute',
				message:
					'failed to delete network "vpp-server/broken" (interface "net2"): plugin type="macvlan" name="broken" failed (delete): Link not found',
			},
			// ADD's own rollback (the same steps as the real ADD) keeps what it could not undo in
			// the plexus cache for the runtime's retried DEL, and says so.
			{
				severity: 'error',
				source: 'execute',
				message: expect.stringMatching(
					/^DEL left plexus cache record "\/tmp\/plexus-execute-[^"]+\/plexus\/[^"]+-eth0\.json" \(what DEL could not undo, kept for the runtime's retried DEL\) behind$/,
				),
			},
		]);
		const run = report.execution!;
		// Every attempted attachment, the failed one included, was DELeted in reverse.
		expect(run.steps.filter((s) => s.command === 'DEL').map((s) => s.type)).toEqual([
			'macvlan',
			'macvlan',
			'bridge',
		]);
		expect(run.leftovers).toEqual([expect.stringMatching(/^plexus cache record /)]);
		expect(await leftBehind(scratch, run)).toEqual([]);
	});

	test("--netns: runs in the operator's netns and leaves it there, with only lo", async () => {
		scratch = await scratchExample('003-macvlan.yaml');
		const netns = await operatorNetns(scratch);
		const {run} = await executeCleanly(scratch, netns);
		expect(run).toMatchObject({netns, netnsCreated: false, leftovers: []});
		expect(run.view?.links.map((l) => l.name)).toEqual(expect.arrayContaining(['eth0', 'macvlan0']));
		expect(await ipNetnsList()).toContain(basename(netns));
		expect(await leftBehind(scratch, run)).toEqual([]);
	});

	test('the netns made for the run is deleted when the run throws', async () => {
		const path = throwawayNetnsPath();
		let inside: string[] = [];
		try {
			await expect(
				inNetns(path, 'pxdry-throws', {createNetns: true}, async () => {
					const {stdout} = await execa('ip', ['-n', basename(path), '-json', 'link', 'show']);
					inside = (JSON.parse(stdout) as {ifname: string; flags: string[]}[]).map(
						(l) => `${l.ifname} ${l.flags.includes('UP') ? 'up' : 'down'}`,
					);
					throw new Error('plugin exploded');
				}),
			).rejects.toThrow('plugin exploded');
			// It existed during the run, as a runtime's sandbox: only lo, up.
			expect(inside).toEqual(['lo up']);
			expect(existsSync(path)).toBe(false);
			expect(await ipNetnsList()).not.toContain(basename(path));
		} finally {
			await execa('ip', ['netns', 'del', basename(path)], {reject: false});
		}
	});

	test('a netns that cannot be made is a finding, and nothing runs', async () => {
		// A name already taken: creation fails with EEXIST, and the taken netns is left alone.
		scratch = await scratchExample('003-macvlan.yaml');
		const taken = await operatorNetns(scratch);
		let ran = false;
		const run = await inNetns(taken, 'pxdry-taken', {createNetns: true}, async () => {
			ran = true;
			throw new Error('must not run');
		});
		expect(ran).toBe(false);
		expect(run).toMatchObject({netns: taken, netnsCreated: false, steps: [], view: null, leftovers: []});
		expect(run.findings).toEqual([
			{
				severity: 'error',
				source: 'execute',
				message: `failed to create netns "${taken}": file already exists (EEXIST)`,
			},
		]);
		expect(netnsExists(taken)).toBe(true);
		// And a path outside /var/run/netns is never created.
		const elsewhere = await inNetns(
			'/tmp/pxdry-elsewhere',
			'pxdry-elsewhere',
			{createNetns: true},
			async () => {
				ran = true;
				throw new Error('must not run');
			},
		);
		expect(ran).toBe(false);
		expect(elsewhere.findings.map((f) => f.message)).toEqual([
			'failed to create netns "/tmp/pxdry-elsewhere": a throwaway netns must be in /var/run/netns',
		]);
		expect(existsSync('/tmp/pxdry-elsewhere')).toBe(false);
	});

	test('refuses a --netns that is not empty (exit 2)', async () => {
		scratch = await scratchExample('003-macvlan.yaml');
		const netns = await operatorNetns(scratch);
		await execa('ip', [
			'-n',
			basename(netns),
			'link',
			'add',
			'pxbusy0',
			'type',
			'veth',
			'peer',
			'name',
			'pxbusy1',
		]);
		const {runCli} = await import('../../src/cli/cli.ts');
		const busy = await runCli({
			argv: ['dry-run', '--pod', scratch.podFile, '--execute', '--netns', netns],
			env: {},
			readStdin: async () => new Uint8Array(),
		});
		expect(busy.exitCode).toBe(2);
		expect(busy.stderr).toContain('is not empty (pxbusy1, pxbusy0); --execute needs a fresh one');
	});
});
