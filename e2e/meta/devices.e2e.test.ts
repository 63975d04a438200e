// Devices end to end: bin/plexus run as the runtime runs it, a fake kubelet serving the
// PodResources API over real gRPC on a unix socket, the in-repo API server, real netns.
import {readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {afterEach, beforeEach, expect, test} from 'vitest';
import {FakeKubelet} from '../../src/devices/testing/fake-kubelet.ts';
import {type RunningDaemon, requireShim, runShim, startDaemon} from '../helpers/daemon.ts';
import {CNI_BIN, MetaHarness, macvlanNad, podCniArgs} from '../kube/harness.ts';

const RESOURCE = 'example.com/vf';
const RESOURCE_EXHAUSTED = 8;

let h: MetaHarness;
let kubelet: FakeKubelet;
let socket: string;

beforeEach(async () => {
	h = await MetaHarness.create();
	kubelet = new FakeKubelet();
	socket = join(h.dir, 'kubelet.sock');
	await kubelet.start(socket);
});

const daemons: RunningDaemon[] = [];

afterEach(async () => {
	for (const started of daemons.splice(0)) {
		started.process.kill('SIGKILL');
		await started.process;
	}
	await kubelet.stop();
	await h.close();
});

function vfNads(): void {
	for (const [name, address] of [
		['vf-a', '10.71.0.5/24'],
		['vf-b', '10.72.0.5/24'],
	] as const) {
		h.api.createNad('ns1', name, macvlanNad(name, h.master, address), {
			'k8s.v1.cni.cncf.io/resourceName': RESOURCE,
		});
	}
}

test('two NADs of one resource get the two devices kubelet reports, one each, in container order', async () => {
	const calls = await h.recordCalls('macvlan');
	vfNads();
	const pod = await h.createPod('vf-user', {'k8s.v1.cni.cncf.io/networks': 'vf-b, vf-a'});
	kubelet.pods = [
		{
			name: pod.name,
			namespace: pod.namespace,
			containers: [
				{name: 'app', devices: [{resourceName: RESOURCE, deviceIds: ['0000:3b:00.3', '0000:3b:00.2']}]},
			],
		},
	];
	const conf = h.conf({podResourcesSocket: socket, deviceCheckpointFile: join(h.dir, 'no-checkpoint')});
	const add = await h.cni('ADD', pod, conf);
	expect(add.stderr).not.toContain('"level":"error"');
	expect(add.exitCode).toBe(0);
	const adds = (await readFile(calls, 'utf8'))
		.trim()
		.split('\n')
		.filter((l) => l.startsWith('ADD '))
		.map((l) => JSON.parse(l.slice(4)) as {name: string; deviceID?: string});
	expect(adds.map((c) => [c.name, c.deviceID])).toEqual([
		['vf-b', '0000:3b:00.2'],
		['vf-a', '0000:3b:00.3'],
	]);
	expect(kubelet.calls).toEqual([{method: 'Get', request: {podName: pod.name, podNamespace: pod.namespace}}]);
	expect(await h.links(pod)).toEqual(['eth0', 'lo', 'net1', 'net2']);
	expect((await h.cni('DEL', pod, conf)).exitCode).toBe(0);
	expect(await h.links(pod)).toEqual(['lo']);
});

test('a kubelet that refuses the call fails ADD naming the socket, before any interface exists', async () => {
	vfNads();
	const pod = await h.createPod('vf-refused', {'k8s.v1.cni.cncf.io/networks': 'vf-a'});
	kubelet.failure = {method: 'both', code: RESOURCE_EXHAUSTED, details: 'rejected by rate limit'};
	const add = await h.cni('ADD', pod, h.conf({podResourcesSocket: socket}));
	expect(add.exitCode).not.toBe(0);
	expect(add.json).toMatchObject({
		code: 11,
		msg: `failed to read pod resources from kubelet socket "${socket}": Get (RESOURCE_EXHAUSTED): rejected by rate limit`,
	});
	expect(await h.links(pod)).toEqual(['lo']);
});

test('a NAD whose resource has no device left fails ADD instead of running without deviceID', async () => {
	vfNads();
	const pod = await h.createPod('vf-short', {'k8s.v1.cni.cncf.io/networks': 'vf-a, vf-b'});
	kubelet.pods = [
		{
			name: pod.name,
			namespace: pod.namespace,
			containers: [{name: 'app', devices: [{resourceName: RESOURCE, deviceIds: ['0000:3b:00.2']}]}],
		},
	];
	const add = await h.cni('ADD', pod, h.conf({podResourcesSocket: socket}));
	expect(add.json).toMatchObject({code: 7});
	expect(String(add.json?.['msg'])).toContain(
		'network "ns1/vf-b" (element 2 of annotation "k8s.v1.cni.cncf.io/networks") needs a "example.com/vf" device',
	);
	expect(await h.links(pod)).toEqual(['lo']);
});

test('through plexus-shim and the daemon: each NAD gets its own device from kubelet', async () => {
	requireShim();
	const calls = await h.recordCalls('macvlan');
	vfNads();
	const pod = await h.createPod('vf-daemon', {'k8s.v1.cni.cncf.io/networks': 'vf-a, vf-b'});
	kubelet.pods = [
		{
			name: pod.name,
			namespace: pod.namespace,
			containers: [
				{name: 'sidecar', devices: [{resourceName: RESOURCE, deviceIds: ['0000:3b:00.7']}]},
				{name: 'app', devices: [{resourceName: RESOURCE, deviceIds: ['0000:3b:00.2']}]},
			],
		},
	];
	const daemonSocket = join(h.dir, 'run', 'plexus.sock');
	daemons.push(await startDaemon(daemonSocket, ['--plugin', 'plexus', '--cni-path', CNI_BIN]));
	const conf = {...h.conf({podResourcesSocket: socket}), runtimeConfig: {ips: [`${h.subnet}.9/24`]}};
	const env = {
		CNI_CONTAINERID: pod.containerId,
		CNI_NETNS: pod.netns.path,
		CNI_IFNAME: 'eth0',
		CNI_ARGS: podCniArgs(pod),
		CNI_PATH: CNI_BIN,
		PLEXUS_SOCKET: daemonSocket,
	};
	const add = await runShim('ADD', conf, env);
	expect(String(add.stdout)).toContain('"interfaces"');
	expect(add.exitCode).toBe(0);
	const adds = (await readFile(calls, 'utf8'))
		.trim()
		.split('\n')
		.filter((l) => l.startsWith('ADD '))
		.map((l) => (JSON.parse(l.slice(4)) as {deviceID?: string}).deviceID);
	expect(adds).toEqual(['0000:3b:00.7', '0000:3b:00.2']);
	expect((await runShim('DEL', conf, env)).exitCode).toBe(0);
	expect(await h.links(pod)).toEqual(['lo']);
});
