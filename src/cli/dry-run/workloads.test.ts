// plexus dry-run --pod on workload files: a Deployment's and a CronJob's pod templates are pods
// (annotations from the template, namespace from the workload), chosen with --pod-name.
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {runCli} from '../cli.ts';
import type {DryRunReport} from './plan.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = join(REPO, 'conf/examples');

let dir: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-workloads-'));
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

const WORKLOADS = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: vpp-server
spec:
  template:
    metadata:
      annotations:
        k8s.v1.cni.cncf.io/networks: macvlan0
    spec:
      containers: [{name: c, image: x}]
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: vpp-server
spec:
  schedule: "0 0 * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
            k8s.v1.cni.cncf.io/networks: '[{"name": "macvlan0", "interface": "m0"}]'
        spec:
          containers: [{name: c, image: x}]
`;

async function dryRun(podName: string | undefined) {
	const file = join(dir, 'workloads.yaml');
	await writeFile(file, WORKLOADS);
	return runCli({
		argv: [
			'dry-run',
			'-o',
			'json',
			'--no-versions',
			'--conf',
			join(EXAMPLES, '00-plexus.conf'),
			'--nads',
			join(EXAMPLES, 'cluster-net.yaml'),
			'--nads',
			join(EXAMPLES, '003-macvlan.yaml'),
			'--bin-dir',
			join(REPO, 'e2e/testdata/dry-run/bin'),
			'--pod',
			file,
			...(podName === undefined ? [] : ['--pod-name', podName]),
		],
		env: {},
		readStdin: async () => new Uint8Array(),
	});
}

describe('workload pod templates', () => {
	test.each([
		['web', 'vpp-server/web', 'net1'],
		['nightly', 'vpp-server/nightly', 'm0'],
	])('--pod-name %s', async (name, pod, ifname) => {
		const outcome = await dryRun(name);
		expect(outcome.exitCode).toBe(0);
		const report = JSON.parse(outcome.stdout) as DryRunReport;
		expect(report.pod).toBe(pod);
		expect(report.attachments.map((a) => [a.nad, a.ifname])).toEqual([
			['kube-system/cluster-net', 'eth0'],
			['vpp-server/macvlan0', ifname],
		]);
	});

	test('without --pod-name: a usage error naming both', async () => {
		const outcome = await dryRun(undefined);
		expect(outcome.exitCode).toBe(2);
		expect(outcome.stderr).toContain(
			'has 2 pods (vpp-server/web, vpp-server/nightly): choose one with --pod-name',
		);
	});
});
