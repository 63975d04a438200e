/**
 * The vrf and vlan seeds (000, 004) through plexus-shim and `plexus daemon` serving the real
 * meta-plugin, on the qemu test bed's kernel (vrf and 8021q): the NADs of conf/examples/ with
 * random bridge names, the in-repo API server, Debian's bridge/static from /usr/lib/cni, the
 * built-in vrf and vlan in the daemon. After DEL nothing is left in the pod, on the bridges or
 * in the caches (`ip` as the oracle).
 * Run: scripts/vm/run -- node_modules/.bin/vitest run --project vm e2e/daemon/seeds.vm.test.ts
 */
import {join} from 'node:path';
import {execa} from 'execa';
import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest';
import {type RunningDaemon, requireShim, runShim, startDaemon} from '../helpers/daemon.ts';
import {ipJson, randomName, removeLink} from '../helpers/netns.ts';
import {CNI_BIN, MetaHarness, podCniArgs, type TestPod} from '../kube/harness.ts';

let h: MetaHarness;
let socketPath: string;
const daemons: RunningDaemon[] = [];
const bridges: string[] = [];

interface IpLink {
	ifname: string;
	master?: string;
	linkinfo?: {info_kind?: string; info_data?: Record<string, unknown>};
}

/** Runs the shim for `pod` as the runtime would, with the cluster network's address `.<address>`. */
async function shim(command: string, pod: TestPod, address: number) {
	const conf = {...h.conf(), runtimeConfig: {ips: [`${h.subnet}.${address}/24`]}};
	const run = await runShim(command, conf, {
		CNI_CONTAINERID: pod.containerId,
		CNI_NETNS: pod.netns.path,
		CNI_IFNAME: 'eth0',
		CNI_ARGS: podCniArgs(pod),
		CNI_PATH: CNI_BIN,
		PLEXUS_SOCKET: socketPath,
	});
	return {exitCode: run.exitCode, stdout: String(run.stdout), stderr: String(run.stderr)};
}

/** A host bridge for a NAD's `bridge` plugin (made up front, so its ports can be listed). */
async function bridge(): Promise<string> {
	const name = randomName('pxsb');
	bridges.push(name);
	await execa('ip', ['link', 'add', name, 'type', 'bridge']);
	await execa('ip', ['link', 'set', name, 'up']);
	return name;
}

async function bridgePorts(name: string): Promise<string[]> {
	const links = await ipJson<IpLink[]>(undefined, 'link', 'show');
	return links.filter((l) => l.master === name).map((l) => l.ifname);
}

/** bridge + static with `address`, then `rest`, as the examples' NADs (cniVersion 0.3.1). */
function bridgeNad(name: string, br: string, address: string, rest: Record<string, unknown>[]): string {
	return JSON.stringify({
		cniVersion: '0.3.1',
		name,
		plugins: [{type: 'bridge', bridge: br, ipam: {type: 'static', addresses: [{address}]}}, ...rest],
	});
}

async function expectNothingLeft(pod: TestPod, hostBridges: string[]): Promise<void> {
	expect((await h.links(pod)).sort()).toEqual(['lo']);
	for (const br of hostBridges) expect(await bridgePorts(br)).toEqual([]);
	expect(await h.clusterBridgePorts()).toEqual([]);
	expect(await h.cachedFiles()).toEqual([]);
}

beforeAll(requireShim);

beforeEach(async () => {
	h = await MetaHarness.create();
	socketPath = join(h.dir, 'run', 'plexus.sock');
	daemons.push(await startDaemon(socketPath, ['--plugin', 'plexus', '--cni-path', CNI_BIN]));
});

afterEach(async () => {
	for (const started of daemons.splice(0)) {
		started.process.kill('SIGKILL');
		await started.process;
	}
	await h.close();
	for (const name of bridges.splice(0)) await removeLink(name);
});

describe('vrf and vlan seeds through plexus-shim and the daemon', () => {
	it('seed 000: net1 in VRF blue, net2 in VRF red; DEL removes the ports and the VRFs', async () => {
		const [br0, br1] = [await bridge(), await bridge()];
		h.api.createNad(
			'vrf-example',
			'bluenet1',
			bridgeNad('bluenet1', br0, '10.10.10.2/24', [{type: 'vrf', vrfname: 'blue'}]),
		);
		h.api.createNad(
			'vrf-example',
			'rednet1',
			bridgeNad('rednet1', br1, '20.20.20.2/24', [{type: 'vrf', vrfname: 'red'}]),
		);
		const pod = await h.createPod(
			'vrf-pod',
			{'k8s.v1.cni.cncf.io/networks': 'bluenet1,rednet1'},
			'vrf-example',
		);
		const add = await shim('ADD', pod, 7);
		expect(add, add.stderr).toMatchObject({exitCode: 0});
		const links = await ipJson<IpLink[]>(pod.netns, '-d', 'link', 'show');
		const byName = new Map(links.map((l) => [l.ifname, l]));
		expect(byName.get('blue')?.linkinfo?.info_kind).toBe('vrf');
		expect(byName.get('red')?.linkinfo?.info_kind).toBe('vrf');
		expect(byName.get('net1')?.master).toBe('blue');
		expect(byName.get('net2')?.master).toBe('red');
		expect(await bridgePorts(br0)).toHaveLength(1);
		const addresses = await ipJson<{ifname: string; addr_info: {local: string; prefixlen: number}[]}[]>(
			pod.netns,
			'-4',
			'addr',
			'show',
		);
		expect(addresses.flatMap((a) => a.addr_info.map((i) => `${a.ifname} ${i.local}/${i.prefixlen}`))).toEqual(
			expect.arrayContaining(['net1 10.10.10.2/24', 'net2 20.20.20.2/24', `eth0 ${h.subnet}.7/24`]),
		);
		expect(await shim('CHECK', pod, 7)).toMatchObject({exitCode: 0, stdout: ''});
		expect(await shim('DEL', pod, 7)).toMatchObject({exitCode: 0, stdout: ''});
		await expectNothingLeft(pod, [br0, br1]);
	});

	it('seed 004: net1.3 and net1.4 on net1 in the pod; DEL removes them and the bridge port', async () => {
		const trunk = await bridge();
		const vlan = (id: number) => ({
			type: 'vlan',
			linkInContainer: true,
			vlanId: id,
			ipam: {type: 'static', addresses: [{address: `192.168.${id}.10/24`, gateway: `192.168.${id}.1`}]},
		});
		h.api.createNad(
			'vlan-example',
			'vlan-chaining-example',
			bridgeNad('vlan-chaining-example', trunk, '192.168.2.10/24', [vlan(3), vlan(4)]),
		);
		const pod = await h.createPod(
			'vlan-pod',
			{'k8s.v1.cni.cncf.io/networks': 'vlan-chaining-example'},
			'vlan-example',
		);
		const add = await shim('ADD', pod, 8);
		expect(add, add.stderr).toMatchObject({exitCode: 0});
		const links = await ipJson<IpLink[]>(pod.netns, '-d', 'link', 'show');
		for (const id of [3, 4]) {
			const link = links.find((l) => l.ifname === `net1.${id}`);
			expect(link?.linkinfo).toMatchObject({info_kind: 'vlan', info_data: {id}});
		}
		const addresses = await ipJson<{ifname: string; addr_info: {local: string; prefixlen: number}[]}[]>(
			pod.netns,
			'-4',
			'addr',
			'show',
		);
		expect(addresses.flatMap((a) => a.addr_info.map((i) => `${a.ifname} ${i.local}/${i.prefixlen}`))).toEqual(
			expect.arrayContaining(['net1 192.168.2.10/24', 'net1.3 192.168.3.10/24', 'net1.4 192.168.4.10/24']),
		);
		expect(await bridgePorts(trunk)).toHaveLength(1);
		expect(await shim('CHECK', pod, 8)).toMatchObject({exitCode: 0, stdout: ''});
		expect(await shim('DEL', pod, 8)).toMatchObject({exitCode: 0, stdout: ''});
		await expectNothingLeft(pod, [trunk]);
	});
});
