import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {confListFromConf, loadNetworkConf, parseNetworkList} from './network-list.ts';

const bytes = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

describe('parseNetworkList', () => {
	test('keeps the raw plugin objects and bytes; selects the version', () => {
		const text =
			'{"cniVersion":"0.4.0","cniVersions":["1.0.0","1.2.0"],"name":"n","plugins":[{"type":"bridge","x":{"y":1}}]}';
		const list = parseNetworkList(bytes(text));
		expect(list).toMatchObject({name: 'n', cniVersion: '1.0.0', disableCheck: false, disableGC: false});
		expect(list.plugins).toEqual([{type: 'bridge', name: undefined, raw: {type: 'bridge', x: {y: 1}}}]);
		expect(Buffer.from(list.bytes).toString()).toBe(text);
	});

	test.each([
		['{', 6, 'error parsing configuration list'],
		['[]', 6, 'expected a JSON object'],
		[{cniVersion: '1.0.0', plugins: [{type: 'x'}]}, 7, '"name"'],
		[{name: 'n', plugins: []}, 7, 'no plugins in list'],
		[{name: 'n', plugins: [{type: 'a'}, {bridge: 'x'}]}, 7, 'plugin config 1'],
		[{name: 'n', loadOnlyInlinedPlugins: true}, 7, 'no "plugins" key'],
		[{name: 'n', disableCheck: 'maybe', plugins: [{type: 'a'}]}, 7, '"disableCheck"'],
		[
			{name: 'n', cniVersion: '1.0.0', cniVersions: ['1.0'], plugins: [{type: 'a'}]},
			7,
			'invalid cniVersion "1.0"',
		],
	])('%j fails with code %d (%s), naming the source', (conf, code, text) => {
		expect(() => parseNetworkList(bytes(conf), '/etc/cni/net.d/x.conflist')).toThrow(
			expect.objectContaining({
				code,
				message: expect.stringMatching(
					new RegExp(`^/etc/cni/net.d/x.conflist: .*${text.replace(/[[\]"]/g, '.')}`),
				),
			}),
		);
	});

	test('a list without cniVersion is read as 0.1.0', () => {
		expect(parseNetworkList(bytes({name: 'n', plugins: [{type: 'a'}]})).cniVersion).toBe('0.1.0');
	});
});

test('confListFromConf wraps a single conf as libcni does', () => {
	const list = confListFromConf(bytes({cniVersion: '0.3.1', name: 'single', type: 'bridge', b: 1}));
	expect(list.name).toBe('single');
	expect(list.cniVersion).toBe('0.3.1');
	expect(list.plugins[0]!.raw).toEqual({cniVersion: '0.3.1', name: 'single', type: 'bridge', b: 1});
	expect(Buffer.from(list.bytes).toString()).toBe(
		'{"cniVersion":"0.3.1","name":"single","plugins":[{"b":1,"cniVersion":"0.3.1","name":"single","type":"bridge"}]}',
	);
});

describe('loadNetworkConf', () => {
	let dir: string;
	beforeEach(async () => {
		dir = await mkdtemp(join(tmpdir(), 'plexus-netconf-'));
	});
	afterEach(async () => {
		await rm(dir, {recursive: true, force: true});
	});

	test('conflists in name order win over single confs of the same name', async () => {
		await writeFile(
			join(dir, '20-b.conflist'),
			JSON.stringify({name: 'net', cniVersion: '1.0.0', plugins: [{type: 'second'}]}),
		);
		await writeFile(
			join(dir, '10-a.conflist'),
			JSON.stringify({name: 'net', cniVersion: '1.0.0', plugins: [{type: 'first'}]}),
		);
		await writeFile(
			join(dir, '00-c.conf'),
			JSON.stringify({name: 'net', cniVersion: '1.0.0', type: 'single'}),
		);
		expect((await loadNetworkConf(dir, 'net')).plugins.map((p) => p.type)).toEqual(['first']);
	});

	test('falls back to .conf/.json single confs, up-converted', async () => {
		await writeFile(join(dir, '10-a.conflist'), JSON.stringify({name: 'other', plugins: [{type: 'x'}]}));
		await writeFile(join(dir, '30-s.json'), JSON.stringify({name: 'solo', cniVersion: '0.4.0', type: 'ptp'}));
		const list = await loadNetworkConf(dir, 'solo');
		expect(list).toMatchObject({name: 'solo', cniVersion: '0.4.0'});
		expect(list.plugins.map((p) => p.type)).toEqual(['ptp']);
	});

	test('appends <dir>/<name>/*.conf plugins unless loadOnlyInlinedPlugins', async () => {
		await writeFile(join(dir, 'a.conflist'), JSON.stringify({name: 'net', plugins: [{type: 'inline'}]}));
		await writeFile(
			join(dir, 'b.conflist'),
			JSON.stringify({name: 'only', loadOnlyInlinedPlugins: true, plugins: [{type: 'inline'}]}),
		);
		await mkdir(join(dir, 'net'));
		await mkdir(join(dir, 'only'));
		await writeFile(join(dir, 'net', '1.conf'), JSON.stringify({type: 'extra'}));
		await writeFile(join(dir, 'only', '1.conf'), JSON.stringify({type: 'ignored'}));
		expect((await loadNetworkConf(dir, 'net')).plugins.map((p) => p.type)).toEqual(['inline', 'extra']);
		expect((await loadNetworkConf(dir, 'only')).plugins.map((p) => p.type)).toEqual(['inline']);
	});

	test('errors name the directory or the broken file', async () => {
		await expect(loadNetworkConf(join(dir, 'none'), 'x')).rejects.toMatchObject({
			code: 7,
			message: `no net configurations found in ${join(dir, 'none')}`,
		});
		await writeFile(join(dir, '10-a.conflist'), JSON.stringify({name: 'a', plugins: [{type: 'x'}]}));
		await expect(loadNetworkConf(dir, 'x')).rejects.toMatchObject({
			message: `no net configuration with name "x" in ${dir}`,
		});
		await writeFile(join(dir, '05-bad.conflist'), '{"name": ');
		await expect(loadNetworkConf(dir, 'a')).rejects.toMatchObject({
			code: 6,
			message: expect.stringContaining(join(dir, '05-bad.conflist')),
		});
	});
});
