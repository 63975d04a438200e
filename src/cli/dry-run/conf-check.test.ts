// The Plexus conf as ADD checks it: every conf the real ADD (through the plugin entry point)
// refuses is dry-run's one finding with ADD's message, the log keys dry-run overrides included.
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {FakePluginExec} from '../../chain/testing/fake-exec.ts';
import {dispatch} from '../../cni/dispatch.ts';
import {FakeKubeClient} from '../../k8s/testing/fake-client.ts';
import {createPlexusPlugin} from '../../meta/plugin.ts';
import {anyPathIsNetns} from '../../meta/testing/netns.ts';
import {runCli} from '../cli.ts';
import {checkPlexusConf} from './conf-check.ts';

const EXAMPLES = join(fileURLToPath(new URL('../../../', import.meta.url)), 'conf/examples');

let dir: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-conf-check-'));
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

/** The real meta-plugin's ADD of `stdin`, through the entry point a runtime calls. */
async function realAdd(stdin: Uint8Array): Promise<string | undefined> {
	const plugin = createPlexusPlugin({
		kube: () => new FakeKubeClient(),
		exec: new FakePluginExec({}),
		readinessTimeoutMs: 0,
		probeNetns: anyPathIsNetns,
	});
	const env: Record<string, string> = {
		CNI_COMMAND: 'ADD',
		CNI_CONTAINERID: 'plexus-dry-run',
		CNI_NETNS: '/var/run/netns/plexus-dry-run',
		CNI_IFNAME: 'eth0',
		CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=vpp-server;K8S_POD_NAME=vpp-app',
		CNI_PATH: '/nonexistent',
	};
	const outcome = await dispatch(plugin, {stdin, getenv: (name) => env[name], env});
	return outcome.ok ? undefined : outcome.error.message;
}

describe('dry-run checks the Plexus conf as ADD parses it', () => {
	test.each([
		[{logLevel: 'x'}, /key "logLevel": unknown level "x"/],
		[{logFile: 1}, /key "logFile"/],
		[{logToStderr: 'x'}, /key "logToStderr"/],
		[{cniVersion: '2.0.0'}, /^incompatible CNI versions$/],
		[{cniVersion: ''}, /key "cniVersion"/],
		[{name: ''}, /^missing network name$/],
	])("%j: one finding, ADD's own message", async (keys, message) => {
		const conf = {...JSON.parse(await readFile(join(EXAMPLES, '00-plexus.conf'), 'utf8')), ...keys};
		const file = join(dir, '00-plexus.conf');
		const text = JSON.stringify(conf);
		await writeFile(file, text);
		const outcome = await runCli({
			argv: [
				'dry-run',
				'-o',
				'json',
				'--conf',
				file,
				'--nads',
				join(EXAMPLES, 'cluster-net.yaml'),
				'--pod',
				join(EXAMPLES, '003-macvlan.yaml'),
				'--no-versions',
			],
			env: {CNI_PATH: '/nonexistent'},
			readStdin: async () => new Uint8Array(),
		});
		expect(outcome.exitCode).toBe(1);
		const findings = (JSON.parse(outcome.stdout) as {findings: {message: string}[]}).findings;
		// The runtime passes a single-plugin .conf file as it is (name and cniVersion re-injected).
		const add = await realAdd(Buffer.from(text));
		expect(add).toMatch(message);
		expect(findings.map((f) => f.message)).toEqual([add]);
	});

	test('a conf file that is not JSON is the one finding (exit 1), in the report format', async () => {
		const file = join(dir, '00-plexus.conf');
		await writeFile(file, '{"type": "plexus",');
		const outcome = await runCli({
			argv: ['dry-run', '-o', 'json', '--conf', file, '--pod', join(EXAMPLES, '003-macvlan.yaml')],
			env: {},
			readStdin: async () => new Uint8Array(),
		});
		expect(outcome.exitCode).toBe(1);
		expect((JSON.parse(outcome.stdout) as {findings: {message: string}[]}).findings).toEqual([
			{
				severity: 'error',
				message: expect.stringMatching(/^invalid config of file ".*00-plexus\.conf": not JSON: /),
			},
		]);
	});
});

describe('--check-host: the readiness indicator file', () => {
	test("a missing file is ADD's error on the node, and nothing without --check-host", async () => {
		const conf = {
			...JSON.parse(await readFile(join(EXAMPLES, '00-plexus.conf'), 'utf8')),
			readinessindicatorfile: join(dir, 'not-ready.env'),
		};
		const stdin = Buffer.from(JSON.stringify(conf));
		const request = {
			containerId: 'plexus-dry-run',
			netns: '/var/run/netns/plexus-dry-run',
			ifname: 'eth0',
			args: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=vpp-server;K8S_POD_NAME=vpp-app',
			path: ['/nonexistent'],
		};
		const add = await realAdd(stdin);
		expect(add).toMatch(/^plexus is not ready: readiness indicator file ".*not-ready\.env" does not exist/);
		expect((await checkPlexusConf(stdin, {...request, hostLinks: new Set(['lo'])}))?.message).toBe(add);
		expect(await checkPlexusConf(stdin, request)).toBeUndefined();
		await writeFile(join(dir, 'not-ready.env'), 'ready');
		expect(await checkPlexusConf(stdin, {...request, hostLinks: new Set(['lo'])})).toBeUndefined();
	});
});
