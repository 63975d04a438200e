import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {type CacheEntry, ResultCache} from './cache.ts';

let dir: string;
let cache: ResultCache;
beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-cache-'));
	cache = new ResultCache(dir);
});
afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

const entry = (over: Partial<CacheEntry> = {}): CacheEntry => ({
	networkName: 'blue',
	containerId: 'c1',
	ifname: 'eth0',
	config: Buffer.from('{"name":"blue"}'),
	netns: '',
	cniArgs: [],
	capabilityArgs: {},
	result: {cniVersion: '1.0.0', ips: [{address: '10.0.0.2/24'}]},
	...over,
});

describe('ResultCache', () => {
	test('path is <dir>/results/<network>-<containerID>-<ifname>; empty parts are refused', () => {
		expect(cache.path({networkName: 'n', containerId: 'c', ifname: 'i'})).toBe(join(dir, 'results', 'n-c-i'));
		expect(() => cache.path({networkName: 'n', containerId: '', ifname: 'i'})).toThrow(/container ID \(""\)/);
	});

	test('a key with "/" names no file: path and write refuse it (code 7), remove leaves the outside file', async () => {
		const outside = join(dir, 'victim-c1-eth0');
		await writeFile(outside, 'keep');
		const key = {networkName: '../victim', containerId: 'c1', ifname: 'eth0'};
		expect(() => cache.path(key)).toThrow(
			expect.objectContaining({code: 7, message: expect.stringMatching(/must not contain "\/"/)}),
		);
		await expect(cache.write(entry(key))).rejects.toMatchObject({code: 7});
		for (const bad of [key, {networkName: 'blue', containerId: '../../victim', ifname: 'eth0'}]) {
			await cache.remove(bad);
			expect(await cache.getResult(bad, '1.0.0')).toBeUndefined();
		}
		expect(await readFile(outside, 'utf8')).toBe('keep');
		expect(await readdir(dir)).toEqual(['victim-c1-eth0']);
	});

	test('omits empty netns/cniArgs/capabilityArgs like libcni and leaves no temp file', async () => {
		await cache.write(entry());
		expect(await readdir(join(dir, 'results'))).toEqual(['blue-c1-eth0']);
		const json = JSON.parse(await readFile(join(dir, 'results', 'blue-c1-eth0'), 'utf8'));
		expect(json).toEqual({
			kind: 'cniCacheV1',
			containerId: 'c1',
			config: Buffer.from('{"name":"blue"}').toString('base64'),
			ifName: 'eth0',
			networkName: 'blue',
			result: {cniVersion: '1.0.0', ips: [{address: '10.0.0.2/24'}]},
		});
	});

	test('getResult converts to the requested version; absent is undefined', async () => {
		await cache.write(entry());
		const key = {networkName: 'blue', containerId: 'c1', ifname: 'eth0'};
		expect(await cache.getResult(key, '0.2.0')).toEqual({
			cniVersion: '0.2.0',
			ip4: {ip: '10.0.0.2/24'},
			dns: {},
		});
		expect(await cache.getResult({...key, ifname: 'eth1'}, '1.0.0')).toBeUndefined();
	});

	test('a legacy cache file (a bare result) is still read', async () => {
		await mkdir(join(dir, 'results'), {recursive: true});
		await writeFile(
			join(dir, 'results', 'old-c1-eth0'),
			'{"cniVersion":"0.3.1","ips":[{"version":"4","address":"10.0.0.9/8"}]}',
		);
		expect(await cache.getResult({networkName: 'old', containerId: 'c1', ifname: 'eth0'}, '1.0.0')).toEqual({
			cniVersion: '1.0.0',
			ips: [{address: '10.0.0.9/8'}],
		});
	});

	test('a broken cache file is an error (DEL then drops it)', async () => {
		await mkdir(join(dir, 'results'), {recursive: true});
		await writeFile(join(dir, 'results', 'x-c1-eth0'), '{nope');
		await expect(
			cache.getResult({networkName: 'x', containerId: 'c1', ifname: 'eth0'}, '1.0.0'),
		).rejects.toMatchObject({code: 6});
	});

	test('list returns well-formed attachments sorted, optionally of one network', async () => {
		await cache.write(
			entry({
				networkName: 'red',
				containerId: 'c2',
				netns: '/n',
				cniArgs: [['A', '1']],
				capabilityArgs: {mac: 'm'},
			}),
		);
		await cache.write(entry());
		await writeFile(join(dir, 'results', 'legacy-c3-eth0'), '{"cniVersion":"1.0.0"}');
		await writeFile(join(dir, 'results', 'junk'), 'not json');
		const all = await cache.list();
		expect(all.map((a) => `${a.networkName}/${a.containerId}/${a.ifname}`)).toEqual([
			'blue/c1/eth0',
			'red/c2/eth0',
		]);
		const red = await cache.list('red');
		expect(red).toEqual([
			{
				networkName: 'red',
				containerId: 'c2',
				ifname: 'eth0',
				config: Buffer.from('{"name":"blue"}'),
				netns: '/n',
				cniArgs: [['A', '1']],
				capabilityArgs: {mac: 'm'},
				result: {cniVersion: '1.0.0', ips: [{address: '10.0.0.2/24'}]},
			},
		]);
		expect(await new ResultCache(join(dir, 'missing')).list()).toEqual([]);
	});

	test('getAttachment and remove', async () => {
		const key = {networkName: 'blue', containerId: 'c1', ifname: 'eth0'};
		await cache.write(entry({cniArgs: [['K', 'V']]}));
		expect((await cache.getAttachment(key))?.cniArgs).toEqual([['K', 'V']]);
		await cache.remove(key);
		await cache.remove(key);
		await cache.remove({...key, containerId: ''});
		expect(await cache.getAttachment(key)).toBeUndefined();
	});

	test('an unwritable cache dir is an I/O error naming the network', async () => {
		await writeFile(join(dir, 'file'), '');
		await expect(new ResultCache(join(dir, 'file')).write(entry())).rejects.toMatchObject({
			code: 5,
			message: expect.stringContaining('failed to set network "blue" cached result'),
		});
	});
});
