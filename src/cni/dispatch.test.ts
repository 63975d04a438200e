import {describe, expect, test} from 'vitest';
import {type DispatchIo, dispatch} from './dispatch.ts';
import {CniError} from './errors.ts';
import type {CniPlugin, PluginRequest} from './plugin.ts';

/** A plugin that records its requests and answers ADD with a fixed result. */
function recordingPlugin(overrides: Partial<CniPlugin> = {}) {
	const seen: PluginRequest[] = [];
	const plugin: CniPlugin = {
		type: 'rec',
		supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'],
		add: async (req) => {
			seen.push(req);
			return {cniVersion: req.config['cniVersion'], ips: [{address: '10.0.0.2/24'}]};
		},
		del: async (req) => {
			seen.push(req);
		},
		check: async (req) => {
			seen.push(req);
		},
		...overrides,
	};
	return {plugin, seen};
}

const baseEnv = {
	CNI_CONTAINERID: 'c1',
	CNI_NETNS: '/var/run/netns/x',
	CNI_IFNAME: 'eth0',
	CNI_PATH: '/opt/cni/bin',
};
function io(command: string, conf: unknown, extra: Record<string, string> = {}): DispatchIo {
	const vars: Record<string, string> = {...baseEnv, CNI_COMMAND: command, ...extra};
	// Every config carries a network name, as libcni always injects one.
	const stdin = typeof conf === 'string' ? conf : JSON.stringify({name: 'n', ...(conf as object)});
	return {getenv: (k) => vars[k], stdin: Buffer.from(stdin)};
}

describe('dispatch', () => {
	test.each([
		['ADD', {cniVersion: '1.0.0', type: 'rec'}, 7, 'missing network name'],
		['DEL', {cniVersion: '1.0.0', name: '', type: 'rec'}, 7, 'missing network name'],
		[
			'CHECK',
			{cniVersion: '1.0.0', name: 'a b', type: 'rec'},
			7,
			'invalid characters found in network name "a b": must match ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$',
		],
		[
			'GC',
			{cniVersion: '1.1.0', name: 5, type: 'rec'},
			6,
			'failed to decode network config: "name" must be a string',
		],
	])(
		'%s refuses a config without a valid network name before calling the plugin (skel validateConfig)',
		async (command, conf, code, msg) => {
			const {plugin, seen} = recordingPlugin();
			const vars: Record<string, string> = {...baseEnv, CNI_COMMAND: command};
			const outcome = await dispatch(plugin, {
				getenv: (k) => vars[k],
				stdin: Buffer.from(JSON.stringify(conf)),
			});
			expect(outcome).toMatchObject({ok: false, error: {code, message: msg}});
			expect(seen).toEqual([]);
		},
	);

	test('VERSION reports the supported versions', async () => {
		const {plugin} = recordingPlugin();
		expect(await dispatch(plugin, io('VERSION', {cniVersion: '0.4.0'}))).toEqual({
			ok: true,
			stdout: JSON.stringify({cniVersion: '1.1.0', supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0']}),
		});
	});

	test('ADD hands the plugin the exact stdin bytes, the decoded config and the CNI_* values', async () => {
		const {plugin, seen} = recordingPlugin();
		const text = '{"cniVersion":"1.0.0","name":"n","type":"rec","zz":1,  "aa":{"k":[1,2]}}';
		const outcome = await dispatch(plugin, io('ADD', text, {CNI_ARGS: 'A=1'}));
		expect(outcome).toEqual({ok: true, stdout: '{"cniVersion":"1.0.0","ips":[{"address":"10.0.0.2/24"}]}'});
		expect(seen).toHaveLength(1);
		const req = seen[0]!;
		expect(Buffer.from(req.stdin).toString()).toBe(text);
		expect(req.config).toEqual({cniVersion: '1.0.0', name: 'n', type: 'rec', zz: 1, aa: {k: [1, 2]}});
		expect(req).toMatchObject({
			command: 'ADD',
			containerId: 'c1',
			netns: '/var/run/netns/x',
			ifname: 'eth0',
			args: 'A=1',
			path: ['/opt/cni/bin'],
		});
		expect(req.env['CNI_COMMAND']).toBe('ADD');
	});

	test('DEL and CHECK print nothing on success', async () => {
		const {plugin, seen} = recordingPlugin();
		expect(await dispatch(plugin, io('DEL', {cniVersion: '1.0.0', type: 'rec'}))).toEqual({
			ok: true,
			stdout: '',
		});
		expect(await dispatch(plugin, io('CHECK', {cniVersion: '0.4.0', type: 'rec'}))).toEqual({
			ok: true,
			stdout: '',
		});
		expect(seen.map((r) => r.command)).toEqual(['DEL', 'CHECK']);
	});

	test('an unsupported config version is code 1 and the plugin is not called', async () => {
		const {plugin, seen} = recordingPlugin();
		const outcome = await dispatch(plugin, io('ADD', {cniVersion: '0.2.0', type: 'rec'}));
		expect(outcome).toMatchObject({
			ok: false,
			cniVersion: '0.2.0',
			error: {code: 1, message: 'incompatible CNI versions'},
		});
		expect(outcome.ok ? '' : outcome.error.details).toContain('config is "0.2.0"');
		expect(seen).toHaveLength(0);
	});

	test('a config without cniVersion is read as 0.1.0', async () => {
		const {plugin} = recordingPlugin();
		const outcome = await dispatch(plugin, io('ADD', {type: 'rec'}));
		expect(outcome).toMatchObject({ok: false, error: {code: 1}});
		expect(outcome.ok ? '' : outcome.error.details).toContain('config is "0.1.0"');
	});

	test.each([
		['CHECK', '0.3.1', '0.4.0'],
		['STATUS', '1.0.0', '1.1.0'],
		['GC', '1.0.0', '1.1.0'],
	])('%s needs config version ≥ its introduction (code 1)', async (command, version, since) => {
		const {plugin} = recordingPlugin();
		const outcome = await dispatch(plugin, io(command, {cniVersion: version, type: 'rec'}));
		expect(outcome).toMatchObject({ok: false, error: {code: 1, message: expect.stringContaining(since)}});
	});

	test('STATUS and GC succeed when the plugin does not implement them', async () => {
		const {plugin} = recordingPlugin();
		expect(await dispatch(plugin, io('STATUS', {cniVersion: '1.1.0', type: 'rec'}))).toEqual({
			ok: true,
			stdout: '',
		});
		expect(await dispatch(plugin, io('GC', {cniVersion: '1.1.0', type: 'rec'}))).toEqual({
			ok: true,
			stdout: '',
		});
	});

	test('malformed JSON on stdin is code 6', async () => {
		const {plugin} = recordingPlugin();
		const outcome = await dispatch(plugin, io('ADD', '{"cniVersion":'));
		expect(outcome).toMatchObject({
			ok: false,
			error: {code: 6, message: expect.stringContaining('decode network config')},
		});
		const array = await dispatch(plugin, io('ADD', '[]'));
		expect(array).toMatchObject({ok: false, error: {code: 6}});
	});

	test('env errors come before stdin is decoded (code 4)', async () => {
		const {plugin} = recordingPlugin();
		const outcome = await dispatch(plugin, io('ADD', 'not json', {CNI_IFNAME: ''}));
		expect(outcome).toMatchObject({ok: false, error: {code: 4}});
	});

	test('a CniError from the plugin keeps its code; other throws become 999', async () => {
		const failing = recordingPlugin({
			add: async () => {
				throw new CniError(117, 'vlan 4095 is reserved', {details: 'pick 1..4094'});
			},
			del: async () => {
				throw new TypeError('boom');
			},
		}).plugin;
		const add = await dispatch(failing, io('ADD', {cniVersion: '1.0.0', type: 'rec'}));
		expect(add).toMatchObject({ok: false, cniVersion: '1.0.0', error: {code: 117, details: 'pick 1..4094'}});
		const del = await dispatch(failing, io('DEL', {cniVersion: '1.0.0', type: 'rec'}));
		expect(del).toMatchObject({ok: false, error: {code: 999, message: 'boom'}});
	});
});
