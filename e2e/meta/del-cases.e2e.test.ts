// Issue 12's cases on a real kernel, one by one: a NAD whose chain cannot run past a plugin (not
// installed, an invalid type, an invalid network name, a cniVersion the plugin does not speak) fails
// ADD, and the first DEL succeeds and leaves nothing: the plugins that ran are undone, the one that
// never started is skipped. A 250-byte network name works end to end. A pod stuck under the
// previous release (its plexusCacheV1 record, e2e/testdata/plexus-cache/) is deleted too. A plugin
// uninstalled between ADD and DEL fails DEL for that plugin only; doctor and cleanup handle it.
import {copyFile, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {hostLocalReservations, plexus, randomSubnet} from '../helpers/cni.ts';
import {ipJson} from '../helpers/netns.ts';
import {materializePlexusCache} from '../helpers/plexus-fixture.ts';
import {CNI_BIN, MetaHarness, PLEXUS, type TestPod} from '../kube/harness.ts';

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
	// The plugin that did not run is named in a warning; the rollback itself succeeded: no
	// "rollback failed" details, nothing left already.
	expect(add.stderr).toContain('its DEL will be skipped');
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

test('a plugin uninstalled since ADD: DEL undoes the rest and fails naming it; doctor lists the pod; cleanup drops it', async () => {
	// "px-tuning" is Debian's tuning under another name, so it can be uninstalled from binDir.
	await copyFile(join(CNI_BIN, 'tuning'), join(h.binDir, 'px-tuning'));
	const tuning = {type: 'px-tuning', mtu: 1400, dataDir: join(h.dir, 'tuning')};
	h.api.createNad(
		'ns1',
		'nad-x',
		JSON.stringify({cniVersion: '1.0.0', name: 'nad-x', plugins: [bridgeHostLocal(), tuning]}),
	);
	const pod = await h.createPod('web', {'k8s.v1.cni.cncf.io/networks': 'nad-x'});
	expect((await h.cni('ADD', pod)).exitCode).toBe(0);
	await rm(join(h.binDir, 'px-tuning'));
	const del = await h.cni('DEL', pod);
	expect(del.exitCode).toBe(1);
	expect(del.json).toMatchObject({code: 7});
	expect(del.json?.['msg']).toBe(
		`failed to delete pod "ns1/web": failed to delete network "ns1/nad-x" (interface "net1"): plugin "px-tuning" ran at ADD but is not installed any more (failed to find plugin "px-tuning" in path [${h.binDir} ${CNI_BIN}]); install it again (binDir or CNI_PATH) and the retried DEL undoes it, or, once what it created is gone, drop it with: plexus cleanup ${pod.containerId}`,
	);
	// Everything else is undone: the pod's links, the host veths, host-local's address.
	expect(await h.links(pod)).toEqual(['lo']);
	expect(await h.clusterBridgePorts()).toEqual([]);
	expect(await hostLocalReservations(dataDir())).toEqual([]);
	expect(await h.cachedFiles()).toEqual([
		`plexus/${pod.containerId}-eth0.json`,
		`results/nad-x-${pod.containerId}-net1`,
	]);
	// The retry fails the same way, without running anything again.
	expect((await h.cni('DEL', pod)).json?.['msg']).toBe(del.json?.['msg']);

	const confFile = join(h.dir, '00-plexus.conf');
	await writeFile(confFile, JSON.stringify(h.conf()));
	const doctor = await plexus(['doctor', '--conf', confFile, '--conf-dir', h.confDir, '-o', 'json'], {});
	const failing = (
		JSON.parse(String(doctor.stdout)) as {
			checks: {check: string; status: string; detail: string; fix: string}[];
		}
	).checks.filter((c) => c.check === 'failing DEL');
	expect(failing).toHaveLength(1);
	expect(failing[0]?.status).toBe('problem');
	expect(failing[0]?.detail).toContain(
		`DEL of container "${pod.containerId}" (pod "ns1/web") failed 2 time(s)`,
	);
	expect(failing[0]?.detail).toContain('left to undo: ns1/nad-x (interface "net1"; left to undo: px-tuning)');
	expect(failing[0]?.fix).toContain(`plexus cleanup ${pod.containerId}`);

	// tuning only set the MTU of an interface that is gone: nothing is left to undo by hand.
	const declined = await execa(PLEXUS, ['cleanup', pod.containerId, '--conf', confFile], {
		input: 'n\n',
		reject: false,
	});
	expect(declined.exitCode).toBe(1);
	expect(await h.cachedFiles()).toHaveLength(2);
	const cleanup = await execa(PLEXUS, ['cleanup', pod.containerId, '--conf', confFile], {
		input: 'y\n',
		reject: false,
	});
	expect(cleanup.stderr).toContain('Drop these files? [y/N]');
	expect(cleanup.exitCode).toBe(0);
	expect(String(cleanup.stdout).trim().split('\n')).toEqual([
		`dropped ${join(h.cniDir, 'plexus', `${pod.containerId}-eth0.json`)}`,
		`dropped ${join(h.cniDir, 'results', `nad-x-${pod.containerId}-net1`)}`,
	]);
	expect(await h.cachedFiles()).toEqual([]);
	// The runtime's next DEL succeeds (no record: the API's NAD names px-tuning, which never ran as far as it knows).
	expect((await h.cni('DEL', pod)).exitCode).toBe(0);
	await expectNothingLeft(pod);
});
