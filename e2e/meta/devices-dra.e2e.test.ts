// DRA devices end to end: the in-repo API server serves the pod's claim statuses, its
// ResourceClaims and ResourceSlices (resource.k8s.io/v1, with decoys the field selectors and the
// pool generation must keep out), run through bin/plexus and through plexus-shim + the daemon,
// whose ResourceSlice informer serves a warm daemon's slices without a LIST. Real netns.
import {mkdir, readdir, readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {afterEach, beforeEach, expect, test} from 'vitest';
import {type RunningDaemon, requireShim, runShim, startDaemon} from '../helpers/daemon.ts';
import {randomName} from '../helpers/netns.ts';
import {CNI_BIN, MetaHarness, macvlanNad, podCniArgs, type TestPod} from '../kube/harness.ts';
import {PODS, RESOURCE_CLAIMS, RESOURCE_SLICES} from '../kube/kinds.ts';

const VF = 'example.com/vf';
const EXT = 'example.com/ext';
const DRIVER = 'vf.example';
const SLICES = '/apis/resource.k8s.io/v1/resourceslices';
const NETWORKS = 'k8s.v1.cni.cncf.io/networks';

let h: MetaHarness;
let node: string;
const daemons: RunningDaemon[] = [];

beforeEach(async () => {
	h = await MetaHarness.create();
	node = randomName('node');
});

afterEach(async () => {
	for (const started of daemons.splice(0)) {
		started.process.kill('SIGKILL');
		await started.process;
	}
	await h.close();
});

/** A device of a slice with the network attributes (`resourceName` omitted when undefined). */
function device(name: string, deviceId: string, resourceName: string | undefined = VF) {
	const attributes: Record<string, {string: string}> = {'k8s.cni.cncf.io/deviceID': {string: deviceId}};
	if (resourceName !== undefined) attributes['k8s.cni.cncf.io/resourceName'] = {string: resourceName};
	return {name, attributes};
}

function slice(
	name: string,
	spec: {nodeName: string; driver: string; generation: number; devices: unknown[]},
) {
	h.api.store.create(RESOURCE_SLICES, '', {
		metadata: {name},
		spec: {
			nodeName: spec.nodeName,
			driver: spec.driver,
			pool: {name: 'pool-0', generation: spec.generation, resourceSliceCount: 1},
			devices: spec.devices,
		},
	});
}

/**
 * This node's slices of DRIVER (pool generation 2) and decoys with the same pool and device names
 * but other IDs: the pool's older generation, another node's slice, another driver's slice.
 */
function slices(): void {
	const vfs = [
		device('vf0', '0000:3b:00.2'),
		device('vf1', '0000:3b:00.3'),
		device('vf2', '0000:3b:00.4', EXT),
	];
	slice('here-gen2', {nodeName: node, driver: DRIVER, generation: 2, devices: vfs});
	slice('here-gen1', {
		nodeName: node,
		driver: DRIVER,
		generation: 1,
		devices: [
			device('vf0', '0000:aa:00.0'),
			device('vf1', '0000:aa:00.1'),
			device('vf2', '0000:aa:00.2', EXT),
		],
	});
	slice('elsewhere', {
		nodeName: randomName('node'),
		driver: DRIVER,
		generation: 3,
		devices: [
			device('vf0', '0000:bb:00.0'),
			device('vf1', '0000:bb:00.1'),
			device('vf2', '0000:bb:00.2', EXT),
		],
	});
	slice('other-driver', {
		nodeName: node,
		driver: 'gpu.example',
		generation: 5,
		devices: [device('vf0', '0000:cc:00.0'), device('vf1', '0000:cc:00.1')],
	});
}

/** A claim; `results` undefined: not allocated. */
function claim(name: string, results: {request: string; device: string}[] | undefined): void {
	h.api.store.create(RESOURCE_CLAIMS, 'ns1', {
		metadata: {name},
		spec: {devices: {requests: [{name: 'vfs', exactly: {deviceClassName: 'vf.example'}}]}},
		status:
			results === undefined
				? {}
				: {
						allocation: {
							devices: {results: results.map((r) => ({...r, driver: DRIVER, pool: 'pool-0'}))},
						},
					},
	});
}

/** Binds `pod` to this node with DRA status: claim statuses and, optionally, an extended resource. */
function draStatus(pod: TestPod, claims: string[], extendedClaim?: string): void {
	const current = h.api.store.get(PODS, pod.namespace, pod.name);
	if (current === undefined) throw new Error(`pod ${pod.name} vanished`);
	const bound = h.api.store.replace(
		PODS,
		pod.namespace,
		pod.name,
		{...current, spec: {...(current['spec'] as object), nodeName: node}},
		undefined,
	);
	const status: Record<string, unknown> = {
		resourceClaimStatuses: claims.map((c, i) => ({name: `claim-${i}`, resourceClaimName: c})),
	};
	if (extendedClaim !== undefined)
		status['extendedResourceClaimStatus'] = {
			resourceClaimName: extendedClaim,
			requestMappings: [{containerName: 'c', resourceName: EXT, requestName: 'container-0-request-0'}],
		};
	h.api.store.replace(PODS, pod.namespace, pod.name, {...bound, status}, 'status');
}

function nads(): void {
	for (const [name, address, resource] of [
		['vf-a', '10.71.0.5/24', VF],
		['vf-b', '10.72.0.5/24', VF],
		['vf-ext', '10.73.0.5/24', EXT],
	] as const) {
		h.api.createNad('ns1', name, macvlanNad(name, h.master, address), {
			'k8s.v1.cni.cncf.io/resourceName': resource,
		});
	}
}

/** The deviceID each delegate ADD got, by network name, from the recording plugin's log. */
async function deviceIds(calls: string): Promise<[string, string | undefined][]> {
	return (await readFile(calls, 'utf8'))
		.trim()
		.split('\n')
		.filter((l) => l.startsWith('ADD '))
		.map((l) => JSON.parse(l.slice(4)) as {name: string; deviceID?: string})
		.map((c) => [c.name, c.deviceID]);
}

/** A pod on vf-b, vf-a, vf-ext with a claim for two VFs and an extended resource for a third. */
async function draPod(name: string): Promise<TestPod> {
	const pod = await h.createPod(name, {[NETWORKS]: 'vf-b, vf-a, vf-ext'});
	claim(`${name}-vfs`, [
		{request: 'vfs', device: 'vf0'},
		{request: 'vfs', device: 'vf1'},
	]);
	claim(`${name}-ext`, [{request: 'container-0-request-0', device: 'vf2'}]);
	draStatus(pod, [`${name}-vfs`], `${name}-ext`);
	return pod;
}

/** The conf: no kubelet socket, no checkpoint (DRA is the only source); a device-info dir. */
function draConf(): Record<string, unknown> {
	return h.conf({
		podResourcesSocket: join(h.dir, 'no-kubelet.sock'),
		deviceCheckpointFile: join(h.dir, 'no-checkpoint'),
		devicePluginInfoDir: join(h.dir, 'dp'),
		deviceInfoDir: join(h.dir, 'devinfo'),
	});
}

const sliceLists = () => h.api.requestsTo('GET', SLICES).filter((r) => r.query['watch'] !== 'true');

test('bin/plexus: claim and extended-resource devices from this node, newest pool generation, one each', async () => {
	const calls = await h.recordCalls('macvlan');
	nads();
	slices();
	const info = {type: 'pci', version: '1.1.0', pci: {'pci-address': '0000:3b:00.4'}};
	await mkdir(join(h.dir, 'dp'));
	await writeFile(join(h.dir, 'dp', 'example.com-ext-0000:3b:00.4-device.json'), JSON.stringify(info));
	const pod = await draPod('dra-user');
	const conf = draConf();
	const add = await h.cni('ADD', pod, conf);
	expect(add.stderr).not.toContain('"level":"error"');
	expect(add.exitCode).toBe(0);
	expect(await deviceIds(calls)).toEqual([
		['vf-b', '0000:3b:00.2'],
		['vf-a', '0000:3b:00.3'],
		['vf-ext', '0000:3b:00.4'],
	]);
	expect(
		h.api
			.requestsTo('GET', /^\/apis\/resource\.k8s\.io\//)
			.map((r) => `${r.path} ${r.query['fieldSelector'] ?? ''}`.trim()),
	).toEqual([
		'/apis/resource.k8s.io/v1/namespaces/ns1/resourceclaims/dra-user-vfs',
		`${SLICES} spec.nodeName=${node},spec.driver=${DRIVER}`,
		'/apis/resource.k8s.io/v1/namespaces/ns1/resourceclaims/dra-user-ext',
	]);
	const status = JSON.parse(
		h.api.getPod(pod.namespace, pod.name)?.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'] ??
			'[]',
	) as {name: string; 'device-info'?: unknown}[];
	expect(status.map((s) => [s.name, s['device-info']])).toEqual([
		['cluster-net', undefined],
		['ns1/vf-b', undefined],
		['ns1/vf-a', undefined],
		['ns1/vf-ext', info],
	]);
	expect((await h.cni('DEL', pod, conf)).exitCode).toBe(0);
	expect(await h.links(pod)).toEqual(['lo']);
});

test('a missing or unallocated claim fails ADD naming it, before any interface exists', async () => {
	nads();
	slices();
	const missing = await h.createPod('dra-missing', {[NETWORKS]: 'vf-a'});
	draStatus(missing, ['no-such-claim']);
	const unallocated = await h.createPod('dra-pending', {[NETWORKS]: 'vf-a'});
	claim('pending-claim', undefined);
	draStatus(unallocated, ['pending-claim']);
	const conf = draConf();
	for (const [pod, why] of [
		[missing, `failed to read resourceclaim "ns1/no-such-claim" of pod "ns1/dra-missing": not found`],
		[
			unallocated,
			`failed to read resourceclaim "ns1/pending-claim" of pod "ns1/dra-pending": it has no device allocation`,
		],
	] as const) {
		const add = await h.cni('ADD', pod, conf);
		expect(add.exitCode).not.toBe(0);
		expect(add.json).toMatchObject({code: 5, msg: why});
		expect(await h.links(pod)).toEqual(['lo']);
		expect((await readdir(h.cniDir).catch(() => [])).filter((f) => f.includes(pod.containerId))).toEqual([]);
	}
	expect(sliceLists()).toEqual([]);
});

test('through plexus-shim and the daemon: DRA devices, a warm daemon lists no slices, a missing claim fails', async () => {
	requireShim();
	const calls = await h.recordCalls('macvlan');
	nads();
	slices();
	const daemonSocket = join(h.dir, 'run', 'plexus.sock');
	daemons.push(
		await startDaemon(daemonSocket, ['--plugin', 'plexus', '--cni-path', CNI_BIN], {NODE_NAME: node}),
	);
	const conf = draConf();
	const shim = (command: string, pod: TestPod, address: number) =>
		runShim(
			command,
			{...conf, runtimeConfig: {ips: [`${h.subnet}.${address}/24`]}},
			{
				CNI_CONTAINERID: pod.containerId,
				CNI_NETNS: pod.netns.path,
				CNI_IFNAME: 'eth0',
				CNI_ARGS: podCniArgs(pod),
				CNI_PATH: CNI_BIN,
				PLEXUS_SOCKET: daemonSocket,
			},
		);

	const first = await draPod('dra-first');
	const add1 = await shim('ADD', first, 11);
	expect(String(add1.stdout)).toContain('"interfaces"');
	expect(add1.exitCode).toBe(0);
	// The first DRA need started the slice informer: one LIST of this node's slices, then a watch.
	expect(sliceLists().map((r) => r.query['fieldSelector'])).toEqual([`spec.nodeName=${node}`]);

	const second = await draPod('dra-second');
	const add2 = await shim('ADD', second, 12);
	expect(add2.exitCode).toBe(0);
	expect(sliceLists()).toHaveLength(1);
	expect(h.api.requestsTo('GET', /\/resourceclaims\//).map((r) => r.path.replace(/.*\//, ''))).toEqual([
		'dra-first-vfs',
		'dra-first-ext',
		'dra-second-vfs',
		'dra-second-ext',
	]);

	const ids = (await deviceIds(calls)).map(([, id]) => id);
	expect(ids).toEqual([
		'0000:3b:00.2',
		'0000:3b:00.3',
		'0000:3b:00.4',
		'0000:3b:00.2',
		'0000:3b:00.3',
		'0000:3b:00.4',
	]);
	const orphan = await h.createPod('dra-orphan', {[NETWORKS]: 'vf-a'});
	draStatus(orphan, ['gone-claim']);
	const add3 = await shim('ADD', orphan, 13);
	expect(JSON.parse(String(add3.stdout))).toMatchObject({
		code: 5,
		msg: 'failed to read resourceclaim "ns1/gone-claim" of pod "ns1/dra-orphan": not found',
	});
	expect(await h.links(orphan)).toEqual(['lo']);
	for (const [pod, address] of [
		[first, 11],
		[second, 12],
	] as const) {
		expect((await shim('DEL', pod, address)).exitCode).toBe(0);
		expect(await h.links(pod)).toEqual(['lo']);
	}
});
