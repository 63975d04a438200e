// plexus dry-run: golden output for every conf/examples scenario (table and JSON), one bad input
// per finding with the real meta-plugin ADD fed the same inputs (same message), and the delegate
// stdin of dry-run and of the real ADD compared byte for byte.
import {chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterAll, afterEach, beforeEach, describe, expect, test} from 'vitest';
import {buildDelegateConf} from '../../chain/delegate-conf.ts';
import {type FakeCall, FakePluginExec} from '../../chain/testing/fake-exec.ts';
import {CniError, CniErrorCode, toCniError} from '../../cni/errors.ts';
import type {CniPlugin, PluginRequest} from '../../cni/plugin.ts';
import {SUPPORTED_VERSIONS} from '../../cni/versions.ts';
import {networkListFromText} from '../../k8s/nad.ts';
import {FakeKubeClient} from '../../k8s/testing/fake-client.ts';
import {createPlexusPlugin} from '../../meta/plugin.ts';
import {anyPathIsNetns} from '../../meta/testing/netns.ts';
import {runCli} from '../cli.ts';
import {loadManifests, ManifestKubeClient, type Manifests} from './manifests.ts';
import {type DryRunReport, dryRunPod, podAddRequest, withPlaceholder} from './plan.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = join(REPO, 'conf/examples');
const FIXTURE_BIN = join(REPO, 'e2e/testdata/dry-run/bin');
// The table pads its columns to the longest binary path, so the goldens must not depend on how long
// the checkout's path is: the fixture binaries are reached through a link whose path always has
// the same length (mkdtemp adds exactly six characters), and that path is replaced by <bin>.
const GOLDEN_BIN = join(await mkdtemp('/tmp/plexus-golden-'), 'bin');
await symlink(FIXTURE_BIN, GOLDEN_BIN);
const FAKE_BIN = '/fake/cni/bin';
const EXAMPLE_FILES = (await readdir(EXAMPLES)).filter((n) => /^\d{3}-.*\.yaml$/.test(n)).sort();

let dir: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-dry-run-'));
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

/** Replaces the checkout's path so goldens do not depend on where the repo is. */
const normalize = (text: string) =>
	text.replaceAll(`${GOLDEN_BIN}/`, '<bin>/').replaceAll(GOLDEN_BIN, '<bin>').replaceAll(REPO, '<repo>/');

afterAll(async () => {
	await rm(dirname(GOLDEN_BIN), {recursive: true, force: true});
});

describe('golden output of every conf/examples scenario', () => {
	test('there are examples for the seeds', () => {
		expect(EXAMPLE_FILES).toEqual([
			'000-vrf.yaml',
			'001-route-override.yaml',
			'002-multi-interface.yaml',
			'003-macvlan.yaml',
			'004-vlan-chaining.yaml',
		]);
	});

	for (const file of EXAMPLE_FILES) {
		for (const [output, simulate] of [
			['table', false],
			['json', false],
			['table', true],
			['json', true],
		] as const) {
			const mode = `${output}${simulate ? ', --simulate' : ''}`;
			test(`${file} (${mode})`, async () => {
				const outcome = await runCli({
					argv: [
						'dry-run',
						'--conf',
						join(EXAMPLES, '00-plexus.conf'),
						'--nads',
						join(EXAMPLES, 'cluster-net.yaml'),
						'--pod',
						join(EXAMPLES, file),
						'--bin-dir',
						GOLDEN_BIN,
						'--output',
						output,
						...(simulate ? ['--simulate'] : []),
					],
					env: {CNI_PATH: '/opt/cni/not-here'},
					readStdin: async () => new Uint8Array(),
				});
				expect(outcome.stderr).toBe('');
				expect(outcome.exitCode).toBe(0);
				const ext = output === 'json' ? 'json' : 'txt';
				const name = `${file.replace(/\.yaml$/, '')}${simulate ? '.simulate' : ''}.${ext}`;
				await expect(normalize(outcome.stdout)).toMatchFileSnapshot(`__golden__/${name}`);
			});
		}
	}
});

// ---- dry-run against the real ADD ----

/** A result a fake binary returns for ADD. */
function resultFor(call: FakeCall): Record<string, unknown> {
	const version = String(call.config['cniVersion']);
	return {
		cniVersion: version,
		interfaces: [{name: call.env['CNI_IFNAME'], mac: '02:00:00:00:00:01', sandbox: call.env['CNI_NETNS']}],
		ips: [
			{
				...(version.startsWith('0.') ? {version: '4'} : {}),
				interface: 0,
				address: '10.9.0.2/24',
				gateway: '10.9.0.1',
			},
		],
	};
}

interface Sent {
	type: string;
	stdin: string;
	env: Readonly<Record<string, string>>;
}

/** Fake binaries (bridge, macvlan, ...) answering VERSION with `versions`, recording every ADD into `sent`. */
function fakeExec(sent: Sent[], versions: Record<string, readonly string[]> = {}): FakePluginExec {
	const handler = (call: FakeCall) => {
		if (call.command === 'VERSION')
			return {cniVersion: '1.1.0', supportedVersions: versions[call.type] ?? SUPPORTED_VERSIONS};
		if (call.command !== 'ADD') return undefined;
		const supported = versions[call.type] ?? SUPPORTED_VERSIONS;
		const version = String(call.config['cniVersion']);
		if (!supported.includes(version))
			throw new CniError(CniErrorCode.incompatibleVersion, 'incompatible CNI versions', {
				details: `config is "${version}", plugin supports [${supported.join(' ')}]`,
			});
		sent.push({type: call.type, stdin: call.stdin, env: call.env});
		return resultFor(call);
	};
	return new FakePluginExec({bridge: handler, macvlan: handler, ipvlan: handler, tuning: handler}, FAKE_BIN);
}

/**
 * In-process stand-ins for the built-ins (same types and versions), recording their stdin: the
 * comparison is about what they are sent; their kernel work is proven in delegates/ and e2e/.
 */
async function recordingBuiltins(sent: Sent[]): Promise<ReadonlyMap<string, CniPlugin>> {
	const {createBuiltins} = await import('../../../delegates/index.ts');
	const real = createBuiltins({
		openNetlink: () => {
			throw new Error('not used');
		},
		exec: new FakePluginExec({}),
	});
	const map = new Map<string, CniPlugin>();
	for (const [type, plugin] of real) {
		map.set(type, {
			type,
			supportedVersions: plugin.supportedVersions,
			add: async (request: PluginRequest) => {
				sent.push({type, stdin: Buffer.from(request.stdin).toString('utf8'), env: request.env});
				return (request.config['prevResult'] ?? {cniVersion: request.config['cniVersion']}) as Record<
					string,
					unknown
				>;
			},
			del: async () => {},
			check: async () => {},
		});
	}
	return map;
}

interface Scenario {
	/** Plexus conf keys over the examples' conf (cniDir always a temp dir). */
	conf?: Record<string, unknown>;
	manifests: Manifests;
	versions?: Record<string, readonly string[]>;
	ifname?: string;
}

/** Runs dry-run and the real ADD on the same inputs. */
async function both(
	scenario: Scenario,
): Promise<{report: DryRunReport; add: CniError | undefined; dry: Sent[]; real: Sent[]}> {
	const base = networkListFromText(
		await (await import('node:fs/promises')).readFile(join(EXAMPLES, '00-plexus.conf'), 'utf8'),
		undefined,
		'examples conf',
	);
	const plugin = {
		...base.plugins[0]!.raw,
		cniDir: join(dir, 'cni'),
		logFile: '',
		logToStderr: false,
		...scenario.conf,
	};
	const confStdin = buildDelegateConf({name: base.name, cniVersion: base.cniVersion, plugin}).stdin;
	const pod = scenario.manifests.pods[0]!;
	const inputs = {
		confStdin,
		pod,
		path: [FAKE_BIN],
		env: {PATH: '/usr/bin'},
		containerId: 'dry-run-test',
		netns: '/var/run/netns/dry-run-test',
		ifname: scenario.ifname ?? 'eth0',
	};
	const dry: Sent[] = [];
	const report = await dryRunPod({
		...inputs,
		kube: new ManifestKubeClient(scenario.manifests),
		exec: fakeExec(dry, scenario.versions),
		inProcess: () => recordingBuiltins(dry),
	});
	expect(dry).toEqual([]); // planning never runs a delegate

	const real: Sent[] = [];
	const kube = new FakeKubeClient();
	for (const p of scenario.manifests.pods) kube.addPod(p);
	for (const n of scenario.manifests.nads) kube.addNad(n.namespace, n.name, n.config, {...n.annotations});
	const meta = createPlexusPlugin({
		kube: () => kube,
		exec: fakeExec(real, scenario.versions),
		inProcess: () => recordingBuiltins(real),
		readinessTimeoutMs: 0,
		probeNetns: anyPathIsNetns,
	});
	let add: CniError | undefined;
	try {
		await meta.add(podAddRequest(inputs));
	} catch (error) {
		add = toCniError(error);
	}
	return {report, add, dry, real};
}

async function example(file: string): Promise<Manifests> {
	return loadManifests([join(EXAMPLES, 'cluster-net.yaml'), join(EXAMPLES, file)]);
}

describe('dry-run and the real ADD send the same delegate stdin', () => {
	for (const file of EXAMPLE_FILES) {
		test(file, async () => {
			const {report, add, real} = await both({manifests: await example(file)});
			expect(add).toBeUndefined();
			expect(report.findings).toEqual([]);
			const planned = report.attachments.flatMap((a) => a.plugins);
			expect(planned.map((p) => p.type)).toEqual(real.map((s) => s.type));
			for (const [i, p] of planned.entries()) {
				const sent = real[i]!;
				// Byte for byte; a later plugin's prevResult (unknown before ADD) is the placeholder in both.
				expect(p.stdin).toBe(withPlaceholder(Buffer.from(sent.stdin), p.prevResultFrom));
				if (p.prevResultFrom === null) expect(p.stdin).toBe(sent.stdin);
				for (const [k, v] of Object.entries(p.env)) expect(sent.env[k]).toBe(v);
			}
		});
	}
});

// ---- findings: each with a bad input, and the message the real ADD fails with ----

const nad = (namespace: string, name: string, config: string | undefined) => ({
	namespace,
	name,
	config,
	annotations: {},
});
const podWith = (networks: string, namespace = 'ns1') => ({
	namespace,
	name: 'web',
	uid: '',
	annotations: {'k8s.v1.cni.cncf.io/networks': networks},
});
const clusterNet = nad(
	'kube-system',
	'cluster-net',
	'{"cniVersion":"1.0.0","name":"cluster-net","plugins":[{"type":"bridge","bridge":"cni0"}]}',
);
const chain = (name: string, version: string, plugins: string) =>
	`{"cniVersion":"${version}","name":"${name}","plugins":[${plugins}]}`;
// The real macvlan needs an address from its IPAM (dry-run checks static's config too).
const macvlan =
	'{"type":"macvlan","master":"eth0","ipam":{"type":"static","addresses":[{"address":"10.9.0.2/24"}]}}';

/** Asserts dry-run reports exactly one error and that it is what ADD failed with. */
async function expectSameFailure(scenario: Scenario, expected: RegExp): Promise<DryRunReport> {
	const {report, add} = await both(scenario);
	expect(add).toBeDefined();
	expect(report.findings).toHaveLength(1);
	const finding = report.findings[0]!;
	expect(finding.severity).toBe('error');
	expect(finding.message).toMatch(expected);
	// The real ADD fails with the same message.
	expect(add?.message).toBe(finding.message);
	// And with the same details, on the delegate's error that ADD wrapped.
	if (finding.details !== undefined) {
		const chain: (string | undefined)[] = [];
		for (let e: unknown = add; e instanceof CniError; e = e.cause) chain.push(e.details);
		expect(chain).toContain(finding.details);
	}
	return report;
}

describe('findings, each with the message the real ADD gives', () => {
	test('a malformed networks annotation', async () => {
		await expectSameFailure(
			{manifests: {pods: [podWith('[{"name": ')], nads: [clusterNet]}},
			/annotation "k8s\.v1\.cni\.cncf\.io\/networks"/,
		);
	});

	test('a NAD that does not exist', async () => {
		await expectSameFailure(
			{manifests: {pods: [podWith('missing-net')], nads: [clusterNet]}},
			/failed to find network-attachment-definition "ns1\/missing-net"/,
		);
	});

	test('a NAD whose config is not JSON', async () => {
		await expectSameFailure(
			{manifests: {pods: [podWith('broken')], nads: [clusterNet, nad('ns1', 'broken', '{"cniVersion":')]}},
			/broken/,
		);
	});

	test('a capability no plugin of the chain declares', async () => {
		await expectSameFailure(
			{
				manifests: {
					pods: [podWith('[{"name":"mv","ips":["10.1.1.1/24"]}]')],
					nads: [clusterNet, nad('ns1', 'mv', chain('mv', '1.0.0', macvlan))],
				},
			},
			/cannot honour "ips".*no plugin in its chain declares the "ips" capability/,
		);
	});

	test('a cniVersion a binary does not support (its VERSION answer)', async () => {
		const report = await expectSameFailure(
			{
				manifests: {
					pods: [podWith('mv')],
					nads: [clusterNet, nad('ns1', 'mv', chain('mv', '1.1.0', macvlan))],
				},
				versions: {macvlan: ['0.3.1', '0.4.0', '1.0.0']},
			},
			/: plugin type="macvlan" failed \(add\): incompatible CNI versions$/,
		);
		expect(report.findings[0]?.details).toBe('config is "1.1.0", plugin supports [0.3.1 0.4.0 1.0.0]');
	});

	test('a cniVersion a built-in does not support', async () => {
		await expectSameFailure(
			{
				manifests: {
					pods: [podWith('blue')],
					nads: [
						clusterNet,
						nad('ns1', 'blue', chain('blue', '0.3.0', `${macvlan},{"type":"vrf","vrfname":"blue"}`)),
					],
				},
			},
			/: plugin type="vrf" failed \(add\): incompatible CNI versions$/,
		);
	});

	test('a delegate missing from CNI_PATH', async () => {
		const report = await expectSameFailure(
			{
				manifests: {
					pods: [podWith('sr')],
					nads: [clusterNet, nad('ns1', 'sr', chain('sr', '1.0.0', '{"type":"sriov"}'))],
				},
			},
			/^failed to add network "ns1\/sr" \(element 1 of annotation "k8s.v1.cni.cncf.io\/networks"\) as interface "net1" of pod "ns1\/web": plugin type="sriov" failed \(add\): failed to find plugin "sriov" in path \[\/opt\/cni\/bin \/fake\/cni\/bin\]$/,
		);
		expect(report.attachments[1]?.plugins[0]?.runsAs).toBe('missing');
	});

	test('a plugin type that walks out of CNI_PATH', async () => {
		await expectSameFailure(
			{
				manifests: {
					pods: [podWith('evil')],
					nads: [clusterNet, nad('ns1', 'evil', chain('evil', '1.0.0', '{"type":"../../bin/sh"}'))],
				},
			},
			/invalid plugin type "..\/..\/bin\/sh"/,
		);
	});

	test('two attachments on the same interface', async () => {
		await expectSameFailure(
			{
				manifests: {
					pods: [podWith('[{"name":"a","interface":"net9"},{"name":"b","interface":"net9"}]')],
					nads: [
						clusterNet,
						nad('ns1', 'a', chain('a', '1.0.0', macvlan)),
						nad('ns1', 'b', chain('b', '1.0.0', macvlan)),
					],
				},
			},
			/interface "net9" of pod "ns1\/web" is used twice/,
		);
	});

	test('an invalid interface name', async () => {
		await expectSameFailure(
			{
				manifests: {
					pods: [podWith('[{"name":"a","interface":"a-name-longer-than-15"}]')],
					nads: [clusterNet, nad('ns1', 'a', chain('a', '1.0.0', macvlan))],
				},
			},
			/a-name-longer-than-15/,
		);
	});

	test('namespace isolation', async () => {
		await expectSameFailure(
			{
				conf: {namespaceIsolation: true},
				manifests: {
					pods: [podWith('other/a')],
					nads: [clusterNet, nad('other', 'a', chain('a', '1.0.0', macvlan))],
				},
			},
			/namespace isolation forbids pod "ns1\/web" to use network-attachment-definition "other\/a"/,
		);
	});

	test('default-route on two elements', async () => {
		await expectSameFailure(
			{
				manifests: {
					pods: [
						podWith('[{"name":"a","default-route":["10.9.0.1"]},{"name":"b","default-route":["10.9.0.1"]}]'),
					],
					nads: [
						clusterNet,
						nad('ns1', 'a', chain('a', '1.0.0', macvlan)),
						nad('ns1', 'b', chain('b', '1.0.0', macvlan)),
					],
				},
			},
			/"default-route" may be set on one element only/,
		);
	});

	test('an invalid Plexus conf', async () => {
		await expectSameFailure(
			{conf: {clusterNetwrok: 'typo'}, manifests: {pods: [podWith('')], nads: [clusterNet]}},
			/clusterNetwrok/,
		);
	});

	test('a cluster network that cannot be found', async () => {
		await expectSameFailure(
			{conf: {clusterNetwork: 'nowhere'}, manifests: {pods: [podWith('')], nads: []}},
			/failed to find network "nowhere" \(clusterNetwork\)/,
		);
	});
});

describe('inputs from the cluster', () => {
	// An API server and two CLI runs: more than the default 5 s on a loaded machine.
	test('--pod namespace/name and its NADs read through the kubeconfig, with GETs only', {
		timeout: 30_000,
	}, async () => {
		const {TestApiServer} = await import('../../../e2e/kube/apiserver.ts');
		const api = await TestApiServer.start();
		try {
			const manifests = await example('001-route-override.yaml');
			for (const n of manifests.nads) api.createNad(n.namespace, n.name, n.config);
			const pod = manifests.pods[0]!;
			api.createPod({
				metadata: {name: pod.name, namespace: pod.namespace, annotations: {...pod.annotations}},
			});
			const common = ['--conf', join(EXAMPLES, '00-plexus.conf'), '--bin-dir', FIXTURE_BIN, '-o', 'json'];
			const fromCluster = await runCli({
				argv: ['dry-run', ...common, '--pod', `${pod.namespace}/${pod.name}`],
				env: {KUBECONFIG: await api.writeKubeconfig(dir)},
				readStdin: async () => new Uint8Array(),
			});
			expect(fromCluster.stderr).toBe('');
			expect(fromCluster.exitCode).toBe(0);
			const fromFiles = await runCli({
				argv: [
					'dry-run',
					...common,
					'--pod',
					join(EXAMPLES, '001-route-override.yaml'),
					'--nads',
					join(EXAMPLES, 'cluster-net.yaml'),
				],
				env: {},
				readStdin: async () => new Uint8Array(),
			});
			const cluster = JSON.parse(fromCluster.stdout) as DryRunReport;
			expect(cluster.findings.map((f) => f.message)).toEqual([]);
			const files = JSON.parse(fromFiles.stdout) as DryRunReport;
			expect(cluster.attachments.map((a) => a.plugins.map((p) => p.stdin))).toEqual(
				files.attachments.map((a) => a.plugins.map((p) => p.stdin)),
			);
			// The pod's UID from the API reaches CNI_ARGS, as kubelet's runtime sends it.
			const uid = String(api.getPod(pod.namespace, pod.name)?.metadata.uid);
			expect(cluster.attachments[0]?.plugins[0]?.env['CNI_ARGS']).toContain(`K8S_POD_UID=${uid}`);
			expect(new Set(api.requests.map((r) => r.method))).toEqual(new Set(['GET']));
		} finally {
			await api.close();
		}
	});
});

describe('--simulate', () => {
	const run = (argv: string[], env: Record<string, string> = {}) =>
		runCli({argv: ['dry-run', ...argv], env, readStdin: async () => new Uint8Array()});

	test("a built-in failing on the modelled netns is a simulation finding with ADD's message", async () => {
		const pod = join(dir, 'pod.yaml');
		await writeFile(
			pod,
			[
				'apiVersion: k8s.cni.cncf.io/v1',
				'kind: NetworkAttachmentDefinition',
				'metadata: {name: v, namespace: ns1}',
				`spec: {config: '${chain('v', '1.0.0', '{"type":"bridge"},{"type":"vlan","vlanId":5,"master":"nothere","linkInContainer":true,"ipam":{"type":"static"}}')}'}`,
				'---',
				'apiVersion: v1',
				'kind: Pod',
				'metadata: {name: web, namespace: ns1, annotations: {k8s.v1.cni.cncf.io/networks: v}}',
			].join('\n'),
		);
		const argv = ['--conf', join(EXAMPLES, '00-plexus.conf'), '--nads', join(EXAMPLES, 'cluster-net.yaml')];
		const plain = await run([...argv, '--bin-dir', FIXTURE_BIN, '--pod', pod, '-o', 'json']);
		expect(plain.exitCode).toBe(0);
		const outcome = await run([...argv, '--bin-dir', FIXTURE_BIN, '--pod', pod, '-o', 'json', '--simulate']);
		expect(outcome.exitCode).toBe(1);
		const report = JSON.parse(outcome.stdout) as DryRunReport;
		expect(report.findings).toEqual([
			expect.objectContaining({severity: 'error', source: 'simulation', network: 'ns1/v'}),
		]);
		expect(report.findings[0]?.message).toMatch(
			/^failed to add network "ns1\/v" \(element 1 of annotation "k8s.v1.cni.cncf.io\/networks"\) as interface "net1" of pod "ns1\/web": plugin type="vlan" failed \(add\): .*nothere/,
		);
		const steps = report.simulation?.steps ?? [];
		expect(
			steps.map((s) => `${s.ifname} ${s.type} ${s.runsAs} ${s.error === null ? 'ok' : 'failed'}`),
		).toEqual(['eth0 bridge opaque ok', 'net1 bridge opaque ok', 'net1 vlan builtin failed']);
		// The vlan got the stand-in's real result as prevResult.
		expect(JSON.parse(steps[2]!.stdin).prevResult.interfaces[0].name).toBe('net1');
		// The view shows the netns as ADD left it when it failed (no rollback simulated).
		expect(report.simulation?.view.links.map((l) => l.name)).toEqual(['lo', 'eth0', 'net1']);
	});

	test('a plan with errors is not simulated', async () => {
		const file = join(dir, 'net.conflist');
		await writeFile(file, chain('n1', '1.0.0', '{"type":"nothere"}'));
		const outcome = await run(['-o', 'json', '--simulate', file]);
		expect(outcome.exitCode).toBe(1);
		expect((JSON.parse(outcome.stdout) as DryRunReport).simulation).toBeNull();
	});
});

describe('the command', () => {
	const run = (argv: string[], env: Record<string, string> = {}) =>
		runCli({argv: ['dry-run', ...argv], env, readStdin: async () => new Uint8Array()});

	test('--help exits 0 with the usage', async () => {
		const outcome = await run(['--help']);
		expect(outcome.exitCode).toBe(0);
		expect(outcome.stdout).toContain('Usage: plexus dry-run');
	});

	test.each([
		[[], 'missing --pod or a conflist file'],
		[['--bogus'], "Unknown option '--bogus'"],
		[['--pod', 'x.yaml', 'a.conflist'], 'give either --pod or a conflist file, not both'],
		[['--pod', 'not-a-file-nor-ref'], 'is neither a file nor namespace/name'],
		[['--pod', 'ns/name'], 'no kubeconfig is given'],
		[['-o', 'yaml', 'a.conflist'], 'invalid --output "yaml"'],
		[['/nonexistent/a.conflist'], 'cannot read network config "/nonexistent/a.conflist"'],
		[
			['--pod', `${EXAMPLES}/003-macvlan.yaml`, '--nads', '/nonexistent/nads'],
			'cannot read --nads "/nonexistent/nads": ENOENT',
		],
	])('usage error %j exits 2', async (argv, message) => {
		const outcome = await run(argv);
		expect(outcome.exitCode).toBe(2);
		expect(outcome.stderr).toContain(message);
		expect(outcome.stdout).toBe('');
	});

	test('a bare conflist: one chain, built-ins in-process, CNI_ARGS and CAP_ARGS from the environment', async () => {
		const file = join(dir, 'net.conflist');
		await writeFile(
			file,
			chain(
				'n1',
				'1.0.0',
				'{"type":"bridge","capabilities":{"ips":true}},{"type":"route-override","flushroutes":true}',
			),
		);
		const outcome = await run(['-o', 'json', '-i', 'eth3', file], {
			CNI_PATH: FIXTURE_BIN,
			CNI_ARGS: 'K=V',
			CAP_ARGS: '{"ips":["10.1.1.1/24"],"mac":"02:00:00:00:00:09"}',
		});
		expect(outcome.exitCode).toBe(0);
		const report = JSON.parse(outcome.stdout) as DryRunReport;
		expect(report.mode).toBe('network');
		const [bridge, override] = report.attachments[0]!.plugins;
		expect(bridge).toMatchObject({runsAs: 'binary', path: join(FIXTURE_BIN, 'bridge'), prevResultFrom: null});
		expect(bridge?.stdin).toBe(
			'{"capabilities":{"ips":true},"cniVersion":"1.0.0","name":"n1","runtimeConfig":{"ips":["10.1.1.1/24"]},"type":"bridge"}',
		);
		expect(bridge?.env).toMatchObject({CNI_IFNAME: 'eth3', CNI_ARGS: 'K=V', CNI_COMMAND: 'ADD'});
		expect(override).toMatchObject({runsAs: 'builtin', path: null, prevResultFrom: 'bridge'});
		expect(override?.stdin).toContain('"prevResult":"from bridge"');
	});

	test('a bare single-plugin conf runs as a one-plugin list', async () => {
		const file = join(dir, 'net.conf');
		await writeFile(file, '{"cniVersion":"0.4.0","name":"single","type":"macvlan","master":"eth0"}');
		const outcome = await run(['-o', 'json', '--no-versions', file], {CNI_PATH: FIXTURE_BIN});
		expect(outcome.exitCode).toBe(0);
		const report = JSON.parse(outcome.stdout) as DryRunReport;
		expect(report.attachments[0]?.plugins).toEqual([
			expect.objectContaining({
				type: 'macvlan',
				runsAs: 'binary',
				supportedVersions: null,
				stdin: '{"cniVersion":"0.4.0","master":"eth0","name":"single","type":"macvlan"}',
			}),
		]);
	});

	test('a conflist that does not parse is a finding (exit 1)', async () => {
		const file = join(dir, 'bad.conflist');
		await writeFile(file, '{"cniVersion":"1.0.0","name":"n1","plugins":[{}]}');
		const outcome = await run([file]);
		expect(outcome.exitCode).toBe(1);
		expect(outcome.stdout).toContain('error:');
		expect(outcome.stdout).toContain(file);
	});

	test('a pod or NAD manifest that does not parse is a finding naming the file (exit 1), not a CNI error', async () => {
		const bad = join(dir, 'bad.yaml');
		await writeFile(bad, 'metadata: [\n');
		for (const argv of [
			['--pod', bad],
			['--pod', `${EXAMPLES}/003-macvlan.yaml`, '--nads', bad],
		]) {
			const table = await run([...argv, '--conf', `${EXAMPLES}/00-plexus.conf`]);
			expect(table.exitCode).toBe(1);
			expect(table.stdout).toMatch(/^Pod dry run\n/);
			const json = await run([...argv, '--conf', `${EXAMPLES}/00-plexus.conf`, '-o', 'json']);
			expect(json.exitCode).toBe(1);
			const report = JSON.parse(json.stdout) as DryRunReport;
			expect(report.mode).toBe('pod');
			expect(report.findings).toEqual([
				{severity: 'error', message: expect.stringContaining(`failed to read manifest "${bad}": `)},
			]);
		}
	});

	test('a binary whose VERSION fails is a warning, and warnings exit 1', async () => {
		const bin = join(dir, 'bin');
		await mkdir(bin);
		await writeFile(join(bin, 'bridge'), '#!/bin/sh\necho garbage\n');
		await chmod(join(bin, 'bridge'), 0o755);
		const file = join(dir, 'net.conflist');
		await writeFile(file, chain('n1', '1.0.0', '{"type":"bridge"}'));
		const outcome = await run(['-o', 'json', file], {CNI_PATH: bin});
		expect(outcome.exitCode).toBe(1);
		const report = JSON.parse(outcome.stdout) as DryRunReport;
		expect(report.findings).toEqual([
			expect.objectContaining({severity: 'warning', network: 'n1', plugin: 1}),
		]);
		expect(report.findings[0]?.message).toMatch(/cannot tell which versions plugin ".*bridge" supports/);
		// --no-versions does not run it.
		expect((await run(['--no-versions', file], {CNI_PATH: bin})).exitCode).toBe(0);
	});

	test('colour only when asked for (a TTY), and never with NO_COLOR', async () => {
		const args = ['dry-run', join(dir, 'missing.conflist')];
		const file = join(dir, 'net.conflist');
		await writeFile(file, chain('n1', '1.0.0', '{"type":"nothere"}'));
		args[1] = file;
		const tty = await runCli({
			argv: args,
			env: {},
			readStdin: async () => new Uint8Array(),
			stdoutIsTTY: true,
		});
		expect(tty.stdout).toContain('\u001b[1;31merror\u001b[0m');
		const noColor = await runCli({
			argv: args,
			env: {NO_COLOR: '1'},
			readStdin: async () => new Uint8Array(),
			stdoutIsTTY: true,
		});
		expect(noColor.stdout).not.toContain('\u001b[');
		const pipe = await runCli({argv: args, env: {}, readStdin: async () => new Uint8Array()});
		expect(pipe.stdout).not.toContain('\u001b[');
		expect(pipe.stdout).toContain(
			'error [n1 plugin 1]: plugin type="nothere" failed (add): failed to find plugin',
		);
	});
});
