import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {networkListFromObject} from '../k8s/nad.ts';
import {allocateDevices, type DeviceSources, type DeviceTarget, podDevices} from './allocate.ts';
import {FakeDraPort} from './testing/fake-dra.ts';
import {FakeKubelet} from './testing/fake-kubelet.ts';

const SRIOV = 'intel.com/sriov';
const pod = {namespace: 'ns', name: 'web', uid: 'u1'};

let dir: string;
let kubelet: FakeKubelet;
let sources: DeviceSources;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-alloc-'));
	kubelet = new FakeKubelet();
	const checkpoint = join(dir, 'checkpoint');
	await writeFile(
		checkpoint,
		JSON.stringify({
			Data: {
				PodDeviceEntries: [
					{
						PodUID: 'u1',
						ContainerName: 'app',
						ResourceName: SRIOV,
						DeviceIDs: {'0': ['0000:18:02.7', '0000:18:02.6']},
					},
					{PodUID: 'u2', ContainerName: 'app', ResourceName: SRIOV, DeviceIDs: {'0': ['0000:18:03.0']}},
				],
			},
		}),
	);
	sources = {
		podResourcesSocket: join(dir, 'kubelet.sock'),
		checkpointFile: checkpoint,
		dra: undefined,
		devicePluginInfoDir: '/dp',
	};
});

afterEach(async () => {
	await kubelet.stop();
	await rm(dir, {recursive: true, force: true});
});

function target(
	network: string,
	resourceName: string | undefined,
	capabilities: Record<string, boolean> = {},
): DeviceTarget {
	const list = networkListFromObject(
		{cniVersion: '1.0.0', name: network, type: 'host-device', capabilities},
		network,
		network,
	);
	return {network, origin: `test ${network}`, resourceName, list, capabilityArgs: {}};
}

describe('podDevices', () => {
	test('the checkpoint is read only when the kubelet socket is absent', async () => {
		expect(await podDevices(pod, sources)).toEqual([
			{resourceName: SRIOV, deviceId: '0000:18:02.6', source: 'checkpoint'},
			{resourceName: SRIOV, deviceId: '0000:18:02.7', source: 'checkpoint'},
		]);
		kubelet.pods = [
			{
				name: 'web',
				namespace: 'ns',
				containers: [{name: 'app', devices: [{resourceName: SRIOV, deviceIds: ['0000:18:02.1']}]}],
			},
		];
		await kubelet.start(sources.podResourcesSocket);
		expect(await podDevices(pod, sources)).toEqual([
			{resourceName: SRIOV, deviceId: '0000:18:02.1', source: 'PodResources'},
		]);
	});

	test('a failing kubelet is an error, not a checkpoint fallback', async () => {
		kubelet.failure = {method: 'both', code: 13, details: 'boom'};
		await kubelet.start(sources.podResourcesSocket);
		await expect(podDevices(pod, sources)).rejects.toThrow(`kubelet socket "${sources.podResourcesSocket}"`);
	});

	test("DRA devices come after the device plugins'", async () => {
		const dra = new FakeDraPort();
		dra.pods.set('ns/web', {
			nodeName: 'n1',
			claims: [{name: 'c', resourceClaimName: 'web-c'}],
			extended: undefined,
		});
		dra.claims.set('ns/web-c', {results: [{request: 'r', driver: 'd', pool: 'p', device: 'vf9'}]});
		dra.slices.push({
			nodeName: 'n1',
			driver: 'd',
			pool: 'p',
			generation: 1,
			devices: [{name: 'vf9', deviceId: '0000:5e:00.9', resourceName: SRIOV}],
		});
		expect((await podDevices(pod, {...sources, dra})).map((d) => `${d.deviceId} ${d.source}`)).toEqual([
			'0000:18:02.6 checkpoint',
			'0000:18:02.7 checkpoint',
			'0000:5e:00.9 DRA claim "ns/web-c"',
		]);
	});
});

describe('allocateDevices', () => {
	test('reads nothing when no attachment names a resource', async () => {
		const dra = new FakeDraPort();
		await writeFile(sources.podResourcesSocket, '');
		await allocateDevices(pod, [target('a', undefined), target('b', '')], {...sources, dra});
		expect(dra.calls).toEqual([]);
	});

	test('sets deviceID/pciBusID in the list, runtimeConfig.deviceID where declared, and the device-info file', async () => {
		const targets = [target('a', SRIOV, {deviceID: true}), target('b', undefined), target('c', SRIOV)];
		targets[2]!.capabilityArgs['mac'] = 'x';
		await allocateDevices(pod, targets, sources);
		const [a, b, c] = targets;
		expect(a?.list.plugins[0]?.raw).toMatchObject({deviceID: '0000:18:02.6', pciBusID: '0000:18:02.6'});
		expect(a?.capabilityArgs).toEqual({deviceID: '0000:18:02.6'});
		expect(a?.devicePluginInfo).toBe('/dp/intel.com-sriov-0000:18:02.6-device.json');
		expect(a?.device).toEqual({resourceName: SRIOV, deviceId: '0000:18:02.6', source: 'checkpoint'});
		expect(b?.device).toBeUndefined();
		expect(b?.list.plugins[0]?.raw['deviceID']).toBeUndefined();
		expect(c?.list.plugins[0]?.raw).toMatchObject({deviceID: '0000:18:02.7'});
		expect(c?.capabilityArgs).toEqual({mac: 'x'});
	});
});
