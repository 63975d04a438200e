// The ADD progress journal of the plexus cache (./cache-journal.ts, ./cache.ts): what a record
// read back says after `begin` and `progress`, which journal lines count, what an earlier Plexus
// (reading the record alone) sees, and that every later write or removal takes the journal along.
import {appendFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {dirname, join, relative} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {decodeCache, journalFile, PlexusCache, type PodCacheEntry} from './cache.ts';
import {journalLine, replayJournal} from './cache-journal.ts';

let dir: string;
let cache: PlexusCache;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-journal-'));
	cache = new PlexusCache(dir);
});
afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

function entry(): PodCacheEntry {
	const attachment = (network: string, ifname: string) => ({
		network,
		nad: null,
		ifname,
		isClusterNetwork: ifname === 'eth0',
		config: new TextEncoder().encode(
			`{"cniVersion":"1.0.0","name":"${network}","plugins":[{"type":"a"},{"type":"b"}]}`,
		),
		capabilityArgs: {},
		defaultRoute: null,
		started: [] as number[],
	});
	return {
		containerId: 'c1',
		ifname: 'eth0',
		netns: '/var/run/netns/p',
		cniArgs: [],
		pod: {namespace: 'ns', name: 'web', uid: 'u1'},
		attachments: [attachment('cluster', 'eth0'), attachment('extra', 'net1')],
	};
}

const record = () => join(dir, 'plexus', 'c1-eth0.json');
/** What ADD's progress does: the in-memory list first, then the journal. */
const step = async (e: PodCacheEntry, a: number, plugin: number, started = true) => {
	const list = e.attachments[a]!;
	list.started = started
		? [...(list.started ?? []), plugin]
		: (list.started ?? []).filter((p) => p !== plugin);
	await cache.progress(e, a, plugin, started);
};
const startedOf = async () => {
	const read = await cache.read('c1', 'eth0');
	if (read.state !== 'ok') throw new Error(`${read.state}: ${'reason' in read ? read.reason : ''}`);
	return read.entry.attachments.map((a) => a.started);
};
const files = async () =>
	(await readdir(join(dir, 'plexus'), {recursive: true, withFileTypes: true}))
		.filter((e) => e.isFile())
		.map((e) => relative(join(dir, 'plexus'), join(e.parentPath, e.name)))
		.sort();

describe('ADD journals its progress', () => {
	test('each step is one line appended; the record read back holds the lists', async () => {
		const e = entry();
		await cache.begin(e);
		expect(await startedOf()).toEqual([[], []]);
		const before = await readFile(record(), 'utf8');
		await step(e, 0, 0);
		await step(e, 0, 1);
		await step(e, 1, 0);
		await step(e, 1, 1);
		await step(e, 1, 1, false);
		expect(await readFile(record(), 'utf8')).toBe(before);
		expect(await startedOf()).toEqual([[0, 1], [0]]);
		expect((await readFile(journalFile(record()), 'utf8')).split('\n')).toHaveLength(6);
		expect(await files()).toEqual(['c1-eth0.json', 'progress/c1-eth0.json']);
	});

	test('an earlier Plexus, reading the record alone, finds no lists: it undoes every plugin', async () => {
		const e = entry();
		await cache.begin(e);
		await step(e, 0, 0);
		const raw = JSON.parse(await readFile(record(), 'utf8')) as {attachments: Record<string, unknown>[]};
		expect(raw.attachments.every((a) => !('started' in a))).toBe(true);
	});

	test('only lines of the record own journal count; a last line cut short is a step never taken', async () => {
		const e = entry();
		await cache.begin(e);
		const journal = journalFile(record());
		await mkdir(dirname(journal), {recursive: true});
		await writeFile(journal, `${journalLine('0badc0de', 0, 1, true)}`);
		await step(e, 0, 0);
		await appendFile(journal, `${e.journal} +1.0`);
		expect(await startedOf()).toEqual([[0], []]);
	});

	test.each([
		['a malformed line', (id: string) => `${id} +0.0\nnot a line\n`, 'progress journal line 2 is malformed'],
		[
			'an attachment out of range',
			(id: string) => `${id} +2.0\n`,
			'progress journal line 1 names attachment 2 of 2',
		],
	])('%s makes the record corrupt', async (_, text, reason) => {
		const e = entry();
		await cache.begin(e);
		await mkdir(dirname(journalFile(record())), {recursive: true});
		await writeFile(journalFile(record()), text(e.journal ?? ''));
		expect(await cache.read('c1', 'eth0')).toEqual({state: 'corrupt', reason});
		expect(await cache.list()).toEqual([{file: record(), read: {state: 'corrupt', reason}}]);
	});

	test('a record whose journal id is malformed is corrupt', () => {
		expect(replayJournal('', 'x', 1)).toEqual({started: [[]]});
		const text = JSON.stringify({kind: 'plexusCacheV1', journal: 'nope'});
		expect(decodeCache(text)).toMatchObject({state: 'corrupt'});
	});

	test('a later write holds the lists itself and drops the journal; remove drops both', async () => {
		const e = entry();
		await cache.begin(e);
		await step(e, 0, 0);
		await cache.write(e);
		expect(await files()).toEqual(['c1-eth0.json']);
		expect(await startedOf()).toEqual([[0], []]);
		await step(e, 1, 0); // after a full write, a step rewrites the record too
		expect(await files()).toEqual(['c1-eth0.json']);
		expect(await startedOf()).toEqual([[0], [0]]);
		const again = entry();
		await cache.begin(again);
		await step(again, 1, 1);
		expect(await startedOf()).toEqual([[], [1]]);
		await cache.remove('c1', 'eth0');
		expect(await files()).toEqual([]);
	});

	test('without a journal, progress writes the whole record', async () => {
		const e = entry();
		await cache.write(e);
		await step(e, 0, 0);
		expect(await files()).toEqual(['c1-eth0.json']);
		expect(await startedOf()).toEqual([[0], []]);
	});
});
