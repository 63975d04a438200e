import {mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {PlexusCache} from '../meta/cache.ts';
import {ResultCache} from './cache.ts';
import {fitFileName, NAME_MAX, tempFileName, writeFileAtomicSync} from './cache-file.ts';

let dir: string;
beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-cache-file-'));
});
afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

const bytes = (s: string) => Buffer.byteLength(s);

describe('fitFileName', () => {
	test('a name that fits is kept exactly, up to 255 bytes with its suffix', () => {
		expect(fitFileName('blue-c1-eth0')).toBe('blue-c1-eth0');
		const edge = 'n'.repeat(250);
		expect(fitFileName(edge, '.json')).toBe(`${edge}.json`);
	});

	test('a longer one is its head, "~" and the sha256 of the whole name: deterministic, distinct, room for a temp suffix', () => {
		const long = `${'n'.repeat(250)}-c1-eth0`;
		const fitted = fitFileName(long);
		expect(fitted).toMatch(/^n+~[0-9a-f]{64}$/);
		expect(fitFileName(long)).toBe(fitted);
		expect(fitFileName(`${'n'.repeat(250)}-c2-eth0`)).not.toBe(fitted);
		expect(bytes(tempFileName(fitted))).toBeLessThanOrEqual(NAME_MAX);
		expect(tempFileName(fitted).startsWith(fitted)).toBe(true);
		expect(fitFileName(long, '.json')).toMatch(/^n+~[0-9a-f]{64}\.json$/);
	});

	test('the head never splits a multi-byte character', () => {
		const fitted = fitFileName('é'.repeat(200));
		expect(Buffer.from(fitted).toString('utf8')).toBe(fitted);
		expect(fitted).toMatch(/^é+~[0-9a-f]{64}$/);
		expect(bytes(fitted)).toBeLessThanOrEqual(NAME_MAX - 21);
	});
});

test('an exact name of 255 bytes gets a shortened temporary name and is written atomically', async () => {
	const name = 'x'.repeat(NAME_MAX);
	const tmp = tempFileName(name);
	expect(bytes(tmp)).toBe(NAME_MAX);
	expect(tmp).toMatch(/\.tmp-\d+-[0-9a-f]{8}$/);
	writeFileAtomicSync(join(dir, 'sub'), name, 'hello');
	expect(await readdir(join(dir, 'sub'))).toEqual([name]);
	expect(await readFile(join(dir, 'sub', name), 'utf8')).toBe('hello');
});

test('the synchronous atomic write makes a 0700 dir and a 0600 file, and leaves no temporary file when the rename fails', async () => {
	const sub = join(dir, 'sync');
	writeFileAtomicSync(sub, 'record.json', 'one');
	writeFileAtomicSync(sub, 'record.json', 'two');
	expect(await readdir(sub)).toEqual(['record.json']);
	expect(await readFile(join(sub, 'record.json'), 'utf8')).toBe('two');
	expect((await stat(sub)).mode & 0o777).toBe(0o700);
	expect((await stat(join(sub, 'record.json'))).mode & 0o777).toBe(0o600);
	await mkdir(join(sub, 'taken'));
	await writeFile(join(sub, 'taken', 'inside'), 'x');
	expect(() => writeFileAtomicSync(sub, 'taken', 'three')).toThrow();
	expect((await readdir(sub)).sort()).toEqual(['record.json', 'taken']);
});

test('the result cache keys a 250-byte network name to one hashed file: write, read, list, remove', async () => {
	const cache = new ResultCache(dir);
	const key = {networkName: `n${'x'.repeat(249)}`, containerId: 'c1', ifname: 'eth0'};
	await cache.write({
		...key,
		config: Buffer.from('{}'),
		netns: '',
		cniArgs: [],
		capabilityArgs: {},
		result: {cniVersion: '1.0.0', ips: [{address: '10.0.0.2/24'}]},
	});
	const [file] = await readdir(join(dir, 'results'));
	expect(file).toMatch(/^nx+~[0-9a-f]{64}$/);
	expect(join(dir, 'results', file ?? '')).toBe(cache.path(key));
	expect(await cache.getResult(key, '1.0.0')).toMatchObject({ips: [{address: '10.0.0.2/24'}]});
	expect((await cache.list(key.networkName)).map((a) => a.containerId)).toEqual(['c1']);
	expect(await cache.has(key)).toBe(true);
	await cache.remove(key);
	expect(await readdir(join(dir, 'results'))).toEqual([]);
});

test('the attachment cache of a 300-character container ID lives in a hashed .json file', async () => {
	const cache = new PlexusCache(dir);
	const containerId = `c${'0'.repeat(299)}`;
	await cache.write({containerId, ifname: 'eth0', netns: '', cniArgs: [], pod: null, attachments: []});
	const [file] = await readdir(cache.dir);
	expect(file).toMatch(/^c0+~[0-9a-f]{64}\.json$/);
	expect((await cache.read(containerId, 'eth0')).state).toBe('ok');
	expect((await cache.list()).map((f) => f.read.state)).toEqual(['ok']);
	await cache.remove(containerId, 'eth0');
	expect(await readdir(cache.dir)).toEqual([]);
});
