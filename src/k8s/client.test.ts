// NodeKubeClient (the REST client of ./rest/) against the in-repo test API server.
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeAll, beforeEach, describe, expect, test} from 'vitest';
import {TestApiServer} from '../../e2e/kube/apiserver.ts';
import {plexusVersion} from '../version/version.ts';
import {hasKubeConfig, NodeKubeClient} from './client.ts';
import {FakeKubeClient} from './testing/fake-client.ts';

const STATUS_KEY = 'k8s.v1.cni.cncf.io/network-status';
let api: TestApiServer;
let dir: string;
let kubeconfig: string;

// The client loads its transport on its first call; load it once here so that the timing
// assertions below measure the call bounds, not the module load of a busy machine.
beforeAll(async () => {
	await Promise.all([import('./rest/http.ts'), import('./rest/kubeconfig.ts')]);
});

beforeEach(async () => {
	api = await TestApiServer.start();
	dir = await mkdtemp(join(tmpdir(), 'plexus-client-'));
	kubeconfig = await api.writeKubeconfig(dir);
});

afterEach(async () => {
	await api.close();
	await rm(dir, {recursive: true, force: true});
});

describe('NodeKubeClient', () => {
	test('reads a pod and reports a missing one as undefined', async () => {
		const created = api.createPod({metadata: {name: 'web', namespace: 'ns1', annotations: {a: 'b'}}});
		const kube = new NodeKubeClient({kubeconfig});
		expect(await kube.getPod('ns1', 'web')).toEqual({
			name: 'web',
			namespace: 'ns1',
			uid: created.metadata.uid,
			annotations: {a: 'b'},
		});
		expect(await kube.getPod('ns1', 'nope')).toBeUndefined();
	});

	test('maxConnections 1 queues overlapping requests on one kept-alive connection', async () => {
		const ports = async (kube: NodeKubeClient) => {
			api.requests.length = 0;
			await Promise.all(['a', 'b', 'c', 'd'].map((name) => kube.getNad('ns1', name)));
			await kube.getNad('ns1', 'e');
			return new Set(api.requests.map((r) => r.clientPort)).size;
		};
		expect(await ports(new NodeKubeClient({kubeconfig, maxConnections: 1}))).toBe(1);
		expect(await ports(new NodeKubeClient({kubeconfig}))).toBeGreaterThan(1);
	});

	test('sends User-Agent plexus/<version> (<mode>) on every call, reads and writes', async () => {
		const pod = api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		const kube = new NodeKubeClient({kubeconfig});
		await kube.getPod('ns1', 'web');
		await kube.getNad('ns1', 'nope');
		await kube.setPodAnnotation('ns1', 'web', pod.metadata.uid, 'k', 'v');
		await kube.createEvent({
			namespace: 'ns1',
			podName: 'web',
			podUid: pod.metadata.uid,
			type: 'Normal',
			reason: 'Test',
			message: 'm',
		});
		// One request per call: the status write PUTs the pod getPod read, without a GET first.
		expect(api.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
			'GET /api/v1/namespaces/ns1/pods/web',
			'GET /apis/k8s.cni.cncf.io/v1/namespaces/ns1/network-attachment-definitions/nope',
			'PUT /api/v1/namespaces/ns1/pods/web/status',
			'POST /api/v1/namespaces/ns1/events',
		]);
		expect(new Set(api.requests.map((r) => r.userAgent))).toEqual(
			new Set([`plexus/${plexusVersion()} (one-shot)`]),
		);
	});

	test('reads a NAD with and without spec.config', async () => {
		api.createNad('ns1', 'full', '{"type":"macvlan"}');
		api.createNad('ns1', 'empty', undefined);
		const kube = new NodeKubeClient({kubeconfig});
		expect(await kube.getNad('ns1', 'full')).toEqual({
			name: 'full',
			namespace: 'ns1',
			config: '{"type":"macvlan"}',
			annotations: {},
		});
		expect((await kube.getNad('ns1', 'empty'))?.config).toBeUndefined();
		expect(await kube.getNad('ns1', 'nope')).toBeUndefined();
	});

	test('writes an annotation through pods/status with the read resourceVersion', async () => {
		const pod = api.createPod({metadata: {name: 'web', namespace: 'ns1', annotations: {keep: 'me'}}});
		const kube = new NodeKubeClient({kubeconfig});
		expect(await kube.setPodAnnotation('ns1', 'web', pod.metadata.uid, STATUS_KEY, '[]')).toBe('written');
		expect(api.getPod('ns1', 'web')?.metadata.annotations).toEqual({keep: 'me', [STATUS_KEY]: '[]'});
		const put = api.requestsTo('PUT', '/api/v1/namespaces/ns1/pods/web/status');
		expect(put).toHaveLength(1);
		expect((put[0]!.body as {metadata: {resourceVersion: string}}).metadata.resourceVersion).toBe(
			pod.metadata.resourceVersion,
		);
	});

	test('a stale remembered pod (another UID, an old resourceVersion) is re-read, not written blindly', async () => {
		const old = api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		const kube = new NodeKubeClient({kubeconfig});
		await kube.getPod('ns1', 'web');
		api.deletePod('ns1', 'web');
		const fresh = api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		expect(fresh.metadata.uid).not.toBe(old.metadata.uid);
		expect(await kube.setPodAnnotation('ns1', 'web', fresh.metadata.uid, STATUS_KEY, '[]')).toBe('written');
		expect(api.getPod('ns1', 'web')?.metadata.annotations).toEqual({[STATUS_KEY]: '[]'});
		// The old pod is remembered: writing for its UID now finds another pod.
		await kube.getPod('ns1', 'web');
		api.deletePod('ns1', 'web');
		api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		expect(await kube.setPodAnnotation('ns1', 'web', fresh.metadata.uid, STATUS_KEY, '[1]')).toBe(
			'uid-mismatch',
		);
	});

	test('an http:// API server works, as with client-go', async () => {
		const plain = await TestApiServer.start({tls: false});
		try {
			plain.createPod({metadata: {name: 'web', namespace: 'ns1'}});
			const kube = new NodeKubeClient({kubeconfig: await plain.writeKubeconfig(dir, 'plain')});
			expect((await kube.getPod('ns1', 'web'))?.name).toBe('web');
			expect(plain.requests[0]?.authorization).toBe(`Bearer ${plain.token}`);
		} finally {
			await plain.close();
		}
	});

	test('retries a 409 conflict on the status write', async () => {
		const pod = api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		api.inject({method: 'PUT', path: '/api/v1/namespaces/ns1/pods/web/status', status: 409, times: 2});
		const kube = new NodeKubeClient({kubeconfig});
		expect(await kube.setPodAnnotation('ns1', 'web', pod.metadata.uid, STATUS_KEY, '[1]')).toBe('written');
		expect(api.requestsTo('PUT', '/api/v1/namespaces/ns1/pods/web/status').map((r) => r.status)).toEqual([
			409, 409, 200,
		]);
	});

	test('gives up after 5 conflicting writes with an error naming the pod', async () => {
		const pod = api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		api.inject({method: 'PUT', path: '/api/v1/namespaces/ns1/pods/web/status', status: 409});
		const kube = new NodeKubeClient({kubeconfig});
		await expect(kube.setPodAnnotation('ns1', 'web', pod.metadata.uid, STATUS_KEY, '[]')).rejects.toThrow(
			'failed to update pod "ns1/web" status: HTTP 409',
		);
		expect(api.requestsTo('PUT', '/api/v1/namespaces/ns1/pods/web/status')).toHaveLength(5);
	});

	test('does not write to a pod with another UID, nor to a missing pod', async () => {
		api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		const kube = new NodeKubeClient({kubeconfig});
		expect(await kube.setPodAnnotation('ns1', 'web', 'other-uid', STATUS_KEY, '[]')).toBe('uid-mismatch');
		expect(await kube.setPodAnnotation('ns1', 'gone', undefined, STATUS_KEY, '[]')).toBe('pod-not-found');
		expect(api.requestsTo('PUT', /status$/)).toHaveLength(0);
	});

	test('posts events about the pod', async () => {
		const pod = api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		const kube = new NodeKubeClient({kubeconfig});
		await kube.createEvent({
			namespace: 'ns1',
			podName: 'web',
			podUid: pod.metadata.uid,
			type: 'Normal',
			reason: 'AddedInterface',
			message: 'Add net1 [10.1.1.5/24] from ns1/a',
		});
		expect(api.events('ns1')).toHaveLength(1);
		expect(api.events('ns1')[0]).toMatchObject({
			reason: 'AddedInterface',
			type: 'Normal',
			message: 'Add net1 [10.1.1.5/24] from ns1/a',
			involvedObject: {kind: 'Pod', name: 'web', namespace: 'ns1', uid: pod.metadata.uid},
		});
		await kube.createEvent({
			namespace: 'ns1',
			podName: 'web',
			podUid: pod.metadata.uid,
			type: 'Normal',
			reason: 'Again',
			message: 'm',
		});
		const events = api.events('ns1') as unknown as {
			metadata: {name: string};
			firstTimestamp: string;
			lastTimestamp: string;
		}[];
		for (const e of events) {
			expect(e.metadata.name).toMatch(/^web\.[0-9a-f]{16}$/);
			expect(new Date(e.firstTimestamp).toISOString()).toBe(e.firstTimestamp);
			expect(e.lastTimestamp).toBe(e.firstTimestamp);
		}
		expect(new Set(events.map((e) => e.metadata.name)).size).toBe(2);
	});

	test('a slow server is cut off by the call bound, as a try-again-later error', async () => {
		api.latencyMs = 5000;
		const kube = new NodeKubeClient({kubeconfig, requestTimeoutMs: 150, callTimeoutMs: 600});
		const started = performance.now();
		await expect(kube.getPod('ns1', 'web')).rejects.toMatchObject({
			code: 11,
			message: 'failed to get pod "ns1/web": timed out',
		});
		expect(performance.now() - started).toBeLessThan(2500);
	});

	test('a server that is down fails fast with code 11', async () => {
		await api.down();
		const kube = new NodeKubeClient({kubeconfig, callTimeoutMs: 500});
		const started = performance.now();
		await expect(kube.getNad('ns1', 'a')).rejects.toMatchObject({code: 11});
		expect(performance.now() - started).toBeLessThan(2500);
	});

	test('a 503 is retried within the bound', async () => {
		api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		api.inject({method: 'GET', path: '/api/v1/namespaces/ns1/pods/web', status: 503, times: 2});
		const kube = new NodeKubeClient({kubeconfig});
		expect((await kube.getPod('ns1', 'web'))?.name).toBe('web');
		expect(api.requestsTo('GET', '/api/v1/namespaces/ns1/pods/web').map((r) => r.status)).toEqual([
			503, 503, 200,
		]);
	});

	test('401 is not retried and says the credentials were rejected', async () => {
		api.token = 'rotated';
		const kube = new NodeKubeClient({kubeconfig});
		await expect(kube.getPod('ns1', 'web')).rejects.toMatchObject({
			code: 5,
			message:
				'failed to get pod "ns1/web": unauthorized (401): the kubeconfig credentials were rejected (expired or rotated token?)',
		});
		expect(api.requests).toHaveLength(1);
	});

	test('a missing kubeconfig file is an invalid-config error naming it', async () => {
		const kube = new NodeKubeClient({kubeconfig: join(dir, 'nope')});
		await expect(kube.getPod('ns1', 'web')).rejects.toMatchObject({code: 7});
		await expect(kube.getPod('ns1', 'web')).rejects.toThrow(
			`failed to load kubeconfig "${join(dir, 'nope')}"`,
		);
	});
});

describe('hasKubeConfig', () => {
	test.each([
		['/etc/kubeconfig', {}, true],
		['', {}, false],
		[undefined, {KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443'}, true],
		[undefined, {KUBERNETES_SERVICE_HOST: '10.0.0.1'}, false],
	])('kubeconfig %j with env %j → %s', (path, env, expected) => {
		expect(hasKubeConfig(path, env)).toBe(expected);
	});
});

describe('FakeKubeClient', () => {
	test('records calls and applies the UID rule like the real one', async () => {
		const kube = new FakeKubeClient();
		kube.addPod({name: 'web', namespace: 'ns1', uid: 'u1', annotations: {}});
		expect(await kube.setPodAnnotation('ns1', 'web', 'u2', STATUS_KEY, '[]')).toBe('uid-mismatch');
		expect(await kube.setPodAnnotation('ns1', 'web', 'u1', STATUS_KEY, '[]')).toBe('written');
		expect(kube.pods.get('ns1/web')?.annotations).toEqual({[STATUS_KEY]: '[]'});
		kube.failWith = {status: 503};
		await expect(kube.getNad('ns1', 'a')).rejects.toMatchObject({code: 11});
		expect(kube.calls.map((c) => c.method)).toEqual(['setPodAnnotation', 'setPodAnnotation', 'getNad']);
	});
});
