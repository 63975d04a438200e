// The meta-plugin against fakes: FakePluginExec for delegates (calls recorded as data) and
// FakeKubeClient for the API. Real kernels and the real API client are proven in e2e/meta*.
import {mkdir, mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {type FakeCall, FakePluginExec} from '../chain/testing/fake-exec.ts';
import {dispatch} from '../cni/dispatch.ts';
import {CniError} from '../cni/errors.ts';
import {FakeKubeClient} from '../k8s/testing/fake-client.ts';
import {createPlexusPlugin} from './plugin.ts';
import {anyPathIsNetns} from './testing/netns.ts';

const FAKE_BIN = '/fake/cni/bin';
let dir: string;
let kube: FakeKubeClient;
let exec: FakePluginExec;
let failOn: string | undefined;
let macCounter = 0;

function plugin(options: {kube?: FakeKubeClient | undefined} = {}) {
	return createPlexusPlugin({
		kube: () => ('kube' in options ? options.kube : kube),
		exec,
		inProcess: async () => new Map(),
		probeNetns: anyPathIsNetns,
	});
}

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-meta-'));
	kube = new FakeKubeClient();
	failOn = undefined;
	macCounter = 0;
	const answer = (call: {
		command: string;
		env: Readonly<Record<string, string>>;
		config: Record<string, unknown>;
	}) => {
		const network = String(call.config['name']);
		if (call.command === 'ADD' && failOn === network) throw new CniError(11, `no room on "${network}"`);
		if (call.command !== 'ADD') return undefined;
		macCounter += 1;
		return {
			cniVersion: call.config['cniVersion'],
			interfaces: [
				{name: call.env['CNI_IFNAME'], mac: `02:00:00:00:00:0${macCounter}`, sandbox: call.env['CNI_NETNS']},
			],
			ips: [
				{
					...(String(call.config['cniVersion']).startsWith('0.') ? {version: '4'} : {}),
					interface: 0,
					address: `10.0.${macCounter}.2/24`,
					gateway: `10.0.${macCounter}.1`,
				},
			],
		};
	};
	exec = new FakePluginExec({bridge: answer, macvlan: answer, ipvlan: answer});
	webPod({'k8s.v1.cni.cncf.io/networks': 'a, b@eth9'});
	kube.addNad(
		'ns1',
		'a',
		JSON.stringify({cniVersion: '1.0.0', name: 'a', plugins: [{type: 'macvlan', master: 'x'}]}),
	);
	kube.addNad('ns1', 'b', JSON.stringify({cniVersion: '0.4.0', name: 'b', type: 'ipvlan', master: 'y'}));
});

/** The test pod ns1/web (uid u1) with `annotations`, replacing the one beforeEach added. */
const webPod = (annotations: Record<string, string>) =>
	kube.addPod({namespace: 'ns1', name: 'web', uid: 'u1', annotations});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

function conf(extra: Record<string, unknown> = {}) {
	return {
		cniVersion: '0.4.0',
		name: 'plexus-net',
		type: 'plexus',
		cniDir: dir,
		confDir: dir,
		kubeconfig: '/unused',
		delegates: [{cniVersion: '1.0.0', name: 'cbr0', plugins: [{type: 'bridge', bridge: 'cni0'}]}],
		...extra,
	};
}

async function run(
	p: ReturnType<typeof plugin>,
	command: string,
	config: object,
	overrides: Record<string, string> = {},
) {
	const env: Record<string, string> = {
		CNI_COMMAND: command,
		CNI_CONTAINERID: 'c1',
		CNI_NETNS: '/var/run/netns/p1',
		CNI_IFNAME: 'eth0',
		CNI_ARGS: 'K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web;K8S_POD_UID=u1',
		CNI_PATH: FAKE_BIN,
		...overrides,
	};
	return dispatch(p, {getenv: (k) => env[k], stdin: Buffer.from(JSON.stringify(config)), env});
}

const calls = () => exec.calls.map((c) => `${c.command} ${c.type} ${c.env['CNI_IFNAME']}`);

describe('ADD', () => {
	test("asks for the cluster network's NAD right behind the pod, before the pod's answer", async () => {
		kube.addNad('kube-system', 'cbr0', JSON.stringify({cniVersion: '1.0.0', name: 'cbr0', type: 'bridge'}));
		// The pod's answer is held until the cluster network's read was asked for.
		let release = () => {};
		const asked = new Promise<void>((resolve) => {
			release = resolve;
		});
		const readPod = kube.getPod.bind(kube);
		kube.getPod = async (namespace, name) => {
			const pod = readPod(namespace, name);
			await asked;
			return pod;
		};
		const readNad = kube.getNad.bind(kube);
		kube.getNad = async (namespace, name) => {
			if (namespace === 'kube-system') release();
			return readNad(namespace, name);
		};
		const outcome = await run(plugin(), 'ADD', conf({delegates: [], clusterNetwork: 'cbr0'}));
		expect(outcome.ok ? '' : outcome.error.message).toBe('');
		expect(
			kube.calls.filter((c) => c.method.startsWith('get')).map((c) => `${c.method} ${c.args.join('/')}`),
		).toEqual(['getPod ns1/web', 'getNad kube-system/cbr0', 'getNad ns1/a', 'getNad ns1/b']);
		expect(calls()).toEqual(['ADD bridge eth0', 'ADD macvlan net1', 'ADD ipvlan eth9']);
	});

	test('a pod overriding the cluster network: the unused read of the conf one is never reported', async () => {
		webPod({'v1.multus-cni.io/default-network': 'ns1/a'});
		// clusterNetwork names nothing: resolving it would fail ADD.
		const outcome = await run(plugin(), 'ADD', conf({delegates: [], clusterNetwork: 'nowhere'}));
		expect(outcome.ok ? '' : outcome.error.message).toBe('');
		expect(calls()).toEqual(['ADD macvlan eth0']);
	});

	test('runs the cluster network then the annotation networks and returns the cluster result in the conf version', async () => {
		const outcome = await run(plugin(), 'ADD', conf());
		expect(outcome.ok ? '' : outcome.error.message).toBe('');
		expect(calls()).toEqual(['ADD bridge eth0', 'ADD macvlan net1', 'ADD ipvlan eth9']);
		const result = JSON.parse(outcome.ok ? outcome.stdout : '{}') as Record<string, unknown>;
		expect(result).toEqual({
			cniVersion: '0.4.0',
			interfaces: [{name: 'eth0', mac: '02:00:00:00:00:01', sandbox: '/var/run/netns/p1'}],
			ips: [{version: '4', interface: 0, address: '10.0.1.2/24', gateway: '10.0.1.1'}],
			dns: {},
		});
		expect(exec.calls[1]?.env['CNI_ARGS']).toBe(
			'IgnoreUnknown=true;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web;K8S_POD_UID=u1',
		);
	});

	test('the runtime runtimeConfig reaches the cluster network only, even when a secondary declares it (spec §7.5)', async () => {
		kube.addNad(
			'ns1',
			'a',
			JSON.stringify({
				cniVersion: '1.0.0',
				name: 'a',
				plugins: [{type: 'macvlan', capabilities: {portMappings: true}}],
			}),
		);
		const mappings = [{hostPort: 8080, containerPort: 80, protocol: 'tcp'}];
		const config = conf({
			capabilities: {portMappings: true},
			runtimeConfig: {portMappings: mappings},
			delegates: [
				{cniVersion: '1.0.0', name: 'cbr0', plugins: [{type: 'bridge', capabilities: {portMappings: true}}]},
			],
		});
		expect((await run(plugin(), 'ADD', config)).ok).toBe(true);
		const [cluster, secondary] = exec.callsOf('ADD');
		expect(cluster?.config['runtimeConfig']).toEqual({portMappings: mappings});
		expect(secondary?.config['runtimeConfig']).toBeUndefined();
	});

	test('writes network-status and AddedInterface events', async () => {
		await run(plugin(), 'ADD', conf());
		const status = JSON.parse(
			kube.pods.get('ns1/web')?.annotations['k8s.v1.cni.cncf.io/network-status'] ?? '[]',
		) as unknown[];
		expect(status).toEqual([
			{name: 'cbr0', interface: 'eth0', ips: ['10.0.1.2'], mac: '02:00:00:00:00:01', default: true, dns: {}},
			{
				name: 'ns1/a',
				interface: 'net1',
				ips: ['10.0.2.2'],
				mac: '02:00:00:00:00:02',
				default: false,
				dns: {},
			},
			{
				name: 'ns1/b',
				interface: 'eth9',
				ips: ['10.0.3.2'],
				mac: '02:00:00:00:00:03',
				default: false,
				dns: {},
			},
		]);
		expect(kube.events.map((e) => `${e.type} ${e.reason} ${e.message}`)).toEqual([
			'Normal AddedInterface Add eth0 [10.0.1.2/24] from cbr0',
			'Normal AddedInterface Add net1 [10.0.2.2/24] from ns1/a',
			'Normal AddedInterface Add eth9 [10.0.3.2/24] from ns1/b',
		]);
	});

	test('persists the attachments (0600) before running anything', async () => {
		exec = new FakePluginExec({
			bridge: async () => {
				const file = join(dir, 'plexus', 'c1-eth0.json');
				const info = await stat(file);
				expect(info.mode & 0o777).toBe(0o600);
				const cached = JSON.parse(await readFile(file, 'utf8')) as {
					kind: string;
					attachments: {network: string}[];
				};
				expect(cached.kind).toBe('plexusCacheV1');
				expect(cached.attachments.map((a) => a.network)).toEqual(['cbr0', 'ns1/a', 'ns1/b']);
				throw new CniError(7, 'stop here');
			},
		});
		const outcome = await run(plugin(), 'ADD', conf());
		expect(outcome.ok).toBe(false);
	});

	test.each([
		['cbr0', ['ADD bridge eth0', 'DEL bridge eth0']],
		['a', ['ADD bridge eth0', 'ADD macvlan net1', 'DEL macvlan net1', 'DEL bridge eth0']],
		[
			'b',
			[
				'ADD bridge eth0',
				'ADD macvlan net1',
				'ADD ipvlan eth9',
				'DEL ipvlan eth9',
				'DEL macvlan net1',
				'DEL bridge eth0',
			],
		],
	])(
		'a failure on %s DELs every attempted attachment in reverse and names NAD, plugin and cause',
		async (network, expected) => {
			failOn = network;
			const outcome = await run(plugin(), 'ADD', conf());
			expect(calls()).toEqual(expected);
			expect(outcome.ok).toBe(false);
			if (outcome.ok) return;
			expect(outcome.error.code).toBe(11);
			expect(outcome.error.message).toMatch(
				new RegExp(
					`^failed to add network "(ns1/)?${network}" .* of pod "ns1/web": plugin type="(bridge|macvlan|ipvlan)".* failed \\(add\\): no room on "${network}"$`,
				),
			);
			await expect(stat(join(dir, 'plexus', 'c1-eth0.json'))).rejects.toThrow('ENOENT');
		},
	);

	test('a bad annotation fails before any delegate runs', async () => {
		webPod({'k8s.v1.cni.cncf.io/networks': 'a,Bad'});
		const outcome = await run(plugin(), 'ADD', conf());
		expect(outcome.ok ? '' : outcome.error.message).toContain(
			'element 2 ("Bad"): "name" "Bad" is not a DNS-1123 label',
		);
		expect(exec.calls).toEqual([]);
	});

	test('a missing NAD posts NoNetworkFound and runs nothing', async () => {
		webPod({'k8s.v1.cni.cncf.io/networks': 'ghost'});
		const outcome = await run(plugin(), 'ADD', conf());
		expect(outcome.ok).toBe(false);
		expect(kube.events.map((e) => `${e.type} ${e.reason}`)).toEqual(['Warning NoNetworkFound']);
		expect(exec.calls).toEqual([]);
	});

	test('a pod re-created with another UID is refused; a static pod is not', async () => {
		kube.addPod({namespace: 'ns1', name: 'web', uid: 'u2', annotations: {}});
		const outcome = await run(plugin(), 'ADD', conf());
		expect(outcome.ok ? '' : outcome.error.message).toContain(
			'the runtime asks for pod UID "u1" but the API has UID "u2"',
		);
		kube.addPod({
			namespace: 'ns1',
			name: 'web',
			uid: 'u2',
			annotations: {'kubernetes.io/config.source': 'file'},
		});
		expect((await run(plugin(), 'ADD', conf())).ok).toBe(true);
	});

	test('without an API server only the conf networks run', async () => {
		const outcome = await run(plugin({kube: undefined}), 'ADD', conf());
		expect(outcome.ok).toBe(true);
		expect(calls()).toEqual(['ADD bridge eth0']);
	});
});

describe('device information (device-info spec v1.1.0)', () => {
	test('a chain declaring CNIDeviceInfoFile gets a per-attachment path; its content lands in network-status; DEL removes it', async () => {
		const info = {type: 'pci', version: '1.1.0', pci: {'pci-address': '0000:18:02.5'}};
		exec = new FakePluginExec({
			bridge: (call) => ({
				cniVersion: call.config['cniVersion'],
				interfaces: [{name: 'eth0', sandbox: '/p'}],
			}),
			devplug: async (call) => {
				if (call.command !== 'ADD') return undefined;
				const file = (call.config['runtimeConfig'] as {CNIDeviceInfoFile: string}).CNIDeviceInfoFile;
				await mkdir(join(dir, 'devinfo'), {recursive: true});
				await writeFile(file, JSON.stringify(info));
				return {cniVersion: call.config['cniVersion'], interfaces: [{name: 'net1', sandbox: '/p'}]};
			},
		});
		webPod({'k8s.v1.cni.cncf.io/networks': 'dev'});
		kube.addNad(
			'ns1',
			'dev',
			JSON.stringify({
				cniVersion: '1.0.0',
				name: 'dev',
				plugins: [{type: 'devplug', capabilities: {CNIDeviceInfoFile: true}}],
			}),
		);
		const config = conf({deviceInfoDir: join(dir, 'devinfo')});
		expect((await run(plugin(), 'ADD', config)).ok).toBe(true);
		const file = join(dir, 'devinfo', 'ns1-dev-c1_net1.json');
		expect(exec.callsOf('ADD')[1]?.config['runtimeConfig']).toEqual({CNIDeviceInfoFile: file});
		const status = JSON.parse(
			kube.pods.get('ns1/web')?.annotations['k8s.v1.cni.cncf.io/network-status'] ?? '[]',
		) as {
			'device-info'?: unknown;
		}[];
		expect(status[1]?.['device-info']).toEqual(info);
		expect(status[0]?.['device-info']).toBeUndefined();
		expect((await run(plugin(), 'DEL', config)).ok).toBe(true);
		await expect(stat(file)).rejects.toThrow('ENOENT');
	});
});

describe('device plugin resources', () => {
	test('the device plugin device-info file is copied for the attachment and reported in network-status', async () => {
		const checkpoint = join(dir, 'checkpoint');
		await writeFile(
			checkpoint,
			JSON.stringify({
				Data: {
					PodDeviceEntries: [
						{PodUID: 'u1', ContainerName: 'c', ResourceName: 'intel.com/sriov', DeviceIDs: ['0000:18:02.5']},
					],
				},
			}),
		);
		const info = {type: 'pci', version: '1.1.0', pci: {'pci-address': '0000:18:02.5'}};
		await mkdir(join(dir, 'dp'));
		await writeFile(join(dir, 'dp', 'intel.com-sriov-0000:18:02.5-device.json'), JSON.stringify(info));
		webPod({'k8s.v1.cni.cncf.io/networks': 'vf'});
		kube.addNad(
			'ns1',
			'vf',
			JSON.stringify({cniVersion: '1.0.0', name: 'vf', plugins: [{type: 'macvlan'}]}),
			{
				'k8s.v1.cni.cncf.io/resourceName': 'intel.com/sriov',
			},
		);
		const config = conf({
			deviceCheckpointFile: checkpoint,
			devicePluginInfoDir: join(dir, 'dp'),
			deviceInfoDir: join(dir, 'cni-devinfo'),
		});
		expect((await run(plugin(), 'ADD', config)).ok).toBe(true);
		expect(exec.callsOf('ADD')[1]?.config).toMatchObject({
			deviceID: '0000:18:02.5',
			pciBusID: '0000:18:02.5',
		});
		const status = JSON.parse(
			kube.pods.get('ns1/web')?.annotations['k8s.v1.cni.cncf.io/network-status'] ?? '[]',
		) as {
			'device-info'?: unknown;
		}[];
		expect(status[1]?.['device-info']).toEqual(info);
		expect((await run(plugin(), 'DEL', config)).ok).toBe(true);
		await expect(stat(join(dir, 'cni-devinfo', 'ns1-vf-c1_net1.json'))).rejects.toThrow('ENOENT');
	});
});

describe('DEL', () => {
	test('replays the cached configs in reverse with the API down and the NAD changed', async () => {
		await run(plugin(), 'ADD', conf());
		const added = exec.callsOf('ADD').map((c) => c.config);
		kube.nads.delete('ns1/a');
		kube.addNad(
			'ns1',
			'b',
			JSON.stringify({cniVersion: '0.4.0', name: 'b', type: 'ipvlan', master: 'CHANGED'}),
		);
		kube.failWith = {status: undefined};
		const outcome = await run(plugin(), 'DEL', conf());
		expect(outcome).toEqual({ok: true, stdout: ''});
		const deleted = exec.callsOf('DEL');
		expect(deleted.map((c) => `${c.type} ${c.env['CNI_IFNAME']}`)).toEqual([
			'ipvlan eth9',
			'macvlan net1',
			'bridge eth0',
		]);
		// Same config as ADD, plus the cached result as prevResult.
		for (const [i, call] of deleted.entries()) {
			const {prevResult, ...rest} = call.config;
			expect(rest).toEqual(added[added.length - 1 - i]);
			expect(prevResult).toBeDefined();
		}
		expect(kube.calls.filter((c) => c.method === 'getPod')).toHaveLength(1);
	});

	test('continues across failing attachments, aggregates the errors and keeps the cache', async () => {
		await run(plugin(), 'ADD', conf());
		exec = new FakePluginExec({
			bridge: () => {
				throw new CniError(5, 'bridge gone');
			},
			macvlan: () => undefined,
			ipvlan: () => {
				throw new CniError(5, 'ipvlan gone');
			},
		});
		const outcome = await run(plugin(), 'DEL', conf());
		expect(exec.calls.map((c) => c.type)).toEqual(['ipvlan', 'macvlan', 'bridge']);
		expect(outcome.ok ? '' : outcome.error.message).toBe(
			'failed to delete pod "ns1/web": failed to delete network "ns1/b" (interface "eth9"): plugin type="ipvlan" name="b" failed (delete): ipvlan gone; failed to delete network "cbr0" (interface "eth0"): plugin type="bridge" failed (delete): bridge gone',
		);
		await expect(stat(join(dir, 'plexus', 'c1-eth0.json'))).resolves.toBeDefined();
	});

	test('a DEL arriving during the ADD of the same container waits for it (spec v1.3 §7.3)', async () => {
		let letAddFinish: () => void = () => undefined;
		const addHeld = new Promise<void>((resolve) => {
			letAddFinish = resolve;
		});
		// The usual answers, with the cluster network's ADD held until the DEL has arrived.
		let addReached: () => void = () => undefined;
		const reached = new Promise<void>((resolve) => {
			addReached = resolve;
		});
		const usual = exec;
		const answer = async (call: FakeCall) => {
			if (call.command === 'ADD' && call.type === 'bridge') {
				addReached();
				await addHeld;
			}
			const out = await usual.exec({
				pluginPath: call.pluginPath,
				stdin: Buffer.from(call.stdin),
				env: call.env,
			});
			return out.length === 0 ? undefined : (JSON.parse(Buffer.from(out).toString('utf8')) as unknown);
		};
		exec = new FakePluginExec({bridge: answer, macvlan: answer, ipvlan: answer});
		const shared = plugin();
		const adding = run(shared, 'ADD', conf());
		await reached;
		const deleting = run(shared, 'DEL', conf());
		const callsOf = (id: string) =>
			exec.calls
				.filter((c) => c.env['CNI_CONTAINERID'] === id)
				.map((c) => `${c.command} ${c.type} ${c.env['CNI_IFNAME']}`);
		// A DEL of another container is not held up by this one.
		expect((await run(shared, 'DEL', conf(), {CNI_CONTAINERID: 'other'})).ok).toBe(true);
		expect(callsOf('other')).toHaveLength(3);
		expect(callsOf('c1')).toEqual(['ADD bridge eth0']);
		letAddFinish();
		expect((await adding).ok).toBe(true);
		expect((await deleting).ok).toBe(true);
		expect(callsOf('c1')).toEqual([
			'ADD bridge eth0',
			'ADD macvlan net1',
			'ADD ipvlan eth9',
			'DEL ipvlan eth9',
			'DEL macvlan net1',
			'DEL bridge eth0',
		]);
		await expect(stat(join(dir, 'plexus', 'c1-eth0.json'))).rejects.toThrow('ENOENT');
	});

	test('twice is fine: the second DEL finds no cache and no pod and succeeds', async () => {
		await run(plugin(), 'ADD', conf());
		expect((await run(plugin(), 'DEL', conf())).ok).toBe(true);
		kube.pods.delete('ns1/web');
		exec.calls.length = 0;
		expect(await run(plugin(), 'DEL', conf())).toEqual({ok: true, stdout: ''});
		expect(exec.calls).toEqual([]);
	});

	test('a corrupt cache is detected and DEL falls back to the API', async () => {
		await run(plugin(), 'ADD', conf());
		const file = join(dir, 'plexus', 'c1-eth0.json');
		const text = await readFile(file, 'utf8');
		await writeFile(file, text.replace('"ifname":"net1"', '"ifname":"net7"'));
		exec.calls.length = 0;
		const outcome = await run(plugin(), 'DEL', conf());
		expect(outcome.ok).toBe(true);
		expect(calls()).toEqual(['DEL ipvlan eth9', 'DEL macvlan net1', 'DEL bridge eth0']);
		await expect(stat(file)).rejects.toThrow('ENOENT');
	});

	test('without a cache, a NAD deleted since ADD is skipped and the rest keeps its ADD interface names', async () => {
		webPod({'k8s.v1.cni.cncf.io/networks': 'a, b'});
		await run(plugin(), 'ADD', conf());
		expect(calls()).toEqual(['ADD bridge eth0', 'ADD macvlan net1', 'ADD ipvlan net2']);
		await rm(join(dir, 'plexus', 'c1-eth0.json'));
		kube.nads.delete('ns1/a');
		exec.calls.length = 0;
		expect(await run(plugin(), 'DEL', conf())).toEqual({ok: true, stdout: ''});
		expect(calls()).toEqual(['DEL ipvlan net2', 'DEL bridge eth0']);
		// ADD still refuses the missing NAD.
		exec.calls.length = 0;
		const add = await run(plugin(), 'ADD', conf());
		expect(add.ok ? '' : add.error.message).toBe(
			'failed to find network-attachment-definition "ns1/a" (element 1 of annotation "k8s.v1.cni.cncf.io/networks") for pod "ns1/web"',
		);
		expect(exec.calls).toEqual([]);
	});
});

describe('CHECK, STATUS, GC', () => {
	test('CHECK covers every attachment', async () => {
		await run(plugin(), 'ADD', conf());
		expect((await run(plugin(), 'CHECK', conf())).ok).toBe(true);
		expect(exec.callsOf('CHECK').map((c) => `${c.type} ${c.env['CNI_IFNAME']}`)).toEqual([
			'bridge eth0',
			'macvlan net1',
			'ipvlan eth9',
		]);
	});

	test('CHECK skips an attachment whose cniVersion predates CHECK (0.3.1) and checks the others', async () => {
		kube.addNad('ns1', 'b', JSON.stringify({cniVersion: '0.3.1', name: 'b', type: 'ipvlan', master: 'y'}));
		expect((await run(plugin(), 'ADD', conf())).ok).toBe(true);
		const outcome = await run(plugin(), 'CHECK', conf());
		expect(outcome.ok ? undefined : outcome.error).toBeUndefined();
		expect(exec.callsOf('CHECK').map((c) => `${c.type} ${c.env['CNI_IFNAME']}`)).toEqual([
			'bridge eth0',
			'macvlan net1',
		]);
	});

	test('STATUS fails with code 50 while the readiness indicator file is missing', async () => {
		const readiness = join(dir, 'ready');
		const outcome = await run(
			plugin(),
			'STATUS',
			conf({cniVersion: '1.1.0', readinessindicatorfile: readiness}),
		);
		expect(outcome.ok ? 0 : outcome.error.code).toBe(50);
		await writeFile(readiness, '');
		expect(
			(await run(plugin(), 'STATUS', conf({cniVersion: '1.1.0', readinessindicatorfile: readiness}))).ok,
		).toBe(true);
	});

	test("STATUS takes a confDir cluster network without asking the API, and a NAD's only when confDir has none", async () => {
		const statusConf = (clusterNetwork: string) =>
			conf({cniVersion: '1.1.0', delegates: undefined, clusterNetwork, multusNamespace: 'kube-system'});
		const list = (name: string, type: string) =>
			JSON.stringify({cniVersion: '1.1.0', name, plugins: [{type, bridge: 'cni0'}]});
		await writeFile(join(dir, '10-cbr0.conflist'), list('cbr0', 'bridge'));
		// A NAD of the same name exists too: ADD would take it, STATUS (every 5 s) does not ask.
		kube.addNad('kube-system', 'cbr0', list('cbr0', 'macvlan'));
		kube.addNad('kube-system', 'nadonly', list('nadonly', 'ipvlan'));
		kube.calls.length = 0;
		expect((await run(plugin(), 'STATUS', statusConf('cbr0'))).ok).toBe(true);
		expect(kube.calls).toEqual([]);
		expect(exec.callsOf('STATUS').map((c) => c.type)).toEqual(['bridge']);
		expect((await run(plugin(), 'STATUS', statusConf('nadonly'))).ok).toBe(true);
		expect(kube.calls.map((c) => [c.method, ...c.args])).toEqual([['getNad', 'kube-system', 'nadonly']]);
		expect(exec.callsOf('STATUS').map((c) => c.type)).toEqual(['bridge', 'ipvlan']);
		const missing = await run(plugin(), 'STATUS', statusConf('nowhere'));
		expect(missing.ok ? '' : missing.error.message).toContain(
			'failed to find network "nowhere" (clusterNetwork)',
		);
	});

	test('GC DELs every attachment of containers not in the valid list and keeps the valid ones', async () => {
		await run(plugin(), 'ADD', conf());
		await run(plugin(), 'ADD', conf(), {CNI_CONTAINERID: 'c2', CNI_NETNS: '/var/run/netns/p2'});
		exec.calls.length = 0;
		const outcome = await run(
			plugin(),
			'GC',
			conf({cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{containerID: 'c2', ifname: 'eth0'}]}),
		);
		expect(outcome.ok).toBe(true);
		expect(
			exec.callsOf('DEL').map((c) => `${c.env['CNI_CONTAINERID']} ${c.type} ${c.env['CNI_IFNAME']}`),
		).toEqual(['c1 ipvlan eth9', 'c1 macvlan net1', 'c1 bridge eth0']);
		await expect(stat(join(dir, 'plexus', 'c1-eth0.json'))).rejects.toThrow('ENOENT');
		await expect(stat(join(dir, 'plexus', 'c2-eth0.json'))).resolves.toBeDefined();
	});

	test('GC waits for a DEL of the same container and does not DEL its attachments again', async () => {
		await run(plugin(), 'ADD', conf());
		let delReached: () => void = () => undefined;
		const reached = new Promise<void>((resolve) => {
			delReached = resolve;
		});
		let letDelFinish: () => void = () => undefined;
		const held = new Promise<void>((resolve) => {
			letDelFinish = resolve;
		});
		exec = new FakePluginExec({
			bridge: () => undefined,
			macvlan: () => undefined,
			ipvlan: async (call) => {
				if (call.command === 'DEL' && call.env['CNI_NETNS'] === '/var/run/netns/p1') {
					delReached();
					await held;
				}
				return undefined;
			},
		});
		const shared = plugin();
		const deleting = run(shared, 'DEL', conf());
		await reached;
		const collecting = run(shared, 'GC', conf({cniVersion: '1.1.0', 'cni.dev/valid-attachments': []}));
		await new Promise((resolve) => setTimeout(resolve, 20));
		letDelFinish();
		expect((await deleting).ok).toBe(true);
		expect((await collecting).ok).toBe(true);
		expect(
			exec.callsOf('DEL').map((c) => `${c.env['CNI_CONTAINERID']} ${c.type} ${c.env['CNI_IFNAME']}`),
		).toEqual(['c1 ipvlan eth9', 'c1 macvlan net1', 'c1 bridge eth0']);
	});
});
