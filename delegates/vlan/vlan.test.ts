import {beforeEach, describe, expect, it} from 'vitest';
import {FakePluginExec} from '../../src/chain/testing/fake-exec.ts';
import {CniError} from '../../src/cni/errors.ts';
import {SUPPORTED_VERSIONS, versionAtLeast} from '../../src/cni/versions.ts';
import {NetlinkModel} from '../../src/netlink/model.ts';
import {callPlugin, pluginRequest} from '../common/request.ts';
import {createVlanPlugin} from './index.ts';
import {fakeStaticIpam} from './testing/fake-ipam.ts';

// Unit tests of the vlan delegate on the in-memory kernel with a fake IPAM plugin, mirroring
// plugins/main/vlan/vlan_test.go; e2e/delegates/vlan.vm.test.ts runs them on a real kernel.

const POD = '/var/run/netns/pod';
const CNI_PATH = ['/fake/cni/bin'];

/** The vlan conf most cases use (master eth0, VLAN 5, static IPAM), with `changes` on top. */
function vlanConf(changes: Record<string, unknown> = {}): Record<string, unknown> {
	return {
		cniVersion: '1.0.0',
		name: 'n',
		type: 'vlan',
		master: 'eth0',
		vlanId: 5,
		ipam: {type: 'static'},
		...changes,
	};
}

describe('vlan on the model', () => {
	let kernel: NetlinkModel;

	beforeEach(() => {
		kernel = new NetlinkModel();
		kernel.addNetns(POD);
		const host = kernel.open();
		host.addLink({kind: 'dummy', name: 'eth0', up: true});
		host.close();
		const pod = kernel.open(POD);
		pod.addLink({kind: 'dummy', name: 'eth1', up: true});
		pod.close();
	});

	function run(
		exec: FakePluginExec,
		command: 'ADD' | 'DEL' | 'CHECK' | 'STATUS',
		config: Record<string, unknown>,
		ifname: string,
	) {
		const plugin = createVlanPlugin({openNetlink: kernel.open, exec});
		return callPlugin(
			plugin,
			pluginRequest(command, config, {netns: POD, ifname, path: CNI_PATH, containerId: 'ctr1'}),
		);
	}

	function inPod<T>(fn: (nl: ReturnType<NetlinkModel['open']>) => T): T {
		const nl = kernel.open(POD);
		try {
			return fn(nl);
		} finally {
			nl.close();
		}
	}

	for (const linkInContainer of [false, true]) {
		const master = linkInContainer ? 'eth1' : 'eth0';
		describe(`linkInContainer: ${linkInContainer}`, () => {
			it.each(SUPPORTED_VERSIONS)(
				'[%s] configures and deconfigures a vlan link with ADD/CHECK/DEL',
				async (ver) => {
					const exec = fakeStaticIpam([{address: '10.1.2.2/24', gateway: '10.1.2.1'}]);
					const config = {
						cniVersion: ver,
						name: 'testConfig',
						type: 'vlan',
						master,
						vlanId: 1234,
						linkInContainer,
						ipam: {type: 'static'},
					};
					if (versionAtLeast(ver, '1.1.0')) await run(exec, 'STATUS', config, 'ethX');
					const result = (await run(exec, 'ADD', config, 'ethX')) as Record<string, unknown>;
					const link = inPod((nl) => nl.getLink('ethX'));
					expect(link).toMatchObject({kind: 'vlan', vlan: {id: 1234}, up: true, mtu: 1500});
					expect(inPod((nl) => nl.listAddresses({link: 'ethX', family: 4}).map((a) => a.cidr))).toEqual([
						'10.1.2.2/24',
					]);
					if (versionAtLeast(ver, '0.3.0')) {
						expect(result['interfaces']).toEqual([{name: 'ethX', mac: link.mac, sandbox: POD}]);
						expect(result['ips']).toEqual([expect.objectContaining({address: '10.1.2.2/24', interface: 0})]);
					} else {
						expect(result['ip4']).toEqual({ip: '10.1.2.2/24', gateway: '10.1.2.1'});
					}
					// IPAM saw this very config and the CNI_* of the request.
					const [call] = exec.callsOf('ADD');
					expect(call?.config).toEqual(config);
					expect(call?.env).toMatchObject({
						CNI_COMMAND: 'ADD',
						CNI_NETNS: POD,
						CNI_IFNAME: 'ethX',
						CNI_CONTAINERID: 'ctr1',
					});
					const check = run(exec, 'CHECK', {...config, prevResult: result}, 'ethX');
					if (versionAtLeast(ver, '0.4.0')) await check;
					else
						await expect(check).rejects.toMatchObject({
							code: 1,
							message: 'config version does not allow CHECK',
						});
					await run(exec, 'DEL', config, 'ethX');
					expect(inPod((nl) => nl.findLink('ethX'))).toBeUndefined();
					await run(exec, 'DEL', config, 'ethX');
					expect(exec.callsOf('DEL')).toHaveLength(2);
				},
			);

			it("creates the link with the given MTU, or the master's", async () => {
				await run(
					fakeStaticIpam([{address: '10.1.2.2/24'}]),
					'ADD',
					vlanConf({master, vlanId: 33, mtu: 1400, linkInContainer}),
					'foobar0',
				);
				expect(inPod((nl) => nl.getLink('foobar0').mtu)).toBe(1400);
				const opener = linkInContainer ? kernel.open(POD) : kernel.open();
				opener.setLink(master, {mtu: 1200});
				opener.close();
				await run(
					fakeStaticIpam([{address: '10.1.3.2/24'}]),
					'ADD',
					vlanConf({master, vlanId: 34, linkInContainer}),
					'foobar1',
				);
				expect(inPod((nl) => nl.getLink('foobar1').mtu)).toBe(1200);
			});

			it.each([
				[1600, 'invalid MTU 1600, must be [0, master MTU(1500)]'],
				[-100, 'invalid MTU -100, must be [0, master MTU(1500)]'],
			])('fails to create vlan link with MTU %s', async (mtu, message) => {
				const exec = fakeStaticIpam([{address: '10.1.2.2/24'}]);
				const config = vlanConf({master, vlanId: 33, mtu, linkInContainer});
				await expect(run(exec, 'ADD', config, 'eth2')).rejects.toMatchObject({code: 7, message});
				expect(exec.calls).toHaveLength(0);
			});
		});
	}

	it('creates the link from the host straight into the pod netns, on the host master', async () => {
		await run(fakeStaticIpam([{address: '10.1.2.2/24'}]), 'ADD', vlanConf(), 'net1');
		const host = kernel.open();
		expect(host.listLinks().map((l) => l.name)).toEqual(['lo', 'eth0']);
		host.close();
		expect(inPod((nl) => nl.getLink('net1'))).toMatchObject({
			kind: 'vlan',
			vlan: {id: 5},
			linkNetnsId: expect.any(Number),
		});
	});

	it('a missing master is a code-7 error naming it', async () => {
		await expect(run(fakeStaticIpam([]), 'ADD', vlanConf({master: 'nope0'}), 'net1')).rejects.toMatchObject({
			code: 7,
			message: 'failed to lookup master "nope0": link not found',
		});
	});

	it('applies IPv6: keep_addr_on_down, address, default route via the family gateway; dns from the config', async () => {
		const exec = fakeStaticIpam(
			[
				{address: 'fd00:5::2/64', gateway: 'fd00:5::1'},
				{address: '10.5.0.2/24', gateway: '10.5.0.1'},
			],
			[{dst: '::/0'}, {dst: '10.99.0.0/16'}],
		);
		const dns = {nameservers: ['10.5.0.53'], search: ['example.org']};
		const result = (await run(exec, 'ADD', vlanConf({dns}), 'net1')) as Record<string, unknown>;
		expect(result['dns']).toEqual(dns);
		inPod((nl) => {
			expect(nl.readSysctl('net/ipv6/conf/net1/keep_addr_on_down')).toBe('1');
			expect(nl.listRoutes({dst: '::/0'})).toEqual([expect.objectContaining({gateway: 'fd00:5::1'})]);
			expect(nl.listRoutes({dst: '10.99.0.0/16'})).toEqual([expect.objectContaining({gateway: '10.5.0.1'})]);
		});
	});

	it('no IP from IPAM: the reference error, IPAM DEL, and no link left', async () => {
		const exec = fakeStaticIpam([]);
		await expect(run(exec, 'ADD', vlanConf(), 'net1')).rejects.toMatchObject({
			message: 'IPAM plugin returned missing IP config',
		});
		expect(exec.callsOf('DEL')).toHaveLength(1);
		expect(inPod((nl) => nl.listLinks().map((l) => l.name))).toEqual(['lo', 'eth1']);
	});

	it('an IPAM failure keeps its code and leaves no link', async () => {
		const exec = new FakePluginExec({
			static: () => {
				throw new CniError(11, 'try again');
			},
		});
		await expect(run(exec, 'ADD', vlanConf(), 'net1')).rejects.toMatchObject({code: 11});
		expect(inPod((nl) => nl.listLinks().map((l) => l.name))).toEqual(['lo', 'eth1']);
	});

	it('ADD without ipam.type is a code-7 error', async () => {
		const {ipam: _, ...withoutIpam} = vlanConf();
		await expect(run(fakeStaticIpam([]), 'ADD', withoutIpam, 'net1')).rejects.toMatchObject({code: 7});
	});

	it('CHECK fails on drift: MAC changed, address removed, sandbox mismatch', async () => {
		const exec = fakeStaticIpam([{address: '10.1.2.2/24'}]);
		const config = vlanConf();
		const result = (await run(exec, 'ADD', config, 'net1')) as Record<string, unknown>;
		const other = {...result, interfaces: [{name: 'net1', sandbox: '/var/run/netns/other'}]};
		await expect(run(exec, 'CHECK', {...config, prevResult: other}, 'net1')).rejects.toMatchObject({
			message: expect.stringContaining("doesn't match configured netns"),
		});
		inPod((nl) => nl.deleteAddress('net1', '10.1.2.2/24'));
		await expect(run(exec, 'CHECK', {...config, prevResult: result}, 'net1')).rejects.toMatchObject({
			message: 'interface "net1" is missing IP address "10.1.2.2/24"',
		});
		inPod((nl) => nl.setLink('net1', {mac: '02:11:22:33:44:55'}));
		await expect(run(exec, 'CHECK', {...config, prevResult: result}, 'net1')).rejects.toMatchObject({
			message: expect.stringMatching(/^vlan "net1" has MAC 02:11:22:33:44:55, prevResult says /),
		});
		await expect(run(exec, 'CHECK', config, 'net1')).rejects.toMatchObject({code: 7});
	});

	it('DEL succeeds with the master gone, with the netns gone, and without CNI_NETNS', async () => {
		const exec = fakeStaticIpam([{address: '10.1.2.2/24'}]);
		const config = vlanConf();
		await run(exec, 'ADD', config, 'net1');
		const host = kernel.open();
		host.deleteLink('eth0');
		host.close();
		await run(exec, 'DEL', config, 'net1');
		kernel.deleteNetns(POD);
		await run(exec, 'DEL', config, 'net1');
		const plugin = createVlanPlugin({openNetlink: kernel.open, exec});
		await plugin.del(pluginRequest('DEL', config, {ifname: 'net1', path: CNI_PATH}));
		expect(exec.callsOf('DEL')).toHaveLength(3);
	});

	describe('chained empty-master mode', () => {
		const prevResult = {
			cniVersion: '0.3.1',
			interfaces: [{name: 'net1', sandbox: POD}],
			ips: [{version: '4', interface: 0, address: '10.9.0.2/24'}],
			dns: {},
		};
		const chained = (vlanId: number) => ({
			cniVersion: '0.3.1',
			name: 'vlan-chaining-example',
			type: 'vlan',
			linkInContainer: true,
			vlanId,
			ipam: {type: 'static'},
		});

		it('vlan 3 and 4 on CNI_IFNAME: the result keeps the earlier interfaces and appends each vlan', async () => {
			inPod((nl) => nl.addLink({kind: 'dummy', name: 'net1', up: true}));
			const first = (await run(
				fakeStaticIpam([{address: '192.168.3.10/24', gateway: '192.168.3.1'}]),
				'ADD',
				{...chained(3), prevResult},
				'net1',
			)) as Record<string, unknown>;
			const second = (await run(
				fakeStaticIpam([{address: '192.168.4.10/24', gateway: '192.168.4.1'}]),
				'ADD',
				{...chained(4), prevResult: first},
				'net1',
			)) as Record<string, unknown>;
			const [mac3, mac4] = inPod((nl) => [nl.getLink('net1.3').mac, nl.getLink('net1.4').mac]);
			expect(second).toEqual({
				cniVersion: '0.3.1',
				interfaces: [
					{name: 'net1', sandbox: POD},
					{name: 'net1.3', mac: mac3, sandbox: POD},
					{name: 'net1.4', mac: mac4, sandbox: POD},
				],
				ips: [
					{version: '4', interface: 0, address: '10.9.0.2/24'},
					{version: '4', interface: 1, address: '192.168.3.10/24', gateway: '192.168.3.1'},
					{version: '4', interface: 2, address: '192.168.4.10/24', gateway: '192.168.4.1'},
				],
				dns: {},
			});
			inPod((nl) => {
				const parent = nl.getLink('net1').index;
				expect(nl.getLink('net1.3')).toMatchObject({kind: 'vlan', vlan: {id: 3}, parentIndex: parent});
				expect(nl.getLink('net1.4')).toMatchObject({kind: 'vlan', vlan: {id: 4}, parentIndex: parent});
			});
			// DEL without prevResult (the PR's DEL needed one), in reverse chain order.
			await run(fakeStaticIpam([]), 'DEL', chained(4), 'net1');
			await run(fakeStaticIpam([]), 'DEL', chained(3), 'net1');
			expect(
				inPod((nl) =>
					nl
						.listLinks()
						.map((l) => l.name)
						.sort(),
				),
			).toEqual(['eth1', 'lo', 'net1']);
		});

		it.each(SUPPORTED_VERSIONS)(
			"[%s] Use IFNAME as a master interface (the PR's case: prevResult has only cniVersion)",
			async (ver) => {
				const result = (await run(
					fakeStaticIpam([{address: '10.1.2.2/24'}]),
					'ADD',
					{...chained(1234), cniVersion: ver, prevResult: {cniVersion: ver}},
					'eth1',
				)) as Record<string, unknown>;
				const link = inPod((nl) => nl.getLink('eth1.1234'));
				expect(link).toMatchObject({kind: 'vlan', vlan: {id: 1234}});
				if (versionAtLeast(ver, '0.3.0')) {
					expect(result['interfaces']).toEqual([{name: 'eth1.1234', mac: link.mac, sandbox: POD}]);
					expect(result['ips']).toEqual([expect.objectContaining({address: '10.1.2.2/24', interface: 0})]);
				} else {
					expect(result['ip4']).toMatchObject({ip: '10.1.2.2/24'});
				}
			},
		);

		it('CHECK works in chained mode (the PR looked for a master called "")', async () => {
			inPod((nl) => nl.addLink({kind: 'dummy', name: 'net1', up: true}));
			const config = {...chained(3), cniVersion: '0.4.0', prevResult: {...prevResult, cniVersion: '0.4.0'}};
			const result = await run(fakeStaticIpam([{address: '192.168.3.10/24'}]), 'ADD', config, 'net1');
			await run(fakeStaticIpam([]), 'CHECK', {...config, prevResult: result}, 'net1');
		});

		it('a name over 15 characters is refused before anything is created', async () => {
			const exec = fakeStaticIpam([{address: '192.168.3.10/24'}]);
			await expect(run(exec, 'ADD', {...chained(4094), prevResult}, 'longifname1')).rejects.toMatchObject({
				code: 7,
				message: expect.stringContaining('at most 10 characters'),
			});
			expect(exec.calls).toHaveLength(0);
			// The runtime's DEL after that failed ADD has nothing to undo: success, IPAM not called.
			await run(exec, 'DEL', {...chained(4094), prevResult}, 'longifname1');
			await run(exec, 'DEL', chained(4094), 'longifname1');
			expect(exec.calls).toHaveLength(0);
		});
	});
});
