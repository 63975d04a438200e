// Dry-run reports every finding of one run: ADD stops at the first element it cannot resolve and
// fails with its message, dry-run lists that one first and then each of the others.
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {describe, expect, test} from 'vitest';
import {buildDelegateConf} from '../../chain/delegate-conf.ts';
import {FakePluginExec} from '../../chain/testing/fake-exec.ts';
import {toCniError} from '../../cni/errors.ts';
import {FakeKubeClient} from '../../k8s/testing/fake-client.ts';
import {createPlexusPlugin} from '../../meta/plugin.ts';
import {anyPathIsNetns} from '../../meta/testing/netns.ts';
import {loadManifests, ManifestKubeClient, parseManifests} from './manifests.ts';
import {dryRunPod, podAddRequest} from './plan.ts';

const EXAMPLES = join(fileURLToPath(new URL('../../../', import.meta.url)), 'conf/examples');

describe('all findings in one run', () => {
	test("two missing NADs are two findings (a missing plugin a third), the first ADD's own error", async () => {
		const {nads} = await loadManifests([join(EXAMPLES, 'cluster-net.yaml')]);
		const {pods} = parseManifests(
			'kind: Pod\nmetadata: {name: web, namespace: ns1, annotations: {k8s.v1.cni.cncf.io/networks: "a, b"}}\n',
			'pod.yaml',
		);
		const pod = pods[0]!;
		const conf = {
			type: 'plexus',
			clusterNetwork: 'cluster-net',
			cniDir: '/nonexistent/cache',
			logToStderr: false,
		};
		const input = {
			confStdin: buildDelegateConf({name: 'plexus', cniVersion: '1.0.0', plugin: conf}).stdin,
			pod,
			path: ['/nonexistent'],
			env: {},
			containerId: 'c1',
			netns: '/var/run/netns/c1',
			ifname: 'eth0',
		};
		const report = await dryRunPod({
			...input,
			kube: new ManifestKubeClient({pods, nads}),
			exec: new FakePluginExec({}),
			queryVersions: false,
		});
		const missing = (name: string, i: number) =>
			`failed to find network-attachment-definition "ns1/${name}" (element ${i} of annotation "k8s.v1.cni.cncf.io/networks") for pod "ns1/web"`;
		// ...and, in the same run, what the cluster network would then fail on.
		expect(report.findings.map((f) => f.message)).toEqual([
			missing('a', 1),
			missing('b', 2),
			expect.stringContaining('failed to find plugin "bridge" in path [/opt/cni/bin /nonexistent]'),
		]);

		const kube = new FakeKubeClient();
		kube.addPod(pod);
		for (const n of nads) kube.addNad(n.namespace, n.name, n.config);
		const meta = createPlexusPlugin({
			kube: () => kube,
			exec: new FakePluginExec({}),
			readinessTimeoutMs: 0,
			probeNetns: anyPathIsNetns,
		});
		const add = await meta.add(podAddRequest(input)).then(
			() => undefined,
			(error: unknown) => toCniError(error).message,
		);
		expect(add).toBe(report.findings[0]?.message);
	});
});
