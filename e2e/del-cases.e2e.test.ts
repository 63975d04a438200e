// Issue 12's cases on a real kernel, one by one: a NAD whose chain cannot run past a plugin (not
// installed, an invalid type, an invalid network name, a cniVersion the plugin does not speak) fails
// ADD, and the first DEL succeeds and leaves nothing: the plugins that ran are undone, the one that
// never started is skipped. A 250-byte network name works end to end. A pod stuck under the
// previous release (its plexusCacheV1 record, e2e/testdata/plexus-cache/) is deleted too.
import {readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {hostLocalReservations, randomSubnet} from './helpers/cni.ts';
import {ipJson} from './helpers/netns.ts';
import {materializePlexusCache} from './helpers/plexus-fixture.ts';
import {MetaHarness, type TestPod} from './kube/harness.ts';

let h: MetaHarness;
let subnet: string;

beforeEach(async () => {
	h = await MetaHarness.create();
	subnet = randomSubnet();
});

afterEach(async () => {
	await h.close();
});

const dataDir = () => join(h.dir, 'data');

/** bridge (on the harness' second bridge) + host-local: the plugin that runs before the broken one. */
const bridgeHostLocal = () => ({
	type: 'bridge',
	bridge: h.master,
	ipam: {type: 'host-local', subnet: `${subnet}.0/24`, dataDir: join(dataDir(), 'host-local')},
});

/** Nothing of `pod` is left: only lo, no port on either bridge, no reservation, no cache file. */
async function expectNothingLeft(pod: TestPod): Promise<void> {
	expect(await h.links(pod)).toEqual(['lo']);
	expect(await h.clusterBridgePorts()).toEqual([]);
	await expect.poll(() => ipJson(undefined, 'link', 'show', 'master', h.master), {timeout: 5000}).toEqual([]);
	expect(await hostLocalReservations(dataDir())).toEqual([]);
	expect(await h.cachedFiles()).toEqual([]);
}

/** ADD of a pod with NAD `nad` (config `config`) fails with `code`; then one DEL succeeds and leaves nothing. */
async function failsThenConverges(config: Record<string, unknown>, code: number, msg: RegExp): Promise<void> {
	h.api.createNad('ns1', 'nad-x', JSON.stringify(config));
	const pod = await h.createPod('web', {'k8s.v1.cni.cncf.io/networks': 'nad-x'});
	const add = await h.cni('ADD', pod);
	expect(add.exitCode).toBe(1);
	expect(add.json).toMatchObject({code});
	expect(String(add.json?.['msg'])).toMatch(msg);
	// The rollback itself succeeded: no "rollback failed" details, nothing left already.
	expect(add.json?.['details'] ?? '').not.toContain('rollback failed');
	await expectNothingLeft(pod);
	const del = await h.cni('DEL', pod);
	expect(del.exitCode).toBe(0);
	await expectNothingLeft(pod);
}

describe('a chain that cannot run past a plugin: ADD fails, DEL leaves nothing', () => {
	test('the reproducer: bridge + host-local, then a plugin that is not installed', async () => {
		await failsThenConverges(
			{cniVersion: '1.0.0', name: 'nad-x', plugins: [bridgeHostLocal(), {type: 'nonexistent-plugin'}]},
			7,
			/plugin type="nonexistent-plugin" failed \(add\): failed to find plugin "nonexistent-plugin" in path/,
		);
	});

	test.each([
		['..', /invalid plugin type "\.\.": contains "\.\."/],
		['tun\u0007ing', /contains control characters/],
	])('an invalid type %j', async (type, msg) => {
		await failsThenConverges(
			{cniVersion: '1.0.0', name: 'nad-x', plugins: [bridgeHostLocal(), {type}]},
			7,
			msg,
		);
	});

	test('an invalid network name "a/b"', async () => {
		await failsThenConverges(
			{cniVersion: '1.0.0', name: 'a/b', plugins: [bridgeHostLocal()]},
			7,
			/invalid characters found in network name "a\/b"/,
		);
	});

	test('an empty network name (the cluster network, inline)', async () => {
		const cluster = {...h.clusterNetwork(), name: ''};
		const pod = await h.createPod('web', {});
		const add = await h.cni('ADD', pod, h.conf({delegates: [cluster]}));
		expect(add.exitCode).toBe(1);
		expect(add.json).toMatchObject({code: 7, msg: expect.stringContaining('missing network name')});
		await expectNothingLeft(pod);
		expect((await h.cni('DEL', pod, h.conf({delegates: [cluster]}))).exitCode).toBe(0);
		await expectNothingLeft(pod);
	});

	test('a cniVersion the plugin does not support (Debian plugins stop at 1.0.0)', async () => {
		await failsThenConverges(
			{cniVersion: '1.1.0', name: 'nad-x', plugins: [bridgeHostLocal()]},
			1,
			/incompatible CNI versions/i,
		);
	});
});

test('a 250-byte network name: ADD and DEL succeed, the result cache file name is hashed, nothing left', async () => {
	const name = `n${'x'.repeat(249)}`;
	h.api.createNad('ns1', 'long', JSON.stringify({cniVersion: '1.0.0', name, plugins: [bridgeHostLocal()]}));
	const pod = await h.createPod('web', {'k8s.v1.cni.cncf.io/networks': 'long'});
	const add = await h.cni('ADD', pod);
	expect(add.json?.['msg']).toBeUndefined();
	expect(add.exitCode).toBe(0);
	const results = await readdir(join(h.cniDir, 'results'));
	expect(results.filter((f) => f.startsWith('cluster-net-')).length).toBe(1);
	const hashed = results.find((f) => f.startsWith('nxxx'));
	expect(hashed).toMatch(/^nx+~[0-9a-f]{64}$/);
	expect(Buffer.byteLength(hashed ?? '')).toBeLessThanOrEqual(255 - 21);
	expect(JSON.parse(await readFile(join(h.cniDir, 'results', hashed ?? ''), 'utf8'))).toMatchObject({
		networkName: name,
	});
	expect((await h.cni('CHECK', pod)).exitCode).toBe(0);
	expect((await h.cni('DEL', pod)).exitCode).toBe(0);
	await expectNothingLeft(pod);
});

test('a pod stuck under the previous release (plexusCacheV1 without progress) is deleted', async () => {
	// What the previous release left for the reproducer: the NAD's bridge + host-local ran, its
	// rollback stopped at "nonexistent-plugin", the cluster network was rolled back. Here the NAD's
	// bridge + host-local really run (a chain of just those), then the record is that release's.
	h.api.createNad(
		'ns1',
		'nad-x',
		JSON.stringify({cniVersion: '1.0.0', name: 'nad-x', plugins: [bridgeHostLocal()]}),
	);
	const pod = await h.createPod('web', {'k8s.v1.cni.cncf.io/networks': 'nad-x'});
	expect((await h.cni('ADD', pod)).exitCode).toBe(0);
	await rm(join(h.cniDir, 'results'), {recursive: true});
	expect(await h.links(pod)).toEqual(['eth0', 'lo', 'net1']);
	const stuck = await materializePlexusCache('v1-stuck-missing-plugin.json', {
		CONTAINERID: pod.containerId,
		NETNS: pod.netns.path,
		PODUID: pod.uid,
		CBRIDGE: h.clusterBridge,
		CSUBNET: h.subnet,
		BRIDGE: h.master,
		SUBNET: subnet,
		DATADIR: dataDir(),
	});
	await writeFile(join(h.cniDir, 'plexus', `${pod.containerId}-eth0.json`), stuck, {mode: 0o600});
	const del = await h.cni('DEL', pod);
	expect(del.json).toBeUndefined();
	expect(del.exitCode).toBe(0);
	expect(del.stderr).toContain('not undoing a plugin that never ran');
	await expectNothingLeft(pod);
});
