// Pods and NADs from YAML for plexus dry-run: multi-document files, List kinds, directories, the
// default namespace, and what a broken manifest says.
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {FakeKubeClient} from '../../k8s/testing/fake-client.ts';
import {loadManifests, ManifestKubeClient, parseManifests, selectPod} from './manifests.ts';

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

	test("YAML kubectl applies: a quoted annotation closed at its key's indentation (seed 000)", () => {
		const text = [
			'apiVersion: v1',
			'kind: Pod',
			'metadata:',
			'  name: vrfpod1',
			'  annotations:',
			"    k8s.v1.cni.cncf.io/networks: '[",
			'            { "name": "bluenet1" },',
			'            { "name": "rednet1" }',
			"    ]'",
			'spec:',
			'  containers: [',
			'  {name: c},',
			'  ]',
		].join('\n');
		expect(parseManifests(text, 'x.yaml').pods).toEqual([
			{
				name: 'vrfpod1',
				namespace: 'default',
				uid: '',
				annotations: {'k8s.v1.cni.cncf.io/networks': '[ { "name": "bluenet1" }, { "name": "rednet1" } ]'},
			},
		]);
	});

	test('YAML 1.2 core: yes/on stay strings, merge keys apply, duplicate keys are refused', () => {
		const text = [
			'base: &b {k8s.v1.cni.cncf.io/networks: on}',
			'kind: Pod',
			'metadata:',
			'  name: p',
			'  annotations: {<<: *b, other: yes}',
		].join('\n');
		expect(parseManifests(text, 'x.yaml').pods[0]?.annotations).toEqual({
			'k8s.v1.cni.cncf.io/networks': 'on',
			other: 'yes',
		});
		expect(() => parseManifests('kind: Pod\nkind: Pod\n', 'x.yaml')).toThrow(/x\.yaml.*unique/i);
		// A document marker inside a quoted scalar still ends the document, as in go-yaml.
		expect(() => parseManifests("kind: Pod\nmetadata: {name: 'a\n---\nb'}\n", 'x.yaml')).toThrow(
			/Missing closing 'quote/,
		);
	});

	test("the pod templates of workloads, each named as its workload, in the workload's namespace", () => {
		const template = (annotation: string, namespace = '') =>
			`{metadata: {${namespace}annotations: {k8s.v1.cni.cncf.io/networks: ${annotation}}}}`;
		const workload = (kind: string, name: string, spec: string) =>
			`kind: ${kind}\nmetadata: {name: ${name}, namespace: apps}\nspec: ${spec}\n`;
		const text = [
			workload('Deployment', 'web', `{template: ${template('a')}}`),
			workload('StatefulSet', 'db', `{template: ${template('b', 'namespace: data, ')}}`),
			workload('DaemonSet', 'agent', `{template: ${template('c')}}`),
			workload('ReplicaSet', 'rs', `{template: ${template('d')}}`),
			workload('Job', 'once', `{template: ${template('e')}}`),
			workload('CronJob', 'nightly', `{jobTemplate: {spec: {template: ${template('f')}}}}`),
		].join('---\n');
		const pods = parseManifests(text, 'x.yaml').pods;
		expect(pods.map((p) => [p.namespace, p.name, p.annotations['k8s.v1.cni.cncf.io/networks']])).toEqual([
			['apps', 'web', 'a'],
			['data', 'db-0', 'b'],
			['apps', 'agent', 'c'],
			['apps', 'rs', 'd'],
			['apps', 'once', 'e'],
			['apps', 'nightly', 'f'],
		]);
		expect(() => parseManifests('kind: Deployment\nmetadata: {name: w}\nspec: {}\n', 'x.yaml')).toThrow(
			/Deployment "w" has no pod template/,
		);
	});

	test('--pod-name: the only pod, the named one, or a usage error listing them', () => {
		const pod = (namespace: string, name: string) => ({namespace, name, uid: '', annotations: {}});
		const pods = [pod('a', 'web'), pod('b', 'web'), pod('a', 'db')];
		expect(selectPod([pods[0]!], 'f.yaml', undefined)).toBe(pods[0]);
		expect(selectPod(pods, 'f.yaml', 'db')).toBe(pods[2]);
		expect(selectPod(pods, 'f.yaml', 'b/web')).toBe(pods[1]);
		expect(selectPod(pods, 'f.yaml', undefined)).toBe(
			'"f.yaml" has 3 pods (a/web, b/web, a/db): choose one with --pod-name',
		);
		expect(selectPod(pods, 'f.yaml', 'web')).toBe(
			'--pod-name "web" matches 2 pods of "f.yaml" (a/web, b/web, a/db): give namespace/name',
		);
		expect(selectPod(pods, 'f.yaml', 'nope')).toBe(
			'--pod-name "nope" is not a pod of "f.yaml" (it has a/web, b/web, a/db)',
		);
		expect(selectPod([], 'f.yaml', undefined)).toBe('"f.yaml" has no Pod (nor a workload\'s pod template)');
	});
});
