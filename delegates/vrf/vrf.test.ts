import {beforeEach, describe, expect, it} from 'vitest';
import {NetlinkModel} from '../../src/netlink/model.ts';
import type {Link} from '../../src/netlink/netlink.ts';
import {pluginRequest} from '../common/request.ts';
import {createVrfPlugin, VRF_VERSIONS} from './index.ts';
import {TABLE_ID_CONFLICTS, vrfPrevResult} from './testing/test-cases.ts';
import {freeTableId} from './vrf.ts';

// Unit tests of the vrf delegate on the in-memory kernel (src/netlink/model.ts), mirroring
// plugins/meta/vrf/vrf_test.go; e2e/delegates/vrf.vm.test.ts runs the same cases on a real kernel.

const NETNS = '/var/run/netns/pod';

function vrfLink(table: number): Link {
	return {kind: 'vrf', vrf: {table}} as Link;
}

describe('When looking for a table id', () => {
	it.each([
		['Finds first free one', [1, 2, 3, 5], 4],
		['Ignores non VRFs free one', [1, 2, 'dummy', 5], 3],
		['Takes the first when no vrfs are there', [], 1],
		['Works with 999 vrfs already assigned', Array.from({length: 999}, (_, i) => i + 1), 1000],
		['Skips default, main and local (253-255)', Array.from({length: 252}, (_, i) => i + 1), 256],
	] as const)('%s', (_label, tables, expected) => {
		const links = tables.map((t) => (t === 'dummy' ? ({kind: 'dummy'} as Link) : vrfLink(t)));
		expect(freeTableId(links)).toBe(expected);
	});
});

describe('vrf on the model', () => {
	let kernel: NetlinkModel;
	const plugin = () => createVrfPlugin({openNetlink: kernel.open});

	beforeEach(() => {
		kernel = new NetlinkModel();
		kernel.addNetns(NETNS);
		const nl = kernel.open(NETNS);
		for (const name of ['dummy0', 'dummy1']) nl.addLink({kind: 'dummy', name, up: true});
		nl.close();
	});

	const pod = () => kernel.open(NETNS);

	function conf(
		vrfname: string,
		ifname: string,
		addrs: string[],
		extra: Record<string, unknown> = {},
		cniVersion = '1.0.0',
	) {
		return {
			cniVersion,
			name: 'net1',
			type: 'vrf',
			vrfname,
			prevResult: vrfPrevResult(cniVersion, NETNS, ifname, addrs),
			...extra,
		};
	}

	const req = (command: 'ADD' | 'DEL' | 'CHECK', config: Record<string, unknown>, ifname: string) =>
		pluginRequest(command, config, {netns: NETNS, ifname});
	const add = (config: Record<string, unknown>, ifname: string) => plugin().add(req('ADD', config, ifname));
	const del = (config: Record<string, unknown>, ifname: string) => plugin().del(req('DEL', config, ifname));
	const check = (config: Record<string, unknown>, ifname: string) =>
		plugin().check(req('CHECK', config, ifname));

	function masterOf(ifname: string): string | undefined {
		const nl = pod();
		try {
			const index = nl.getLink(ifname).masterIndex;
			return index === undefined ? undefined : nl.getLink(index).name;
		} finally {
			nl.close();
		}
	}

	it.each(VRF_VERSIONS)('[%s] passes prevResult through unchanged', async (version) => {
		const config = conf('vrf0', 'dummy0', ['10.0.0.2/24'], {}, version);
		expect(await add(config, 'dummy0')).toEqual(config.prevResult);
	});

	it('configures a VRF and adds the interface to it; connected routes follow into its table', async () => {
		const nl = pod();
		nl.addAddress('dummy0', '10.0.0.2/24');
		nl.close();
		await add(conf('vrf0', 'dummy0', ['10.0.0.2/24']), 'dummy0');
		expect(masterOf('dummy0')).toBe('vrf0');
		const after = pod();
		expect(after.getLink('vrf0')).toMatchObject({kind: 'vrf', up: true, vrf: {table: 1}});
		expect(after.listRoutes({family: 4, table: 1, type: 'unicast'}).map((r) => r.dst)).toEqual([
			'10.0.0.0/24',
		]);
		after.close();
	});

	it('adds the interface and custom routing to new VRF (routes re-added, IPv6 address restored)', async () => {
		const nl = pod();
		nl.addAddress('dummy0', '10.0.0.2/24');
		nl.addAddress('dummy0', 'abcd:1234:ffff::cd/64');
		nl.addRoute({dst: '10.10.10.0/24', gateway: '10.0.0.1', oif: 'dummy0'});
		nl.addRoute({dst: '1111:dddd::/80', gateway: 'abcd:1234:ffff::1', oif: 'dummy0'});
		nl.close();
		await add(conf('vrf0', 'dummy0', ['10.0.0.2/24', 'abcd:1234:ffff::cd/64'], {table: 10}), 'dummy0');
		const after = pod();
		const index = after.getLink('dummy0').index;
		const routes = after.listRoutes({table: 10, type: 'unicast'});
		expect(routes).toContainEqual(expect.objectContaining({dst: '10.10.10.0/24', gateway: '10.0.0.1'}));
		expect(routes).toContainEqual(
			expect.objectContaining({dst: '1111:dddd::/80', gateway: 'abcd:1234:ffff::1'}),
		);
		for (const route of routes) expect(route.oif).toBe(index);
		expect(after.listAddresses({link: 'dummy0', family: 6}).filter((a) => a.scope === 'universe')).toEqual([
			expect.objectContaining({cidr: 'abcd:1234:ffff::cd/64'}),
		]);
		after.close();
	});

	it('filters the correct routes to import to new VRF', async () => {
		const nl = pod();
		nl.addAddress('dummy0', '10.0.0.2/24');
		nl.addAddress('dummy1', '10.1.0.2/24');
		nl.addRoute({dst: '10.10.10.0/24', gateway: '10.0.0.1', oif: 'dummy0'});
		nl.addRoute({dst: '10.20.20.0/24', gateway: '10.1.0.1', oif: 'dummy1'});
		nl.close();
		await add(conf('vrf0', 'dummy0', ['10.0.0.2/24'], {table: 10}), 'dummy0');
		const after = pod();
		expect(
			after
				.listRoutes({family: 4, table: 10, type: 'unicast'})
				.map((r) => r.dst)
				.sort(),
		).toEqual(['10.0.0.0/24', '10.10.10.0/24']);
		expect(after.listRoutes({dst: '10.20.20.0/24'})).toHaveLength(1);
		after.close();
	});

	it('fails if the interface already has a master set', async () => {
		const nl = pod();
		nl.addLink({kind: 'bridge', name: 'testbr'});
		nl.setLink('dummy0', {master: 'testbr'});
		nl.close();
		await expect(add(conf('vrf0', 'dummy0', []), 'dummy0')).rejects.toMatchObject({
			code: 7,
			message: expect.stringContaining('has already a master set'),
		});
		expect(masterOf('dummy0')).toBe('testbr');
		// The refused ADD leaves no VRF of its own behind.
		const after = pod();
		expect(after.findLink('vrf0')).toBeUndefined();
		after.close();
	});

	it('a failed ADD keeps a VRF that existed before it, with its members', async () => {
		await add(conf('vrf0', 'dummy1', []), 'dummy1');
		await expect(add(conf('vrf0', 'missing0', []), 'missing0')).rejects.toMatchObject({
			message: 'failed to find interface "missing0" to add to VRF "vrf0"',
		});
		expect(masterOf('dummy1')).toBe('vrf0');
	});

	it('a repeated ADD is refused and leaves the interface in its VRF', async () => {
		const config = conf('vrf0', 'dummy0', []);
		await add(config, 'dummy0');
		await expect(add(config, 'dummy0')).rejects.toMatchObject({
			code: 7,
			message: expect.stringContaining('has already a master set: "vrf0"'),
		});
		expect(masterOf('dummy0')).toBe('vrf0');
		await check(config, 'dummy0');
	});

	it('a failed ADD into a VRF that existed without members does not delete it', async () => {
		const nl = pod();
		nl.addLink({kind: 'vrf', name: 'vrf9', table: 9, up: true});
		nl.close();
		await expect(add(conf('vrf9', 'missing0', []), 'missing0')).rejects.toMatchObject({code: 999});
		const after = pod();
		expect(after.findLink('vrf9')?.vrf?.table).toBe(9);
		after.close();
	});

	it('fails when a non-VRF link has the VRF name', async () => {
		await expect(add(conf('dummy1', 'dummy0', []), 'dummy0')).rejects.toMatchObject({
			code: 7,
			message: 'link "dummy1" exists and is not a VRF',
		});
	});

	it.each([
		['added to the same vrf', 'vrf0', 'vrf0'],
		['added to different vrfs', 'vrf0', 'vrf1'],
	])('handles two interfaces: %s', async (_label, vrf0, vrf1) => {
		await add(conf(vrf0, 'dummy0', []), 'dummy0');
		await add(conf(vrf1, 'dummy1', []), 'dummy1');
		expect([masterOf('dummy0'), masterOf('dummy1')]).toEqual([vrf0, vrf1]);
		const nl = pod();
		if (vrf0 !== vrf1) expect(nl.getLink(vrf0).vrf?.table).not.toBe(nl.getLink(vrf1).vrf?.table);
		nl.close();
	});

	it.each(TABLE_ID_CONFLICTS)(
		'handles tableid conflicts: %s',
		async (_label, vrf0, vrf1, table0, table1, error) => {
			await add(conf(vrf0, 'dummy0', [], {table: table0}), 'dummy0');
			const second = add(conf(vrf1, 'dummy1', [], {table: table1}), 'dummy1');
			if (error === undefined) await expect(second).resolves.toBeDefined();
			else await expect(second).rejects.toMatchObject({code: 7, message: expect.stringContaining(error)});
		},
	);

	it('removes the VRF only when the last interface is removed', async () => {
		await add(conf('vrf0', 'dummy0', []), 'dummy0');
		await add(conf('vrf0', 'dummy1', []), 'dummy1');
		await del(conf('vrf0', 'dummy0', []), 'dummy0');
		expect(masterOf('dummy0')).toBeUndefined();
		expect(masterOf('dummy1')).toBe('vrf0');
		await del(conf('vrf0', 'dummy1', []), 'dummy1');
		const nl = pod();
		expect(nl.findLink('vrf0')).toBeUndefined();
		nl.close();
	});

	it.each(VRF_VERSIONS)('[%s] CHECK passes after ADD and fails after drift', async (version) => {
		const config = conf('vrf0', 'dummy0', ['10.0.0.2/24'], {}, version);
		const result = await add(config, 'dummy0');
		const checked = check({...config, prevResult: result}, 'dummy0');
		if (version === '0.3.1') {
			await expect(checked).rejects.toMatchObject({code: 1, message: 'config version does not allow CHECK'});
			return;
		}
		await checked;
		const nl = pod();
		nl.setLink('dummy0', {master: null});
		nl.close();
		await expect(check({...config, prevResult: result}, 'dummy0')).rejects.toMatchObject({
			message: 'failed to find "dummy0" associated to vrf "vrf0"',
		});
	});

	it('ADD and CHECK need prevResult; a version below 0.3.1 is refused', async () => {
		const {prevResult: _, ...bare} = conf('vrf0', 'dummy0', []);
		await expect(add(bare, 'dummy0')).rejects.toMatchObject({
			code: 7,
			message: 'missing prevResult from earlier plugin',
		});
		await expect(check(bare, 'dummy0')).rejects.toMatchObject({code: 7});
		await expect(add(conf('vrf0', 'dummy0', [], {}, '0.2.0'), 'dummy0')).rejects.toMatchObject({code: 1});
	});

	it('DEL twice, with the interface gone, and with the netns gone all succeed', async () => {
		const config = conf('vrf0', 'dummy0', []);
		await add(config, 'dummy0');
		const nl = pod();
		nl.deleteLink('dummy0');
		nl.close();
		await del(config, 'dummy0');
		await del(config, 'dummy0');
		kernel.deleteNetns(NETNS);
		await expect(del(config, 'dummy0')).resolves.toBeUndefined();
	});

	it('DEL leaves an interface alone that another master has taken meanwhile', async () => {
		await add(conf('vrf0', 'dummy0', []), 'dummy0');
		const nl = pod();
		nl.setLink('dummy0', {master: null});
		nl.addLink({kind: 'bridge', name: 'br0'});
		nl.setLink('dummy0', {master: 'br0'});
		nl.close();
		await del(conf('vrf0', 'dummy0', []), 'dummy0');
		expect(masterOf('dummy0')).toBe('br0');
	});

	it('ADD then DEL leaves nothing behind', async () => {
		const nl = pod();
		nl.addAddress('dummy0', '10.0.0.2/24');
		nl.addRoute({dst: '10.10.10.0/24', gateway: '10.0.0.1', oif: 'dummy0'});
		const before = nl.listLinks().map((l) => l.name);
		nl.close();
		const config = conf('vrf0', 'dummy0', ['10.0.0.2/24']);
		await add(config, 'dummy0');
		await del(config, 'dummy0');
		const after = pod();
		expect(after.listLinks().map((l) => l.name)).toEqual(before);
		expect(after.listRoutes({table: 1})).toEqual([]);
		after.close();
	});
});
