// Two attachments of a pod with the same static address in one routing domain are a warning;
// in different VRFs (seed 000's blue and red) they are not.
import {describe, expect, test} from 'vitest';
import {buildDelegateConf} from '../../chain/delegate-conf.ts';
import {FakePluginExec} from '../../chain/testing/fake-exec.ts';
import {ManifestKubeClient, parseManifests} from './manifests.ts';
import {dryRunPod} from './plan.ts';

const nad = (name: string, vrf?: string) => {
	const bridge = {type: 'bridge', ipam: {type: 'static', addresses: [{address: '10.1.0.2/24'}]}};
	const plugins = vrf === undefined ? [bridge] : [bridge, {type: 'vrf', vrfname: vrf}];
	const config = JSON.stringify({cniVersion: '1.0.0', name, plugins});
	return `kind: NetworkAttachmentDefinition\nmetadata: {name: ${name}, namespace: ns1}\nspec: {config: '${config}'}\n`;
};

async function findings(yaml: string) {
	const manifests = parseManifests(yaml, 'pod.yaml');
	const conf = {type: 'plexus', clusterNetwork: 'ns1/cluster', cniDir: '/nonexistent', logToStderr: false};
	const report = await dryRunPod({
		confStdin: buildDelegateConf({name: 'plexus', cniVersion: '1.0.0', plugin: conf}).stdin,
		pod: manifests.pods[0]!,
		path: ['/fake/cni/bin'],
		env: {},
		containerId: 'c1',
		netns: '/var/run/netns/c1',
		ifname: 'eth0',
		kube: new ManifestKubeClient(manifests),
		exec: new FakePluginExec({bridge: () => ({})}),
		queryVersions: false,
	});
	return report.findings;
}

const cluster = `kind: NetworkAttachmentDefinition\nmetadata: {name: cluster, namespace: ns1}\nspec: {config: '{"cniVersion":"1.0.0","name":"cluster","type":"bridge"}'}\n`;
const pod =
	'kind: Pod\nmetadata: {name: web, namespace: ns1, annotations: {k8s.v1.cni.cncf.io/networks: "a, b"}}\n';

describe('duplicate static addresses across attachments', () => {
	test('in one routing domain: a warning naming both interfaces', async () => {
		expect(await findings([cluster, nad('a'), nad('b'), pod].join('---\n'))).toEqual([
			{
				severity: 'warning',
				message:
					'address 10.1.0.2 is configured on both "net1" (ns1/a) and "net2" (ns1/b), in the main routing table',
				network: 'ns1/b',
			},
		]);
	});

	test('in different VRFs: no finding', async () => {
		expect(await findings([cluster, nad('a', 'blue'), nad('b', 'red'), pod].join('---\n'))).toEqual([]);
	});
});
