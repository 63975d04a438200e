import {beforeEach, describe, expect, it} from 'vitest';
import {SUPPORTED_VERSIONS, versionAtLeast} from '../../src/cni/versions.ts';
import {NetlinkModel} from '../../src/netlink/model.ts';
import type {Netlink} from '../../src/netlink/netlink.ts';
import {callPlugin, pluginRequest} from '../common/request.ts';
import {createRouteOverridePlugin} from './index.ts';

// Unit tests of route-override on the in-memory kernel, mirroring route-override_test.go;
// e2e/delegates/route-override.e2e.test.ts runs the same cases on the host kernel.

const POD = '/var/run/netns/pod';
const GW = '10.0.0.254';
const ROUTES = ['0.0.0.0/0', '30.0.0.0/24', '20.0.0.0/24'];

describe('route-override on the model', () => {
	let kernel: NetlinkModel;

	beforeEach(() => {
		kernel = new NetlinkModel();
		kernel.addNetns(POD);
		inPod((nl) => {
			nl.addLink({kind: 'dummy', name: 'dummy0', up: true});
			nl.addAddress('dummy0', '10.0.0.2/24');
			for (const dst of ROUTES) nl.addRoute({dst, gateway: GW, oif: 'dummy0'});
		});
	});

	function inPod<T>(fn: (nl: Netlink) => T): T {
		const nl = kernel.open(POD);
		try {
			return fn(nl);
		} finally {
			nl.close();
		}
	}

	const v4Routes = () => inPod((nl) => nl.listRoutes({family: 4, oif: 'dummy0'}));

	/** prevResult of the "main plugin", in `cniVersion`'s layout. */
	function prev(cniVersion: string): Record<string, unknown> {
		if (!versionAtLeast(cniVersion, '0.3.0')) {
			return {
				cniVersion,
				ip4: {ip: '10.0.0.2/24', gateway: GW, routes: ROUTES.map((dst) => ({dst, gw: GW}))},
				dns: {},
			};
		}
		const old = !versionAtLeast(cniVersion, '1.0.0');
		return {
			cniVersion,
			interfaces: [{name: 'dummy0', sandbox: POD}],
			ips: [{...(old ? {version: '4'} : {}), interface: 0, address: '10.0.0.2/24', gateway: GW}],
			routes: ROUTES.map((dst) => ({dst, gw: GW})),
			...(old ? {dns: {}} : {}),
		};
	}

	function run(command: 'ADD' | 'DEL' | 'CHECK', config: Record<string, unknown>) {
		const plugin = createRouteOverridePlugin({openNetlink: kernel.open});
		return callPlugin(plugin, pluginRequest(command, config, {netns: POD, ifname: 'dummy0'}));
	}

	const conf = (cniVersion: string, extra: Record<string, unknown>) => ({
		cniVersion,
		name: 'test',
		type: 'route-override',
		prevResult: prev(cniVersion),
		...extra,
	});

	it.each(SUPPORTED_VERSIONS)('[%s] passes prevResult through unchanged', async (ver) => {
		expect(await run('ADD', conf(ver, {}))).toEqual(prev(ver));
		expect(v4Routes()).toHaveLength(4);
	});

	it.each(SUPPORTED_VERSIONS)(
		'[%s] ADD/CHECK/DEL: delroutes amends result and kernel; CHECK fails on drift',
		async (ver) => {
			const config = conf(ver, {delroutes: [{dst: '20.0.0.0/24'}]});
			const result = (await run('ADD', config)) as Record<string, unknown>;
			const kept = ROUTES.slice(0, 2).map((dst) => ({dst, gw: GW}));
			if (versionAtLeast(ver, '0.3.0')) expect(result['routes']).toEqual(kept);
			else expect(result['ip4']).toMatchObject({routes: kept});
			expect(v4Routes().map((r) => r.dst)).not.toContain('20.0.0.0/24');
			const check = run('CHECK', {...config, prevResult: result});
			if (!versionAtLeast(ver, '0.4.0')) {
				await expect(check).rejects.toMatchObject({code: 1});
				return;
			}
			await check;
			inPod((nl) => nl.addRoute({dst: '20.0.0.0/24', gateway: GW, oif: 'dummy0'}));
			await expect(run('CHECK', {...config, prevResult: result})).rejects.toMatchObject({
				message: 'route-override: route is not removed: "20.0.0.0/24"',
			});
			await run('DEL', config);
			await run('DEL', config);
		},
	);

	it('check flushroutes clears all routes', async () => {
		const result = (await run('ADD', conf('0.4.0', {flushroutes: true}))) as Record<string, unknown>;
		expect(result['routes']).toBeUndefined();
		expect(v4Routes().map((r) => r.dst)).toEqual(['10.0.0.0/24']);
	});

	it('check flushgateway clears gw routes', async () => {
		const result = (await run('ADD', conf('0.4.0', {flushgateway: true}))) as Record<string, unknown>;
		expect(result['ips']).toEqual([expect.objectContaining({gateway: '0.0.0.0'})]);
		expect(result['routes']).toEqual(ROUTES.slice(1).map((dst) => ({dst, gw: GW})));
		expect(v4Routes()).toHaveLength(3);
		expect(v4Routes().map((r) => r.dst)).not.toContain('0.0.0.0/0');
	});

	it('check addroutes works (no gateway when none is given)', async () => {
		const result = (await run('ADD', conf('0.4.0', {addroutes: [{dst: '40.0.0.0/24'}]}))) as Record<
			string,
			unknown
		>;
		expect((result['routes'] as unknown[]).at(-1)).toEqual({dst: '40.0.0.0/24'});
		expect(inPod((nl) => nl.listRoutes({dst: '40.0.0.0/24'}))).toEqual([
			expect.objectContaining({gateway: undefined}),
		]);
	});

	it('args.cni overrides: flushroutes by args', async () => {
		await run('ADD', conf('1.0.0', {args: {cni: {flushroutes: true}}}));
		expect(v4Routes()).toHaveLength(1);
	});

	it('a delroutes entry the result does not list stays in the kernel (reference behaviour)', async () => {
		inPod((nl) => nl.addRoute({dst: '50.0.0.0/24', gateway: GW, oif: 'dummy0'}));
		await run('ADD', conf('1.0.0', {delroutes: [{dst: '50.0.0.0/24'}]}));
		expect(inPod((nl) => nl.listRoutes({dst: '50.0.0.0/24'}))).toHaveLength(1);
	});

	it('a kernel error fails ADD with the route named', async () => {
		await expect(
			run('ADD', conf('1.0.0', {addroutes: [{dst: '60.0.0.0/24', gw: '99.9.9.9'}]})),
		).rejects.toMatchObject({
			message: expect.stringMatching(/^failed to add route "60\.0\.0\.0\/24 via 99\.9\.9\.9" on "dummy0": /),
		});
	});

	it('1.1.0 route fields are kept and applied', async () => {
		const route = {dst: '70.0.0.0/24', gw: GW, mtu: 1400, advmss: 1360, priority: 5, table: 100};
		const result = (await run('ADD', conf('1.1.0', {addroutes: [route]}))) as Record<string, unknown>;
		expect((result['routes'] as unknown[]).at(-1)).toEqual(route);
		expect(inPod((nl) => nl.listRoutes({table: 100}))).toEqual([
			expect.objectContaining({dst: '70.0.0.0/24', mtu: 1400, advmss: 1360, metric: 5}),
		]);
	});

	it('ADD without prevResult is a code-7 error; DEL with the netns gone succeeds', async () => {
		await expect(run('ADD', {cniVersion: '1.0.0', name: 't', type: 'route-override'})).rejects.toMatchObject({
			code: 7,
		});
		kernel.deleteNetns(POD);
		await expect(run('DEL', conf('1.0.0', {}))).resolves.toBeUndefined();
	});

	it('skipcheck: CHECK passes without looking', async () => {
		inPod((nl) => nl.deleteRoute({dst: '30.0.0.0/24'}));
		await run('CHECK', conf('1.0.0', {skipcheck: true}));
		await expect(run('CHECK', conf('1.0.0', {}))).rejects.toMatchObject({
			message: 'route-override: route "30.0.0.0/24 via 10.0.0.254" not found',
		});
	});
});
