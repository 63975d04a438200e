import {describe, expect, test} from 'vitest';
import {CniError} from '../cni/errors.ts';
import type {CniPlugin, PluginRequest} from '../cni/plugin.ts';
import {BuiltinPluginExec, builtinPath, builtinTypeOf, ipamExecOf, isBuiltinPath} from './builtin-exec.ts';
import {FakePluginExec} from './testing/fake-exec.ts';

const BIN = '/opt/cni/bin';

/** A built-in that records the requests it gets and answers its prevResult. */
function recorded(type: string, seen: PluginRequest[]): CniPlugin {
	return {
		type,
		supportedVersions: ['0.4.0', '1.0.0'],
		add: async (request) => {
			seen.push(request);
			return {cniVersion: request.config['cniVersion'], ips: []};
		},
		del: async (request) => {
			seen.push(request);
			throw new CniError(11, 'busy');
		},
		check: async () => undefined,
	};
}

const env = {
	CNI_COMMAND: 'ADD',
	CNI_CONTAINERID: 'c1',
	CNI_NETNS: '/var/run/netns/c1',
	CNI_IFNAME: 'net1',
	CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
	CNI_PATH: BIN,
	HOME: '/root',
};

describe('BuiltinPluginExec', () => {
	test('finds a built-in by type before CNI_PATH, any other type on it', async () => {
		const binaries = new FakePluginExec({vrf: () => ({}), bridge: () => ({})}, BIN);
		const exec = new BuiltinPluginExec(binaries, new Map([['vrf', recorded('vrf', [])]]));
		expect(await exec.find('vrf', [BIN])).toBe(builtinPath('vrf'));
		expect(await exec.find('bridge', [BIN])).toBe(`${BIN}/bridge`);
		await expect(exec.find('macvlan', [BIN])).rejects.toMatchObject({
			code: 7,
			message: `failed to find plugin "macvlan" in path [${BIN}]`,
		});
		await expect(exec.find('../vrf', [BIN])).rejects.toMatchObject({code: 7});
		expect(exec.types).toEqual(['vrf']);
	});

	test('runs a built-in in-process with the exact stdin bytes and environment a binary gets', async () => {
		const seen: PluginRequest[] = [];
		const binaries = new FakePluginExec({}, BIN);
		const exec = new BuiltinPluginExec(binaries, new Map([['vrf', recorded('vrf', seen)]]));
		const stdin = Buffer.from('{"cniVersion":"1.0.0","name":"n","type":"vrf", "vrfname":"red"}');
		const out = await exec.exec({pluginPath: await exec.find('vrf', [BIN]), stdin, env});
		expect(JSON.parse(Buffer.from(out).toString())).toEqual({cniVersion: '1.0.0', ips: []});
		expect(binaries.calls).toEqual([]);
		expect(seen).toHaveLength(1);
		expect(Buffer.from(seen[0]!.stdin).equals(stdin)).toBe(true);
		expect(seen[0]).toMatchObject({
			command: 'ADD',
			containerId: 'c1',
			netns: '/var/run/netns/c1',
			ifname: 'net1',
			args: 'IgnoreUnknown=1;K8S_POD_NAME=web',
			path: [BIN],
			env,
		});
	});

	test("a built-in's failure is its CniError; a version it lacks is code 1; VERSION answers in-process", async () => {
		const exec = new BuiltinPluginExec(new FakePluginExec({}, BIN), new Map([['vrf', recorded('vrf', [])]]));
		const pluginPath = builtinPath('vrf');
		const conf = (v: string) => Buffer.from(JSON.stringify({cniVersion: v, name: 'n', type: 'vrf'}));
		await expect(
			exec.exec({pluginPath, stdin: conf('1.0.0'), env: {...env, CNI_COMMAND: 'DEL'}}),
		).rejects.toMatchObject({code: 11, message: 'busy'});
		await expect(exec.exec({pluginPath, stdin: conf('0.3.1'), env})).rejects.toMatchObject({code: 1});
		const version = await exec.exec({pluginPath, stdin: conf('1.0.0'), env: {CNI_COMMAND: 'VERSION'}});
		expect(JSON.parse(Buffer.from(version).toString())).toEqual({
			cniVersion: '1.0.0',
			supportedVersions: ['0.4.0', '1.0.0'],
		});
	});

	test("a binary's run goes to the wrapped exec unchanged; an unregistered built-in path is refused", async () => {
		const binaries = new FakePluginExec({bridge: () => ({cniVersion: '1.0.0'})}, BIN);
		const exec = new BuiltinPluginExec(binaries, new Map());
		const stdin = Buffer.from('{"cniVersion":"1.0.0","name":"n","type":"bridge"}');
		await exec.exec({pluginPath: `${BIN}/bridge`, stdin, env, timeoutMs: 5});
		expect(binaries.calls.map((c) => [c.pluginPath, c.stdin, c.timeoutMs])).toEqual([
			[`${BIN}/bridge`, stdin.toString(), 5],
		]);
		await expect(exec.exec({pluginPath: builtinPath('vlan'), stdin, env})).rejects.toMatchObject({code: 7});
	});

	test('lazy built-ins: found by name without loading; loaded once, on the first built-in run', async () => {
		const seen: PluginRequest[] = [];
		let loads = 0;
		const binaries = new FakePluginExec({bridge: () => ({cniVersion: '1.0.0'})}, BIN);
		const exec = new BuiltinPluginExec(binaries, {
			types: new Set(['vrf']),
			load: async () => {
				loads++;
				return new Map([['vrf', recorded('vrf', seen)]]);
			},
		});
		expect(await exec.find('vrf', [BIN])).toBe(builtinPath('vrf'));
		const bridgeStdin = Buffer.from('{"cniVersion":"1.0.0","name":"n","type":"bridge"}');
		await exec.exec({pluginPath: await exec.find('bridge', [BIN]), stdin: bridgeStdin, env});
		expect(exec.types).toEqual(['vrf']);
		expect(loads).toBe(0);
		const stdin = Buffer.from('{"cniVersion":"1.0.0","name":"n","type":"vrf","vrfname":"red"}');
		await exec.exec({pluginPath: builtinPath('vrf'), stdin, env});
		await exec.exec({pluginPath: builtinPath('vrf'), stdin, env});
		expect(loads).toBe(1);
		expect(seen).toHaveLength(2);
		await expect(exec.exec({pluginPath: builtinPath('vlan'), stdin, env})).rejects.toMatchObject({code: 7});
	});

	test('warm loads the built-ins during the next binary run only when a type names one, once; a failed load fails the run', async () => {
		let loads = 0;
		const seen: PluginRequest[] = [];
		const binaries = new FakePluginExec({bridge: () => ({cniVersion: '1.0.0'})}, BIN);
		const bridge = {
			pluginPath: `${BIN}/bridge`,
			stdin: Buffer.from('{"cniVersion":"1.0.0","name":"n","type":"bridge"}'),
			env,
		};
		const exec = new BuiltinPluginExec(binaries, {
			types: new Set(['vrf']),
			load: async () => {
				loads++;
				return new Map([['vrf', recorded('vrf', seen)]]);
			},
		});
		exec.warm(['bridge', 'tuning']);
		await exec.exec(bridge);
		expect(loads).toBe(0);
		exec.warm(['bridge', 'vrf']);
		exec.warm(['vrf']);
		expect(loads).toBe(0);
		await exec.exec(bridge);
		await exec.exec(bridge);
		expect(loads).toBe(1);
		const stdin = Buffer.from('{"cniVersion":"1.0.0","name":"n","type":"vrf","vrfname":"red"}');
		await exec.exec({pluginPath: builtinPath('vrf'), stdin, env});
		expect([loads, seen.length]).toEqual([1, 1]);

		const broken = new BuiltinPluginExec(binaries, {
			types: new Set(['vrf']),
			load: async () => {
				throw new Error('addon missing');
			},
		});
		broken.warm(['vrf']);
		await broken.exec(bridge); // no unhandled rejection: the vrf run below reports the failure
		await expect(broken.exec({pluginPath: builtinPath('vrf'), stdin, env})).rejects.toThrow('addon missing');
	});

	test('duringNextRun starts its tasks once the next binary has been handed to the exec, not for a built-in; flush starts the rest', async () => {
		const order: string[] = [];
		const binaries = new FakePluginExec({bridge: () => ({cniVersion: '1.0.0'})}, BIN);
		const exec = new BuiltinPluginExec(
			{
				find: (t, p) => binaries.find(t, p),
				exec: (r) => {
					order.push('spawn');
					return binaries.exec(r);
				},
			},
			new Map([['vrf', recorded('vrf', [])]]),
		);
		const bridge = {pluginPath: `${BIN}/bridge`, stdin: Buffer.from('{"cniVersion":"1.0.0"}'), env};
		exec.duringNextRun(() => order.push('event 1'));
		exec.duringNextRun(() => order.push('event 2'));
		const stdin = Buffer.from('{"cniVersion":"1.0.0","name":"n","type":"vrf","vrfname":"red"}');
		await exec.exec({pluginPath: builtinPath('vrf'), stdin, env});
		expect(order).toEqual([]);
		const run = exec.exec(bridge);
		expect(order).toEqual(['spawn', 'event 1', 'event 2']);
		await run;
		exec.duringNextRun(() => order.push('event 3'));
		exec.flush();
		exec.flush();
		await exec.exec(bridge);
		expect(order).toEqual(['spawn', 'event 1', 'event 2', 'event 3', 'spawn']);
	});

	test('no binary path is ever taken for a built-in (path.join leaves no "//")', () => {
		expect(isBuiltinPath(builtinPath('route-override'))).toBe(true);
		expect(builtinTypeOf(builtinPath('route-override'))).toBe('route-override');
		for (const path of [`${BIN}/vrf`, 'builtin:/vrf', 'vrf', './builtin/vrf'])
			expect(isBuiltinPath(path)).toBe(false);
	});
});

describe('ipamExecOf', () => {
	test('finds binaries only and runs through the seam it is given', async () => {
		const binaries = new FakePluginExec({static: () => ({cniVersion: '1.0.0', ips: []})}, BIN);
		const seam = new BuiltinPluginExec(binaries, new Map([['static', recorded('static', [])]]));
		const runs: string[] = [];
		const ipam = ipamExecOf(binaries, () => ({
			find: (t, p) => seam.find(t, p),
			exec: (r) => {
				runs.push(r.pluginPath);
				return seam.exec(r);
			},
		}));
		const path = await ipam.find('static', [BIN]);
		expect(path).toBe(`${BIN}/static`);
		await ipam.exec({pluginPath: path, stdin: Buffer.from('{"cniVersion":"1.0.0","name":"n"}'), env});
		expect(runs).toEqual([`${BIN}/static`]);
		expect(binaries.calls.map((c) => c.type)).toEqual(['static']);
	});
});
