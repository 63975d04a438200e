// `plexus cleanup` and doctor's failing-DEL check on a cache directory written through the real
// caches; the end-to-end run (a plugin uninstalled under a real pod) is e2e/meta/del-cases.e2e.test.ts.
import {mkdtemp, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {ResultCache} from '../../chain/cache.ts';
import {type CachedAttachment, PlexusCache, type PodCacheEntry} from '../../meta/cache.ts';
import {checkStuckDels} from '../doctor/stuck.ts';
import {runCleanup} from './command.ts';

let dir: string;
beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-cleanup-'));
});
afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

const attachment = (network: string, name: string, ifname: string, started?: number[]): CachedAttachment => ({
	network,
	nad: null,
	ifname,
	isClusterNetwork: ifname === 'eth0',
	config: Buffer.from(
		JSON.stringify({cniVersion: '1.0.0', name, plugins: [{type: 'bridge'}, {type: 'tuning'}]}),
	),
	capabilityArgs: {},
	defaultRoute: null,
	...(started === undefined ? {} : {started}),
});

const entry = (containerId: string, failed: boolean): PodCacheEntry => ({
	containerId,
	ifname: 'eth0',
	netns: '/var/run/netns/x',
	cniArgs: [],
	pod: {namespace: 'ns1', name: `web-${containerId}`, uid: 'u1'},
	attachments: [attachment('ns1/a', 'a', 'net1', [1])],
	...(failed
		? {
				delFailure: {
					at: '2026-12-04T10:00:00.000Z',
					reason: 'plugin "tuning" ran at ADD but is gone',
					attempts: 3,
				},
			}
		: {}),
});

async function result(containerId: string, name: string, ifname: string): Promise<void> {
	await new ResultCache(dir).write({
		networkName: name,
		containerId,
		ifname,
		config: Buffer.from('{}'),
		netns: '',
		cniArgs: [],
		capabilityArgs: {},
		result: {cniVersion: '1.0.0'},
	});
}

beforeEach(async () => {
	const cache = new PlexusCache(dir);
	await cache.write(entry('stuck1', true));
	await cache.write(entry('fine2', false));
	await result('stuck1', 'a', 'net1');
	// Not Plexus' for this container: another network (e.g. Multus-era) and another container.
	await result('stuck1', 'other', 'net9');
	await result('fine2', 'a', 'net1');
});

const files = async () => [
	...(await readdir(join(dir, 'plexus'))).map((f) => `plexus/${f}`),
	...(await readdir(join(dir, 'results'))).map((f) => `results/${f}`),
];

describe('plexus cleanup', () => {
	test("shows what it drops, asks, and drops only that container's Plexus records and results", async () => {
		const questions: string[] = [];
		const outcome = await runCleanup(['stuck1', '--cni-dir', dir], {
			confirm: async (q) => {
				questions.push(q);
				return true;
			},
		});
		expect(outcome.exitCode).toBe(0);
		expect(questions[0]).toContain(`Container "stuck1" (pod "ns1/web-stuck1"), cache directory "${dir}":`);
		expect(questions[0]).toContain('DEL failed 3 time(s), last at 2026-12-04T10:00:00.000Z: plugin "tuning"');
		expect(questions[0]).toContain('still recorded: ns1/a (interface "net1"; left to undo: tuning)');
		expect(questions[0]).toMatch(/Drop these files\? \[y\/N\] $/);
		expect(outcome.stdout).toBe(
			`dropped ${join(dir, 'plexus', 'stuck1-eth0.json')}\ndropped ${join(dir, 'results', 'a-stuck1-net1')}\n`,
		);
		expect(await files()).toEqual([
			'plexus/fine2-eth0.json',
			'results/a-fine2-net1',
			'results/other-stuck1-net9',
		]);
	});

	test('without confirmation nothing is dropped; --yes drops without asking', async () => {
		const no = await runCleanup(['stuck1', '--cni-dir', dir], {confirm: async () => false});
		expect(no).toMatchObject({exitCode: 1, stdout: ''});
		expect(no.stderr).toContain('not confirmed; nothing dropped');
		expect(await runCleanup(['stuck1', '--cni-dir', dir], {})).toMatchObject({exitCode: 1});
		expect((await files()).length).toBe(5);
		const yes = await runCleanup(['stuck1', '--cni-dir', dir, '--yes'], {});
		expect(yes.exitCode).toBe(0);
		expect(yes.stdout).toContain('plexus record');
		expect(yes.stdout).toContain(`dropped ${join(dir, 'plexus', 'stuck1-eth0.json')}`);
	});

	test.each([['../etc'], ['a/b'], ['-'], ['']])('refuses %j as a container ID (exit 2)', async (id) => {
		const outcome = await runCleanup([id, '--cni-dir', dir, '--yes'], {});
		expect(outcome.exitCode).toBe(2);
		expect((await files()).length).toBe(5);
	});

	test('an unknown container, or no ID at all, is not a silent success', async () => {
		const unknown = await runCleanup(['nosuch', '--cni-dir', dir, '--yes'], {});
		expect(unknown.exitCode).toBe(1);
		expect(unknown.stderr).toContain('nothing to clean up: no plexus record of container "nosuch"');
		expect((await runCleanup(['--cni-dir', dir], {})).exitCode).toBe(2);
	});

	test('reads cniDir from the Plexus conf', async () => {
		const confDir = join(dir, 'net.d');
		await rm(confDir, {recursive: true, force: true});
		await import('node:fs/promises').then((fs) => fs.mkdir(confDir));
		await writeFile(
			join(confDir, '00-plexus.conf'),
			JSON.stringify({cniVersion: '1.0.0', name: 'p', type: 'plexus', cniDir: dir, clusterNetwork: 'x'}),
		);
		const outcome = await runCleanup(['stuck1', '--conf-dir', confDir, '-y'], {});
		expect(outcome.exitCode).toBe(0);
	});

	test('a record in a format this Plexus cannot read is dropped too (its DEL fails with code 1)', async () => {
		await writeFile(
			join(dir, 'plexus', 'new3-eth0.json'),
			JSON.stringify({kind: 'plexusCacheV9', containerId: 'new3'}),
		);
		const outcome = await runCleanup(['new3', '--cni-dir', dir, '-y'], {});
		expect(outcome.exitCode).toBe(0);
		expect(outcome.stdout).toContain('unusable: format "plexusCacheV9"');
	});
});

test('doctor lists each container whose DEL keeps failing, with the reason and the fix', async () => {
	const checks = await checkStuckDels(dir);
	expect(checks).toEqual([
		{
			check: 'failing DEL',
			status: 'problem',
			detail:
				'DEL of container "stuck1" (pod "ns1/web-stuck1") failed 3 time(s), last at 2026-12-04T10:00:00.000Z; left to undo: ns1/a (interface "net1"; left to undo: tuning); reason: plugin "tuning" ran at ADD but is gone',
			fix: "remove the cause and the runtime's retried DEL finishes; if it cannot be undone, remove what it left by hand and drop the records: plexus cleanup stuck1",
		},
	]);
	await rm(join(dir, 'plexus', 'stuck1-eth0.json'));
	expect(await checkStuckDels(dir)).toMatchObject([{status: 'ok'}]);
});
