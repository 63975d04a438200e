// DEL undoes what ran, and only that (./undo.ts), through the meta-plugin against fakes: the
// progress persisted before each plugin runs, rollback and DEL skipping plugins that never started,
// a plugin uninstalled since ADD kept in the cache (with the reason) while the rest is undone, and
// records of the previous release (no progress). The real kernel runs are e2e/meta/del-*.e2e.test.ts.
import {copyFile, mkdir, mkdtemp, readdir, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, relative} from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {ResultCache} from '../chain/cache.ts';
import {type FakeCall, FakePluginExec} from '../chain/testing/fake-exec.ts';
import {dispatch} from '../cni/dispatch.ts';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {FakeKubeClient} from '../k8s/testing/fake-client.ts';
import {decodeCache, journalFile, PlexusCache} from './cache.ts';
import {createPlexusPlugin} from './plugin.ts';
import {anyPathIsNetns} from './testing/netns.ts';

const FAKE_BIN = '/fake/cni/bin';
const PLEXUS_FIXTURES = fileURLToPath(new URL('../../e2e/testdata/plexus-cache/', import.meta.url));
let dir: string;
let kube: FakeKubeClient;
let exec: FakePluginExec;
/** `type` (or `type@ifname`) whose ADD fails, and with which error. */
let failAdd: Map<string, CniError>;

/** A result naming the interface, for ADD; nothing for the other verbs. */
function answer(call: FakeCall): unknown {
	const ifname = call.env['CNI_IFNAME'] ?? '';
	const failure = failAdd.get(`${call.type}@${ifname}`) ?? failAdd.get(call.type);
	if (call.command === 'ADD' && failure !== undefined) throw failure;
	if (call.command !== 'ADD') return undefined;
	return {cniVersion: call.config['cniVersion'], interfaces: [{name: ifname}], ips: []};
}

const installed = (...types: string[]) =>
	new FakePluginExec(Object.fromEntries(types.map((t) => [t, answer])));

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-undo-'));
	failAdd = new Map();
	kube = new FakeKubeClient();
	exec = installed('bridge', 'macvlan', 'tuning');
	kube.addPod({
		namespace: 'ns1',
		name: 'web',
		uid: 'u1',
		annotations: {'k8s.v1.cni.cncf.io/networks': 'a, b'},
	});
	kube.addNad(
		'ns1',
		'a',
		JSON.stringify({cniVersion: '1.0.0', name: 'a', plugins: [{type: 'macvlan'}, {type: 'tuning'}]}),
	);
	kube.addNad('ns1', 'b', JSON.stringify({cniVersion: '1.0.0', name: 'b', plugins: [{type: 'bridge'}]}));
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

const plugin = () =>
	createPlexusPlugin({kube: () => kube, exec, inProcess: async () => new Map(), probeNetns: anyPathIsNetns});

const conf = () => ({
	cniVersion: '1.0.0',
	name: 'plexus-net',
	type: 'plexus',
	cniDir: dir,
	confDir: dir,
	kubeconfig: '/unused',
	delegates: [{cniVersion: '1.0.0', name: 'cbr0', plugins: [{type: 'bridge'}]}],
});

function run(command: string, config: object = conf()) {
	const env: Record<string, string> = {
		CNI_COMMAND: command,
		CNI_CONTAINERID: 'c1',
		CNI_NETNS: '/var/run/netns/p1',
		CNI_IFNAME: 'eth0',
		CNI_ARGS: 'K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web;K8S_POD_UID=u1',
		CNI_PATH: FAKE_BIN,
	};
	return dispatch(plugin(), {getenv: (k) => env[k], stdin: Buffer.from(JSON.stringify(config)), env});
}

const failure = (outcome: Awaited<ReturnType<typeof run>>) => (outcome.ok ? undefined : outcome.error);
const calls = () => exec.calls.map((c) => `${c.command} ${c.type} ${c.env['CNI_IFNAME']}`);
const cacheFile = () => join(dir, 'plexus', 'c1-eth0.json');
const readEntry = async () => {
	const journal = await readFile(journalFile(cacheFile()), 'utf8').catch(() => undefined);
	const read = decodeCache(await readFile(cacheFile(), 'utf8'), journal);
	if (read.state !== 'ok') throw new Error(`cache is ${read.state}`);
	return read.entry;
};
/** The files under `sub` (records and, for plexus/, their journals under progress/). */
const files = async (sub: string) => {
	const root = join(dir, sub);
	const entries = await readdir(root, {recursive: true, withFileTypes: true}).catch(() => []);
	return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name)));
};

describe('ADD records each plugin before it runs', () => {
	test('the plugin being run is in its attachment\'s "started" list on disk', async () => {
		const seen: string[] = [];
		const record = async (call: FakeCall) => {
			if (call.command === 'ADD') {
				const entry = await readEntry();
				seen.push(entry.attachments.map((a) => `${a.network}:${(a.started ?? []).join('+')}`).join(' '));
			}
			return answer(call);
		};
		exec = new FakePluginExec({bridge: record, macvlan: record, tuning: record});
		expect(failure(await run('ADD'))).toBeUndefined();
		expect(seen).toEqual([
			'cbr0:0 ns1/a: ns1/b:',
			'cbr0:0 ns1/a:0 ns1/b:',
			'cbr0:0 ns1/a:0+1 ns1/b:',
			'cbr0:0 ns1/a:0+1 ns1/b:0',
		]);
	});
});

describe('a plugin that never started is not undone', () => {
	test.each([
		['not installed', 'tuning', 'failed to find plugin "tuning" in path [/opt/cni/bin /fake/cni/bin]'],
		['an invalid type', '..', 'invalid plugin type "..": contains ".."'],
		['control characters in the type', 'tun\u0001ing', 'contains control characters'],
	])(
		'%s: ADD fails, its rollback undoes the rest, the first DEL has nothing left to do',
		async (_, type, msg) => {
			if (type === 'tuning') exec = installed('bridge', 'macvlan');
			kube.addNad(
				'ns1',
				'a',
				JSON.stringify({cniVersion: '1.0.0', name: 'a', plugins: [{type: 'macvlan'}, {type}]}),
			);
			const error = failure(await run('ADD'));
			expect(error?.code).toBe(CniErrorCode.invalidConfig);
			expect(error?.message).toContain(msg);
			expect(error?.details ?? '').not.toContain('rollback failed');
			expect(calls()).toEqual(['ADD bridge eth0', 'ADD macvlan net1', 'DEL macvlan net1', 'DEL bridge eth0']);
			expect(await files('plexus')).toEqual([]);
			exec.calls.length = 0;
			expect(failure(await run('DEL'))).toBeUndefined();
		},
	);

	test('an invalid network name: nothing of that network runs, ADD or DEL', async () => {
		kube.addNad('ns1', 'a', JSON.stringify({cniVersion: '1.0.0', name: 'a/b', plugins: [{type: 'macvlan'}]}));
		const error = failure(await run('ADD'));
		expect(error?.message).toContain('invalid characters found in network name "a/b"');
		expect(calls()).toEqual(['ADD bridge eth0', 'DEL bridge eth0']);
		expect(await files('plexus')).toEqual([]);
	});

	test('a plugin answering code 1 (a cniVersion it does not run) is taken as not started', async () => {
		failAdd.set('tuning', new CniError(CniErrorCode.incompatibleVersion, 'incompatible CNI versions'));
		const error = failure(await run('ADD'));
		expect(error?.code).toBe(CniErrorCode.incompatibleVersion);
		expect(calls()).toEqual([
			'ADD bridge eth0',
			'ADD macvlan net1',
			'ADD tuning net1',
			'DEL macvlan net1',
			'DEL bridge eth0',
		]);
		expect(await files('plexus')).toEqual([]);
	});

	test('after a crash mid-ADD, DEL undoes exactly the plugins recorded as started', async () => {
		// What a kill -9 during macvlan's ADD leaves: the record written just before it ran.
		await run('ADD');
		const entry = await readEntry();
		entry.attachments[1]!.started = [0];
		entry.attachments[2]!.started = [];
		await new PlexusCache(dir).write(entry);
		exec.calls.length = 0;
		expect(failure(await run('DEL'))).toBeUndefined();
		expect(calls()).toEqual(['DEL macvlan net1', 'DEL bridge eth0']);
		expect(await files('plexus')).toEqual([]);
	});

	test('a DEL answering code 1 is skipped with a warning, the rest is undone', async () => {
		await run('ADD');
		exec = new FakePluginExec({
			bridge: answer,
			macvlan: answer,
			tuning: () => {
				throw new CniError(CniErrorCode.incompatibleVersion, 'incompatible CNI versions');
			},
		});
		expect(failure(await run('DEL'))).toBeUndefined();
		expect(calls()).toEqual(['DEL bridge net2', 'DEL tuning net1', 'DEL macvlan net1', 'DEL bridge eth0']);
		expect(await files('plexus')).toEqual([]);
	});
});

describe('a plugin that ran but is not installed at DEL', () => {
	test('the rest is undone, only that plugin stays cached with the reason, DEL fails naming it', async () => {
		expect(failure(await run('ADD'))).toBeUndefined();
		exec = installed('bridge', 'macvlan');
		const error = failure(await run('DEL'));
		expect(calls()).toEqual(['DEL bridge net2', 'DEL macvlan net1', 'DEL bridge eth0']);
		expect(error?.code).toBe(CniErrorCode.invalidConfig);
		expect(error?.message).toBe(
			'failed to delete pod "ns1/web": failed to delete network "ns1/a" (interface "net1"): plugin "tuning" ran at ADD but is not installed any more (failed to find plugin "tuning" in path [/opt/cni/bin /fake/cni/bin]); install it again (binDir or CNI_PATH) and the retried DEL undoes it, or, once what it created is gone, drop it with: plexus cleanup c1',
		);
		const kept = await readEntry();
		expect(kept.attachments.map((a) => [a.network, a.started])).toEqual([['ns1/a', [1]]]);
		expect(kept.delFailure).toMatchObject({reason: error?.message, attempts: 1});
		// Its result stays for the retry's prevResult; the others' are gone.
		expect(await files('results')).toEqual(['a-c1-net1']);
		exec.calls.length = 0;
		expect(failure(await run('DEL'))?.message).toBe(error?.message);
		expect(calls()).toEqual([]);
		expect((await readEntry()).delFailure?.attempts).toBe(2);
		// Reinstalled: the retry undoes it with its cached result, and everything is gone.
		exec = installed('bridge', 'macvlan', 'tuning');
		expect(failure(await run('DEL'))).toBeUndefined();
		expect(calls()).toEqual(['DEL tuning net1']);
		expect(exec.calls[0]?.config['prevResult']).toMatchObject({interfaces: [{name: 'net1'}]});
		expect(await files('plexus')).toEqual([]);
		expect(await files('results')).toEqual([]);
	});

	test('a plugin whose DEL fails keeps itself and the plugins before it; other networks are undone', async () => {
		await run('ADD');
		exec = new FakePluginExec({
			bridge: answer,
			macvlan: answer,
			tuning: (call) => {
				if (call.command === 'DEL') throw new CniError(11, 'device busy');
				return answer(call);
			},
		});
		const error = failure(await run('DEL'));
		expect(error?.code).toBe(11);
		expect(calls()).toEqual(['DEL bridge net2', 'DEL tuning net1', 'DEL bridge eth0']);
		expect((await readEntry()).attachments.map((a) => [a.network, a.started])).toEqual([['ns1/a', [0, 1]]]);
	});
});

describe('records written before progress was kept (plexusCacheV1 of the previous release)', () => {
	beforeEach(async () => {
		await mkdir(join(dir, 'plexus'));
		await copyFile(join(PLEXUS_FIXTURES, 'plexusCacheV1-c1-eth0.json'), cacheFile());
		kube.failWith = {status: undefined};
	});

	test('without a cached result a plugin not installed is taken as never started', async () => {
		exec = installed('bridge', 'macvlan');
		expect(failure(await run('DEL'))).toBeUndefined();
		expect(calls()).toEqual(['DEL macvlan net1', 'DEL bridge eth0']);
		expect(await files('plexus')).toEqual([]);
	});

	test('with a cached result (its ADD completed) a plugin not installed fails DEL and stays', async () => {
		await new ResultCache(dir).write({
			networkName: 'b',
			containerId: 'c1',
			ifname: 'eth9',
			config: Buffer.from('{}'),
			netns: '/var/run/netns/p1',
			cniArgs: [],
			capabilityArgs: {},
			result: {cniVersion: '0.4.0', interfaces: [{name: 'eth9'}], ips: []},
		});
		exec = installed('bridge', 'macvlan');
		const error = failure(await run('DEL'));
		expect(error?.message).toContain('plugin "ipvlan" ran at ADD but is not installed any more');
		expect(calls()).toEqual(['DEL macvlan net1', 'DEL bridge eth0']);
		expect((await readEntry()).attachments.map((a) => [a.network, a.started])).toEqual([['ns1/b', [0]]]);
	});
});

describe('delegateTimeoutMs', () => {
	test('bounds every delegate binary run, ADD and DEL', async () => {
		const config = {...conf(), delegateTimeoutMs: 1500};
		await run('ADD', config);
		await run('DEL', config);
		expect(new Set(exec.calls.map((c) => c.timeoutMs))).toEqual(new Set([1500]));
		expect(exec.calls.length).toBe(8);
	});

	test.each([0, 600_001, 1.5])('%s is refused with code 7 naming the key', async (value) => {
		const error = failure(await run('ADD', {...conf(), delegateTimeoutMs: value}));
		expect(error?.code).toBe(CniErrorCode.invalidConfig);
		expect(error?.message).toContain('key "delegateTimeoutMs"');
	});
});

test('the progress keys are checksummed like the rest: a malformed "started" list is a corrupt record', async () => {
	await run('ADD');
	// ADD journals its progress; any later write of the record (a DEL that failed) holds the lists.
	await new PlexusCache(dir).write(await readEntry());
	expect(await files('plexus')).toEqual(['c1-eth0.json']);
	const text = await readFile(cacheFile(), 'utf8');
	const raw = JSON.parse(text) as {attachments: {started?: unknown}[]; checksum?: string};
	expect(raw.attachments.map((a) => a.started)).toEqual([[0], [0, 1], [0]]);
	raw.attachments[0]!.started = ['x'];
	const {checksum: _, ...body} = raw;
	const {createHash} = await import('node:crypto');
	const resealed = {...body, checksum: createHash('sha256').update(JSON.stringify(body)).digest('hex')};
	expect(decodeCache(JSON.stringify(resealed))).toMatchObject({
		state: 'corrupt',
		reason: expect.stringContaining('"started"'),
	});
	expect(decodeCache(text.replace('"started":[0,1]', '"started":[0]'))).toMatchObject({
		state: 'corrupt',
		reason: 'checksum mismatch',
	});
});
