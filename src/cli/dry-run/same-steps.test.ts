// --simulate runs the meta-plugin's own ADD steps: what only the steps after the attachment loop
// do (default-route, network-status) shows in the simulation, as the real ADD would leave it.
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterEach, beforeEach, expect, test} from 'vitest';
import {runCli} from '../cli.ts';
import type {DryRunReport} from './types.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = join(REPO, 'conf/examples');
const FIXTURE_BIN = join(REPO, 'e2e/testdata/dry-run/bin');

let dir: string;
beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-same-steps-'));
});
afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

test('--simulate applies default-route and shows the network-status ADD would write', async () => {
	const pod = join(dir, 'pod.yaml');
	const config = JSON.stringify({
		cniVersion: '1.0.0',
		name: 'v',
		plugins: [
			{
				type: 'macvlan',
				master: 'eth0',
				ipam: {type: 'static', addresses: [{address: '10.1.1.2/24', gateway: '10.1.1.1'}]},
			},
		],
	});
	await writeFile(
		pod,
		[
			'apiVersion: k8s.cni.cncf.io/v1',
			'kind: NetworkAttachmentDefinition',
			'metadata: {name: v, namespace: ns1}',
			`spec: {config: '${config}'}`,
			'---',
			'apiVersion: v1',
			'kind: Pod',
			'metadata:',
			'  name: web',
			'  namespace: ns1',
			'  annotations:',
			`    k8s.v1.cni.cncf.io/networks: '[{"name":"v","default-route":["10.1.1.1"]}]'`,
		].join('\n'),
	);
	const outcome = await runCli({
		argv: [
			'dry-run',
			'--conf',
			join(EXAMPLES, '00-plexus.conf'),
			'--nads',
			join(EXAMPLES, 'cluster-net.yaml'),
			'--bin-dir',
			FIXTURE_BIN,
			'--pod',
			pod,
			'-o',
			'json',
			'--simulate',
		],
		env: {},
		readStdin: async () => new Uint8Array(),
	});
	const report = JSON.parse(outcome.stdout) as DryRunReport;
	expect(report.findings).toEqual([]);
	expect(outcome.exitCode).toBe(0);
	const sim = report.simulation!;
	// The default route ADD's default-route step put in the pod: via the element's gateway on net1.
	expect(sim.view.routes.filter((r) => r.dst === '0.0.0.0/0')).toEqual([
		{table: 254, dst: '0.0.0.0/0', gateway: '10.1.1.1', dev: 'net1', type: 'unicast'},
	]);
	// And the network-status ADD would write: both networks, the element's with its address.
	expect(sim.networkStatus).toEqual([
		expect.objectContaining({name: 'kube-system/cluster-net', interface: 'eth0'}),
		expect.objectContaining({
			name: 'ns1/v',
			interface: 'net1',
			ips: ['10.1.1.2'],
			'default-route': ['10.1.1.1'],
		}),
	]);
});
