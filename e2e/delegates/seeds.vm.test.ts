import {randomBytes} from 'node:crypto';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {withBuiltins} from '../../delegates/index.ts';
import {ChainExecutor, type RuntimeConf} from '../../src/chain/executor.ts';
import {confListFromConf, parseNetworkList} from '../../src/chain/network-list.ts';
import {ProcessPluginExec} from '../../src/chain/plugin-exec.ts';
import type {CniResult} from '../../src/cni/result.ts';
import {openNetlink} from '../../src/netlink/kernel.ts';

// The seed scenarios of issue 4 on a kernel with vrf and 8021q (the qemu test bed), each network
// run through the chain executor as its NetworkAttachmentDefinition configures it: reference
// plugins (bridge, static, tuning, macvlan from Debian's containernetworking-plugins) from
// CNI_PATH, the built-ins (vrf, vlan) in-process. Pods are network namespaces.

const CNI_PATH = ['/usr/lib/cni'];

describe('seed scenarios through the chain executor', () => {
	let id: string;
	let cacheDir: string;
	const namespaces: string[] = [];
	const hostLinks: string[] = [];

	beforeEach(async () => {
		id = randomBytes(3).toString('hex');
		cacheDir = await mkdtemp(join(tmpdir(), 'pxseed-'));
	});

	afterEach(async () => {
		for (const ns of namespaces.splice(0)) await execa('ip', ['netns', 'del', ns], {reject: false});
		for (const dev of hostLinks.splice(0)) await execa('ip', ['link', 'del', dev], {reject: false});
		await rm(cacheDir, {recursive: true, force: true});
	});

	async function pod(name: string): Promise<string> {
		const ns = `${name}-${id}`;
		await execa('ip', ['netns', 'add', ns]);
		namespaces.push(ns);
		await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
		return ns;
	}

	const exec = new ProcessPluginExec();
	const executor = () =>
		new ChainExecutor({
			path: CNI_PATH,
			cacheDir,
			exec: withBuiltins(exec, openNetlink),
			env: process.env,
		});

	/** Attaches network `conf` (a conflist, or a single conf as a NAD may hold) to `ns` as `ifname`. */
	async function attach(conf: Record<string, unknown>, ns: string, ifname: string): Promise<CniResult> {
		const bytes = Buffer.from(JSON.stringify(conf));
		const list = 'plugins' in conf ? parseNetworkList(bytes) : confListFromConf(bytes);
		const rt: RuntimeConf = {
			containerId: ns,
			netns: `/var/run/netns/${ns}`,
			ifname,
			args: [],
			capabilityArgs: {},
		};
		return executor().addNetworkList(list, rt);
	}

	const ip = (ns: string, ...args: string[]) => execa('ip', ['-n', ns, ...args]);
	const ipJson = async <T>(ns: string, ...args: string[]) =>
		JSON.parse((await ip(ns, '-json', ...args)).stdout || '[]') as T[];

	/** IPv4 datagrams the netns has forwarded (Ip: ForwDatagrams of /proc/net/snmp). */
	async function forwarded(ns: string): Promise<number> {
		const snmp = (await execa('ip', ['netns', 'exec', ns, 'cat', '/proc/net/snmp'])).stdout.split('\n');
		const [names, values] = snmp.filter((line) => line.startsWith('Ip:')).map((line) => line.split(/\s+/));
		const at = names?.indexOf('ForwDatagrams') ?? -1;
		return Number(values?.[at]);
	}

	it('seed 000: a pod with VRFs blue and red, routed by two router pods to one endpoint', async () => {
		hostLinks.push('mybr0', 'mybr1');
		const bridgeNet = (
			name: string,
			bridge: string,
			address: Record<string, string>,
			more: Record<string, unknown>[] = [],
			routes?: unknown[],
		) => ({
			cniVersion: '0.3.1',
			name,
			plugins: [
				{
					type: 'bridge',
					bridge,
					ipam: {type: 'static', addresses: [address], ...(routes === undefined ? {} : {routes})},
				},
				...more,
			],
		});
		const forwarding = (dev: string) => ({
			name: 'brtuning',
			type: 'tuning',
			sysctl: {[`net.ipv4.conf.${dev}.forwarding`]: '1'},
		});
		const bluenet1 = bridgeNet('bluenet1', 'mybr0', {address: '10.10.10.2/24', gateway: '10.10.10.1'}, [
			{type: 'vrf', vrfname: 'blue'},
		]);
		const rednet1 = bridgeNet('rednet1', 'mybr0', {address: '10.10.10.2/24', gateway: '10.10.10.254'}, [
			{type: 'vrf', vrfname: 'red'},
		]);

		const vrfpod1 = await pod('vrfpod1');
		const routerblue = await pod('routerblue');
		const routerred = await pod('routerred');
		const endpoint1 = await pod('endpoint1');
		await attach(bluenet1, vrfpod1, 'net1');
		await attach(rednet1, vrfpod1, 'net2');
		await attach(
			bridgeNet('bluerouter1', 'mybr0', {address: '10.10.10.1/24'}, [forwarding('net1')]),
			routerblue,
			'net1',
		);
		await attach(
			bridgeNet('bluerouter2', 'mybr1', {address: '20.20.20.1/24'}, [forwarding('net2')]),
			routerblue,
			'net2',
		);
		await attach(
			bridgeNet('redrouter1', 'mybr0', {address: '10.10.10.254/24'}, [forwarding('net1')]),
			routerred,
			'net1',
		);
		await attach(
			bridgeNet('redrouter2', 'mybr1', {address: '20.20.20.254/24'}, [forwarding('net2')]),
			routerred,
			'net2',
		);
		await attach(
			bridgeNet(
				'epnet1',
				'mybr1',
				{address: '20.20.20.2/24', gateway: '20.20.20.1'},
				[],
				[{dst: '10.10.10.0/24', gw: '20.20.20.1'}],
			),
			endpoint1,
			'net1',
		);

		// 1. `ip vrf show`: blue has table 1, red table 2.
		expect((await ip(vrfpod1, 'vrf', 'show')).stdout).toMatch(/blue\s+1\n.*red\s+2/s);
		// 2. net1 and net2 both have 10.10.10.2/24.
		for (const dev of ['net1', 'net2']) {
			const [addr] = await ipJson<{addr_info: {family: string; local: string; prefixlen: number}[]}>(
				vrfpod1,
				'address',
				'show',
				'dev',
				dev,
			);
			expect(addr?.addr_info.filter((a) => a.family === 'inet')).toEqual([
				expect.objectContaining({local: '10.10.10.2', prefixlen: 24}),
			]);
		}
		// 3. Per-VRF routes to the endpoint's subnet.
		await ip(vrfpod1, 'route', 'add', '20.20.20.0/24', 'via', '10.10.10.1', 'vrf', 'blue');
		await ip(vrfpod1, 'route', 'add', '20.20.20.0/24', 'via', '10.10.10.254', 'vrf', 'red');

		// 4./5. Ping over blue: answered, and forwarded by routerblue, not by routerred (IPv4
		// forwarding counters of each router's netns, so no other traffic on the bridges counts).
		const blueBefore = await forwarded(routerblue);
		const redBefore = await forwarded(routerred);
		const ping = await execa(
			'ip',
			['netns', 'exec', vrfpod1, 'ping', '-c', '3', '-W', '2', '-I', 'net1', '20.20.20.2'],
			{reject: false},
		);
		expect(ping.exitCode, ping.stdout).toBe(0);
		expect((await forwarded(routerblue)) - blueBefore).toBeGreaterThanOrEqual(3);
		expect((await forwarded(routerred)) - redBefore).toBe(0);

		// 6./7. Ping over red leaves through routerred (the endpoint answers via its gateway, routerblue).
		const redFwdBefore = await forwarded(routerred);
		await execa('ip', ['netns', 'exec', vrfpod1, 'ping', '-c', '3', '-W', '1', '-I', 'net2', '20.20.20.2'], {
			reject: false,
		});
		expect((await forwarded(routerred)) - redFwdBefore).toBeGreaterThanOrEqual(3);
	});

	it('seed 004: vlan 3 and 4 chained with an empty master on the interface the first plugin made', async () => {
		const bridge = `pxbr4-${id}`;
		hostLinks.push(bridge);
		const pod1 = await pod('vlanpod');
		const peer = await pod('vlanpeer');
		const conf = {
			cniVersion: '0.3.1',
			name: 'vlan-chaining-example',
			plugins: [
				// "my-main-plugin": a bridge port without IPAM creates the pod interface.
				{type: 'bridge', bridge},
				...[3, 4].map((vlanId) => ({
					type: 'vlan',
					linkInContainer: true,
					vlanId,
					// The seed writes the address without a prefix, which static IPAM refuses; /24 added.
					ipam: {
						type: 'static',
						addresses: [{address: `192.168.${vlanId}.10/24`, gateway: `192.168.${vlanId}.1`}],
					},
				})),
			],
		};
		const result = (await attach(conf, pod1, 'net1')) as unknown as {
			interfaces: {name: string}[];
			ips: {address: string; interface: number}[];
		};
		expect(result.interfaces.map((i) => i.name)).toEqual(
			expect.arrayContaining(['net1', 'net1.3', 'net1.4']),
		);
		const index = (name: string) => result.interfaces.findIndex((i) => i.name === name);
		expect(result.ips).toEqual(
			expect.arrayContaining([
				expect.objectContaining({address: '192.168.3.10/24', interface: index('net1.3')}),
				expect.objectContaining({address: '192.168.4.10/24', interface: index('net1.4')}),
			]),
		);
		// The peer: a veth into the same bridge, with its own VLAN 3 and 4.
		await execa('ip', ['link', 'add', `pxp4-${id}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer]);
		hostLinks.push(`pxp4-${id}`);
		await execa('ip', ['link', 'set', `pxp4-${id}`, 'master', bridge, 'up']);
		await ip(peer, 'link', 'set', 'eth0', 'up');
		for (const vlanId of [3, 4]) {
			await ip(
				peer,
				'link',
				'add',
				'link',
				'eth0',
				'name',
				`eth0.${vlanId}`,
				'type',
				'vlan',
				'id',
				String(vlanId),
			);
			await ip(peer, 'address', 'add', `192.168.${vlanId}.1/24`, 'dev', `eth0.${vlanId}`);
			await ip(peer, 'link', 'set', `eth0.${vlanId}`, 'up');
		}
		for (const vlanId of [3, 4]) {
			const ping = await execa(
				'ip',
				['netns', 'exec', pod1, 'ping', '-c', '2', '-W', '2', '-I', `net1.${vlanId}`, `192.168.${vlanId}.1`],
				{reject: false},
			);
			expect(ping.exitCode, ping.stdout).toBe(0);
		}
	});

	it('seed 003 without VPP: VLAN 123 on the macvlan0 interface, reachable from a client on VLAN 123', async () => {
		const master = `pxm3-${id}`;
		hostLinks.push(master);
		const app = await pod('vppserver');
		const client = await pod('client');
		// The worker's interface: a veth whose other end is the client's eth0.
		await execa('ip', ['link', 'add', master, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client]);
		await execa('ip', ['link', 'set', master, 'up']);
		await ip(client, 'link', 'set', 'eth0', 'up');
		await ip(client, 'link', 'add', 'link', 'eth0', 'name', 'eth0.123', 'type', 'vlan', 'id', '123');
		await ip(client, 'address', 'add', '192.168.123.1/24', 'dev', 'eth0.123');
		await ip(client, 'link', 'set', 'eth0.123', 'up');

		// The seed's NAD: a single conf, macvlan in bridge mode, no IPAM.
		await attach(
			{
				cniVersion: '0.3.1',
				name: 'macvlan0',
				type: 'macvlan',
				master,
				linkInContainer: false,
				mode: 'bridge',
			},
			app,
			'macvlan0',
		);
		// What VPP did in user space, done by the vlan built-in on macvlan0 inside the pod.
		const result = (await attach(
			{
				cniVersion: '0.3.1',
				name: 'vlan123',
				type: 'vlan',
				master: 'macvlan0',
				linkInContainer: true,
				vlanId: 123,
				ipam: {type: 'static', addresses: [{address: '192.168.123.150/24'}]},
			},
			app,
			'vlan123',
		)) as unknown as {interfaces: {name: string}[]};
		expect(result.interfaces.map((i) => i.name)).toEqual(['vlan123']);
		const ping = await execa(
			'ip',
			['netns', 'exec', client, 'ping', '-c', '2', '-W', '2', '192.168.123.150'],
			{reject: false},
		);
		expect(ping.exitCode, ping.stdout).toBe(0);
	});
});
