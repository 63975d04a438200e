// The published seeds (../shared/seeds/*.txt) as they are: their YAML, cut from the prose by
// ./testing/seed-yaml.ts, passes `plexus dry-run` (plain and --simulate) for every pod they define,
// with the plugins they name on CNI_PATH (Debian's /usr/lib/cni; vrf and route-override built in).
// Seeds without a runnable pod say what they lack; their conf/examples versions are the goldens of
// ./dry-run.test.ts.
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {runCli} from '../cli.ts';
import {parseManifests} from './manifests.ts';
import {seedYaml, seedYamlBlocks} from './testing/seed-yaml.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SEEDS = join(REPO, '../shared/seeds');
const EXAMPLES = join(REPO, 'conf/examples');
const DEBIAN_CNI = '/usr/lib/cni';

let dir: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-seeds-'));
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

async function seed(name: string): Promise<string> {
	return readFile(join(SEEDS, name), 'utf8');
}

/** `plexus dry-run` of one pod of a seed's YAML, the plugins found only on CNI_PATH. */
async function dryRun(file: string, podName: string, extra: string[] = [], nads: string[] = []) {
	return runCli({
		argv: [
			'dry-run',
			'--conf',
			join(EXAMPLES, '00-plexus.conf'),
			'--nads',
			join(EXAMPLES, 'cluster-net.yaml'),
			...nads.flatMap((n) => ['--nads', n]),
			'--pod',
			file,
			'--pod-name',
			podName,
			// The conf's binDir must not reach whatever this host has in /opt/cni/bin.
			'--bin-dir',
			dir,
			...extra,
		],
		env: {CNI_PATH: DEBIAN_CNI},
		readStdin: async () => new Uint8Array(),
	});
}

describe('the YAML of the published seeds', () => {
	test.each([
		['000-vrf-plugin.txt', 1, ['vrfpod1', 'routerblue', 'routerred', 'endpoint1'], 7],
		['001-route-override-chaining.txt', 3, ['chain-test-pod'], 2],
		// The page lost its YAML (it was in images and code widgets): nothing to cut.
		['002-contrail-multi-interface-pod.txt', 0, [], 0],
		['004-vlan-chaining-linkInContainer.txt', 1, [], 1],
	])('%s: %i blocks with pods %j and %i NADs', async (name, blocks, pods, nads) => {
		const text = await seed(name);
		expect(seedYamlBlocks(text)).toHaveLength(blocks);
		const manifests = parseManifests(seedYaml(text), name);
		expect(manifests.pods.map((p) => p.name)).toEqual(pods);
		expect(manifests.nads).toHaveLength(nads);
	});

	test('003 as published lost its indentation: refused as kubectl refuses it (no metadata.name)', async () => {
		const name = '003-vpp-on-macvlan-vlan.txt';
		const text = seedYaml(await seed(name));
		expect(() => parseManifests(text, name)).toThrow(/a NetworkAttachmentDefinition has no metadata.name/);
	});
});

describe('plexus dry-run passes every pod of the published seeds', () => {
	for (const [name, pods] of [
		['000-vrf-plugin.txt', ['vrfpod1', 'routerblue', 'routerred', 'endpoint1']],
		['001-route-override-chaining.txt', ['chain-test-pod']],
	] as const) {
		for (const pod of pods) {
			for (const mode of [[], ['--simulate']]) {
				test(`${name}: ${pod}${mode.length > 0 ? ' (--simulate)' : ''}`, async () => {
					const file = join(dir, 'seed.yaml');
					await writeFile(file, seedYaml(await seed(name)));
					const outcome = await dryRun(file, pod, mode);
					expect(outcome.stderr).toBe('');
					expect(outcome.stdout).toContain('No findings: ADD would run as shown.');
					expect(outcome.exitCode).toBe(0);
				});
			}
		}
	}

	test('a file with several pods and no --pod-name is a usage error listing them', async () => {
		const file = join(dir, 'seed.yaml');
		await writeFile(file, seedYaml(await seed('000-vrf-plugin.txt')));
		const outcome = await runCli({
			argv: ['dry-run', '--conf', join(EXAMPLES, '00-plexus.conf'), '--pod', file],
			env: {CNI_PATH: DEBIAN_CNI},
			readStdin: async () => new Uint8Array(),
		});
		expect(outcome.exitCode).toBe(2);
		expect(outcome.stderr).toContain(
			'has 4 pods (default/vrfpod1, default/routerblue, default/routerred, default/endpoint1): choose one with --pod-name',
		);
	});

	test('004 as published: its config is not JSON (a trailing comma), which ADD refuses too', async () => {
		const nads = join(dir, 'seed.yaml');
		await writeFile(nads, seedYaml(await seed('004-vlan-chaining-linkInContainer.txt')));
		const pod = join(dir, 'pod.yaml');
		const annotation = 'k8s.v1.cni.cncf.io/networks: vlan-chaining-example';
		await writeFile(pod, `kind: Pod\nmetadata:\n  name: p\n  annotations:\n    ${annotation}\n`);
		const outcome = await dryRun(pod, 'p', ['--output', 'json'], [nads]);
		expect(outcome.exitCode).toBe(1);
		const report = JSON.parse(outcome.stdout) as {findings: {message: string}[]};
		expect(report.findings.map((f) => f.message)).toEqual([
			expect.stringMatching(
				/^invalid config of network-attachment-definition "default\/vlan-chaining-example": not JSON: /,
			),
		]);
	});
});
