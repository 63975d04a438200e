import {mkdtemp, readdir, rm, utimes} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {DelTombstones} from './tombstones.ts';

let dir: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-tombstones-'));
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

describe('DelTombstones', () => {
	test('a marked DEL matches its container, interface and network only; forget and clear drop it', async () => {
		const t = new DelTombstones(dir);
		expect(await t.has('c1', 'eth0', 'net')).toBe(false);
		await t.mark('c1', 'eth0', 'net');
		expect(await t.has('c1', 'eth0', 'net')).toBe(true);
		expect(await t.has('c1', 'eth0', 'other')).toBe(false);
		expect(await t.has('c1', 'net1', 'net')).toBe(false);
		expect(await t.has('c2', 'eth0', 'net')).toBe(false);
		await t.forget('c1', 'eth0');
		expect(await t.has('c1', 'eth0', 'net')).toBe(false);
		await t.mark('c1', 'eth0', 'net');
		await t.clear();
		expect(await t.has('c1', 'eth0', 'net')).toBe(false);
		expect(await readdir(dir)).toEqual([]);
	});

	test('bounded: beyond the limit the oldest tombstones go', async () => {
		const t = new DelTombstones(dir, 2);
		await t.mark('c1', 'eth0', 'net');
		await utimes(t.path('c1', 'eth0'), 1, 1);
		await t.mark('c2', 'eth0', 'net');
		await utimes(t.path('c2', 'eth0'), 2, 2);
		await t.mark('c3', 'eth0', 'net');
		expect((await readdir(t.dir)).sort()).toEqual(['c2-eth0', 'c3-eth0']);
	});

	test('an unwritable dir only means no tombstone (the ordinary DEL runs)', async () => {
		const t = new DelTombstones(join(dir, 'missing-parent', '\u0000bad'));
		await t.mark('c1', 'eth0', 'net');
		expect(await t.has('c1', 'eth0', 'net')).toBe(false);
	});
});
