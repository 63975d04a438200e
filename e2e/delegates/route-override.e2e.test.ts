import {randomBytes} from 'node:crypto';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {callPlugin, pluginRequest} from '../../delegates/common/request.ts';
import {createRouteOverridePlugin} from '../../delegates/route-override/index.ts';
import {dispatch} from '../../src/cni/dispatch.ts';
import type {CniCommand} from '../../src/cni/plugin.ts';
import {openNetlink} from '../../src/netlink/kernel.ts';
import type {IpFamily, Route} from '../../src/netlink/netlink.ts';

// route-override on the host kernel, in a fresh netns per test. The port of
// cmd/route-override/route-override_test.go (redhat-nfvpe/cni-route-override): a "main plugin"
// (here: this file) puts an address and three gateway routes on the interface and describes them
// in prevResult; route-override then rewrites them. The reference uses a dummy link; this kernel
// has none, so the interface is one end of a veth pair whose other end stays in the same netns.

const plugin = createRouteOverridePlugin({openNetlink});

interface Fixture {
	readonly family: IpFamily;
	readonly address: string;
	readonly gateway: string;
	readonly otherGateway: string;
	readonly defaultDst: string;
	readonly routes: readonly string[];
	readonly added: string;
}

const V4: Fixture = {
	family: 4,
	address: '10.0.0.2/24',
	gateway: '10.0.0.254',
	otherGateway: '10.0.0.253',
	defaultDst: '0.0.0.0/0',
	routes: ['0.0.0.0/0', '30.0.0.0/24', '20.0.0.0/24'],
	added: '40.0.0.0/24',
};

const V6: Fixture = {
	family: 6,
	address: '2001:db8:1::2/64',
	gateway: '2001:db8:1::254',
	otherGateway: '2001:db8:1::253',
	defaultDst: '::/0',
	routes: ['::/0', '3001:db8::/64', '2002:db8::/64'],
	added: '4001:db8::/64',
};

const IFNAME = 'net1';

describe('route-override on a real kernel', () => {
	let name: string;
	let netns: string;

	beforeEach(async () => {
		name = `pxro-${randomBytes(4).toString('hex')}`;
		netns = `/var/run/netns/${name}`;
		await execa('ip', ['netns', 'add', name]);
		await ip('link', 'add', IFNAME, 'type', 'veth', 'peer', 'name', 'peer0');
		await ip('link', 'set', 'peer0', 'up');
		await ip('link', 'set', IFNAME, 'up');
	});

	afterEach(async () => {
		await execa('ip', ['netns', 'del', name], {reject: false});
	});

	const ip = (...args: string[]) => execa('ip', ['-n', name, ...args]);

	/** The main-table routes of a family on the interface, as the kernel reports them. */
	function kernelRoutes(family: IpFamily): Route[] {
		const nl = openNetlink(netns);
		try {
			// IPv6 link-local and multicast plumbing is not part of what the plugin touches.
			return nl.listRoutes({family, oif: IFNAME}).filter((r) => !r.dst.startsWith('fe80:'));
		} finally {
			nl.close();
		}
	}

	/** What the fake main plugin did: the address, DAD off, three routes via the gateway. */
	async function mainPlugin(fx: Fixture): Promise<Record<string, unknown>> {
		await ip('address', 'add', fx.address, 'dev', IFNAME, ...(fx.family === 6 ? ['nodad'] : []));
		for (const dst of fx.routes) await ip('route', 'add', dst, 'via', fx.gateway, 'dev', IFNAME);
		return {
			cniVersion: '0.4.0',
			interfaces: [{name: IFNAME, sandbox: netns}],
			ips: [{version: String(fx.family), interface: 0, address: fx.address, gateway: fx.gateway}],
			routes: fx.routes.map((dst) => ({dst, gw: fx.gateway})),
			dns: {},
		};
	}

	function conf(prevResult: Record<string, unknown>, extra: Record<string, unknown>, cniVersion = '0.4.0') {
		return {cniVersion, name: 'test', type: 'route-override', prevResult, ...extra};
	}

	async function run(command: CniCommand, config: Record<string, unknown>) {
		return callPlugin(plugin, pluginRequest(command, config, {netns, ifname: IFNAME}));
	}

	describe.each([
		['ipv4', V4],
		['ipv6', V6],
	])('route-override operations by conf, %s route manipulation', (_label, fx) => {
		it('passes prevResult through unchanged', async () => {
			const prev = await mainPlugin(fx);
			const result = await run('ADD', conf(prev, {}));
			expect(result).toEqual(prev);
			expect(kernelRoutes(fx.family)).toHaveLength(4);
		});

		it('check flushroutes clears all routes', async () => {
			const prev = await mainPlugin(fx);
			const result = await run('ADD', conf(prev, {flushroutes: true}));
			expect(result?.['routes']).toBeUndefined();
			const left = kernelRoutes(fx.family);
			expect(left).toHaveLength(1);
			expect(left[0]?.gateway).toBeUndefined();
		});

		it('check flushgateway clears gw routes', async () => {
			const prev = await mainPlugin(fx);
			const result = await run('ADD', conf(prev, {flushgateway: true}));
			const zero = fx.family === 4 ? '0.0.0.0' : '::';
			expect(result?.['ips']).toEqual([expect.objectContaining({gateway: zero})]);
			expect(result?.['routes']).toEqual(fx.routes.slice(1).map((dst) => ({dst, gw: fx.gateway})));
			const left = kernelRoutes(fx.family);
			expect(left).toHaveLength(3);
			expect(left.map((r) => r.dst)).not.toContain(fx.defaultDst);
		});

		it('check delroutes works', async () => {
			const prev = await mainPlugin(fx);
			const gone = fx.routes[2] ?? '';
			const result = await run('ADD', conf(prev, {delroutes: [{dst: gone}]}));
			expect(result?.['routes']).toEqual(fx.routes.slice(0, 2).map((dst) => ({dst, gw: fx.gateway})));
			const left = kernelRoutes(fx.family);
			expect(left).toHaveLength(3);
			expect(left.map((r) => r.dst)).not.toContain(gone);
		});

		it('check addroutes works', async () => {
			const prev = await mainPlugin(fx);
			const result = await run('ADD', conf(prev, {addroutes: [{dst: fx.added}]}));
			expect(result?.['routes']).toEqual([
				...fx.routes.map((dst) => ({dst, gw: fx.gateway})),
				{dst: fx.added},
			]);
			const added = kernelRoutes(fx.family).filter((r) => r.dst === fx.added);
			expect(added).toEqual([expect.objectContaining({gateway: undefined})]);
		});
	});

	describe.each([
		['ipv4', V4],
		['ipv6', V6],
	])('route-override operations by args, %s', (_label, fx) => {
		it('check flushroutes clears all routes', async () => {
			const prev = await mainPlugin(fx);
			const result = await run('ADD', conf(prev, {args: {cni: {flushroutes: true}}}));
			expect(result?.['routes']).toBeUndefined();
			expect(kernelRoutes(fx.family)).toHaveLength(1);
		});

		it('check delroutes works', async () => {
			const prev = await mainPlugin(fx);
			const gone = fx.routes[1] ?? '';
			await run('ADD', conf(prev, {args: {cni: {delroutes: [{dst: gone}]}}}));
			expect(kernelRoutes(fx.family).map((r) => r.dst)).not.toContain(gone);
		});

		it('check addroutes works', async () => {
			const prev = await mainPlugin(fx);
			const result = await run(
				'ADD',
				conf(prev, {args: {cni: {addroutes: [{dst: fx.added, gw: fx.gateway}]}}}),
			);
			expect(((result?.['routes'] ?? []) as unknown[]).at(-1)).toEqual({dst: fx.added, gw: fx.gateway});
			expect(kernelRoutes(fx.family).filter((r) => r.dst === fx.added)).toEqual([
				expect.objectContaining({gateway: fx.gateway}),
			]);
		});
	});

	describe('ipv4/v6 mixed route manipulation', () => {
		async function mixed() {
			const v4 = await mainPlugin(V4);
			const v6 = await mainPlugin(V6);
			return {
				...v4,
				ips: [...(v4['ips'] as unknown[]), ...(v6['ips'] as unknown[])],
				routes: [...(v4['routes'] as unknown[]), ...(v6['routes'] as unknown[])],
			};
		}

		it("pass cni's check command", async () => {
			const prev = await mixed();
			const config = conf(prev, {
				delroutes: [{dst: '20.0.0.0/24'}],
				addroutes: [{dst: V6.added, gw: V6.gateway}],
			});
			const result = await run('ADD', config);
			await expect(run('CHECK', {...config, prevResult: result})).resolves.toBeUndefined();
		});

		it("check cni's check command with error", async () => {
			const prev = await mixed();
			const config = conf(prev, {addroutes: [{dst: V4.added, gw: V4.gateway}]});
			const result = await run('ADD', config);
			// Drift: the kernel now routes 30.0.0.0/24 through another gateway.
			await ip('route', 'replace', '30.0.0.0/24', 'via', V4.otherGateway, 'dev', IFNAME);
			await expect(run('CHECK', {...config, prevResult: result})).rejects.toMatchObject({
				message: expect.stringContaining('route "30.0.0.0/24 via 10.0.0.254" has gateway 10.0.0.253'),
			});
		});

		it("skip cni's check command", async () => {
			const prev = await mixed();
			const config = conf(prev, {skipcheck: true});
			const result = await run('ADD', config);
			await ip('route', 'del', '30.0.0.0/24');
			await expect(run('CHECK', {...config, prevResult: result})).resolves.toBeUndefined();
		});
	});

	describe('Plexus behaviour', () => {
		it.each(['0.3.1', '0.4.0', '1.0.0', '1.1.0'])(
			'[%s] ADD amends prevResult through dispatch, CHECK passes, then fails after drift',
			async (cniVersion) => {
				const prev = await mainPlugin(V4);
				const config = conf({...prev, cniVersion}, {delroutes: [{dst: '20.0.0.0/24'}]}, cniVersion);
				const env: Record<string, string> = {
					CNI_COMMAND: 'ADD',
					CNI_CONTAINERID: 'ctr1',
					CNI_NETNS: netns,
					CNI_IFNAME: IFNAME,
					CNI_PATH: '/nonexistent',
				};
				const stdin = Buffer.from(JSON.stringify(config));
				const added = await dispatch(plugin, {getenv: (k) => env[k], stdin});
				expect(added).toMatchObject({ok: true});
				const result = JSON.parse(added.ok ? added.stdout : '{}') as Record<string, unknown>;
				expect(result['cniVersion']).toBe(cniVersion);
				expect(result['routes']).toEqual([
					{dst: '0.0.0.0/0', gw: V4.gateway},
					{dst: '30.0.0.0/24', gw: V4.gateway},
				]);
				const check = conf(result, {delroutes: [{dst: '20.0.0.0/24'}]}, cniVersion);
				if (cniVersion === '0.3.1') {
					await expect(run('CHECK', check)).rejects.toMatchObject({code: 1});
					return;
				}
				await expect(run('CHECK', check)).resolves.toBeUndefined();
				await ip('route', 'add', '20.0.0.0/24', 'via', V4.gateway, 'dev', IFNAME);
				await expect(run('CHECK', check)).rejects.toMatchObject({
					message: 'route-override: route is not removed: "20.0.0.0/24"',
				});
			},
		);

		it('1.1.0: added routes keep mtu/advmss/priority/table in the result and the kernel', async () => {
			const prev = {...(await mainPlugin(V4)), cniVersion: '1.1.0'};
			const route = {dst: '50.0.0.0/24', gw: V4.gateway, mtu: 1400, advmss: 1360, priority: 77, table: 100};
			const result = await run('ADD', conf(prev, {addroutes: [route]}, '1.1.0'));
			expect(((result?.['routes'] ?? []) as unknown[]).at(-1)).toEqual(route);
			const nl = openNetlink(netns);
			try {
				expect(nl.listRoutes({table: 100})).toEqual([
					expect.objectContaining({
						dst: '50.0.0.0/24',
						gateway: V4.gateway,
						mtu: 1400,
						advmss: 1360,
						metric: 77,
					}),
				]);
			} finally {
				nl.close();
			}
		});

		it('a kernel error fails ADD and names the route and the interface', async () => {
			const prev = await mainPlugin(V4);
			await expect(
				run('ADD', conf(prev, {addroutes: [{dst: '60.0.0.0/24', gw: '99.9.9.9'}]})),
			).rejects.toMatchObject({
				message: expect.stringMatching(/^failed to add route "60\.0\.0\.0\/24 via 99\.9\.9\.9" on "net1": /),
			});
		});

		it('adds routes through CNI_IFNAME, not the first sandbox interface of prevResult', async () => {
			const prev = await mainPlugin(V4);
			const withOther = {
				...prev,
				interfaces: [
					{name: 'peer0', sandbox: netns},
					{name: IFNAME, sandbox: netns},
				],
			};
			await run('ADD', conf(withOther, {addroutes: [{dst: V4.added, gw: V4.gateway}]}));
			const nl = openNetlink(netns);
			try {
				const index = nl.getLink(IFNAME).index;
				expect(nl.listRoutes({dst: V4.added})).toEqual([expect.objectContaining({oif: index})]);
			} finally {
				nl.close();
			}
		});

		it('ADD without prevResult is a code-7 error', async () => {
			await expect(
				run('ADD', {cniVersion: '1.0.0', name: 'test', type: 'route-override', flushroutes: true}),
			).rejects.toMatchObject({code: 7, message: 'route-override: required prevResult missing'});
		});

		it('DEL changes nothing, twice, and succeeds with the netns gone', async () => {
			const prev = await mainPlugin(V4);
			const config = conf(prev, {delroutes: [{dst: '20.0.0.0/24'}]});
			await run('ADD', config);
			const before = kernelRoutes(4);
			await run('DEL', config);
			await run('DEL', config);
			expect(kernelRoutes(4)).toEqual(before);
			await execa('ip', ['netns', 'del', name]);
			await expect(run('DEL', config)).resolves.toBeUndefined();
		});

		it('ADD then DEL of the chain leaves nothing once the interface goes', async () => {
			const prev = await mainPlugin(V4);
			const config = conf(prev, {addroutes: [{dst: V4.added, gw: V4.gateway}]});
			await run('ADD', config);
			await run('DEL', config);
			await ip('link', 'del', IFNAME);
			const nl = openNetlink(netns);
			try {
				expect(nl.listRoutes({family: 4, table: 'all'}).filter((r) => r.table !== 255)).toEqual([]);
			} finally {
				nl.close();
			}
		});
	});
});
