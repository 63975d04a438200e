// Migration from Multus with pods running, on a real kernel: each pod is set up exactly as Multus
// v4.x would have ADDed it (the delegates of e2e/testdata/multus-cache/v4-pod.json run through
// libcni semantics with Multus' interface names and CNI_ARGS, results cached under cniDir/results,
// the delegate cache written to <cniDir>/<containerID>), then bin/plexus is called as the runtime
// calls it after the node's conf switched to `type: plexus`: CHECK, DEL, GC.
import {copyFile, mkdir, readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {ChainExecutor} from '../../src/chain/executor.ts';
import {confListFromConf, parseNetworkList} from '../../src/chain/network-list.ts';
import {hostLocalReservations, randomSubnet} from '../helpers/cni.ts';
import {fixtureConfigs, MULTUS_FIXTURES, materializeFixture} from '../helpers/multus-fixture.ts';
import {ipJson, randomName, removeLink} from '../helpers/netns.ts';
import {CNI_BIN, MetaHarness, type TestPod} from '../kube/harness.ts';

let h: MetaHarness;
let staticBridge: string;
let vars: Record<string, string>;

beforeEach(async () => {
	h = await MetaHarness.create();
	staticBridge = randomName('pxsb');
	vars = {
		CBRIDGE: h.clusterBridge,
		SBRIDGE: staticBridge,
		MASTER: h.master,
		DATADIR: join(h.dir, 'data'),
		CSUBNET: h.subnet,
		MSUBNET: randomSubnet(),
		SSUBNET: randomSubnet(),
	};
});

afterEach(async () => {
	await h.close();
	await removeLink(staticBridge);
});

/** The interfaces Multus gives the three delegates: CNI_IFNAME, net<index>, the requested name. */
const IFNAMES = ['eth0', 'net1', 'data0'];

/**
 * ADDs `pod` as Multus v4.x does: its delegate cache first, then each delegate through libcni
 * (AddNetworkList for a conflist, AddNetwork for the single conf) with cniDir as the cache dir.
 */
async function addLikeMultus(pod: TestPod): Promise<void> {
	await mkdir(h.cniDir, {recursive: true, mode: 0o700});
	await writeFile(join(h.cniDir, pod.containerId), await materializeFixture('v4-pod.json', vars), {
		mode: 0o600,
	});
	const libcni = new ChainExecutor({path: [CNI_BIN], cacheDir: h.cniDir, env: {PATH: process.env['PATH']}});
	const configs = await fixtureConfigs('v4-pod.json', vars);
	for (const [i, text] of configs.entries()) {
		const bytes = Buffer.from(text);
		const list = i === 1 ? confListFromConf(bytes) : parseNetworkList(bytes);
		await libcni.addNetworkList(list, {
			containerId: pod.containerId,
			netns: pod.netns.path,
			ifname: IFNAMES[i] ?? '',
			args: [
				['IgnoreUnknown', 'true'],
				['K8S_POD_NAMESPACE', pod.namespace],
				['K8S_POD_NAME', pod.name],
				['K8S_POD_INFRA_CONTAINER_ID', pod.containerId],
				['K8S_POD_UID', pod.uid],
			],
			capabilityArgs: {},
		});
	}
}

/** host-local reservations whose owner is `pod`. */
async function reservationsOf(pod: TestPod): Promise<string[]> {
	const dataDir = join(h.dir, 'data');
	const out: string[] = [];
	for (const file of await hostLocalReservations(dataDir)) {
		const owner = await readFile(join(dataDir, 'host-local', file), 'utf8');
		if (owner.startsWith(pod.containerId)) out.push(file.split('/')[0] ?? '');
	}
	return out.sort();
}

async function bridgePorts(bridge: string): Promise<string[]> {
	return (await ipJson<{ifname: string}[]>(undefined, 'link', 'show', 'master', bridge)).map((l) => l.ifname);
}

async function expectMultusPodUp(pod: TestPod): Promise<void> {
	expect(await h.links(pod)).toEqual(['data0', 'eth0', 'lo', 'net1']);
	expect(await reservationsOf(pod)).toEqual(['cluster-net', 'macvlan-net']);
}

async function expectPodGone(pod: TestPod): Promise<void> {
	expect(await h.links(pod)).toEqual(['lo']);
	expect(await reservationsOf(pod)).toEqual([]);
	expect((await h.cachedFiles()).filter((f) => f.includes(pod.containerId))).toEqual([]);
}

describe('a pod Multus ADDed', () => {
	test('CHECK passes on every delegate, then DEL removes every link, host-local reservation and cache file', async () => {
		// The NADs the pod names stay in the API, as in a real cluster.
		const [, macvlan, bridge] = await fixtureConfigs('v4-pod.json', vars);
		h.api.createNad('ns1', 'macvlan-net', macvlan ?? '');
		h.api.createNad('ns1', 'bridge-static', bridge ?? '');
		const pod = await h.createPod('migrated', {
			'k8s.v1.cni.cncf.io/networks': 'macvlan-net, bridge-static@data0',
		});
		await addLikeMultus(pod);
		await expectMultusPodUp(pod);
		expect(await h.cachedFiles()).toEqual([
			pod.containerId,
			`results/bridge-static-${pod.containerId}-data0`,
			`results/cluster-net-${pod.containerId}-eth0`,
			`results/macvlan-net-${pod.containerId}-net1`,
		]);

		const check = await h.cni('CHECK', pod);
		expect(check.stdout).toBe('');
		expect(check.exitCode).toBe(0);

		const del = await h.cni('DEL', pod);
		expect(del.stdout).toBe('');
		expect(del.exitCode).toBe(0);
		await expectPodGone(pod);
		expect(await h.cachedFiles()).toEqual([]);
		expect(await h.clusterBridgePorts()).toEqual([]);
		expect(await bridgePorts(staticBridge)).toEqual([]);

		// A repeated DEL (no cache any more) recomputes from the API and DELs idempotently.
		expect((await h.cni('DEL', pod)).exitCode).toBe(0);
	});

	test('CHECK reports a delegate whose interface was removed behind its back', async () => {
		const pod = await h.createPod('tampered', {});
		await addLikeMultus(pod);
		await execa('ip', ['-n', pod.netns.name, 'link', 'del', 'net1']);
		const check = await h.cni('CHECK', pod);
		expect(check.exitCode).not.toBe(0);
		expect(String(check.json?.['msg'])).toContain(
			'check of multus delegate "ns1/macvlan-net" (interface "net1") failed',
		);
		expect((await h.cni('DEL', pod)).exitCode).toBe(0);
		await expectPodGone(pod);
	});

	test.each([
		['corrupt.json', 'not JSON'],
		['unknown-format.json', 'delegate 1: unknown key "NetworkConfigV5"'],
	])('a %s cache fails DEL with code 6 naming the file, and touches nothing', async (fixture, reason) => {
		const pod = await h.createPod('broken', {});
		await addLikeMultus(pod);
		const file = join(h.cniDir, pod.containerId);
		await copyFile(join(MULTUS_FIXTURES, fixture), file);
		const del = await h.cni('DEL', pod);
		expect(del.exitCode).not.toBe(0);
		expect(del.json?.['code']).toBe(6);
		expect(String(del.json?.['msg'])).toContain(`failed to read multus cache "${file}": `);
		expect(String(del.json?.['msg'])).toContain(reason);
		await expectMultusPodUp(pod);
		// With the cache restored, the same DEL cleans up.
		await writeFile(file, await materializeFixture('v4-pod.json', vars));
		expect((await h.cni('DEL', pod)).exitCode).toBe(0);
		await expectPodGone(pod);
	});
});

describe('GC after the switch', () => {
	test('reaps the Multus-era pods the runtime no longer lists and keeps the running ones', async () => {
		const running = await h.createPod('running', {});
		const stale = await h.createPod('stale', {});
		await addLikeMultus(running);
		await addLikeMultus(stale);
		// The stale pod's sandbox is already gone, as after a node reboot or a lost DEL.
		await execa('ip', ['netns', 'del', stale.netns.name]);

		const gc = await h.cni('GC', running, {
			...h.conf({cniVersion: '1.1.0'}),
			'cni.dev/valid-attachments': [{containerID: running.containerId, ifname: 'eth0'}],
		});
		expect(gc.stdout).toBe('');
		expect(gc.exitCode).toBe(0);
		expect(await reservationsOf(stale)).toEqual([]);
		expect((await h.cachedFiles()).filter((f) => f.includes(stale.containerId))).toEqual([]);
		await expectMultusPodUp(running);
		expect(await h.cachedFiles()).toContain(running.containerId);

		expect((await h.cni('DEL', running)).exitCode).toBe(0);
		await expectPodGone(running);
		expect(await h.cachedFiles()).toEqual([]);
		await expect.poll(() => h.clusterBridgePorts(), {timeout: 5000}).toEqual([]);
	});
});
