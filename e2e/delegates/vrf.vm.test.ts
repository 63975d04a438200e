import {randomBytes} from 'node:crypto';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {callPlugin, pluginRequest} from '../../delegates/common/request.ts';
import {createVrfPlugin, VRF_VERSIONS} from '../../delegates/vrf/index.ts';
import {TABLE_ID_CONFLICTS, vrfPrevResult} from '../../delegates/vrf/testing/test-cases.ts';
import type {CniCommand} from '../../src/cni/plugin.ts';
import {openNetlink} from '../../src/netlink/kernel.ts';

// The vrf delegate on a kernel with vrf and dummy (the qemu test bed). The port of
// plugins/meta/vrf/vrf_test.go (containernetworking/plugins): two dummy links in a target netns,
// prevResult listing their addresses; `ip -json` is the oracle for the kernel state.

const plugin = createVrfPlugin({openNetlink});

interface IpLink {
	ifname: string;
	ifindex: number;
	master?: string;
	linkinfo?: {info_kind?: string; info_data?: {table?: number}};
}

interface IpAddr {
	ifname: string;
	addr_info: {family: string; local: string; prefixlen: number; scope: string}[];
}

interface IpRoute {
	dst: string;
	gateway?: string;
	dev?: string;
	table?: string;
}

const IF0 = 'dummy0';
const IF1 = 'dummy1';

describe('vrf on a real kernel', () => {
	let name: string;
	let netns: string;

	beforeEach(async () => {
		name = `pxvrf-${randomBytes(4).toString('hex')}`;
		netns = `/var/run/netns/${name}`;
		await execa('ip', ['netns', 'add', name]);
		for (const dev of [IF0, IF1]) {
			await ip('link', 'add', dev, 'type', 'dummy');
			await ip('link', 'set', dev, 'up');
		}
	});

	afterEach(async () => {
		await execa('ip', ['netns', 'del', name], {reject: false});
	});

	const ip = (...args: string[]) => execa('ip', ['-n', name, ...args]);
	const ipJson = async <T>(...args: string[]) =>
		JSON.parse((await ip('-json', ...args)).stdout || '[]') as T[];

	async function link(dev: string): Promise<IpLink | undefined> {
		const links = await ipJson<IpLink>('-details', 'link', 'show');
		return links.find((l) => l.ifname === dev);
	}

	async function vrfTable(vrf: string): Promise<number | undefined> {
		return (await link(vrf))?.linkinfo?.info_data?.table;
	}

	async function addresses(dev: string, family: 'inet' | 'inet6') {
		const [entry] = await ipJson<IpAddr>('address', 'show', 'dev', dev);
		return (entry?.addr_info ?? []).filter((a) => a.family === family && a.scope === 'global');
	}

	function conf(
		vrfName: string,
		ifname: string,
		addrs: string[],
		extra: Record<string, unknown> = {},
		cniVersion = '1.0.0',
	) {
		return {
			cniVersion,
			name: 'net1',
			type: 'vrf',
			// The reference tests spell the key this way; Go matches it case-insensitively, so do we.
			vrfName,
			prevResult: vrfPrevResult(cniVersion, netns, ifname, addrs),
			...extra,
		};
	}

	async function run(command: CniCommand, config: Record<string, unknown>, ifname: string) {
		return callPlugin(plugin, pluginRequest(command, config, {netns, ifname}));
	}

	async function assertOnVrf(vrf: string, dev: string) {
		expect((await link(dev))?.master).toBe(vrf);
		expect((await link(vrf))?.linkinfo?.info_kind).toBe('vrf');
	}

	it.each(VRF_VERSIONS)('[%s] passes prevResult through unchanged', async (version) => {
		await ip('address', 'add', '10.0.0.2/24', 'dev', IF0);
		const config = conf('vrf0', IF0, ['10.0.0.2/24'], {}, version);
		const result = await run('ADD', config, IF0);
		expect(result).toEqual(config.prevResult);
	});

	it('configures a VRF and adds the interface to it', async () => {
		await ip('address', 'add', '10.0.0.2/24', 'dev', IF0);
		await run('ADD', conf('vrf0', IF0, ['10.0.0.2/24']), IF0);
		await assertOnVrf('vrf0', IF0);
		expect(await vrfTable('vrf0')).toBe(1);
		// The connected route followed the interface into the VRF's table.
		expect(await ipJson<IpRoute>('route', 'show', 'table', '1', 'type', 'unicast')).toEqual([
			expect.objectContaining({dst: '10.0.0.0/24', dev: IF0}),
		]);
	});

	it('adds the interface and custom routing to new VRF', async () => {
		await ip('address', 'add', '10.0.0.2/24', 'dev', IF0);
		await ip('address', 'add', 'abcd:1234:ffff::cd/64', 'dev', IF0, 'nodad');
		await ip('route', 'add', '10.10.10.0/24', 'via', '10.0.0.1', 'dev', IF0);
		await ip('-6', 'route', 'add', '1111:dddd::/80', 'via', 'abcd:1234:ffff::1', 'dev', IF0);
		await run('ADD', conf('vrf0', IF0, ['10.0.0.2/24', 'abcd:1234:ffff::cd/64'], {table: 10}), IF0);
		await assertOnVrf('vrf0', IF0);
		const v4 = await ipJson<IpRoute>('-4', 'route', 'show', 'table', '10');
		const v6 = await ipJson<IpRoute>('-6', 'route', 'show', 'table', '10');
		expect(v4).toContainEqual(expect.objectContaining({dst: '10.10.10.0/24', gateway: '10.0.0.1'}));
		expect(v6).toContainEqual(expect.objectContaining({dst: '1111:dddd::/80', gateway: 'abcd:1234:ffff::1'}));
		for (const route of [...v4, ...v6].filter((r) => r.dev !== undefined)) expect(route.dev).toBe(IF0);
		// The global IPv6 address survived the enslave (re-added when the kernel dropped it).
		expect(await addresses(IF0, 'inet6')).toEqual([
			expect.objectContaining({local: 'abcd:1234:ffff::cd', prefixlen: 64}),
		]);
	});

	it('restores a global IPv6 address with DAD and waits for its local route in the VRF table', async () => {
		// No nodad: the re-added address is tentative until DAD ends, and so is its local route.
		await ip('address', 'add', 'abcd:1234:ffff::cd/64', 'dev', IF0);
		await ip('-6', 'route', 'add', '1111:dddd::/80', 'via', 'abcd:1234:ffff::1', 'dev', IF0);
		await run('ADD', conf('vrf0', IF0, ['abcd:1234:ffff::cd/64'], {table: 20}), IF0);
		expect(await addresses(IF0, 'inet6')).toEqual([expect.objectContaining({local: 'abcd:1234:ffff::cd'})]);
		expect(await ipJson<IpRoute>('-6', 'route', 'show', 'table', '20')).toContainEqual(
			expect.objectContaining({dst: 'abcd:1234:ffff::cd'}),
		);
		expect(await ipJson<IpRoute>('-6', 'route', 'show', 'table', '20')).toContainEqual(
			expect.objectContaining({dst: '1111:dddd::/80', gateway: 'abcd:1234:ffff::1'}),
		);
	});

	it('filters the correct routes to import to new VRF', async () => {
		await ip('address', 'add', '10.0.0.2/24', 'dev', IF0);
		await ip('address', 'add', '10.1.0.2/24', 'dev', IF1);
		await ip('route', 'add', '10.10.10.0/24', 'via', '10.0.0.1', 'dev', IF0);
		await ip('route', 'add', '10.20.20.0/24', 'via', '10.1.0.1', 'dev', IF1);
		await run('ADD', conf('vrf0', IF0, ['10.0.0.2/24'], {table: 10}), IF0);
		const routes = await ipJson<IpRoute>('route', 'show', 'table', '10', 'type', 'unicast');
		expect(routes.map((r) => r.dst).sort()).toEqual(['10.0.0.0/24', '10.10.10.0/24']);
		// The other interface's route stays in main.
		expect(await ipJson<IpRoute>('route', 'show', '10.20.20.0/24')).toHaveLength(1);
	});

	it('fails if the interface already has a master set', async () => {
		await ip('link', 'add', 'testbr', 'type', 'bridge');
		await ip('link', 'set', IF0, 'master', 'testbr');
		await expect(run('ADD', conf('vrf0', IF0, ['10.0.0.2/24']), IF0)).rejects.toMatchObject({
			message: expect.stringContaining('has already a master set'),
		});
		expect((await link(IF0))?.master).toBe('testbr');
		// The refused ADD leaves no VRF of its own behind.
		expect(await link('vrf0')).toBeUndefined();
	});

	describe.each([
		['added to the same vrf', 'vrf0', 'vrf0', '10.0.0.2/24', '10.0.0.3/24'],
		['added to different vrfs', 'vrf0', 'vrf1', '10.0.0.2/24', '10.0.0.3/24'],
		['added to different vrfs with same ip', 'vrf0', 'vrf1', '10.0.0.2/24', '10.0.0.2/24'],
		['added to the same vrf IPV6', 'vrf0', 'vrf0', 'abcd:1234:ffff::cd/64', 'abcd:1234:ffff::cc/64'],
		['added to different vrfs IPV6', 'vrf0', 'vrf1', 'abcd:1234:ffff::cd/64', 'abcd:1234:ffff::cc/64'],
		[
			'added to different vrfs with same ip IPV6',
			'vrf0',
			'vrf1',
			'abcd:1234:ffff::cd/64',
			'abcd:1234:ffff::cd/64',
		],
	])('handles two interfaces', (label, vrf0, vrf1, ip0, ip1) => {
		it(label, async () => {
			const v6 = ip0.includes(':');
			const family = v6 ? 'inet6' : 'inet';
			await ip('address', 'add', ip0, 'dev', IF0, ...(v6 ? ['nodad'] : []));
			await ip('address', 'add', ip1, 'dev', IF1, ...(v6 ? ['nodad'] : []));
			await run('ADD', conf(vrf0, IF0, [ip0]), IF0);
			await run('ADD', conf(vrf1, IF1, [ip1]), IF1);
			await assertOnVrf(vrf0, IF0);
			await assertOnVrf(vrf1, IF1);
			for (const [dev, cidr] of [
				[IF0, ip0],
				[IF1, ip1],
			] as const) {
				const [address, len] = cidr.split('/');
				expect(await addresses(dev, family)).toEqual([
					expect.objectContaining({local: address, prefixlen: Number(len)}),
				]);
			}
			if (vrf0 !== vrf1) expect(await vrfTable(vrf0)).not.toBe(await vrfTable(vrf1));
		});
	});

	describe.each(TABLE_ID_CONFLICTS)(
		'handles tableid conflicts',
		(label, vrf0, vrf1, table0, table1, error) => {
			it(label, async () => {
				await run('ADD', conf(vrf0, IF0, ['10.0.0.2/24'], {table: table0}), IF0);
				const second = run('ADD', conf(vrf1, IF1, ['10.0.0.3/24'], {table: table1}), IF1);
				if (error === undefined) {
					await second;
					expect(await vrfTable(vrf1)).toBe(table1);
					await assertOnVrf(vrf1, IF1);
				} else {
					await expect(second).rejects.toMatchObject({message: expect.stringContaining(error)});
				}
			});
		},
	);

	it('removes the VRF only when the last interface is removed', async () => {
		await run('ADD', conf('vrf0', IF0, ['10.0.0.2/24']), IF0);
		await run('ADD', conf('vrf0', IF1, ['10.0.0.3/24']), IF1);
		await run('DEL', conf('vrf0', IF0, ['10.0.0.2/24']), IF0);
		expect((await link(IF0))?.master).toBeUndefined();
		await assertOnVrf('vrf0', IF1);
		await run('DEL', conf('vrf0', IF1, ['10.0.0.3/24']), IF1);
		expect(await link('vrf0')).toBeUndefined();
	});

	it('a failed ADD removes the VRF it created; a repeated ADD leaves the interface in its VRF', async () => {
		await expect(run('ADD', conf('vrf1', 'missing0', []), 'missing0')).rejects.toMatchObject({
			message: 'failed to find interface "missing0" to add to VRF "vrf1"',
		});
		expect(await link('vrf1')).toBeUndefined();
		const config = conf('vrf0', IF0, ['10.0.0.2/24']);
		const result = await run('ADD', config, IF0);
		await expect(run('ADD', config, IF0)).rejects.toMatchObject({
			message: expect.stringContaining('has already a master set: "vrf0"'),
		});
		await assertOnVrf('vrf0', IF0);
		await run('CHECK', {...config, prevResult: result}, IF0);
	});

	it('configures and deconfigures VRF with CNI 0.4.0 ADD/DEL', async () => {
		const config = conf('vrf0', IF0, ['10.0.0.2/24'], {}, '0.4.0');
		const result = await run('ADD', config, IF0);
		await run('CHECK', {...config, prevResult: result}, IF0);
		await run('DEL', config, IF0);
		expect(await link('vrf0')).toBeUndefined();
		expect((await link(IF0))?.master).toBeUndefined();
	});

	it('picks the smallest free table among VRFs, reusing a freed one', async () => {
		await ip('link', 'add', 'other', 'type', 'vrf', 'table', '1');
		await ip('link', 'add', 'third', 'type', 'vrf', 'table', '3');
		await run('ADD', conf('vrf0', IF0, []), IF0);
		expect(await vrfTable('vrf0')).toBe(2);
	});

	it('CHECK fails once the interface has left the VRF', async () => {
		const config = conf('vrf0', IF0, ['10.0.0.2/24']);
		const result = await run('ADD', config, IF0);
		await ip('link', 'set', IF0, 'nomaster');
		await expect(run('CHECK', {...config, prevResult: result}, IF0)).rejects.toMatchObject({
			message: `failed to find "${IF0}" associated to vrf "vrf0"`,
		});
	});

	it('DEL twice, with the interface gone, and with the netns gone all succeed', async () => {
		const config = conf('vrf0', IF0, ['10.0.0.2/24']);
		await run('ADD', config, IF0);
		await ip('link', 'del', IF0);
		await run('DEL', config, IF0);
		expect(await link('vrf0')).toBeUndefined();
		await run('DEL', config, IF0);
		await execa('ip', ['netns', 'del', name]);
		await expect(run('DEL', config, IF0)).resolves.toBeUndefined();
	});

	it('ADD then DEL leaves nothing behind', async () => {
		await ip('address', 'add', '10.0.0.2/24', 'dev', IF0);
		await ip('route', 'add', '10.10.10.0/24', 'via', '10.0.0.1', 'dev', IF0);
		const before = (await ipJson<IpLink>('link', 'show')).map((l) => l.ifname).sort();
		const config = conf('vrf0', IF0, ['10.0.0.2/24']);
		await run('ADD', config, IF0);
		await run('DEL', config, IF0);
		expect((await ipJson<IpLink>('link', 'show')).map((l) => l.ifname).sort()).toEqual(before);
		expect((await link(IF0))?.master).toBeUndefined();
		expect(await ipJson<IpRoute>('route', 'show', 'table', '1')).toEqual([]);
	});
});
