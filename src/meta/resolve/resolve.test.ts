import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import type {PodRef} from '../../k8s/k8s-args.ts';
import {FakeKubeClient} from '../../k8s/testing/fake-client.ts';
import {parsePlexusConf} from '../conf/conf.ts';
import {type ResolveContext, resolveAttachments} from './resolve.ts';

let dir: string;
let kube: FakeKubeClient;
const podRef: PodRef = {namespace: 'ns1', name: 'web', infraContainerId: 'c1', uid: 'u1'};
const cluster = {
	cniVersion: '1.0.0',
	name: 'cbr0',
	plugins: [{type: 'bridge', capabilities: {portMappings: true}}],
};
const macvlan = (name: string, caps: Record<string, boolean> = {}) =>
	JSON.stringify({
		cniVersion: '1.0.0',
		name,
		plugins: [{type: 'macvlan', master: 'eth0', capabilities: caps}],
	});

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-resolve-'));
	kube = new FakeKubeClient();
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

function context(
	annotations: Record<string, string>,
	confExtra: Record<string, unknown> = {},
): ResolveContext {
	const conf = parsePlexusConf({
		cniVersion: '1.0.0',
		name: 'plexus',
		type: 'plexus',
		confDir: dir,
		...(confExtra['clusterNetwork'] === undefined ? {delegates: [cluster]} : {}),
		...confExtra,
	});
	return {conf, ifname: 'eth0', podRef, pod: {name: 'web', namespace: 'ns1', uid: 'u1', annotations}, kube};
}

async function failure(ctx: ResolveContext): Promise<{code: number; message: string}> {
	const error = await resolveAttachments(ctx).catch((e: unknown) => e);
	if (!(error instanceof Error)) throw new Error('expected resolution to fail');
	return error as unknown as {code: number; message: string};
}

describe('resolveAttachments', () => {
	test('cluster network first, then annotation networks in order with net<position> names', async () => {
		kube.addNad('ns1', 'a', macvlan('a'));
		kube.addNad('ns2', 'b', macvlan('b'));
		const attachments = await resolveAttachments(
			context({'k8s.v1.cni.cncf.io/networks': 'a, ns2/b@eth9, a'}),
		);
		expect(attachments.map((a) => [a.network, a.ifname, a.isClusterNetwork])).toEqual([
			['cbr0', 'eth0', true],
			['ns1/a', 'net1', false],
			['ns2/b', 'eth9', false],
			['ns1/a', 'net3', false],
		]);
	});

	test("asks for every element's NAD at once, one read each, and still fails on the first bad one in order", async () => {
		kube.addNad('ns1', 'a', macvlan('a'));
		kube.addNad('ns2', 'b', macvlan('b'));
		// Answers are held until all three reads were asked for: resolving one by one would hang.
		const asked: string[] = [];
		let release = () => {};
		const all = new Promise<void>((resolve) => {
			release = resolve;
		});
		const read = kube.getNad.bind(kube);
		kube.getNad = async (namespace, name) => {
			asked.push(`${namespace}/${name}`);
			if (asked.length === 3) release();
			await all;
			return read(namespace, name);
		};
		const attachments = await resolveAttachments(
			context({'k8s.v1.cni.cncf.io/networks': 'a, ns2/b@eth9, a'}),
		);
		expect(attachments.map((a) => a.network)).toEqual(['cbr0', 'ns1/a', 'ns2/b', 'ns1/a']);
		expect(asked).toEqual(['ns1/a', 'ns2/b', 'ns1/a']);
		asked.length = 0;
		const error = await failure(context({'k8s.v1.cni.cncf.io/networks': 'gone, ns2/b, also-gone'}));
		expect(error.message).toContain('failed to find network-attachment-definition "ns1/gone" (element 1');
		expect(asked).toEqual(['ns1/gone', 'ns2/b', 'ns1/also-gone']);
	});

	test('the runtime runtimeConfig goes to the cluster network only (spec §7.5)', async () => {
		kube.addNad('ns1', 'a', macvlan('a', {portMappings: true}));
		const ctx = context(
			{'k8s.v1.cni.cncf.io/networks': 'a'},
			{runtimeConfig: {portMappings: [{hostPort: 80, containerPort: 80, protocol: 'tcp'}]}},
		);
		const [first, second] = await resolveAttachments(ctx);
		expect(first?.capabilityArgs).toEqual({
			portMappings: [{hostPort: 80, containerPort: 80, protocol: 'tcp'}],
		});
		expect(second?.capabilityArgs).toEqual({});
	});

	test('element fields become runtimeConfig and cni-args when the chain declares the capabilities', async () => {
		kube.addNad('ns1', 'a', macvlan('a', {ips: true, mac: true}));
		const [, second] = await resolveAttachments(
			context({
				'k8s.v1.cni.cncf.io/networks': JSON.stringify([
					{
						name: 'a',
						ips: ['10.1.1.5/24'],
						mac: 'c2:b0:57:49:47:f1',
						'cni-args': {foo: 'bar'},
						'default-route': ['10.1.1.1'],
					},
				]),
			}),
		);
		expect(second?.capabilityArgs).toEqual({ips: ['10.1.1.5/24'], mac: 'c2:b0:57:49:47:f1'});
		expect(second?.list.plugins[0]?.raw['args']).toEqual({cni: {foo: 'bar'}});
		expect(second?.defaultRoute).toEqual(['10.1.1.1']);
	});

	test('the capability pre-check names the NAD and the capability', async () => {
		kube.addNad('ns1', 'a', macvlan('a', {ips: true}));
		const error = await failure(
			context({'k8s.v1.cni.cncf.io/networks': '[{"name":"a","ips":["10.0.0.1"],"mac":"02:00:00:00:00:01"}]'}),
		);
		expect(error.code).toBe(7);
		expect(error.message).toBe(
			'network-attachment-definition "ns1/a" cannot honour "mac" requested by pod "ns1/web" (element 1 of annotation "k8s.v1.cni.cncf.io/networks"): no plugin in its chain declares the "mac" capability',
		);
	});

	test('a missing NAD fails after telling onNetworkNotFound', async () => {
		const missing: string[] = [];
		const ctx = context({'k8s.v1.cni.cncf.io/networks': 'nope'});
		ctx.onNetworkNotFound = async (nad, message) => {
			missing.push(`${nad.namespace}/${nad.name}: ${message}`);
		};
		const error = await failure(ctx);
		expect(error.message).toBe(
			'failed to find network-attachment-definition "ns1/nope" (element 1 of annotation "k8s.v1.cni.cncf.io/networks") for pod "ns1/web"',
		);
		expect(missing).toEqual([`ns1/nope: ${error.message}`]);
	});

	test('a broken NAD config names the NAD, the key, the element and the pod', async () => {
		kube.addNad('ns1', 'a', JSON.stringify({cniVersion: '1.0.0', name: 'a', plugins: [{master: 'x'}]}));
		const error = await failure(context({'k8s.v1.cni.cncf.io/networks': 'a'}));
		expect(error.code).toBe(7);
		expect(error.message).toMatch(
			/^invalid config of network-attachment-definition "ns1\/a": failed to parse plugin config 0: "type": .* \(element 1 of annotation "k8s.v1.cni.cncf.io\/networks" of pod "ns1\/web"\)$/,
		);
	});

	describe('device plugin resources', () => {
		async function withCheckpoint(ids: string[]): Promise<Record<string, unknown>> {
			const file = join(dir, 'kubelet_internal_checkpoint');
			await writeFile(
				file,
				JSON.stringify({
					Data: {
						PodDeviceEntries: [
							{PodUID: 'u1', ContainerName: 'c', ResourceName: 'intel.com/sriov', DeviceIDs: {'0': ids}},
						],
					},
				}),
			);
			return {
				deviceCheckpointFile: file,
				// No kubelet socket: the checkpoint is read.
				podResourcesSocket: join(dir, 'no-kubelet.sock'),
				devicePluginInfoDir: join(dir, 'dp'),
				deviceInfoDir: join(dir, 'cni'),
			};
		}

		test('each attachment of a NAD with a resourceName takes the next device: deviceID and pciBusID injected', async () => {
			kube.addNad('ns1', 'vf', macvlan('vf', {deviceID: true}), {
				'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov',
			});
			const extra = await withCheckpoint(['0000:18:02.6', '0000:18:02.5']);
			const [, first, second] = await resolveAttachments(
				context({'k8s.v1.cni.cncf.io/networks': '[{"name":"vf","deviceID":"ignored"},{"name":"vf"}]'}, extra),
			);
			expect(first?.list.plugins[0]?.raw).toMatchObject({deviceID: '0000:18:02.5', pciBusID: '0000:18:02.5'});
			expect(first?.capabilityArgs).toEqual({
				deviceID: '0000:18:02.5',
				CNIDeviceInfoFile: join(dir, 'cni', 'ns1-vf-_net1.json'),
			});
			expect(first?.devicePluginInfo).toBe(join(dir, 'dp', 'intel.com-sriov-0000:18:02.5-device.json'));
			expect(second?.list.plugins[0]?.raw).toMatchObject({deviceID: '0000:18:02.6'});
		});

		test('no device left is an error naming the NAD, the resource and the pod', async () => {
			kube.addNad('ns1', 'vf', macvlan('vf'), {'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov'});
			const error = await failure(
				context({'k8s.v1.cni.cncf.io/networks': 'vf, vf'}, await withCheckpoint(['0000:18:02.5'])),
			);
			expect(error.message).toBe(
				'network "ns1/vf" (element 2 of annotation "k8s.v1.cni.cncf.io/networks") needs a "intel.com/sriov" device, but pod "ns1/web" has none left: its 1 allocated one is taken by "ns1/vf" (element 1 of annotation "k8s.v1.cni.cncf.io/networks")',
			);
		});

		// Multus gives the default-network annotation's NAD a fresh device cursor, so it and a later
		// element of the same resource get the same VF (reference device-allocation §1.6).
		test('the default-network annotation and an element of one resource get different devices', async () => {
			kube.addNad('ns1', 'vf', macvlan('vf'), {'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov'});
			const attachments = await resolveAttachments(
				context(
					{'v1.multus-cni.io/default-network': 'ns1/vf', 'k8s.v1.cni.cncf.io/networks': 'vf'},
					await withCheckpoint(['0000:18:02.6', '0000:18:02.5']),
				),
			);
			expect(
				attachments.map((a) => [a.ifname, a.list.plugins[0]?.raw['deviceID'], a.device?.source]),
			).toEqual([
				['eth0', '0000:18:02.5', 'checkpoint'],
				['net1', '0000:18:02.6', 'checkpoint'],
			]);
		});

		// Multus re-declares its device map inside the defaultNetworks loop, so a NAD first met there
		// and a later element can share a VF.
		test('a defaultNetworks NAD and an element of one resource get different devices', async () => {
			kube.addNad('kube-system', 'vf', macvlan('vf'), {'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov'});
			kube.addNad('ns1', 'vf', macvlan('vf'), {'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov'});
			const attachments = await resolveAttachments(
				context(
					{'k8s.v1.cni.cncf.io/networks': 'vf'},
					{...(await withCheckpoint(['0000:18:02.6', '0000:18:02.5'])), defaultNetworks: ['vf']},
				),
			);
			expect(attachments.map((a) => [a.network, a.list.plugins[0]?.raw['deviceID']])).toEqual([
				['cbr0', undefined],
				['kube-system/vf', '0000:18:02.5'],
				['ns1/vf', '0000:18:02.6'],
			]);
		});

		test('without the devices, DEL without a cache still resolves the attachments', async () => {
			kube.addNad('ns1', 'vf', macvlan('vf'), {'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov'});
			const skipped: string[] = [];
			const attachments = await resolveAttachments({
				...context({'k8s.v1.cni.cncf.io/networks': 'vf'}, await withCheckpoint([])),
				onUnresolvable: (origin, error) => skipped.push(`${origin}: ${error.message}`),
			});
			expect(attachments.map((a) => a.network)).toEqual(['cbr0', 'ns1/vf']);
			expect(skipped).toEqual([
				'element 1 of annotation "k8s.v1.cni.cncf.io/networks": network "ns1/vf" (element 1 of annotation "k8s.v1.cni.cncf.io/networks") needs a "intel.com/sriov" device, but pod "ns1/web" has none left: none is allocated to it',
			]);
		});
	});

	test('a requested name wins over a generated one, which moves on to the next free net<n>', async () => {
		kube.addNad('ns1', 'a', macvlan('a'));
		kube.addNad('ns1', 'b', macvlan('b'));
		kube.addNad('ns1', 'c', macvlan('c'));
		const attachments = await resolveAttachments(context({'k8s.v1.cni.cncf.io/networks': 'a, b@net1, c'}));
		expect(attachments.map((a) => `${a.network} ${a.ifname}`)).toEqual([
			'cbr0 eth0',
			'ns1/a net2',
			'ns1/b net1',
			'ns1/c net3',
		]);
	});

	test('duplicate interface names fail before anything runs', async () => {
		kube.addNad('ns1', 'a', macvlan('a'));
		kube.addNad('ns1', 'b', macvlan('b'));
		const error = await failure(context({'k8s.v1.cni.cncf.io/networks': 'a@net5, b@net5'}));
		expect(error.message).toBe(
			'interface "net5" of pod "ns1/web" is used twice: by element 1 of annotation "k8s.v1.cni.cncf.io/networks" ("ns1/a") and by element 2 of annotation "k8s.v1.cni.cncf.io/networks" ("ns1/b")',
		);
		const eth0 = await failure(context({'k8s.v1.cni.cncf.io/networks': 'a@eth0'}));
		expect(eth0.message).toContain(
			'interface "eth0" of pod "ns1/web" is used twice: by delegates[0] ("cbr0")',
		);
	});

	describe('namespace isolation', () => {
		test('refuses NADs of other namespaces except global ones', async () => {
			kube.addNad('other', 'x', macvlan('x'));
			kube.addNad('default', 'g', macvlan('g'));
			kube.addNad('ns1', 'own', macvlan('own'));
			const ok = await resolveAttachments(
				context({'k8s.v1.cni.cncf.io/networks': 'own, default/g'}, {namespaceIsolation: true}),
			);
			expect(ok.map((a) => a.network)).toEqual(['cbr0', 'ns1/own', 'default/g']);
			const error = await failure(
				context({'k8s.v1.cni.cncf.io/networks': 'own, other/x'}, {namespaceIsolation: true}),
			);
			expect(error.message).toBe(
				'namespace isolation forbids pod "ns1/web" to use network-attachment-definition "other/x" (element 2 of annotation "k8s.v1.cni.cncf.io/networks"): allowed namespaces are "ns1", "default"',
			);
			expect(kube.calls.filter((c) => c.method === 'getNad' && c.args[0] === 'other')).toHaveLength(0);
		});

		test('globalNamespaces replaces the implied default', async () => {
			kube.addNad('default', 'g', macvlan('g'));
			const error = await failure(
				context(
					{'k8s.v1.cni.cncf.io/networks': 'default/g'},
					{namespaceIsolation: true, globalNamespaces: 'shared'},
				),
			);
			expect(error.message).toContain('allowed namespaces are "ns1", "shared"');
		});

		test('applies to the default-network annotation too', async () => {
			kube.addNad('kube-system', 'alt', macvlan('alt'));
			kube.addNad('other', 'alt', macvlan('alt'));
			const ok = await resolveAttachments(
				context({'v1.multus-cni.io/default-network': 'alt'}, {namespaceIsolation: true}),
			);
			expect(ok.map((a) => [a.network, a.ifname, a.isClusterNetwork])).toEqual([
				['kube-system/alt', 'eth0', true],
			]);
			const error = await failure(
				context({'v1.multus-cni.io/default-network': 'other/alt'}, {namespaceIsolation: true}),
			);
			expect(error.message).toContain(
				'namespace isolation forbids pod "ns1/web" to use network-attachment-definition "other/alt" (annotation "v1.multus-cni.io/default-network")',
			);
		});
	});

	test('the default-network annotation selects exactly one network', async () => {
		const error = await failure(context({'v1.multus-cni.io/default-network': 'a,b'}));
		expect(error.message).toBe(
			'invalid annotation "v1.multus-cni.io/default-network" on pod "ns1/web": it must select exactly one network, got 2',
		);
	});

	describe('cluster network and defaultNetworks by name', () => {
		test('a NAD in multusNamespace, a conf name in confDir, a directory and a file', async () => {
			kube.addNad('kube-system', 'nad-net', macvlan('nad-net'));
			await writeFile(join(dir, '10-named.conflist'), macvlan('named'));
			await mkdir(join(dir, 'sub'));
			await writeFile(
				join(dir, 'sub', '20-b.conf'),
				JSON.stringify({cniVersion: '1.0.0', name: 'second', type: 'ptp'}),
			);
			await writeFile(join(dir, 'sub', '10-a.conflist'), macvlan('first-in-dir'));
			const file = join(dir, 'file.conf');
			await writeFile(file, JSON.stringify({cniVersion: '1.0.0', name: 'from-file', type: 'bridge'}));
			const attachments = await resolveAttachments(
				context({}, {clusterNetwork: 'nad-net', defaultNetworks: ['named', join(dir, 'sub'), file]}),
			);
			expect(attachments.map((a) => [a.network, a.ifname])).toEqual([
				['kube-system/nad-net', 'eth0'],
				['named', 'net1'],
				['first-in-dir', 'net2'],
				['from-file', 'net3'],
			]);
		});

		test('defaultNetworks are skipped for pods in systemNamespaces', async () => {
			await writeFile(join(dir, '10-named.conflist'), macvlan('named'));
			const ctx = context({}, {defaultNetworks: ['named'], systemNamespaces: ['ns1']});
			expect((await resolveAttachments(ctx)).map((a) => a.network)).toEqual(['cbr0']);
		});

		test('an unknown clusterNetwork names everything tried', async () => {
			const error = await failure(context({}, {clusterNetwork: 'ghost'}));
			expect(error.message).toContain(
				'failed to find network "ghost" (clusterNetwork): no network-attachment-definition "kube-system/ghost" and no usable conf named "ghost" in confDir',
			);
		});
	});

	describe('auxiliaryCNIChainName', () => {
		test('the .conf files of <dir of clusterNetwork>/<name>/ run after passthru as the last attachment', async () => {
			kube.addNad('ns1', 'a', macvlan('a'));
			const cluster = join(dir, '10-cluster.conflist');
			await writeFile(cluster, macvlan('cluster'));
			await mkdir(join(dir, 'vendor-chain'));
			await writeFile(join(dir, 'vendor-chain', '20-b.conf'), JSON.stringify({type: 'second'}));
			await writeFile(join(dir, 'vendor-chain', '10-a.conf'), JSON.stringify({type: 'first', key: 1}));
			await writeFile(join(dir, 'vendor-chain', 'ignored.json'), JSON.stringify({type: 'nope'}));
			const attachments = await resolveAttachments(
				context(
					{'k8s.v1.cni.cncf.io/networks': 'a'},
					{clusterNetwork: cluster, auxiliaryCNIChainName: 'vendor-chain'},
				),
			);
			expect(attachments.map((a) => [a.network, a.ifname, a.auxiliary ?? false])).toEqual([
				['cluster', 'eth0', false],
				['ns1/a', 'net1', false],
				['vendor-chain', 'net2', true],
			]);
			expect(attachments[2]?.list.plugins.map((p) => p.raw)).toEqual([
				{type: 'passthru'},
				{type: 'first', key: 1},
				{type: 'second'},
			]);
			expect(attachments[2]?.list.cniVersion).toBe('1.0.0');
		});

		test('an empty or missing chain directory adds nothing', async () => {
			const cluster = join(dir, '10-cluster.conflist');
			await writeFile(cluster, macvlan('cluster'));
			const attachments = await resolveAttachments(
				context({}, {clusterNetwork: cluster, auxiliaryCNIChainName: 'absent'}),
			);
			expect(attachments.map((a) => a.network)).toEqual(['cluster']);
		});
	});

	test('without a pod (no API) only the conf networks are attached', async () => {
		const ctx = context({'k8s.v1.cni.cncf.io/networks': 'a'});
		ctx.pod = undefined;
		ctx.kube = undefined;
		expect((await resolveAttachments(ctx)).map((a) => a.network)).toEqual(['cbr0']);
	});
});
