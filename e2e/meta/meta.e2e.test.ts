// The plexus meta-plugin end to end: bin/plexus run as kubelet's runtime runs it, Debian's
// plugins in /usr/lib/cni, the in-repo API server behind a kubeconfig, real network namespaces.
// The seeds: 001 (two macvlan+route-override NADs), 002 (a pod on three networks), 003 (a
// single-conf NAD as interface macvlan0).
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {ipJson} from '../helpers/netns.ts';
import {MetaHarness, macvlanNad} from '../kube/harness.ts';

let h: MetaHarness;

beforeEach(async () => {
	h = await MetaHarness.create();
});

afterEach(async () => {
	await h.close();
});

interface IpRoute {
	dst: string;
	gateway?: string;
	dev: string;
	protocol?: string;
	prefsrc?: string;
}

interface IpLink {
	ifname: string;
	address: string;
	promiscuity?: number;
	linkinfo?: {info_kind?: string; info_data?: {mode?: string}};
}

type Status = {
	name: string;
	interface: string;
	ips?: string[];
	mac?: string;
	default: boolean;
	dns?: unknown;
};

function networkStatus(pod: {namespace: string; name: string}): Status[] {
	const text = h.api.getPod(pod.namespace, pod.name)?.metadata.annotations?.[
		'k8s.v1.cni.cncf.io/network-status'
	];
	expect(text).toBeDefined();
	return JSON.parse(text ?? '[]') as Status[];
}

describe('seed 001: route-override chaining', () => {
	test('management-net and sip-net: the pod gets both interfaces, the added routes and the connected ones', async () => {
		const chained = (dst: string, gw: string) => [{type: 'route-override', addroutes: [{dst, gw}]}];
		h.api.createNad(
			'chain-example',
			'management-net',
			JSON.stringify({
				cniVersion: '1.0.0',
				name: 'management-net',
				plugins: [
					{
						type: 'macvlan',
						master: h.master,
						vlan: 100,
						mode: 'bridge',
						ipam: {type: 'static', addresses: [{address: '192.168.100.10/24', gateway: '192.168.100.1'}]},
					},
					...chained('10.0.0.0/8', '192.168.100.1'),
				],
			}),
		);
		h.api.createNad(
			'chain-example',
			'sip-net',
			JSON.stringify({
				cniVersion: '1.0.0',
				name: 'sip-net',
				plugins: [
					{
						type: 'macvlan',
						master: h.master,
						vlan: 200,
						mode: 'bridge',
						ipam: {type: 'static', addresses: [{address: '192.168.200.10/24', gateway: '192.168.200.1'}]},
					},
					...chained('172.16.0.0/12', '192.168.200.1'),
				],
			}),
		);
		const pod = await h.createPod(
			'chain-test-pod',
			{
				'k8s.v1.cni.cncf.io/networks':
					'[{ "name": "management-net", "interface": "eth1" }, { "name": "sip-net", "interface": "eth2" }]',
			},
			'chain-example',
		);
		const add = await h.cni('ADD', pod);
		expect(add.stderr).not.toContain('"level":"error"');
		expect(add.exitCode).toBe(0);
		expect(await h.links(pod)).toEqual(['eth0', 'eth1', 'eth2', 'lo']);

		const routes = await ipJson<IpRoute[]>(pod.netns, 'route', 'show');
		const view = routes.map(
			(r) => `${r.dst}${r.gateway === undefined ? '' : ` via ${r.gateway}`} dev ${r.dev}`,
		);
		expect(view).toEqual(
			expect.arrayContaining([
				`default via ${h.subnet}.1 dev eth0`,
				'10.0.0.0/8 via 192.168.100.1 dev eth1',
				'172.16.0.0/12 via 192.168.200.1 dev eth2',
				`${h.subnet}.0/24 dev eth0`,
				'192.168.100.0/24 dev eth1',
				'192.168.200.0/24 dev eth2',
			]),
		);
		expect(routes.filter((r) => r.dst === '192.168.100.0/24')[0]).toMatchObject({
			protocol: 'kernel',
			prefsrc: '192.168.100.10',
		});

		const del = await h.cni('DEL', pod);
		expect(del.exitCode).toBe(0);
		expect(await h.links(pod)).toEqual(['lo']);
		expect(await h.cachedFiles()).toEqual([]);
	});
});

describe('seed 002: a pod on three networks', () => {
	test('network-status lists the cluster network and both secondaries with the kernel MACs', async () => {
		h.api.createNad('ns1', 'vn-left-1', macvlanNad('vn-left-1', h.master, '10.10.10.5/24'));
		h.api.createNad('ns1', 'vn-right-1', macvlanNad('vn-right-1', h.master, '10.20.20.5/24'));
		const pod = await h.createPod('multi', {'k8s.v1.cni.cncf.io/networks': 'vn-left-1, vn-right-1'});
		const before = h.api.requests.length;
		const add = await h.cni('ADD', pod);
		expect(add.exitCode).toBe(0);
		// The one-shot process's reads, events and status write share one kept-alive connection.
		const requests = h.api.requests.slice(before);
		expect(requests.length).toBeGreaterThanOrEqual(7);
		expect(new Set(requests.map((r) => r.clientPort)).size).toBe(1);
		// The returned result is the cluster network's, in the conf's version.
		expect(add.json).toMatchObject({cniVersion: '1.0.0', ips: [{address: `${h.subnet}.2/24`}]});

		const links = await ipJson<IpLink[]>(pod.netns, 'link', 'show');
		const mac = (name: string) => links.find((l) => l.ifname === name)?.address;
		expect(networkStatus(pod)).toEqual([
			{
				name: 'cluster-net',
				interface: 'eth0',
				ips: [`${h.subnet}.2`],
				mac: mac('eth0'),
				default: true,
				dns: {},
			},
			{
				name: 'ns1/vn-left-1',
				interface: 'net1',
				ips: ['10.10.10.5'],
				mac: mac('net1'),
				default: false,
				dns: {},
			},
			{
				name: 'ns1/vn-right-1',
				interface: 'net2',
				ips: ['10.20.20.5'],
				mac: mac('net2'),
				default: false,
				dns: {},
			},
		]);
		expect(h.api.events('ns1').map((e) => `${e['type']} ${e['reason']} ${e['message']}`)).toEqual([
			`Normal AddedInterface Add eth0 [${h.subnet}.2/24] from cluster-net`,
			'Normal AddedInterface Add net1 [10.10.10.5/24] from ns1/vn-left-1',
			'Normal AddedInterface Add net2 [10.20.20.5/24] from ns1/vn-right-1',
		]);

		expect((await h.cni('CHECK', pod)).exitCode).toBe(0);
		expect((await h.cni('DEL', pod)).exitCode).toBe(0);
		expect(await h.links(pod)).toEqual(['lo']);
		expect(await h.clusterBridgePorts()).toEqual([]);
		expect(await h.cachedFiles()).toEqual([]);
	});
});

describe('seed 003: a single-conf NAD as interface macvlan0', () => {
	test('the pod gets macvlan0 in bridge mode, not promiscuous', async () => {
		h.api.createNad(
			'vpp-server',
			'macvlan0',
			`{\n"cniVersion": "0.3.1",\n"name": "macvlan0",\n"type": "macvlan",\n"master": "${h.master}",\n"linkInContainer": false,\n"mode": "bridge"\n}`,
		);
		const pod = await h.createPod(
			'vpp-server',
			{'k8s.v1.cni.cncf.io/networks': '[{"name":"macvlan0","interface":"macvlan0"}]'},
			'vpp-server',
		);
		const add = await h.cni('ADD', pod);
		expect(add.exitCode).toBe(0);
		const [link] = await ipJson<IpLink[]>(pod.netns, '-d', 'link', 'show', 'dev', 'macvlan0');
		expect(link?.linkinfo).toMatchObject({info_kind: 'macvlan', info_data: {mode: 'bridge'}});
		expect(link?.promiscuity).toBe(0);
		expect(networkStatus(pod)[1]).toEqual({
			name: 'vpp-server/macvlan0',
			interface: 'macvlan0',
			mac: link?.address,
			default: false,
			dns: {},
		});
		expect((await h.cni('DEL', pod)).exitCode).toBe(0);
		expect(await h.links(pod)).toEqual(['lo']);
	});
});

describe('default-route (spec v1.3 §4.1.2.1.9)', () => {
	test('moves the pod default route off the cluster network onto the element interface; CHECK still passes', async () => {
		h.api.createNad(
			'ns1',
			'uplink',
			JSON.stringify({
				cniVersion: '1.0.0',
				name: 'uplink',
				plugins: [
					{
						type: 'macvlan',
						master: h.master,
						mode: 'bridge',
						ipam: {type: 'static', addresses: [{address: '192.168.77.10/24', gateway: '192.168.77.1'}]},
					},
				],
			}),
		);
		const pod = await h.createPod('router', {
			'k8s.v1.cni.cncf.io/networks': '[{"name":"uplink","default-route":["192.168.77.1"]}]',
		});
		const add = await h.cni('ADD', pod);
		expect(add.exitCode).toBe(0);
		const defaults = (await ipJson<IpRoute[]>(pod.netns, 'route', 'show', 'default')).map(
			(r) => `${r.gateway} dev ${r.dev}`,
		);
		expect(defaults).toEqual(['192.168.77.1 dev net1']);
		// The runtime's result (the cluster network's) no longer claims the default route.
		expect(add.json?.['routes'] ?? []).toEqual([]);
		expect(networkStatus(pod)[1]).toMatchObject({
			name: 'ns1/uplink',
			interface: 'net1',
			'default-route': ['192.168.77.1'],
		});
		const check = await h.cni('CHECK', pod);
		expect(check.stdout).toBe('');
		expect(check.exitCode).toBe(0);
		expect((await h.cni('DEL', pod)).exitCode).toBe(0);
		expect(await h.links(pod)).toEqual(['lo']);
	});
});

describe('STATUS and GC', () => {
	test('STATUS is code 50 until the readiness indicator file exists', async () => {
		const ready = join(h.dir, 'ready');
		const pod = await h.createPod('any', {});
		const conf = h.conf({cniVersion: '1.1.0', readinessindicatorfile: ready});
		const notReady = await h.cni('STATUS', pod, conf);
		expect(notReady.exitCode).toBe(1);
		expect(notReady.json).toMatchObject({code: 50});
		await writeFile(ready, '');
		expect((await h.cni('STATUS', pod, conf)).exitCode).toBe(0);
	});

	test('GC removes every attachment of containers the runtime no longer lists, and only those', async () => {
		h.api.createNad('ns1', 'nad-a', macvlanNad('nad-a', h.master, '10.60.0.5/24'));
		const stale = await h.createPod('stale', {'k8s.v1.cni.cncf.io/networks': 'nad-a'});
		const live = await h.createPod('live', {'k8s.v1.cni.cncf.io/networks': 'nad-a'});
		expect((await h.cni('ADD', stale)).exitCode).toBe(0);
		expect((await h.cni('ADD', live)).exitCode).toBe(0);
		const gc = await h.cni(
			'GC',
			live,
			h.conf({
				cniVersion: '1.1.0',
				'cni.dev/valid-attachments': [{containerID: live.containerId, ifname: 'eth0'}],
			}),
		);
		expect(gc.exitCode).toBe(0);
		expect(await h.links(stale)).toEqual(['lo']);
		expect(await h.links(live)).toEqual(['eth0', 'lo', 'net1']);
		expect((await h.cachedFiles()).filter((f) => f.includes(stale.containerId))).toEqual([]);
		expect((await h.cni('CHECK', live)).exitCode).toBe(0);
		expect((await h.cni('DEL', live)).exitCode).toBe(0);
		expect(await h.cachedFiles()).toEqual([]);
	});
});

describe('device plugin resources (k8s.v1.cni.cncf.io/resourceName)', () => {
	test('the delegate gets the pod device as deviceID/pciBusID and network-status its device-info', async () => {
		const calls = await h.recordCalls('macvlan');
		const checkpoint = join(h.dir, 'kubelet_internal_checkpoint');
		const dp = join(h.dir, 'dp');
		const pod = await h.createPod('vf-user', {'k8s.v1.cni.cncf.io/networks': 'vf-net'});
		await writeFile(
			checkpoint,
			JSON.stringify({
				Data: {
					PodDeviceEntries: [
						{
							PodUID: pod.uid,
							ContainerName: 'c',
							ResourceName: 'example.com/vf',
							DeviceIDs: {'0': ['0000:3b:00.2']},
						},
					],
				},
			}),
		);
		const info = {type: 'pci', version: '1.1.0', pci: {'pci-address': '0000:3b:00.2'}};
		await mkdir(dp);
		await writeFile(join(dp, 'example.com-vf-0000:3b:00.2-device.json'), JSON.stringify(info));
		h.api.createNad('ns1', 'vf-net', macvlanNad('vf-net', h.master, '10.70.0.5/24'), {
			'k8s.v1.cni.cncf.io/resourceName': 'example.com/vf',
		});
		const conf = h.conf({
			deviceCheckpointFile: checkpoint,
			devicePluginInfoDir: dp,
			deviceInfoDir: join(h.dir, 'devinfo'),
		});
		expect((await h.cni('ADD', pod, conf)).exitCode).toBe(0);
		const [add] = (await readFile(calls, 'utf8')).trim().split('\n');
		expect(JSON.parse(add?.slice(4) ?? '{}')).toMatchObject({
			type: 'macvlan',
			deviceID: '0000:3b:00.2',
			pciBusID: '0000:3b:00.2',
		});
		expect(networkStatus(pod)[1]).toMatchObject({name: 'ns1/vf-net', interface: 'net1', 'device-info': info});
		expect((await h.cni('DEL', pod, conf)).exitCode).toBe(0);
		expect(await h.links(pod)).toEqual(['lo']);
	});
});

describe('v1.multus-cni.io/default-network', () => {
	test('replaces the cluster network for one pod; network-status names the NAD as default', async () => {
		h.api.createNad('kube-system', 'alt-net', macvlanNad('alt-net', h.master, '10.80.0.5/24'));
		const pod = await h.createPod('alt', {'v1.multus-cni.io/default-network': 'alt-net'});
		const add = await h.cni('ADD', pod);
		expect(add.exitCode).toBe(0);
		expect(add.json).toMatchObject({ips: [{address: '10.80.0.5/24'}]});
		expect(await h.links(pod)).toEqual(['eth0', 'lo']);
		expect(await h.clusterBridgePorts()).toEqual([]);
		expect(networkStatus(pod)).toEqual([
			expect.objectContaining({
				name: 'kube-system/alt-net',
				interface: 'eth0',
				ips: ['10.80.0.5'],
				default: true,
			}),
		]);
		expect((await h.cni('DEL', pod)).exitCode).toBe(0);
		expect(await h.links(pod)).toEqual(['lo']);
	});
});

describe('auxiliaryCNIChainName (Multus)', () => {
	test('runs <dir of clusterNetwork>/<name>/*.conf for every pod, after passthru, without a network-status entry', async () => {
		const netDir = join(h.dir, 'cluster-net.d');
		await mkdir(join(netDir, 'vendor-cni-chain'), {recursive: true});
		const cluster = join(netDir, '10-cluster.conflist');
		await writeFile(cluster, JSON.stringify(h.clusterNetwork()));
		// A vendor plugin as OpenShift drops one in: logs what it is asked, passes the result on.
		const log = join(h.dir, 'vendor.log');
		await writeFile(
			join(h.binDir, 'vendor-hook'),
			`#!/bin/sh\nprintf '%s %s\\n' "$CNI_COMMAND" "$CNI_IFNAME" >> '${log}'\ncat > /dev/null\n[ "$CNI_COMMAND" = ADD ] && printf '{"cniVersion":"1.0.0"}'\nexit 0\n`,
			{mode: 0o755},
		);
		await writeFile(join(netDir, 'vendor-cni-chain', '10-hook.conf'), JSON.stringify({type: 'vendor-hook'}));
		h.api.createNad('ns1', 'nad-a', macvlanNad('nad-a', h.master, '10.90.0.5/24'));
		const pod = await h.createPod('aux', {'k8s.v1.cni.cncf.io/networks': 'nad-a'});
		const conf = h.conf({
			delegates: undefined,
			clusterNetwork: cluster,
			auxiliaryCNIChainName: 'vendor-cni-chain',
		});
		const add = await h.cni('ADD', pod, conf);
		expect(add.stdout).toContain('"cniVersion"');
		expect(add.exitCode).toBe(0);
		expect(networkStatus(pod).map((s) => s.name)).toEqual(['cluster-net', 'ns1/nad-a']);
		expect((await h.cni('DEL', pod, conf)).exitCode).toBe(0);
		expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual(['ADD net2', 'DEL net2']);
		expect(await h.links(pod)).toEqual(['lo']);
	});
});

test('the same NAD twice gives two attachments and two status entries (spec v1.3 §4.2)', async () => {
	h.api.createNad('ns1', 'l2', macvlanNad('l2', h.master, undefined));
	const pod = await h.createPod('twice', {'k8s.v1.cni.cncf.io/networks': 'l2, l2'});
	expect((await h.cni('ADD', pod)).exitCode).toBe(0);
	expect(await h.links(pod)).toEqual(['eth0', 'lo', 'net1', 'net2']);
	expect(networkStatus(pod).map((s) => [s.name, s.interface])).toEqual([
		['cluster-net', 'eth0'],
		['ns1/l2', 'net1'],
		['ns1/l2', 'net2'],
	]);
	expect((await h.cni('DEL', pod)).exitCode).toBe(0);
	expect(await h.links(pod)).toEqual(['lo']);
	expect(await h.cachedFiles()).toEqual([]);
});
