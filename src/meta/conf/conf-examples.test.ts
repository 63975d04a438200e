// The examples in conf/ stay valid: the Plexus conf parses, the NADs resolve to network lists,
// and the pod's annotation selects them.
import {readFile} from 'node:fs/promises';
import {fileURLToPath} from 'node:url';
import {describe, expect, test} from 'vitest';
import {parse} from 'yaml';
import {parseNetworkSelections} from '../../k8s/annotations.ts';
import {nadNetworkList} from '../../k8s/nad.ts';
import {parsePlexusConf} from './conf.ts';

const conf = (file: string) =>
	readFile(fileURLToPath(new URL(`../../../conf/${file}`, import.meta.url)), 'utf8');

interface Manifest {
	metadata: {name: string; namespace: string; annotations?: Record<string, string>};
	spec: {config?: string};
}

describe('conf/ examples', () => {
	test('00-plexus.conf is a valid Plexus conf', async () => {
		const parsed = parsePlexusConf(JSON.parse(await conf('00-plexus.conf')) as Record<string, unknown>);
		expect(parsed).toMatchObject({
			type: 'plexus',
			clusterNetwork: '/etc/cni/net.d/10-flannel.conflist',
			apiTimeoutMs: 4000,
		});
	});

	test.each([
		['nad-management-net.yaml', ['macvlan', 'route-override']],
		['nad-macvlan0.yaml', ['macvlan']],
	])('%s resolves to a network list', async (file, types) => {
		const nad = parse(await conf(file)) as Manifest;
		const list = await nadNetworkList(
			{name: nad.metadata.name, namespace: nad.metadata.namespace, config: nad.spec.config, annotations: {}},
			'/nonexistent',
		);
		expect(list.name).toBe(nad.metadata.name);
		expect(list.plugins.map((p) => p.type)).toEqual(types);
	});

	test('pod-chain-test.yaml selects management-net as eth1 and sip-net as eth2', async () => {
		const pod = parse(await conf('pod-chain-test.yaml')) as Manifest;
		const value = pod.metadata.annotations?.['k8s.v1.cni.cncf.io/networks'] ?? '';
		expect(
			parseNetworkSelections(value, {
				podNamespace: 'chain-example',
				podName: 'chain-test-pod',
				annotation: 'k8s.v1.cni.cncf.io/networks',
			}),
		).toEqual([
			{name: 'management-net', namespace: 'chain-example', interface: 'eth1'},
			{name: 'sip-net', namespace: 'chain-example', interface: 'eth2'},
		]);
	});
});
