import {mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {CniError} from '../cni/errors.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import {BuiltinPluginExec} from './builtin-exec.ts';
import {ChainExecutor, type RuntimeConf} from './executor.ts';
import {parseNetworkList} from './network-list.ts';
import {type FakeCall, type FakeHandler, FakePluginExec} from './testing/fake-exec.ts';

const BIN = '/fake/cni/bin';
let cacheDir: string;
beforeEach(async () => {
	cacheDir = await mkdtemp(join(tmpdir(), 'plexus-exec-'));
});
afterEach(async () => {
	await rm(cacheDir, {recursive: true, force: true});
});

/** A conflist from objects, keeping the exact text as its bytes. */
const list = (conf: Record<string, unknown>) => parseNetworkList(Buffer.from(JSON.stringify(conf)));

const rt: RuntimeConf = {
	containerId: 'ctr1',
	netns: '/var/run/netns/ctr1',
	ifname: 'net1',
	args: [
		['IgnoreUnknown', '1'],
		['K8S_POD_NAME', 'web'],
	],
	capabilityArgs: {mac: '0a:58:00:00:00:01', ips: ['10.1.0.5/24'], portMappings: [{hostPort: 80}]},
};

/** ADD answers: the first plugin creates an interface and address; later ones append to prevResult. */
const creates: FakeHandler = (call) =>
	call.command === 'ADD'
		? {
				cniVersion: call.config['cniVersion'],
				interfaces: [{name: 'net1', sandbox: 'x'}],
				ips: [{address: '10.1.0.5/24', interface: 0}],
			}
		: undefined;
const appendsRoute =
	(dst: string): FakeHandler =>
	(call) => {
		if (call.command !== 'ADD') return undefined;
		const prev = call.config['prevResult'] as {routes?: unknown[]};
		return {...prev, routes: [...(prev.routes ?? []), {dst}]};
	};
const ok: FakeHandler = () => undefined;

function setup(handlers: Record<string, FakeHandler>, env: Record<string, string> = {HOME: '/root'}) {
	const fake = new FakePluginExec(handlers, BIN);
	const executor = new ChainExecutor({path: ['/elsewhere', BIN], cacheDir, exec: fake, env});
	return {fake, executor};
}

const threeStep = list({
	cniVersion: '1.0.0',
	name: 'blue',
	plugins: [
		{type: 'main', bridge: 'br0', ipam: {type: 'static'}, unknownKey: {keep: [1, 2]}},
		{type: 'meta1', capabilities: {mac: true, ips: false}},
		{type: 'meta2', capabilities: {portMappings: true}, runtimeConfig: {stale: true}},
	],
});

describe('addNetworkList', () => {
	test('runs plugins in order, threading each result into the next as prevResult', async () => {
		const {fake, executor} = setup({
			main: creates,
			meta1: appendsRoute('10.2.0.0/16'),
			meta2: appendsRoute('10.3.0.0/16'),
		});
		const result = await executor.addNetworkList(threeStep, rt);
		expect(fake.calls.map((c) => c.type)).toEqual(['main', 'meta1', 'meta2']);
		expect(fake.calls[0]!.config).not.toHaveProperty('prevResult');
		expect(fake.calls[1]!.config['prevResult']).toEqual({
			cniVersion: '1.0.0',
			interfaces: [{name: 'net1', sandbox: 'x'}],
			ips: [{interface: 0, address: '10.1.0.5/24'}],
		});
		expect(fake.calls[2]!.config['prevResult']).toEqual({
			cniVersion: '1.0.0',
			interfaces: [{name: 'net1', sandbox: 'x'}],
			ips: [{interface: 0, address: '10.1.0.5/24'}],
			routes: [{dst: '10.2.0.0/16'}],
		});
		expect(result).toEqual({
			cniVersion: '1.0.0',
			interfaces: [{name: 'net1', sandbox: 'x'}],
			ips: [{interface: 0, address: '10.1.0.5/24'}],
			routes: [{dst: '10.2.0.0/16'}, {dst: '10.3.0.0/16'}],
		});
	});

	test('stdin is the original plugin object plus name/cniVersion/runtimeConfig, keys sorted like Go', async () => {
		const {fake, executor} = setup({
			main: creates,
			meta1: appendsRoute('10.2.0.0/16'),
			meta2: appendsRoute('10.3.0.0/16'),
		});
		await executor.addNetworkList(threeStep, rt);
		expect(fake.calls[0]!.stdin).toBe(
			'{"bridge":"br0","cniVersion":"1.0.0","ipam":{"type":"static"},"name":"blue","type":"main","unknownKey":{"keep":[1,2]}}',
		);
		// Only declared, enabled capabilities reach runtimeConfig.
		expect(fake.calls[1]!.config['runtimeConfig']).toEqual({mac: '0a:58:00:00:00:01'});
		expect(fake.calls[1]!.config['capabilities']).toEqual({mac: true, ips: false});
		expect(fake.calls[2]!.config['runtimeConfig']).toEqual({portMappings: [{hostPort: 80}]});
		// No capability → no runtimeConfig injected at all.
		expect(fake.calls[0]!.config).not.toHaveProperty('runtimeConfig');
	});

	test('a plugin whose capabilities match nothing keeps its own runtimeConfig untouched', async () => {
		const {fake, executor} = setup({main: creates, meta2: appendsRoute('10.3.0.0/16')});
		const conf = list({
			cniVersion: '1.0.0',
			name: 'n',
			plugins: [{type: 'main'}, {type: 'meta2', capabilities: {bandwidth: true}, runtimeConfig: {own: 1}}],
		});
		await executor.addNetworkList(conf, rt);
		expect(fake.calls[1]!.config['runtimeConfig']).toEqual({own: 1});
	});

	test('env is the caller env with the six CNI_* variables overriding it', async () => {
		const {fake, executor} = setup({main: creates}, {HOME: '/root', CNI_COMMAND: 'stale', CNI_IFNAME: 'old'});
		await executor.addNetworkList(list({cniVersion: '1.0.0', name: 'n', plugins: [{type: 'main'}]}), rt);
		expect(fake.calls[0]!.env).toEqual({
			HOME: '/root',
			CNI_COMMAND: 'ADD',
			CNI_CONTAINERID: 'ctr1',
			CNI_NETNS: '/var/run/netns/ctr1',
			CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web',
			CNI_IFNAME: 'net1',
			CNI_PATH: `/elsewhere:${BIN}`,
		});
		expect(fake.calls[0]!.pluginPath).toBe(`${BIN}/main`);
	});

	test('caches the final result in libcni layout: 0700 dir, 0600 file, cniCacheV1', async () => {
		const {executor} = setup({
			main: creates,
			meta1: appendsRoute('10.2.0.0/16'),
			meta2: appendsRoute('10.3.0.0/16'),
		});
		const result = await executor.addNetworkList(threeStep, rt);
		const file = join(cacheDir, 'results', 'blue-ctr1-net1');
		expect((await stat(join(cacheDir, 'results'))).mode & 0o777).toBe(0o700);
		expect((await stat(file)).mode & 0o777).toBe(0o600);
		expect(await readdir(join(cacheDir, 'results'))).toEqual(['blue-ctr1-net1']);
		const cached = JSON.parse(await readFile(file, 'utf8'));
		expect(Object.keys(cached)).toEqual([
			'kind',
			'containerId',
			'config',
			'ifName',
			'networkName',
			'netns',
			'cniArgs',
			'capabilityArgs',
			'result',
		]);
		expect(cached).toEqual({
			kind: 'cniCacheV1',
			containerId: 'ctr1',
			config: Buffer.from(threeStep.bytes).toString('base64'),
			ifName: 'net1',
			networkName: 'blue',
			netns: '/var/run/netns/ctr1',
			cniArgs: rt.args,
			capabilityArgs: rt.capabilityArgs,
			result,
		});
	});

	test('a failing 2nd plugin stops the chain, keeps its code, wraps like libcni, caches nothing', async () => {
		const {fake, executor} = setup({
			main: creates,
			meta1: () => {
				throw new CniError(117, 'no such master "eth9"', {details: 'd'});
			},
			meta2: appendsRoute('x'),
		});
		await expect(executor.addNetworkList(threeStep, rt)).rejects.toMatchObject({
			code: 117,
			message: 'plugin type="meta1" failed (add): no such master "eth9"',
			details: 'd',
		});
		expect(fake.calls.map((c) => c.type)).toEqual(['main', 'meta1']);
		await expect(readdir(join(cacheDir, 'results'))).rejects.toThrow();
	});

	test('a missing binary names the type and every directory searched (code 7)', async () => {
		const {executor} = setup({main: creates});
		const conf = list({cniVersion: '1.0.0', name: 'n', plugins: [{type: 'main'}, {type: 'nothere'}]});
		await expect(executor.addNetworkList(conf, rt)).rejects.toMatchObject({
			code: 7,
			message: `plugin type="nothere" failed (add): failed to find plugin "nothere" in path [/elsewhere ${BIN}]`,
		});
	});

	test.each(['../bin/bridge', 'a/b', '..'])(
		'a type like %j is refused with code 7 before any lookup',
		async (type) => {
			const {fake, executor} = setup({main: creates});
			const conf = list({cniVersion: '1.0.0', name: 'n', plugins: [{type}]});
			await expect(executor.addNetworkList(conf, rt)).rejects.toMatchObject({
				code: 7,
				message: expect.stringContaining(`invalid plugin type "${type}"`),
			});
			expect(fake.calls).toHaveLength(0);
		},
	);

	test.each([
		[{containerId: 'bad id'}, 4],
		[{containerId: ''}, 3],
		[{ifname: 'way-too-long-name0'}, 4],
	])('validates the runtime conf %j before running anything', async (override, code) => {
		const {fake, executor} = setup({main: creates});
		const conf = list({cniVersion: '1.0.0', name: 'n', plugins: [{type: 'main'}]});
		await expect(executor.addNetworkList(conf, {...rt, ...override})).rejects.toMatchObject({code});
		expect(fake.calls).toHaveLength(0);
	});

	test('the per-delegate timeout reaches every exec', async () => {
		const fake = new FakePluginExec({main: creates}, BIN);
		const executor = new ChainExecutor({path: [BIN], cacheDir, exec: fake, env: {}, timeoutMs: 1500});
		await executor.addNetworkList(list({cniVersion: '1.0.0', name: 'n', plugins: [{type: 'main'}]}), rt);
		expect(fake.calls.map((c) => c.timeoutMs)).toEqual([1500]);
	});

	test('a plugin answering garbage fails with code 6', async () => {
		const {executor} = setup({main: () => 'not a result'});
		const conf = list({cniVersion: '1.0.0', name: 'n', plugins: [{type: 'main'}]});
		await expect(executor.addNetworkList(conf, rt)).rejects.toMatchObject({code: 6});
	});
});

describe('in-process delegates', () => {
	const inproc: CniPlugin = {
		type: 'inproc',
		supportedVersions: ['1.0.0'],
		add: async (req) => {
			const prev = req.config['prevResult'] as Record<string, unknown>;
			return {
				...prev,
				routes: [{dst: '192.168.0.0/16', gw: req.env['CNI_IFNAME'] === 'net1' ? '10.1.0.1' : 'x'}],
			};
		},
		del: async () => undefined,
		check: async () => undefined,
	};

	test('are called before CNI_PATH, without exec, with prevResult and the same env', async () => {
		const fake = new FakePluginExec({main: creates, inproc: ok}, BIN);
		const executor = new ChainExecutor({
			path: [BIN],
			cacheDir,
			exec: new BuiltinPluginExec(fake, new Map([['inproc', inproc]])),
			env: {},
		});
		const conf = list({cniVersion: '1.0.0', name: 'n', plugins: [{type: 'main'}, {type: 'inproc'}]});
		const result = await executor.addNetworkList(conf, rt);
		expect(fake.calls.map((c) => c.type)).toEqual(['main']);
		expect(result).toMatchObject({routes: [{dst: '192.168.0.0/16', gw: '10.1.0.1'}]});
	});

	test('get the same version check as a binary (code 1)', async () => {
		const executor = new ChainExecutor({
			path: [BIN],
			cacheDir,
			exec: new BuiltinPluginExec(new FakePluginExec({}, BIN), new Map([['inproc', inproc]])),
			env: {},
		});
		const conf = list({cniVersion: '0.4.0', name: 'n', plugins: [{type: 'inproc'}]});
		await expect(executor.addNetworkList(conf, rt)).rejects.toMatchObject({
			code: 1,
			message: 'plugin type="inproc" failed (add): incompatible CNI versions',
		});
	});
});

describe('delNetworkList', () => {
	test('runs plugins in reverse with the cached result as prevResult, then removes the cache', async () => {
		const {fake, executor} = setup({
			main: creates,
			meta1: appendsRoute('10.2.0.0/16'),
			meta2: appendsRoute('10.3.0.0/16'),
		});
		const result = await executor.addNetworkList(threeStep, rt);
		await executor.delNetworkList(threeStep, rt);
		const dels = fake.callsOf('DEL');
		expect(dels.map((c) => c.type)).toEqual(['meta2', 'meta1', 'main']);
		for (const call of dels) expect(call.config['prevResult']).toEqual(result);
		expect(dels[1]!.config['runtimeConfig']).toEqual({mac: '0a:58:00:00:00:01'});
		expect(dels[0]!.env['CNI_COMMAND']).toBe('DEL');
		expect(await readdir(join(cacheDir, 'results'))).toEqual([]);
	});

	test('DEL twice: the second runs every plugin without prevResult and succeeds', async () => {
		const {fake, executor} = setup({main: creates, meta1: ok, meta2: ok});
		await executor.delNetworkList(threeStep, rt);
		expect(fake.callsOf('DEL').map((c) => c.type)).toEqual(['meta2', 'meta1', 'main']);
		for (const call of fake.callsOf('DEL')) expect(call.config).not.toHaveProperty('prevResult');
	});

	test('the cached result is converted to the config version', async () => {
		const {fake, executor} = setup({main: creates});
		await executor.addNetworkList(list({cniVersion: '1.0.0', name: 'n', plugins: [{type: 'main'}]}), rt);
		await executor.delNetworkList(list({cniVersion: '0.4.0', name: 'n', plugins: [{type: 'main'}]}), rt);
		expect(fake.callsOf('DEL')[0]!.config['prevResult']).toEqual({
			cniVersion: '0.4.0',
			interfaces: [{name: 'net1', sandbox: 'x'}],
			ips: [{version: '4', interface: 0, address: '10.1.0.5/24'}],
			dns: {},
		});
	});

	test('confs below 0.4.0 get no prevResult on DEL', async () => {
		const {fake, executor} = setup({
			main: (c) =>
				c.command === 'ADD'
					? {cniVersion: '0.3.1', ips: [{version: '4', address: '10.1.0.5/24'}]}
					: undefined,
		});
		const conf = list({cniVersion: '0.3.1', name: 'n', plugins: [{type: 'main'}]});
		await executor.addNetworkList(conf, rt);
		await executor.delNetworkList(conf, rt);
		expect(fake.callsOf('DEL')[0]!.config).not.toHaveProperty('prevResult');
		expect(await readdir(join(cacheDir, 'results'))).toEqual([]);
	});

	test('an unreadable cache file is removed and DEL goes on without prevResult', async () => {
		const {fake, executor} = setup({main: ok});
		const conf = list({cniVersion: '1.0.0', name: 'n', plugins: [{type: 'main'}]});
		await executor.cache.write({
			networkName: 'n',
			containerId: 'ctr1',
			ifname: 'net1',
			config: conf.bytes,
			netns: '',
			cniArgs: [],
			capabilityArgs: {},
			result: {cniVersion: '1.0.0'},
		});
		await writeFile(join(cacheDir, 'results', 'n-ctr1-net1'), '{broken');
		await executor.delNetworkList(conf, rt);
		expect(fake.callsOf('DEL')[0]!.config).not.toHaveProperty('prevResult');
		expect(await readdir(join(cacheDir, 'results'))).toEqual([]);
	});

	test('halts at the first failure and keeps the cache for a retry', async () => {
		const {fake, executor} = setup({
			main: creates,
			meta1: (call) => {
				if (call.command === 'DEL') throw new CniError(11, 'busy');
				return call.config['prevResult'];
			},
			meta2: (call) => (call.command === 'ADD' ? call.config['prevResult'] : undefined),
		});
		await executor.addNetworkList(threeStep, rt);
		await expect(executor.delNetworkList(threeStep, rt)).rejects.toMatchObject({
			code: 11,
			message: 'plugin type="meta1" failed (delete): busy',
		});
		expect(fake.callsOf('DEL').map((c) => c.type)).toEqual(['meta2', 'meta1']);
		expect(await readdir(join(cacheDir, 'results'))).toEqual(['blue-ctr1-net1']);
	});
});

describe('checkNetworkList', () => {
	test('runs every plugin in order with the cached result', async () => {
		const {fake, executor} = setup({
			main: creates,
			meta1: appendsRoute('10.2.0.0/16'),
			meta2: appendsRoute('10.3.0.0/16'),
		});
		const result = await executor.addNetworkList(threeStep, rt);
		await executor.checkNetworkList(threeStep, rt);
		const checks = fake.callsOf('CHECK');
		expect(checks.map((c) => c.type)).toEqual(['main', 'meta1', 'meta2']);
		for (const call of checks) expect(call.config['prevResult']).toEqual(result);
	});

	test('refuses configs below 0.4.0 with libcni wording', async () => {
		const {executor} = setup({main: ok});
		await expect(
			executor.checkNetworkList(list({cniVersion: '0.3.1', name: 'n', plugins: [{type: 'main'}]}), rt),
		).rejects.toMatchObject({
			code: 1,
			message: 'configuration version "0.3.1" does not support the CHECK command',
		});
	});

	test('disableCheck (also as the string "true") skips every plugin', async () => {
		const {fake, executor} = setup({main: ok});
		await executor.checkNetworkList(
			list({cniVersion: '1.0.0', name: 'n', disableCheck: 'true', plugins: [{type: 'main'}]}),
			rt,
		);
		expect(fake.calls).toHaveLength(0);
	});
});

describe('statusNetworkList', () => {
	test('is a no-op below 1.1.0', async () => {
		const {fake, executor} = setup({main: ok});
		await executor.statusNetworkList(list({cniVersion: '1.0.0', name: 'n', plugins: [{type: 'main'}]}));
		expect(fake.calls).toHaveLength(0);
	});

	test('sends only name/cniVersion with empty runtime vars and stops at the first error unwrapped', async () => {
		const {fake, executor} = setup({
			main: ok,
			ipamish: () => {
				throw new CniError(50, 'ipam store unavailable');
			},
			last: ok,
		});
		const conf = list({
			cniVersion: '1.1.0',
			name: 'n',
			plugins: [{type: 'main', capabilities: {mac: true}}, {type: 'ipamish'}, {type: 'last'}],
		});
		await expect(executor.statusNetworkList(conf)).rejects.toMatchObject({
			code: 50,
			message: 'ipam store unavailable',
		});
		expect(fake.calls.map((c) => c.type)).toEqual(['main', 'ipamish']);
		expect(fake.calls[0]!.stdin).toBe(
			'{"capabilities":{"mac":true},"cniVersion":"1.1.0","name":"n","type":"main"}',
		);
		expect(fake.calls[0]!.env).toMatchObject({
			CNI_COMMAND: 'STATUS',
			CNI_CONTAINERID: '',
			CNI_IFNAME: '',
			CNI_NETNS: '',
		});
	});
});

describe('gcNetworkList', () => {
	const gcList = list({cniVersion: '1.1.0', name: 'blue', plugins: [{type: 'main'}, {type: 'meta1'}]});
	const other = list({cniVersion: '1.1.0', name: 'red', plugins: [{type: 'main'}]});
	const keep: RuntimeConf = {...rt, containerId: 'keep', netns: '/run/netns/keep'};
	const stale: RuntimeConf = {
		containerId: 'stale',
		netns: '/run/netns/stale',
		ifname: 'net2',
		args: [['K8S_POD_NAME', 'old']],
		capabilityArgs: {mac: '0a:58:00:00:00:09'},
	};

	async function prime(executor: ChainExecutor) {
		await executor.addNetworkList(gcList, keep);
		await executor.addNetworkList(gcList, stale);
		await executor.addNetworkList(other, stale);
	}

	test('DELs stale attachments of this network with their cached args, then GCs every plugin', async () => {
		const {fake, executor} = setup({
			main: creates,
			meta1: (c) => (c.command === 'ADD' ? c.config['prevResult'] : undefined),
		});
		await prime(executor);
		fake.calls.length = 0;
		const valid = [{containerID: 'keep', ifname: 'net1'}];
		await executor.gcNetworkList(gcList, {validAttachments: valid});
		const dels = fake.callsOf('DEL');
		expect(dels.map((c: FakeCall) => [c.type, c.env['CNI_CONTAINERID'], c.env['CNI_IFNAME']])).toEqual([
			['meta1', 'stale', 'net2'],
			['main', 'stale', 'net2'],
		]);
		expect(dels[0]!.env).toMatchObject({CNI_NETNS: '/run/netns/stale', CNI_ARGS: 'K8S_POD_NAME=old'});
		expect(dels[0]!.config['prevResult']).toMatchObject({
			cniVersion: '1.1.0',
			ips: [{address: '10.1.0.5/24'}],
		});
		const gcs = fake.callsOf('GC');
		expect(gcs.map((c) => c.type)).toEqual(['main', 'meta1']);
		expect(gcs[0]!.config['cni.dev/valid-attachments']).toEqual(valid);
		expect(gcs[0]!.config['cni.dev/attachments']).toEqual(valid);
		expect(gcs[0]!.env).toMatchObject({CNI_CONTAINERID: '', CNI_IFNAME: '', CNI_NETNS: '', CNI_ARGS: ''});
		expect((await readdir(join(cacheDir, 'results'))).sort()).toEqual(['blue-keep-net1', 'red-stale-net2']);
	});

	test('without a valid list (cnitool gc) every cached attachment is stale and no list is sent', async () => {
		const {fake, executor} = setup({
			main: creates,
			meta1: (c) => (c.command === 'ADD' ? c.config['prevResult'] : undefined),
		});
		await prime(executor);
		fake.calls.length = 0;
		await executor.gcNetworkList(gcList);
		expect(fake.callsOf('DEL')).toHaveLength(4);
		expect(fake.callsOf('GC')[0]!.config).not.toHaveProperty('cni.dev/valid-attachments');
		expect(await readdir(join(cacheDir, 'results'))).toEqual(['red-stale-net2']);
	});

	test('below 1.1.0 only the stale DELs happen; disableGC does nothing', async () => {
		const {fake, executor} = setup({main: creates});
		const v100 = list({cniVersion: '1.0.0', name: 'green', plugins: [{type: 'main'}]});
		await executor.addNetworkList(v100, stale);
		fake.calls.length = 0;
		await executor.gcNetworkList({...v100, disableGC: true}, {validAttachments: []});
		expect(fake.calls).toHaveLength(0);
		await executor.gcNetworkList(v100, {validAttachments: []});
		expect(fake.calls.map((c) => c.command)).toEqual(['DEL']);
	});

	test('collects every failure into one error', async () => {
		const {executor} = setup({
			main: (c) => {
				if (c.command === 'ADD') return creates(c);
				throw new CniError(11, `${c.command.toLowerCase()} refused`);
			},
			meta1: (c) => (c.command === 'ADD' ? c.config['prevResult'] : undefined),
		});
		await executor.addNetworkList(gcList, stale);
		await expect(executor.gcNetworkList(gcList, {validAttachments: []})).rejects.toMatchObject({
			code: 11,
			message:
				'failed to delete stale attachment stale net2: plugin type="main" failed (delete): del refused; failed to GC plugin main: gc refused',
		});
	});
});

describe('progress and single-plugin DEL (what the meta-plugin undoes)', () => {
	const two = list({cniVersion: '1.0.0', name: 'blue', plugins: [{type: 'bridge'}, {type: 'tuning'}]});

	test('ADD announces each plugin before running it; one never found is never announced', async () => {
		const {fake, executor} = setup({bridge: creates});
		const events: string[] = [];
		const progress = {
			starting: async (i: number) => {
				events.push(`starting ${i} after ${fake.calls.length} calls`);
			},
			refused: async (i: number) => {
				events.push(`refused ${i}`);
			},
		};
		await expect(executor.addNetworkList(two, rt, progress)).rejects.toMatchObject({code: 7});
		expect(events).toEqual(['starting 0 after 0 calls']);
	});

	test('a plugin answering code 1 is reported as refused', async () => {
		const {executor} = setup({
			bridge: creates,
			tuning: () => {
				throw new CniError(1, 'incompatible CNI versions');
			},
		});
		const events: string[] = [];
		const progress = {
			starting: async (i: number) => void events.push(`starting ${i}`),
			refused: async (i: number) => void events.push(`refused ${i}`),
		};
		await expect(executor.addNetworkList(two, rt, progress)).rejects.toMatchObject({code: 1});
		expect(events).toEqual(['starting 0', 'starting 1', 'refused 1']);
	});

	test('delPlugin tells done, missing, invalid, refused and failed apart, and never throws', async () => {
		const {fake, executor} = setup({
			bridge: ok,
			tuning: () => {
				throw new CniError(1, 'incompatible CNI versions');
			},
			macvlan: () => {
				throw new CniError(11, 'busy');
			},
		});
		const step = (type: string) =>
			executor.delPlugin(two, {type, name: undefined, raw: {type}}, rt, undefined);
		expect(await step('bridge')).toEqual({outcome: 'done'});
		expect(fake.calls[0]?.config).toEqual({cniVersion: '1.0.0', name: 'blue', type: 'bridge'});
		expect(await step('ipvlan')).toMatchObject({
			outcome: 'missing',
			error: {type: 'ipvlan', path: ['/elsewhere', BIN]},
		});
		expect(await step('..')).toMatchObject({
			outcome: 'invalid',
			error: {message: 'plugin type=".." failed (delete): invalid plugin type "..": contains ".."'},
		});
		expect(await step('tuning')).toMatchObject({outcome: 'refused', error: {code: 1}});
		expect(await step('macvlan')).toMatchObject({
			outcome: 'failed',
			error: {code: 11, message: 'plugin type="macvlan" failed (delete): busy'},
		});
	});
});
