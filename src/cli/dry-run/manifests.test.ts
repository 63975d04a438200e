// Pods and NADs from YAML for plexus dry-run: multi-document files, List kinds, directories, the
// default namespace, and what a broken manifest says.
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {FakeKubeClient} from '../../k8s/fake-client.ts';
import {loadManifests, ManifestKubeClient, parseManifests} from './manifests.ts';

let dir: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-manifests-'));
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

const nadYaml = (name: string, namespace?: string) =>
	[
		'apiVersion: k8s.cni.cncf.io/v1',
		'kind: NetworkAttachmentDefinition',
		'metadata:',
		`  name: ${name}`,
		...(namespace === undefined ? [] : [`  namespace: ${namespace}`]),
		'spec:',
		`  config: '{"cniVersion":"1.0.0","name":"${name}","type":"bridge"}'`,
	].join('\n');

describe('manifests', () => {
	test('a multi-document file with a pod, NADs, a List and other kinds', () => {
		const text = [
			nadYaml('a', 'ns1'),
			'---',
			'apiVersion: v1',
			'kind: List',
			'items:',
			'  - apiVersion: k8s.cni.cncf.io/v1',
			'    kind: NetworkAttachmentDefinition',
			'    metadata: {name: b}',
			'    spec: {}',
			'---',
			'apiVersion: v1',
			'kind: ConfigMap',
			'metadata: {name: ignored}',
			'---',
			'apiVersion: v1',
			'kind: Pod',
			'metadata:',
			'  name: web',
			'  uid: 1234',
			'  annotations: {k8s.v1.cni.cncf.io/networks: a}',
		].join('\n');
		expect(parseManifests(text, 'x.yaml', 'dflt')).toEqual({
			pods: [
				{name: 'web', namespace: 'dflt', uid: '1234', annotations: {'k8s.v1.cni.cncf.io/networks': 'a'}},
			],
			nads: [
				{
					name: 'a',
					namespace: 'ns1',
					config: '{"cniVersion":"1.0.0","name":"a","type":"bridge"}',
					annotations: {},
				},
				{name: 'b', namespace: 'dflt', config: undefined, annotations: {}},
			],
		});
	});

	test('a directory: its .yaml, .yml and .json files in name order', async () => {
		await mkdir(join(dir, 'nads'));
		await writeFile(join(dir, 'nads', '2.yml'), nadYaml('two', 'ns'));
		await writeFile(join(dir, 'nads', '1.yaml'), nadYaml('one', 'ns'));
		await writeFile(join(dir, 'nads', 'notes.txt'), 'not yaml: [');
		const loaded = await loadManifests([join(dir, 'nads')]);
		expect(loaded.nads.map((n) => n.name)).toEqual(['one', 'two']);
	});

	test.each([
		['invalid YAML', 'kind: Pod\nmetadata: [', /failed to read manifest "x.yaml": /],
		['a nameless object', 'kind: Pod\nmetadata: {}', /a Pod has no metadata.name/],
		[
			'a spec.config that is not a string',
			'kind: NetworkAttachmentDefinition\nmetadata: {name: n, namespace: s}\nspec: {config: {a: 1}}',
			/network-attachment-definition "s\/n": spec.config is not a string/,
		],
	])('%s is refused, naming the file', (_what, text, message) => {
		expect(() => parseManifests(text, 'x.yaml')).toThrow(message);
	});

	test('a missing file is refused, naming it', async () => {
		await expect(loadManifests([join(dir, 'nope.yaml')])).rejects.toThrow(/nope\.yaml/);
	});

	test('the client serves the manifests first, then the cluster, and never writes', async () => {
		const cluster = new FakeKubeClient();
		cluster.addNad('ns', 'remote', '{}');
		cluster.addNad('ns', 'local', '{"from":"cluster"}');
		const kube = new ManifestKubeClient(parseManifests(nadYaml('local', 'ns'), 'x.yaml'), cluster);
		expect((await kube.getNad('ns', 'local'))?.config).toContain('"type":"bridge"');
		expect((await kube.getNad('ns', 'remote'))?.config).toBe('{}');
		expect(await kube.getNad('ns', 'absent')).toBeUndefined();
		await kube.createEvent({
			namespace: 'ns',
			podName: 'p',
			podUid: '',
			type: 'Normal',
			reason: 'r',
			message: 'm',
		});
		await kube.setPodAnnotation('ns', 'p', undefined, 'k', 'v');
		expect(cluster.calls.map((c) => c.method)).toEqual(['getNad', 'getNad']);
		await expect(new ManifestKubeClient({pods: [], nads: []}).getPod('a', 'b')).resolves.toBeUndefined();
	});
});
