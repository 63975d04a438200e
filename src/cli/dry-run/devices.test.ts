// plexus dry-run --pod shows the device each attachment would get and where it was read.
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, expect, test} from 'vitest';
import {FakePluginExec} from '../../chain/testing/fake-exec.ts';
import {ManifestKubeClient} from './manifests.ts';
import {dryRunPod} from './plan.ts';
import {renderTable} from './render.ts';

let dir: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-dry-dev-'));
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

test('each attachment naming a resource shows its device and its source; one without a device is a finding', async () => {
	const checkpoint = join(dir, 'checkpoint');
	await writeFile(
		checkpoint,
		JSON.stringify({
			Data: {
				PodDeviceEntries: [
					{
						PodUID: 'u1',
						ContainerName: 'app',
						ResourceName: 'intel.com/sriov',
						DeviceIDs: {'0': ['0000:18:02.5']},
					},
				],
			},
		}),
	);
	const conf = {
		cniVersion: '1.0.0',
		name: 'plexus',
		type: 'plexus',
		confDir: dir,
		cniDir: join(dir, 'cni'),
		logFile: '',
		logToStderr: false,
		delegates: [{cniVersion: '1.0.0', name: 'cbr0', type: 'bridge'}],
		deviceCheckpointFile: checkpoint,
		podResourcesSocket: join(dir, 'absent.sock'),
	};
	const vf = {
		namespace: 'ns1',
		name: 'vf',
		config: '{"cniVersion":"1.0.0","name":"vf","type":"host-device"}',
		annotations: {'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov'},
	};
	const pod = {
		namespace: 'ns1',
		name: 'web',
		uid: 'u1',
		annotations: {'k8s.v1.cni.cncf.io/networks': 'vf, vf'},
	};
	const report = await dryRunPod({
		confStdin: new TextEncoder().encode(JSON.stringify(conf)),
		pod,
		kube: new ManifestKubeClient({pods: [pod], nads: [vf]}),
		path: ['/fake/cni/bin'],
		env: {},
		containerId: 'c1',
		netns: '/var/run/netns/c1',
		ifname: 'eth0',
		exec: new FakePluginExec({bridge: () => ({}), 'host-device': () => ({})}),
		queryVersions: false,
	});
	expect(report.attachments.map((a) => [a.ifname, a.device ?? null])).toEqual([
		['eth0', null],
		['net1', {resourceName: 'intel.com/sriov', deviceId: '0000:18:02.5', source: 'checkpoint'}],
		['net2', null],
	]);
	expect(renderTable(report, {color: false})).toContain(
		'  device 0000:18:02.5 (intel.com/sriov, from checkpoint)',
	);
	expect(report.findings.map((f) => f.message)).toContainEqual(
		expect.stringContaining('needs a "intel.com/sriov" device, but pod "ns1/web" has none left'),
	);
});
