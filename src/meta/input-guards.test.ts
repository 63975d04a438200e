// Issue 12, "every bad input is refused before anything runs": the meta-plugin in-process (the
// same dispatch the binary and the daemon use) with recording fake delegates. For each bad input:
// the right code and a message naming what is wrong, no delegate ran, no cache file exists, and a
// later DEL of the same container with good input exits 0. Real namespaces: e2e/meta/input.e2e.test.ts.
import {randomUUID} from 'node:crypto';
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, relative} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {ResultCache} from '../chain/cache.ts';
import {FakePluginExec} from '../chain/testing/fake-exec.ts';
import {dispatch} from '../cni/dispatch.ts';
import {MAX_COMPOSED_JSON_DEPTH, MAX_JSON_DEPTH} from '../cni/json.ts';
import {FakeKubeClient} from '../k8s/testing/fake-client.ts';
import {configureLog} from '../log.ts';
import {decodeCache} from './cache.ts';
import {createPlexusPlugin} from './plugin.ts';
import {probeFrom} from './testing/netns.ts';

configureLog({logToStderr: false});

const FAKE_BIN = '/fake/cni/bin';
const POD_NETNS = '/var/run/netns/pod';
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
let dir: string;
let kube: FakeKubeClient;
let exec: FakePluginExec;

const answer = (call: {
	command: string;
	env: Readonly<Record<string, string>>;
	config: Record<string, unknown>;
}) =>
	call.command === 'ADD'
		? {
				cniVersion: call.config['cniVersion'],
				interfaces: [{name: call.env['CNI_IFNAME'], sandbox: call.env['CNI_NETNS']}],
				ips: [{address: '10.0.0.2/24', interface: 0}],
			}
		: undefined;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-input-'));
	exec = new FakePluginExec({bridge: answer, macvlan: answer});
	kube = new FakeKubeClient();
	kube.addPod({namespace: 'ns1', name: 'web', uid: 'u1', annotations: {'k8s.v1.cni.cncf.io/networks': 'a'}});
	kube.addNad('ns1', 'a', JSON.stringify({cniVersion: '1.0.0', name: 'a', plugins: [{type: 'macvlan'}]}));
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

const plugin = () =>
	createPlexusPlugin({
		kube: () => kube,
		exec,
		inProcess: async () => new Map(),
		probeNetns: probeFrom({
			[POD_NETNS]: {kind: 'netns'},
			'/dev/null': {kind: 'other', reason: 'not a network namespace file'},
		}),
	});

function conf(extra: Record<string, unknown> = {}): Record<string, unknown> {
	return {
		cniVersion: '1.0.0',
		name: 'plexus-net',
		type: 'plexus',
		cniDir: join(dir, 'cni'),
		delegates: [{cniVersion: '1.0.0', name: 'cbr0', plugins: [{type: 'bridge', bridge: 'cni0'}]}],
		...extra,
	};
}

async function run(command: string, stdin: string, env: Record<string, string> = {}) {
	const vars: Record<string, string> = {
		CNI_COMMAND: command,
		CNI_CONTAINERID: 'c1',
		CNI_NETNS: POD_NETNS,
		CNI_IFNAME: 'eth0',
		CNI_ARGS: 'K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web;K8S_POD_UID=u1',
		CNI_PATH: FAKE_BIN,
		...env,
	};
	const outcome = await dispatch(plugin(), {getenv: (k) => vars[k], stdin: Buffer.from(stdin), env: vars});
	return outcome.ok ? {code: 0, msg: ''} : {code: outcome.error.code, msg: outcome.error.message};
}

/** The files under the plexus cache dir (records, and their progress journals under progress/). */
async function cacheFiles(): Promise<string[]> {
	const root = join(dir, 'cni', 'plexus');
	const entries = await readdir(root, {recursive: true, withFileTypes: true}).catch(() => []);
	return entries
		.filter((e) => e.isFile())
		.map((e) => relative(root, join(e.parentPath, e.name)))
		.sort();
}

/** After a refused ADD: nothing ran, nothing is cached, and a good DEL of the container exits 0. */
async function expectNothingLeft(): Promise<void> {
	expect(exec.calls.filter((c) => c.command === 'ADD')).toEqual([]);
	expect(await cacheFiles()).toEqual([]);
	expect(await run('DEL', JSON.stringify(conf()))).toEqual({code: 0, msg: ''});
	expect(await cacheFiles()).toEqual([]);
}

describe('refused before anything runs', () => {
	test(`a Plexus conf nested deeper than ${MAX_JSON_DEPTH} levels: code 7 naming the limit`, async () => {
		const stdin = JSON.stringify(conf({runtimeConfig: {x: '@'}})).replace('"@"', deep(2000));
		expect(await run('ADD', stdin)).toEqual({
			code: 7,
			msg: `invalid network config: JSON nests deeper than the limit of ${MAX_JSON_DEPTH} levels`,
		});
		await expectNothingLeft();
	});

	test('a prevResult nested too deep: code 7', async () => {
		const stdin = JSON.stringify(conf({prevResult: {cniVersion: '1.0.0', ips: '@'}})).replace(
			'"@"',
			deep(100),
		);
		expect((await run('ADD', stdin)).code).toBe(7);
		await expectNothingLeft();
	});

	test('a NAD config nested too deep: code 7 naming the NAD and the limit', async () => {
		kube.addNad('ns1', 'a', `{"cniVersion":"1.0.0","name":"a","type":"macvlan","x":${deep(2000)}}`);
		const {code, msg} = await run('ADD', JSON.stringify(conf()));
		expect(code).toBe(7);
		expect(msg).toContain('network-attachment-definition "ns1/a"');
		expect(msg).toContain(`JSON nests deeper than the limit of ${MAX_JSON_DEPTH} levels`);
		await expectNothingLeft();
	});

	test('a networks annotation nested too deep: code 7 naming the annotation', async () => {
		kube.addPod({
			namespace: 'ns1',
			name: 'web',
			uid: 'u1',
			annotations: {'k8s.v1.cni.cncf.io/networks': `[{"name":"a","cni-args":{"x":${deep(2000)}}}]`},
		});
		const {code, msg} = await run('ADD', JSON.stringify(conf()));
		expect(code).toBe(7);
		expect(msg).toContain('invalid annotation "k8s.v1.cni.cncf.io/networks" on pod "ns1/web"');
		// The annotation stays broken: DEL has no cache and cannot resolve it, and still converges.
		await expectNothingLeft();
	});

	test('a conf file in confDir nested too deep: code 7 naming the file', async () => {
		await writeFile(join(dir, 'cbr0.conflist'), `{"cniVersion":"1.0.0","name":"cbr0","x":${deep(2000)}}`);
		const {code, msg} = await run(
			'ADD',
			JSON.stringify(conf({delegates: undefined, clusterNetwork: 'cbr0', confDir: dir})),
		);
		expect(code).toBe(7);
		expect(msg).toContain(`conf file "${join(dir, 'cbr0.conflist')}"`);
		await expectNothingLeft();
	});

	test.each([
		'cniDir',
		'confDir',
		'binDir',
		'logFile',
		'kubeconfig',
		'readinessindicatorfile',
		'deviceInfoDir',
	])('a relative "%s": code 7 naming the key and the value', async (key) => {
		expect(await run('ADD', JSON.stringify(conf({[key]: 'relative/dir'})))).toEqual({
			code: 7,
			msg: `invalid plexus config: key "${key}": "relative/dir" is a relative path; it must be absolute`,
		});
		await expectNothingLeft();
	});

	test.each(['eth\u00000', 'a/b', 'a:b', 'a b', '..', 'x'.repeat(16), ''])(
		'CNI_IFNAME %j: code 4 naming it',
		async (ifname) => {
			const {code, msg} = await run('ADD', JSON.stringify(conf()), {CNI_IFNAME: ifname});
			expect(code).toBe(4);
			expect(msg).toMatch(/interface name|CNI_IFNAME/);
			await expectNothingLeft();
		},
	);

	test.each(['/dev/null', '/var/run/netns/gone'])(
		'CNI_NETNS %s is not a network namespace: code 8 for ADD and CHECK',
		async (netns) => {
			for (const verb of ['ADD', 'CHECK']) {
				const {code, msg} = await run(verb, JSON.stringify(conf()), {CNI_NETNS: netns});
				expect(code).toBe(8);
				expect(msg).toContain(`invalid netns "${netns}" for ${verb}`);
			}
			await expectNothingLeft();
		},
	);
});

describe('DEL with the same bad conf ADD refused', () => {
	test.each([
		['a relative cniDir', {cniDir: 'relative/dir'}],
		['an unknown key', {cniDri: '/x'}],
		['both clusterNetwork and delegates', {clusterNetwork: 'cbr0'}],
		['a bad logLevel', {logLevel: 'x'}],
	])('%s: ADD is code 7, DEL of the same container exits 0 with nothing to undo', async (_, extra) => {
		const bad = JSON.stringify(conf(extra));
		// A relative cniDir sends DEL to the default dir: a container ID no other run has used.
		const id = {CNI_CONTAINERID: `bad-conf-${randomUUID()}`};
		expect((await run('ADD', bad, id)).code).toBe(7);
		expect(await run('DEL', bad, id)).toEqual({code: 0, msg: ''});
		expect(exec.calls).toEqual([]);
		expect(await cacheFiles()).toEqual([]);
	});

	test('a conf broken after a good ADD: DEL fails naming the conf and keeps the cache for the retry', async () => {
		expect((await run('ADD', JSON.stringify(conf()))).code).toBe(0);
		const {code, msg} = await run('DEL', JSON.stringify(conf({logLevel: 'x'})));
		expect(code).toBe(7);
		expect(msg).toContain('invalid plexus config: key "logLevel"');
		expect(await cacheFiles()).toEqual(['c1-eth0.json', 'progress/c1-eth0.json']);
		expect(await run('DEL', JSON.stringify(conf()))).toEqual({code: 0, msg: ''});
		expect(await cacheFiles()).toEqual([]);
	});
});

describe('DEL converges without the namespace', () => {
	test.each(['/dev/null', '/var/run/netns/gone'])(
		'after a good ADD, a DEL whose CNI_NETNS is %s runs every delegate DEL without it and exits 0',
		async (netns) => {
			expect((await run('ADD', JSON.stringify(conf()))).code).toBe(0);
			expect(await cacheFiles()).toEqual(['c1-eth0.json', 'progress/c1-eth0.json']);
			expect(await run('DEL', JSON.stringify(conf()), {CNI_NETNS: netns})).toEqual({code: 0, msg: ''});
			expect(exec.callsOf('DEL').map((c) => [c.type, c.env['CNI_IFNAME'], c.env['CNI_NETNS']])).toEqual([
				['macvlan', 'net1', ''],
				['bridge', 'eth0', ''],
			]);
			expect(await cacheFiles()).toEqual([]);
		},
	);
});

describe('cache files read back', () => {
	test(`a plexus cache nested deeper than ${MAX_COMPOSED_JSON_DEPTH} levels is corrupt naming the limit (DEL falls back to the API)`, () => {
		expect(decodeCache(`{"kind":"plexusCacheV1","x":${deep(5000)}}`)).toEqual({
			state: 'corrupt',
			reason: `JSON nests deeper than the limit of ${MAX_COMPOSED_JSON_DEPTH} levels`,
		});
	});

	test('a libcni result cache nested too deep is code 7 naming the network and the limit', async () => {
		const cache = new ResultCache(dir);
		const key = {networkName: 'net', containerId: 'c1', ifname: 'eth0'};
		await mkdir(cache.resultsDir, {recursive: true});
		await writeFile(cache.path(key), `{"kind":"cniCacheV1","result":${deep(5000)}}`);
		await expect(cache.getResult(key, '1.0.0')).rejects.toMatchObject({
			code: 7,
			message: `invalid cached result of network "net": JSON nests deeper than the limit of ${MAX_COMPOSED_JSON_DEPTH} levels`,
		});
		expect(await cache.getAttachment(key)).toBeUndefined();
	});
});
