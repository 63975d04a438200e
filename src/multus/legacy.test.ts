// Pods ADDed by Multus (or by an earlier Plexus) and DELeted, CHECKed and GC'd by this Plexus,
// against FakePluginExec: the Multus v4.x/v3.x fixtures of e2e/testdata/multus-cache/, the frozen
// plexusCacheV1 file of e2e/testdata/plexus-cache/. The real kernel run is e2e/multus-migration.
import {readFileSync} from 'node:fs';
import {copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {fixtureConfigs, MULTUS_FIXTURES, materializeFixture} from '../../e2e/helpers/multus-fixture.ts';
import {ResultCache} from '../chain/cache.ts';
import {FakePluginExec} from '../chain/testing/fake-exec.ts';
import {dispatch} from '../cni/dispatch.ts';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {parseResult} from '../cni/result.ts';
import {createPlexusPlugin} from '../meta/plugin.ts';
import {anyPathIsNetns} from '../meta/testing/netns.ts';
import {multusArgs, multusCapabilityArgs} from './legacy.ts';
import {decodeMultusCache, delegateNetworkList} from './multus-cache.ts';

const FAKE_BIN = '/fake/cni/bin';
const PLEXUS_FIXTURES = fileURLToPath(new URL('../../e2e/testdata/plexus-cache/', import.meta.url));
const VARS = {
	CBRIDGE: 'cbr-x',
	SBRIDGE: 'sbr-x',
	MASTER: 'mv-x',
	DATADIR: '/data',
	CSUBNET: '10.1.1',
	MSUBNET: '10.2.2',
	SSUBNET: '10.3.3',
};
let dir: string;
let exec: FakePluginExec;
let failDel: string | undefined;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-legacy-'));
	failDel = undefined;
	const answer = (call: {command: string; type: string; env: Readonly<Record<string, string>>}) => {
		if (call.command === 'DEL' && failDel === call.env['CNI_IFNAME'])
			throw new CniError(11, `device busy on ${call.env['CNI_IFNAME']}`);
		return undefined;
	};
	exec = new FakePluginExec({bridge: answer, macvlan: answer, ipvlan: answer});
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

const plugin = () =>
	createPlexusPlugin({
		kube: () => undefined,
		exec,
		inProcess: async () => new Map(),
		probeNetns: anyPathIsNetns,
	});

function conf(extra: Record<string, unknown> = {}) {
	return {
		cniVersion: '1.0.0',
		name: 'plexus-net',
		type: 'plexus',
		cniDir: dir,
		clusterNetwork: '/etc/cni/net.d/10-cluster.conflist',
		...extra,
	};
}

async function run(command: string, config: object = conf(), containerId = 'c1') {
	const env: Record<string, string> = {
		CNI_COMMAND: command,
		CNI_CONTAINERID: containerId,
		CNI_NETNS: `/var/run/netns/${containerId}`,
		CNI_IFNAME: 'eth0',
		CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web-${containerId};K8S_POD_INFRA_CONTAINER_ID=${containerId};K8S_POD_UID=u1`,
		CNI_PATH: FAKE_BIN,
	};
	return dispatch(plugin(), {getenv: (k) => env[k], stdin: Buffer.from(JSON.stringify(config)), env});
}

const failure = (outcome: Awaited<ReturnType<typeof run>>) => (outcome.ok ? undefined : outcome.error);
const calls = () => exec.calls.map((c) => `${c.command} ${c.type} ${c.env['CNI_IFNAME']}`);

/** A result as the delegate returned it at ADD. */
const resultFor = (ifname: string, address: string, version = '1.0.0') =>
	parseResult({
		cniVersion: version,
		interfaces: [{name: ifname, sandbox: '/var/run/netns/c1'}],
		ips: [{...(version.startsWith('0.') ? {version: '4'} : {}), interface: 0, address}],
	});

/**
 * What Multus left for container `cid`: its delegate cache and the three libcni results, each
 * holding the delegate's own bytes as `config` (libcni AddNetwork caches a single conf as such).
 */
async function multusPod(cid: string, fixture = 'v4-pod.json'): Promise<void> {
	await writeFile(join(dir, cid), await materializeFixture(fixture, VARS), {mode: 0o600});
	const [cluster, macvlan, bridge] = await fixtureConfigs(fixture, VARS);
	const results = new ResultCache(dir);
	const entries = [
		{networkName: 'cluster-net', ifname: 'eth0', config: cluster, result: resultFor('eth0', '10.1.1.10/24')},
		{
			networkName: 'macvlan-net',
			ifname: 'net1',
			config: macvlan,
			result: resultFor('net1', '10.2.2.10/24', '0.4.0'),
		},
		{
			networkName: 'bridge-static',
			ifname: 'data0',
			config: bridge,
			result: resultFor('data0', '10.3.3.5/24'),
		},
	];
	for (const e of entries) {
		await results.write({
			...e,
			containerId: cid,
			netns: `/var/run/netns/${cid}`,
			cniArgs: [['K8S_POD_NAMESPACE', 'ns1']],
			config: Buffer.from(e.config ?? ''),
			capabilityArgs: {},
		});
	}
}

const files = async (sub = '') => (await readdir(join(dir, sub)).catch(() => [] as string[])).sort();

describe('the Multus v4.x delegate cache', () => {
	test('decodes the fixture: order, names, conflist vs conf, requested interface, exact bytes', async () => {
		const file = join(MULTUS_FIXTURES, 'v4-pod.json');
		const delegates = decodeMultusCache(await materializeFixture('v4-pod.json', VARS), file);
		expect(delegates.map((d) => [d.index, d.name, d.conflist, d.ifnameRequest, d.cniVersion])).toEqual([
			[0, 'cluster-net', true, undefined, '1.0.0'],
			[1, 'ns1/macvlan-net', false, undefined, '0.4.0'],
			[2, 'ns1/bridge-static', true, 'data0', '1.0.0'],
		]);
		const macvlan = JSON.parse(Buffer.from(delegates[1]?.bytes ?? []).toString()) as Record<string, unknown>;
		expect(macvlan).toMatchObject({type: 'macvlan', master: 'mv-x', ipam: {dataDir: '/data/host-local'}});
	});

	test('a v3.x cache (one IsFilterGateway flag) decodes to the same delegates', async () => {
		const v3 = decodeMultusCache(await materializeFixture('v3-pod.json', VARS), 'v3');
		const v4 = decodeMultusCache(await materializeFixture('v4-pod.json', VARS), 'v4');
		expect(v3).toEqual(v4);
	});

	test.each([
		['unknown-format.json', 'delegate 1: unknown key "NetworkConfigV5"'],
		['corrupt.json', 'not JSON'],
	])('%s is a code-6 error naming the file', async (name, reason) => {
		const file = join(MULTUS_FIXTURES, name);
		let error: CniError | undefined;
		try {
			decodeMultusCache(String(readFileSync(file)), file);
		} catch (e) {
			error = e as CniError;
		}
		expect(error?.code).toBe(CniErrorCode.decodeFailure);
		expect(error?.message).toContain(`failed to read multus cache "${file}": `);
		expect(error?.message).toContain(reason);
	});

	test.each([
		[
			'{"kind":"plexusCacheV1"}',
			'expected the JSON list of delegates Multus writes, found an object of kind "plexusCacheV1"',
		],
		['[]', 'the delegate list is empty'],
		[
			'[{"Conf":{},"Name":"x","Bytes":"e30="}]',
			'delegate 0: keys "Conf" and "ConfList" must both be objects',
		],
		['[{"Conf":{},"ConfList":{},"Name":"x","Bytes":"{}"}]', 'delegate 0: key "Bytes" is not base64'],
		['[{"Conf":{},"ConfList":{},"Name":"x"}]', 'delegate 0: key "Bytes" (the delegate config) is missing'],
		[
			`[{"Conf":{},"ConfList":{},"Name":"x","Bytes":"${Buffer.from('{"name":"x","plugins":[{"type":"bridge"}]}').toString('base64')}"}]`,
			'delegate 0: "Bytes" is a conflist but "ConfList" has no plugins',
		],
	])('%s is refused: %s', (text, reason) => {
		expect(() => decodeMultusCache(text, '/var/lib/cni/multus/c9')).toThrow(
			`failed to read multus cache "/var/lib/cni/multus/c9": ${reason}`,
		);
	});

	test('a conflist cached without cniVersion gets the conf version, keeping every plugin key (Multus #1449)', () => {
		const bytes =
			'{"name":"n","plugins":[{"type":"bridge","ipam":{"type":"host-local","ranges":[[{"subnet":"10.9.9.0/24"}]]}}]}';
		const text = JSON.stringify([
			{
				Conf: {name: 'n', ipam: {}, dns: {}},
				ConfList: {name: 'n', plugins: [{type: 'bridge', ipam: {type: 'host-local'}, dns: {}}]},
				Name: 'ns1/n',
				Bytes: Buffer.from(bytes).toString('base64'),
			},
		]);
		const [d] = decodeMultusCache(text, 'f');
		const list = delegateNetworkList(d!, '0.4.0', 'f');
		expect(list.cniVersion).toBe('0.4.0');
		expect(list.plugins[0]?.raw).toEqual({
			type: 'bridge',
			ipam: {type: 'host-local', ranges: [[{subnet: '10.9.9.0/24'}]]},
		});
	});
});

describe('the runtime arguments Multus gave each delegate', () => {
	test('CNI_ARGS: the five fixed pairs, then every runtime pair that does not fill an empty one', () => {
		expect(
			multusArgs([
				['IgnoreUnknown', '1'],
				['K8S_POD_NAMESPACE', 'ns1'],
				['K8S_POD_NAME', 'web'],
				['K8S_POD_INFRA_CONTAINER_ID', 'c1'],
			]),
		).toEqual([
			['IgnoreUnknown', 'true'],
			['K8S_POD_NAMESPACE', 'ns1'],
			['K8S_POD_NAME', 'web'],
			['K8S_POD_INFRA_CONTAINER_ID', 'c1'],
			['K8S_POD_UID', ''],
			['IgnoreUnknown', '1'],
			['K8S_POD_NAMESPACE', 'ns1'],
			['K8S_POD_NAME', 'web'],
			['K8S_POD_INFRA_CONTAINER_ID', 'c1'],
		]);
	});

	test('capability args: the runtime ones for all; a NAD adds its ips/mac/deviceID and a device-info file', () => {
		const container = {
			containerId: 'c1',
			netns: '',
			ifname: 'eth0',
			pairs: [],
			runtimeConfig: {portMappings: [{hostPort: 80, containerPort: 8080}], dns: {servers: ['1.1.1.1']}},
		};
		const base = {
			name: 'ns1/sriov',
			conflist: false,
			bytes: new Uint8Array(),
			cniVersion: '1.0.0',
			ifnameRequest: undefined,
			macRequest: '02:00:00:00:00:09',
			infinibandGUIDRequest: undefined,
			ipRequest: ['10.5.5.5/24'],
			deviceID: '0000:18:02.5',
			resourceName: 'intel/sriov',
		};
		expect(multusCapabilityArgs({...base, index: 0}, 'eth0', container, '/devinfo')).toEqual({
			portMappings: [{hostPort: 80, containerPort: 8080}],
		});
		expect(multusCapabilityArgs({...base, index: 1}, 'net1', container, '/devinfo')).toEqual({
			portMappings: [{hostPort: 80, containerPort: 8080}],
			ips: ['10.5.5.5/24'],
			mac: '02:00:00:00:00:09',
			deviceID: '0000:18:02.5',
			CNIDeviceInfoFile: '/devinfo/ns1-sriov-c1_net1.json',
		});
	});
});

describe('DEL of a pod Multus added', () => {
	test('replays the delegates in reverse with their cached results, then removes every cache file', async () => {
		await multusPod('c1');
		const outcome = await run('DEL');
		expect(failure(outcome)?.message).toBeUndefined();
		expect(calls()).toEqual(['DEL bridge data0', 'DEL macvlan net1', 'DEL bridge eth0']);
		const [data0, net1, eth0] = exec.calls;
		expect(data0?.config).toEqual({
			cniVersion: '1.0.0',
			name: 'bridge-static',
			type: 'bridge',
			bridge: 'sbr-x',
			ipam: {type: 'static', addresses: [{address: '10.3.3.5/24'}]},
			prevResult: {
				cniVersion: '1.0.0',
				interfaces: [{name: 'data0', sandbox: '/var/run/netns/c1'}],
				ips: [{interface: 0, address: '10.3.3.5/24'}],
			},
		});
		// The single 0.4.0 conf runs as itself, its prevResult in 0.4.0 form.
		expect(net1?.config).toMatchObject({
			cniVersion: '0.4.0',
			name: 'macvlan-net',
			master: 'mv-x',
			prevResult: {ips: [{version: '4', address: '10.2.2.10/24'}]},
		});
		expect(eth0?.config['ipam']).toMatchObject({ranges: [[{subnet: '10.1.1.0/24'}]]});
		expect(eth0?.env['CNI_ARGS']).toBe(
			'IgnoreUnknown=true;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web-c1;K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=u1;IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web-c1;K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=u1',
		);
		expect(eth0?.env['CNI_NETNS']).toBe('/var/run/netns/c1');
		expect(await files()).toEqual(['results']);
		expect(await files('results')).toEqual([]);
	});

	test('goes on after a failing delegate, reports it with the file, and keeps the cache for the retry', async () => {
		await multusPod('c1');
		failDel = 'net1';
		const error = failure(await run('DEL'));
		expect(calls()).toEqual(['DEL bridge data0', 'DEL macvlan net1', 'DEL bridge eth0']);
		expect(error?.code).toBe(11);
		expect(error?.message).toBe(
			`failed to delete pod "ns1/web-c1" (multus cache "${join(dir, 'c1')}"): failed to delete multus delegate "ns1/macvlan-net" (interface "net1"): plugin type="macvlan" name="macvlan-net" failed (delete): device busy on net1`,
		);
		expect(await files()).toEqual(['c1', 'results']);
		expect(await files('results')).toEqual(['macvlan-net-c1-net1']);
		// The retry replays the same list; delegates already gone DEL again, idempotently.
		failDel = undefined;
		exec.calls.length = 0;
		expect(failure(await run('DEL'))).toBeUndefined();
		expect(calls()).toEqual(['DEL bridge data0', 'DEL macvlan net1', 'DEL bridge eth0']);
		expect(await files()).toEqual(['results']);
	});

	test.each(['corrupt.json', 'unknown-format.json'])(
		'a %s cache fails DEL naming the file and runs nothing',
		async (fixture) => {
			await copyFile(join(MULTUS_FIXTURES, fixture), join(dir, 'c1'));
			const error = failure(await run('DEL'));
			expect(error?.code).toBe(CniErrorCode.decodeFailure);
			expect(error?.message).toContain(`failed to read multus cache "${join(dir, 'c1')}": `);
			expect(exec.calls).toEqual([]);
			expect(await files()).toEqual(['c1']);
		},
	);
});

describe('CHECK of a pod Multus added', () => {
	test('checks every delegate in order with its cached result', async () => {
		await multusPod('c1');
		expect(failure(await run('CHECK'))).toBeUndefined();
		expect(calls()).toEqual(['CHECK bridge eth0', 'CHECK macvlan net1', 'CHECK bridge data0']);
		expect(exec.calls[2]?.config['prevResult']).toMatchObject({ips: [{address: '10.3.3.5/24'}]});
	});

	test('skips a delegate added at cniVersion 0.3.1 (no CHECK there) and checks the others', async () => {
		await multusPod('c1');
		const delegates = JSON.parse(await readFile(join(dir, 'c1'), 'utf8')) as Record<string, unknown>[];
		const macvlan = delegates[1] as {Conf: {cniVersion: string}; Bytes: string};
		macvlan.Conf.cniVersion = '0.3.1';
		const bytes = Buffer.from(macvlan.Bytes, 'base64').toString().replace('"0.4.0"', '"0.3.1"');
		macvlan.Bytes = Buffer.from(bytes).toString('base64');
		await writeFile(join(dir, 'c1'), JSON.stringify(delegates));
		expect(failure(await run('CHECK'))).toBeUndefined();
		expect(calls()).toEqual(['CHECK bridge eth0', 'CHECK bridge data0']);
	});

	test('a failing delegate fails CHECK naming it', async () => {
		await multusPod('c1');
		exec = new FakePluginExec({
			bridge: () => undefined,
			macvlan: (call) => {
				if (call.command === 'CHECK') throw new CniError(100, 'link net1 is gone');
			},
		});
		expect(failure(await run('CHECK'))?.message).toBe(
			'check of multus delegate "ns1/macvlan-net" (interface "net1") failed: link net1 is gone',
		);
	});
});

describe('GC with pods Multus added', () => {
	test('DELs the pods the runtime no longer lists, from their cached netns and args; keeps the others', async () => {
		await multusPod('c1');
		await multusPod('c2');
		const gc = conf({
			cniVersion: '1.1.0',
			'cni.dev/valid-attachments': [{containerID: 'c1', ifname: 'eth0'}],
		});
		expect(failure(await run('GC', gc, 'gc'))).toBeUndefined();
		expect(calls()).toEqual(['DEL bridge data0', 'DEL macvlan net1', 'DEL bridge eth0']);
		expect(exec.calls.every((c) => c.env['CNI_CONTAINERID'] === 'c2')).toBe(true);
		expect(exec.calls[2]?.env['CNI_NETNS']).toBe('/var/run/netns/c2');
		// Each delegate with the arguments its ADD was cached with, as libcni GC does.
		expect(exec.calls.map((c) => c.env['CNI_ARGS'])).toEqual(Array(3).fill('K8S_POD_NAMESPACE=ns1'));
		expect(await files()).toEqual(['c1', 'results']);
		expect(await files('results')).toEqual([
			'bridge-static-c1-data0',
			'cluster-net-c1-eth0',
			'macvlan-net-c1-net1',
		]);
	});

	test('an unusable Multus cache of a stale container fails GC naming it', async () => {
		await copyFile(join(MULTUS_FIXTURES, 'corrupt.json'), join(dir, 'c3'));
		const error = failure(
			await run('GC', conf({cniVersion: '1.1.0', 'cni.dev/valid-attachments': []}), 'gc'),
		);
		expect(error?.message).toContain(`failed to read multus cache "${join(dir, 'c3')}": not JSON`);
	});
});

describe('pods added by an earlier Plexus (the versioned plexus cache)', () => {
	test('a plexusCacheV1 file written by the first release is still deleted exactly', async () => {
		await mkdir(join(dir, 'plexus'));
		await copyFile(join(PLEXUS_FIXTURES, 'plexusCacheV1-c1-eth0.json'), join(dir, 'plexus', 'c1-eth0.json'));
		const outcome = await run('DEL');
		expect(failure(outcome)).toBeUndefined();
		expect(calls()).toEqual(['DEL ipvlan eth9', 'DEL macvlan net1', 'DEL bridge eth0']);
		expect(exec.calls[0]?.config).toEqual({cniVersion: '0.4.0', name: 'b', type: 'ipvlan', master: 'y'});
		expect(exec.calls[2]?.config).toEqual({
			cniVersion: '1.0.0',
			name: 'cbr0',
			type: 'bridge',
			bridge: 'cni0',
		});
		expect(await files('plexus')).toEqual([]);
	});

	test('a newer format is refused with code 1 naming the file, never replayed nor guessed from the API', async () => {
		await mkdir(join(dir, 'plexus'));
		const file = join(dir, 'plexus', 'c1-eth0.json');
		const v1 = await readFile(join(PLEXUS_FIXTURES, 'plexusCacheV1-c1-eth0.json'), 'utf8');
		await writeFile(file, v1.replace('"plexusCacheV1"', '"plexusCacheV2"'));
		const error = failure(await run('DEL'));
		expect(error?.code).toBe(CniErrorCode.incompatibleVersion);
		expect(error?.message).toBe(
			`failed to delete pod "ns1/web-c1": plexus cache "${file}": format "plexusCacheV2" is not one this plexus reads (plexusCacheV1); it was written by a newer plexus`,
		);
		expect(exec.calls).toEqual([]);
		expect(failure(await run('CHECK'))?.code).toBe(CniErrorCode.incompatibleVersion);
		expect(
			failure(await run('GC', conf({cniVersion: '1.1.0', 'cni.dev/valid-attachments': []}), 'gc'))?.message,
		).toContain(`plexus cache "${file}": format "plexusCacheV2"`);
		expect(await files('plexus')).toEqual(['c1-eth0.json']);
	});
});
