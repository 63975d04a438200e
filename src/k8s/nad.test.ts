import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {nadNetworkList, networkListFromText, selfContained, withCniArgs} from './nad.ts';

let dir: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-nad-'));
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

const nad = (name: string, config: string | undefined) => ({namespace: 'ns1', name, config, annotations: {}});

describe('nadNetworkList', () => {
	test('a conflist spec.config is used as written', async () => {
		const config =
			'{"cniVersion":"1.0.0","name":"management-net","plugins":[{"type":"macvlan","master":"br-ex"},{"type":"route-override"}]}';
		const list = await nadNetworkList(nad('management-net', config), dir);
		expect(list.name).toBe('management-net');
		expect(list.plugins.map((p) => p.type)).toEqual(['macvlan', 'route-override']);
		expect(list.plugins[0]?.raw).toEqual({type: 'macvlan', master: 'br-ex'});
	});

	test('a single conf is wrapped as a one-plugin list (seed 003)', async () => {
		const config =
			'{\n"cniVersion": "0.3.1",\n"name": "macvlan0",\n"type": "macvlan",\n"master": "eno8403np1",\n"linkInContainer": false,\n"mode": "bridge"\n}';
		const list = await nadNetworkList(nad('macvlan0', config), dir);
		expect(list.cniVersion).toBe('0.3.1');
		expect(list.plugins).toHaveLength(1);
		expect(list.plugins[0]?.raw).toMatchObject({
			type: 'macvlan',
			master: 'eno8403np1',
			linkInContainer: false,
			mode: 'bridge',
		});
	});

	test('the NAD name is injected when the config has none (spec §3.4.2)', async () => {
		const list = await nadNetworkList(
			nad('unnamed', '{"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]}'),
			dir,
		);
		expect(list.name).toBe('unnamed');
		const single = await nadNetworkList(nad('single', '{"cniVersion":"1.0.0","type":"bridge"}'), dir);
		expect(single.name).toBe('single');
	});

	test('an empty spec finds the conflist in confDir before a conf of the same name (spec §3.4.1)', async () => {
		await writeFile(join(dir, '00-a.conf'), '{"cniVersion":"1.0.0","name":"blue","type":"from-conf"}');
		await writeFile(
			join(dir, '10-b.conflist'),
			'{"cniVersion":"1.0.0","name":"blue","plugins":[{"type":"from-conflist"}]}',
		);
		const list = await nadNetworkList(nad('blue', undefined), dir);
		expect(list.plugins.map((p) => p.type)).toEqual(['from-conflist']);
		const blank = await nadNetworkList(nad('blue', '  '), dir);
		expect(blank.plugins.map((p) => p.type)).toEqual(['from-conflist']);
	});

	test.each([
		['{"type":', 'invalid config of network-attachment-definition "ns1/bad": not JSON'],
		['[1]', 'invalid config of network-attachment-definition "ns1/bad": not a JSON object'],
		[
			'{"cniVersion":"1.0.0","plugins":[{"master":"x"}]}',
			'invalid config of network-attachment-definition "ns1/bad":',
		],
		['{"cniVersion":"1.0.0","plugins":[]}', 'invalid config of network-attachment-definition "ns1/bad":'],
	])('config %s is a code-7 error naming the NAD', async (config, message) => {
		const error = await nadNetworkList(nad('bad', config), dir).catch((e: unknown) => e);
		expect(error).toMatchObject({code: 7});
		expect((error as Error).message).toContain(message);
	});

	test('an empty spec with no matching conf names the NAD and confDir', async () => {
		const error = await nadNetworkList(nad('nowhere', undefined), dir).catch((e: unknown) => e);
		expect(error).toMatchObject({code: 7});
		expect((error as Error).message).toContain(
			`failed to load network-attachment-definition "ns1/nowhere": its spec.config is empty and confDir "${dir}" has no usable conf named "nowhere"`,
		);
	});
});

describe('list helpers', () => {
	test('cni-args merge into args.cni of every plugin, the annotation winning', () => {
		const list = networkListFromText(
			'{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"a","args":{"cni":{"x":"nad","keep":1},"other":true}},{"type":"b"}]}',
			undefined,
			'test',
		);
		const merged = withCniArgs(list, {x: 'annotation', y: 2});
		expect(merged.plugins.map((p) => p.raw['args'])).toEqual([
			{cni: {x: 'annotation', keep: 1, y: 2}, other: true},
			{cni: {x: 'annotation', y: 2}},
		]);
		expect(withCniArgs(list, undefined)).toBe(list);
	});

	test('selfContained inlines plugins loaded from the conflist subdirectory', async () => {
		await writeFile(join(dir, 'net.conflist'), '{"cniVersion":"1.0.0","name":"net"}');
		await mkdir(join(dir, 'net'));
		await writeFile(join(dir, 'net', '10-x.conf'), '{"type":"from-subdir"}');
		const list = await nadNetworkList(nad('net', undefined), dir);
		expect(list.plugins.map((p) => p.type)).toEqual(['from-subdir']);
		expect(JSON.parse(Buffer.from(list.bytes).toString())).toMatchObject({
			plugins: [{type: 'from-subdir'}],
			loadOnlyInlinedPlugins: true,
		});
		expect(selfContained(list).plugins.map((p) => p.type)).toEqual(['from-subdir']);
	});
});
