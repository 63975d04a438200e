import {randomBytes} from 'node:crypto';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';

// Smoke test of the real-kernel test bed (scripts/vm/run): proves that the kernel the `vm` project
// runs on has what the built-in delegates need (vrf, 8021q, dummy) and that traffic flows through
// a VRF between two namespaces. `ip` is the oracle here; nothing under test is Plexus code.

interface IpLink {
	ifname: string;
	ifindex: number;
	link?: string;
	master?: string;
	operstate: string;
	linkinfo?: {info_kind?: string; info_data?: {table?: number; id?: number}};
}

interface IpRoute {
	dst: string;
	dev: string;
	protocol?: string;
	scope?: string;
}

const ip = async (...args: string[]) => (await execa('ip', args)).stdout;

const ipJson = async <T>(...args: string[]): Promise<T[]> => JSON.parse(await ip('-json', ...args)) as T[];

async function showLink(netns: string, name: string): Promise<IpLink> {
	const [link] = await ipJson<IpLink>('-n', netns, '-details', 'link', 'show', 'dev', name);
	if (link === undefined) throw new Error(`link "${name}" not found in netns "${netns}"`);
	return link;
}

describe('vm test bed kernel', () => {
	const id = randomBytes(3).toString('hex');
	const left = `pxvm-l-${id}`;
	const right = `pxvm-r-${id}`;

	beforeEach(async () => {
		await ip('netns', 'add', left);
		await ip('netns', 'add', right);
	});

	afterEach(async () => {
		await execa('ip', ['netns', 'del', left], {reject: false});
		await execa('ip', ['netns', 'del', right], {reject: false});
	});

	it('pings across a VLAN on a veth that is enslaved to a VRF in both namespaces', async () => {
		await ip('-n', left, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth0', 'netns', right);
		const sides = [
			{netns: left, address: '10.100.0.1/24'},
			{netns: right, address: '10.100.0.2/24'},
		];
		for (const {netns, address} of sides) {
			await ip('-n', netns, 'link', 'add', 'blue', 'type', 'vrf', 'table', '10');
			await ip('-n', netns, 'link', 'add', 'link', 'veth0', 'name', 'veth0.100', 'type', 'vlan', 'id', '100');
			await ip('-n', netns, 'link', 'set', 'veth0.100', 'master', 'blue');
			await ip('-n', netns, 'address', 'add', address, 'dev', 'veth0.100');
			for (const name of ['lo', 'veth0', 'blue', 'veth0.100'])
				await ip('-n', netns, 'link', 'set', name, 'up');
		}

		for (const {netns} of sides) {
			const vrf = await showLink(netns, 'blue');
			expect(vrf.linkinfo?.info_kind).toBe('vrf');
			expect(vrf.linkinfo?.info_data?.table).toBe(10);
			const vlan = await showLink(netns, 'veth0.100');
			expect(vlan.linkinfo?.info_kind).toBe('vlan');
			expect(vlan.linkinfo?.info_data?.id).toBe(100);
			expect(vlan.link).toBe('veth0');
			expect(vlan.master).toBe('blue');
			// Enslaving moved the connected route out of the main table into the VRF's table.
			const vrfRoutes = await ipJson<IpRoute>('-n', netns, 'route', 'show', 'table', '10');
			expect(vrfRoutes).toContainEqual(expect.objectContaining({dst: '10.100.0.0/24', dev: 'veth0.100'}));
			const mainRoutes = await ipJson<IpRoute>('-n', netns, 'route', 'show', 'table', 'main');
			expect(mainRoutes.filter((route) => route.dev === 'veth0.100')).toEqual([]);
		}

		const ping = await execa('ip', [
			'netns',
			'exec',
			left,
			'ping',
			'-c',
			'2',
			'-i',
			'0.2',
			'-W',
			'5',
			'-I',
			'blue',
			'10.100.0.2',
		]);
		expect(ping.stdout).toMatch(/\b2 received\b/);
		// Outside the VRF the peer is unreachable: the route exists only in table 10.
		const outside = await execa('ip', ['netns', 'exec', left, 'ping', '-c', '1', '-W', '1', '10.100.0.2'], {
			reject: false,
		});
		expect(outside.exitCode).not.toBe(0);
	});

	it('creates a dummy link that comes up', async () => {
		await ip('-n', left, 'link', 'add', 'dummy0', 'type', 'dummy');
		await ip('-n', left, 'address', 'add', '192.0.2.1/32', 'dev', 'dummy0');
		await ip('-n', left, 'link', 'set', 'dummy0', 'up');
		const dummy = await showLink(left, 'dummy0');
		expect(dummy.linkinfo?.info_kind).toBe('dummy');
		expect(dummy.operstate).toBe('UNKNOWN');
		const [addresses] = await ipJson<{addr_info: {local: string; prefixlen: number}[]}>(
			'-n',
			left,
			'address',
			'show',
			'dev',
			'dummy0',
		);
		expect(addresses?.addr_info).toContainEqual(expect.objectContaining({local: '192.0.2.1', prefixlen: 32}));
	});
});
