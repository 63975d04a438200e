import {randomBytes} from 'node:crypto';
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {callPlugin, pluginRequest} from '../../delegates/common/request.ts';
import {createVlanPlugin} from '../../delegates/vlan/index.ts';
import {fakeStaticIpam} from '../../delegates/vlan/testing/fake-ipam.ts';
import {createVlan} from '../../delegates/vlan/vlan.ts';
import {type PluginExec, ProcessPluginExec} from '../../src/chain/plugin-exec.ts';
import {FakePluginExec} from '../../src/chain/testing/fake-exec.ts';
import type {CniCommand} from '../../src/cni/plugin.ts';
import {SUPPORTED_VERSIONS, versionAtLeast} from '../../src/cni/versions.ts';
import {openNetlink} from '../../src/netlink/kernel.ts';
import type {OpenNetlink} from '../../src/netlink/netlink.ts';

// The vlan delegate on a kernel with 8021q and dummy (the qemu test bed). The port of
// plugins/main/vlan/vlan_test.go (containernetworking/plugins): master eth0 (dummy) in a "host"
// netns, eth1 (dummy) in the target netns; every case for linkInContainer false and true and every
// spec version. The "host" is a netns of its own: the plugin's host-side handle is redirected there.
// IPAM is the Debian host-local binary where its versions allow (≤ 1.0.0), otherwise an in-process
// fake answering what static IPAM would.

const FAKE_DIR = '/fake/cni/bin';
const DEBIAN_CNI = '/usr/lib/cni';

interface IpLink {
	ifname: string;
	mtu: number;
	address?: string;
	linkinfo?: {info_kind?: string; info_data?: {id?: number}};
}

interface IpAddr {
	addr_info: {family: string; local: string; prefixlen: number}[];
}

/** What static IPAM returns for one address, in the caller's version. */
function fakeIpam(address: string, gateway?: string) {
	return fakeStaticIpam([{address, ...(gateway === undefined ? {} : {gateway})}]);
}

describe('vlan on a real kernel', () => {
	let id: string;
	let hostName: string;
	let podName: string;
	let hostNs: string;
	let podNs: string;
	let dataDir: string;

	beforeEach(async () => {
		id = randomBytes(4).toString('hex');
		hostName = `pxvh-${id}`;
		podName = `pxvp-${id}`;
		hostNs = `/var/run/netns/${hostName}`;
		podNs = `/var/run/netns/${podName}`;
		dataDir = await mkdtemp(join(tmpdir(), 'pxvlan-'));
		await execa('ip', ['netns', 'add', hostName]);
		await execa('ip', ['netns', 'add', podName]);
		for (const [ns, dev] of [
			[hostNs, 'eth0'],
			[podNs, 'eth1'],
		] as const) {
			const nl = openNetlink(ns);
			try {
				nl.addLink({kind: 'dummy', name: dev, up: true});
			} finally {
				nl.close();
			}
		}
	});

	afterEach(async () => {
		await execa('ip', ['netns', 'del', hostName], {reject: false});
		await execa('ip', ['netns', 'del', podName], {reject: false});
		await rm(dataDir, {recursive: true, force: true});
	});

	/** The plugin's own netns ("host") is the test's host netns. */
	const open: OpenNetlink = (netns) => openNetlink(netns ?? hostNs);
	const ipJson = async <T>(ns: string, ...args: string[]) =>
		JSON.parse((await execa('ip', ['-n', ns, '-json', ...args])).stdout || '[]') as T[];

	async function podLink(dev: string): Promise<IpLink | undefined> {
		return (await ipJson<IpLink>(podName, '-details', 'link', 'show')).find((l) => l.ifname === dev);
	}

	async function podAddresses(dev: string, family = 'inet') {
		const [entry] = await ipJson<IpAddr>(podName, 'address', 'show', 'dev', dev);
		return (entry?.addr_info ?? []).filter((a) => a.family === family);
	}

	function setMtu(ns: string, dev: string, mtu: number) {
		const nl = openNetlink(ns);
		try {
			nl.setLink(dev, {mtu});
		} finally {
			nl.close();
		}
	}

	async function run(
		exec: PluginExec,
		command: CniCommand,
		config: Record<string, unknown>,
		ifname: string,
		netns = podNs,
	) {
		const plugin = createVlanPlugin({openNetlink: open, exec});
		const request = pluginRequest(command, config, {
			netns,
			ifname,
			containerId: `ctr-${id}`,
			path: [FAKE_DIR, DEBIAN_CNI],
		});
		return callPlugin(plugin, request);
	}

	for (const linkInContainer of [false, true]) {
		const masterName = linkInContainer ? 'eth1' : 'eth0';
		const masterNs = () => (linkInContainer ? podNs : hostNs);

		describe(`linkInContainer: ${linkInContainer}`, () => {
			function withHandles<T>(
				fn: (masterNl: ReturnType<OpenNetlink>, podNl: ReturnType<OpenNetlink>) => T,
			): T {
				const podNl = openNetlink(podNs);
				const masterNl = linkInContainer ? podNl : openNetlink(hostNs);
				try {
					return fn(masterNl, podNl);
				} finally {
					podNl.close();
					if (masterNl !== podNl) masterNl.close();
				}
			}

			for (const ver of SUPPORTED_VERSIONS) {
				// An explicit MTU, and 0: the master's (lowered to 1200 first).
				for (const [what, masterMtu, mtu, expected] of [
					['given MTU', undefined, 1500, 1500],
					["master's MTU", 1200, 0, 1200],
				] as const) {
					it(`[${ver}] creates an vlan link in a non-default namespace with ${what}`, async () => {
						if (masterMtu !== undefined) setMtu(masterNs(), masterName, masterMtu);
						withHandles((masterNl, podNl) =>
							createVlan({
								masterNl,
								podNl,
								netns: podNs,
								master: masterNl.getLink(masterName),
								vlanId: 33,
								mtu,
								ifname: 'foobar0',
							}),
						);
						const link = await podLink('foobar0');
						expect(link?.linkinfo).toMatchObject({info_kind: 'vlan', info_data: {id: 33}});
						expect(link?.mtu).toBe(expected);
					});
				}

				it(`[${ver}] configures and deconfigures a vlan link with ADD/CHECK/DEL`, async () => {
					const realIpam = !versionAtLeast(ver, '1.1.0');
					const exec = realIpam ? new ProcessPluginExec() : fakeIpam('10.1.2.2/24', '10.1.2.1');
					const ipam = realIpam
						? {type: 'host-local', subnet: '10.1.2.0/24', dataDir}
						: {type: 'static', addresses: [{address: '10.1.2.2/24', gateway: '10.1.2.1'}]};
					const config = {
						cniVersion: ver,
						name: 'testConfig',
						type: 'vlan',
						master: masterName,
						vlanId: 1234,
						linkInContainer,
						ipam,
					};
					if (versionAtLeast(ver, '1.1.0')) await run(exec, 'STATUS', config, 'ethX');
					const result = await run(exec, 'ADD', config, 'ethX');
					const link = await podLink('ethX');
					expect(link?.linkinfo).toMatchObject({info_kind: 'vlan', info_data: {id: 1234}});
					expect(await podAddresses('ethX')).toEqual([
						expect.objectContaining({local: '10.1.2.2', prefixlen: 24}),
					]);
					if (versionAtLeast(ver, '0.3.0')) {
						expect(result?.['interfaces']).toEqual([{name: 'ethX', mac: link?.address, sandbox: podNs}]);
					} else {
						expect(result?.['ip4']).toMatchObject({ip: '10.1.2.2/24'});
					}
					const check = run(exec, 'CHECK', {...config, prevResult: result}, 'ethX');
					if (versionAtLeast(ver, '0.4.0')) await check;
					else await expect(check).rejects.toMatchObject({message: 'config version does not allow CHECK'});
					await run(exec, 'DEL', config, 'ethX');
					expect(await podLink('ethX')).toBeUndefined();
					await run(exec, 'DEL', config, 'ethX');
				});

				for (const [what, mtu, message] of [
					['greater MTU than master interface', 1600, 'invalid MTU 1600, must be [0, master MTU(1500)]'],
					['negative MTU', -100, 'invalid MTU -100, must be [0, master MTU(1500)]'],
				] as const) {
					it(`[${ver}] fails to create vlan link with ${what}`, async () => {
						const config = {
							cniVersion: ver,
							name: 'mynet',
							type: 'vlan',
							master: masterName,
							vlanId: 33,
							mtu,
							linkInContainer,
							ipam: {type: 'static'},
						};
						await expect(run(fakeIpam('10.1.2.2/24'), 'ADD', config, 'eth2')).rejects.toMatchObject({
							message,
						});
					});
				}
			}
		});
	}

	describe('When master is not provided / When used as a chained plugin / When linkInContainer is true', () => {
		for (const ver of SUPPORTED_VERSIONS) {
			it(`[${ver}] Use IFNAME as a master interface`, async () => {
				const exec = versionAtLeast(ver, '1.1.0') ? fakeIpam('10.1.2.2/24') : new ProcessPluginExec();
				const config = {
					cniVersion: ver,
					name: 'testConfig',
					type: 'vlan',
					vlanId: 1234,
					linkInContainer: true,
					ipam: versionAtLeast(ver, '1.1.0')
						? {type: 'static'}
						: {type: 'host-local', subnet: '10.1.2.0/24', dataDir},
					prevResult: {cniVersion: ver},
				};
				const result = await run(exec, 'ADD', config, 'eth1');
				const link = await podLink('eth1.1234');
				expect(link?.linkinfo).toMatchObject({info_kind: 'vlan', info_data: {id: 1234}});
				expect(await podAddresses('eth1.1234')).toHaveLength(1);
				if (versionAtLeast(ver, '0.3.0')) {
					expect(result?.['interfaces']).toEqual([{name: 'eth1.1234', mac: link?.address, sandbox: podNs}]);
					expect(result?.['ips']).toEqual([expect.objectContaining({address: '10.1.2.2/24', interface: 0})]);
				}
			});
		}
	});

	describe('Plexus chained mode', () => {
		const prevResult = (netns: string) => ({
			cniVersion: '1.0.0',
			interfaces: [{name: 'eth1', mac: '02:00:00:00:00:01', sandbox: netns}],
			ips: [{interface: 0, address: '10.9.0.2/24', gateway: '10.9.0.1'}],
			routes: [{dst: '0.0.0.0/0', gw: '10.9.0.1'}],
		});

		function chained(vlanId: number, address: string, extra: Record<string, unknown> = {}) {
			return {
				cniVersion: '1.0.0',
				name: 'vlan-chain',
				type: 'vlan',
				linkInContainer: true,
				vlanId,
				ipam: {type: 'static'},
				...extra,
				address,
			};
		}

		it('keeps the previous interfaces, appends the vlan; CHECK passes, fails on drift; DEL without prevResult, twice', async () => {
			// What the previous plugin did and reported: eth1 addressed, a default route through it.
			const prevNl = openNetlink(podNs);
			try {
				prevNl.addAddress('eth1', '10.9.0.2/24');
				prevNl.addRoute({dst: '0.0.0.0/0', gateway: '10.9.0.1', oif: 'eth1'});
			} finally {
				prevNl.close();
			}
			const exec = fakeIpam('192.168.3.10/24', '192.168.3.1');
			const config = {...chained(3, '192.168.3.10/24'), prevResult: prevResult(podNs)};
			const result = await run(exec, 'ADD', config, 'eth1');
			const link = await podLink('eth1.3');
			expect(result).toEqual({
				cniVersion: '1.0.0',
				interfaces: [...prevResult(podNs).interfaces, {name: 'eth1.3', mac: link?.address, sandbox: podNs}],
				ips: [...prevResult(podNs).ips, {interface: 1, address: '192.168.3.10/24', gateway: '192.168.3.1'}],
				routes: prevResult(podNs).routes,
			});
			await run(exec, 'CHECK', {...config, prevResult: result}, 'eth1');
			const nl = openNetlink(podNs);
			try {
				nl.deleteAddress('eth1.3', '192.168.3.10/24');
			} finally {
				nl.close();
			}
			await expect(run(exec, 'CHECK', {...config, prevResult: result}, 'eth1')).rejects.toMatchObject({
				message: 'interface "eth1.3" is missing IP address "192.168.3.10/24"',
			});
			const {prevResult: _, ...withoutPrev} = config;
			await run(exec, 'DEL', withoutPrev, 'eth1');
			expect(await podLink('eth1.3')).toBeUndefined();
			expect(await podLink('eth1')).toBeDefined();
			await run(exec, 'DEL', withoutPrev, 'eth1');
		});
	});

	describe('Plexus DEL and cleanup', () => {
		const config = (extra: Record<string, unknown> = {}) => ({
			cniVersion: '1.0.0',
			name: 'mynet',
			type: 'vlan',
			master: 'eth0',
			vlanId: 7,
			ipam: {type: 'static'},
			...extra,
		});

		it('CHECK fails when the VLAN MTU drifts', async () => {
			const exec = fakeIpam('10.7.0.2/24');
			const conf = config({mtu: 1400});
			const result = await run(exec, 'ADD', conf, 'net1');
			setMtu(podNs, 'net1', 1300);
			await expect(run(exec, 'CHECK', {...conf, prevResult: result}, 'net1')).rejects.toMatchObject({
				message: 'vlan "net1" has MTU 1300, config says 1400',
			});
		});

		it('DEL succeeds with the master gone, and with the netns gone', async () => {
			const exec = fakeIpam('10.7.0.2/24');
			await run(exec, 'ADD', config(), 'net1');
			await execa('ip', ['-n', hostName, 'link', 'del', 'eth0']);
			await run(exec, 'DEL', config(), 'net1');
			await execa('ip', ['netns', 'del', podName]);
			await expect(run(exec, 'DEL', config(), 'net1')).resolves.toBeUndefined();
			expect(exec.callsOf('DEL')).toHaveLength(2);
		});

		it('ADD then DEL leaves nothing in either netns', async () => {
			const names = async (ns: string) =>
				(await ipJson<IpLink>(ns, 'link', 'show')).map((l) => l.ifname).sort();
			const before = [await names(hostName), await names(podName)];
			const exec = fakeIpam('10.7.0.2/24', '10.7.0.1');
			await run(exec, 'ADD', config(), 'net1');
			await run(exec, 'DEL', config(), 'net1');
			expect([await names(hostName), await names(podName)]).toEqual(before);
		});

		it('a failed IPAM ADD leaves no link behind (not even under its temporary name)', async () => {
			const names = async () => (await ipJson<IpLink>(podName, 'link', 'show')).map((l) => l.ifname).sort();
			const before = await names();
			const exec = new FakePluginExec({
				static: () => {
					throw new Error('no addresses left');
				},
			});
			await expect(run(exec, 'ADD', config(), 'net1')).rejects.toThrow('no addresses left');
			expect(await names()).toEqual(before);
		});
	});
});
