// The test API server, exercised only through @kubernetes/client-node (the client production code
// uses), so a shape or path it gets wrong fails here rather than in a meta-plugin test.
import {mkdtemp, readFile, rm, stat} from 'node:fs/promises';
import {get} from 'node:https';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {
	ApiException,
	CoreV1Api,
	CustomObjectsApi,
	EventsV1Api,
	KubeConfig,
	PatchStrategy,
	setHeaderOptions,
	type V1Pod,
} from '@kubernetes/client-node';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {NADS, PODS, TestApiServer} from './apiserver.ts';
import {jsonPatch, mergePatch} from './patch.ts';

let api: TestApiServer;
let dir: string;
let core: CoreV1Api;
let custom: CustomObjectsApi;

beforeEach(async () => {
	api = await TestApiServer.start();
	dir = await mkdtemp(join(tmpdir(), 'plexus-apiserver-'));
	const kc = new KubeConfig();
	kc.loadFromFile(await api.writeKubeconfig(dir));
	core = kc.makeApiClient(CoreV1Api);
	custom = kc.makeApiClient(CustomObjectsApi);
});

afterEach(async () => {
	await api.close();
	await rm(dir, {recursive: true, force: true});
});

async function apiError(promise: Promise<unknown>): Promise<{code: number; body: Record<string, unknown>}> {
	try {
		await promise;
	} catch (error) {
		if (error instanceof ApiException) {
			// client-node keeps the body text for declared responses and only the message otherwise.
			const text = typeof error.body === 'string' ? error.body : '{}';
			return {code: error.code, body: JSON.parse(text) as Record<string, unknown>};
		}
		throw error;
	}
	throw new Error('expected the request to fail');
}

describe('pods', () => {
	test('reads a pod with uid, resourceVersion and annotations', async () => {
		const created = api.createPod({
			metadata: {name: 'web', namespace: 'ns1', annotations: {'k8s.v1.cni.cncf.io/networks': 'a,b'}},
		});
		const pod = await core.readNamespacedPod({name: 'web', namespace: 'ns1'});
		expect(pod.metadata?.uid).toBe(created.metadata.uid);
		expect(pod.metadata?.resourceVersion).toBe(created.metadata.resourceVersion);
		expect(pod.metadata?.annotations).toEqual({'k8s.v1.cni.cncf.io/networks': 'a,b'});
		expect(api.requests.at(-1)).toMatchObject({
			method: 'GET',
			path: '/api/v1/namespaces/ns1/pods/web',
			authorization: 'Bearer plexus-test-token',
			status: 200,
		});
	});

	test('lists pods per namespace and across namespaces', async () => {
		api.createPod({metadata: {name: 'a', namespace: 'ns1'}});
		api.createPod({metadata: {name: 'b', namespace: 'ns2'}});
		const inNs1 = await core.listNamespacedPod({namespace: 'ns1'});
		expect(inNs1.items.map((p) => p.metadata?.name)).toEqual(['a']);
		const all = await core.listPodForAllNamespaces();
		expect(all.items.map((p) => p.metadata?.name)).toEqual(['a', 'b']);
	});

	test('a missing pod is a 404 Status object naming it', async () => {
		const {code, body} = await apiError(core.readNamespacedPod({name: 'gone', namespace: 'ns1'}));
		expect(code).toBe(404);
		expect(body).toEqual({
			kind: 'Status',
			apiVersion: 'v1',
			metadata: {},
			status: 'Failure',
			message: 'pods "gone" not found',
			reason: 'NotFound',
			code: 404,
		});
	});

	test('PUT pods/status with the current resourceVersion updates annotations, a stale one is 409', async () => {
		api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		const pod = await core.readNamespacedPod({name: 'web', namespace: 'ns1'});
		const stale = structuredClone(pod);
		pod.metadata = {...pod.metadata, annotations: {'k8s.v1.cni.cncf.io/network-status': '[]'}};
		const updated = await core.replaceNamespacedPodStatus({name: 'web', namespace: 'ns1', body: pod});
		expect(updated.metadata?.annotations).toEqual({'k8s.v1.cni.cncf.io/network-status': '[]'});
		expect(Number(updated.metadata?.resourceVersion)).toBeGreaterThan(Number(pod.metadata.resourceVersion));

		stale.metadata = {...stale.metadata, annotations: {x: 'y'}};
		const {code, body} = await apiError(
			core.replaceNamespacedPodStatus({name: 'web', namespace: 'ns1', body: stale}),
		);
		expect(code).toBe(409);
		expect(body['reason']).toBe('Conflict');
		expect(String(body['message'])).toContain('the object has been modified');
		expect(api.getPod('ns1', 'web')?.metadata.annotations).toEqual({
			'k8s.v1.cni.cncf.io/network-status': '[]',
		});
	});

	test('a PUT carrying another uid is a 409 precondition failure', async () => {
		api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		const pod = await core.readNamespacedPod({name: 'web', namespace: 'ns1'});
		api.deletePod('ns1', 'web');
		api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		pod.metadata = {...pod.metadata, resourceVersion: ''};
		const {code, body} = await apiError(
			core.replaceNamespacedPodStatus({name: 'web', namespace: 'ns1', body: pod}),
		);
		expect(code).toBe(409);
		expect(String(body['message'])).toContain('Precondition failed: UID in precondition');
	});

	test('PUT pods/status keeps the spec', async () => {
		api.createPod({
			metadata: {name: 'web', namespace: 'ns1'},
			spec: {containers: [{name: 'c', image: 'one'}]},
		});
		const pod = await core.readNamespacedPod({name: 'web', namespace: 'ns1'});
		const changed: V1Pod = {...pod, spec: {containers: [{name: 'c', image: 'two'}]}};
		await core.replaceNamespacedPodStatus({name: 'web', namespace: 'ns1', body: changed});
		expect(api.getPod('ns1', 'web')?.['spec']).toEqual({containers: [{name: 'c', image: 'one'}]});
	});

	test.each([
		[PatchStrategy.MergePatch, {metadata: {annotations: {a: '1', b: null}}}],
		[PatchStrategy.StrategicMergePatch, {metadata: {annotations: {a: '1', b: null}}}],
		[
			PatchStrategy.JsonPatch,
			[
				{op: 'add', path: '/metadata/annotations/a', value: '1'},
				{op: 'remove', path: '/metadata/annotations/b'},
			],
		],
	])('PATCH pods/status as %s', async (strategy, patch) => {
		api.createPod({metadata: {name: 'web', namespace: 'ns1', annotations: {b: 'x', c: 'keep'}}});
		const pod = await core.patchNamespacedPodStatus(
			{name: 'web', namespace: 'ns1', body: patch},
			setHeaderOptions('Content-Type', strategy),
		);
		expect(pod.metadata?.annotations).toEqual({a: '1', c: 'keep'});
		expect(api.requests.at(-1)).toMatchObject({
			method: 'PATCH',
			path: '/api/v1/namespaces/ns1/pods/web/status',
			contentType: strategy,
		});
	});

	test('a merge patch with a stale resourceVersion is a 409', async () => {
		const created = api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		api.store.patch(PODS, 'ns1', 'web', PatchStrategy.MergePatch, {metadata: {labels: {x: 'y'}}}, undefined);
		const {code} = await apiError(
			core.patchNamespacedPodStatus(
				{
					name: 'web',
					namespace: 'ns1',
					body: {metadata: {resourceVersion: created.metadata.resourceVersion, annotations: {a: 'b'}}},
				},
				setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
			),
		);
		expect(code).toBe(409);
	});

	test('creates and deletes pods', async () => {
		const pod = await core.createNamespacedPod({
			namespace: 'ns1',
			body: {metadata: {name: 'p'}, spec: {containers: [{name: 'c', image: 'x'}]}},
		});
		expect(pod.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
		await core.deleteNamespacedPod({name: 'p', namespace: 'ns1'});
		expect(api.getPod('ns1', 'p')).toBeUndefined();
	});
});

describe('network-attachment-definitions', () => {
	const nad = {group: 'k8s.cni.cncf.io', version: 'v1', plural: 'network-attachment-definitions'};

	test('gets a NAD with its spec.config', async () => {
		api.createNad('ns1', 'macvlan0', '{"cniVersion":"0.3.1","type":"macvlan"}');
		const got = (await custom.getNamespacedCustomObject({
			...nad,
			namespace: 'ns1',
			name: 'macvlan0',
		})) as Record<string, unknown>;
		expect(got['kind']).toBe('NetworkAttachmentDefinition');
		expect(got['apiVersion']).toBe('k8s.cni.cncf.io/v1');
		expect(got['spec']).toEqual({config: '{"cniVersion":"0.3.1","type":"macvlan"}'});
		expect(api.requests.at(-1)?.path).toBe(
			'/apis/k8s.cni.cncf.io/v1/namespaces/ns1/network-attachment-definitions/macvlan0',
		);
	});

	test('lists, creates, replaces and deletes NADs', async () => {
		await custom.createNamespacedCustomObject({
			...nad,
			namespace: 'ns1',
			body: {
				apiVersion: 'k8s.cni.cncf.io/v1',
				kind: 'NetworkAttachmentDefinition',
				metadata: {name: 'a'},
				spec: {},
			},
		});
		api.createNad('ns1', 'b', '{}');
		const list = (await custom.listNamespacedCustomObject({...nad, namespace: 'ns1'})) as {
			items: {metadata: {name: string}}[];
		};
		expect(list.items.map((i) => i.metadata.name)).toEqual(['a', 'b']);
		const a = (await custom.getNamespacedCustomObject({...nad, namespace: 'ns1', name: 'a'})) as {
			spec: Record<string, unknown>;
		};
		a.spec = {config: '{"type":"bridge"}'};
		await custom.replaceNamespacedCustomObject({...nad, namespace: 'ns1', name: 'a', body: a});
		expect(api.store.get(NADS, 'ns1', 'a')?.['spec']).toEqual({
			config: '{"type":"bridge"}',
		});
		await custom.deleteNamespacedCustomObject({...nad, namespace: 'ns1', name: 'a'});
		const {code, body} = await apiError(
			custom.getNamespacedCustomObject({...nad, namespace: 'ns1', name: 'a'}),
		);
		expect(code).toBe(404);
		expect(body['message']).toBe('network-attachment-definitions.k8s.cni.cncf.io "a" not found');
	});
});

describe('events', () => {
	test('stores core v1 and events.k8s.io/v1 events', async () => {
		const kc = new KubeConfig();
		kc.loadFromFile(join(dir, 'kubeconfig'));
		const eventsV1 = kc.makeApiClient(EventsV1Api);
		await core.createNamespacedEvent({
			namespace: 'ns1',
			body: {
				metadata: {name: 'web.1'},
				involvedObject: {kind: 'Pod', name: 'web', namespace: 'ns1'},
				reason: 'AddedInterface',
				type: 'Normal',
				message: 'Add net1',
			},
		});
		await eventsV1.createNamespacedEvent({
			namespace: 'ns1',
			body: {metadata: {name: 'web.2'}, eventTime: new Date(), reason: 'NoNetworkFound', type: 'Warning'},
		});
		expect(api.events('ns1').map((e) => e['reason'])).toEqual(['AddedInterface', 'NoNetworkFound']);
	});
});

describe('faults', () => {
	test('an injected 503 answers the given number of matching requests, then the real one', async () => {
		api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		api.inject({method: 'GET', path: '/api/v1/namespaces/ns1/pods/web', status: 503, times: 1});
		const {code, body} = await apiError(core.readNamespacedPod({name: 'web', namespace: 'ns1'}));
		expect(code).toBe(503);
		expect(body['reason']).toBe('ServiceUnavailable');
		await expect(core.readNamespacedPod({name: 'web', namespace: 'ns1'})).resolves.toBeDefined();
	});

	test('a wrong token is 401', async () => {
		api.token = 'rotated';
		const {code} = await apiError(core.readNamespacedPod({name: 'web', namespace: 'ns1'}));
		expect(code).toBe(401);
		expect(api.requests.at(-1)).toMatchObject({status: 401, authorization: 'Bearer plexus-test-token'});
	});

	test('path faults take regular expressions', async () => {
		api.inject({path: /network-attachment-definitions/, status: 404, message: 'gone'});
		api.createNad('ns1', 'a', '{}');
		const {code} = await apiError(
			custom.getNamespacedCustomObject({
				group: 'k8s.cni.cncf.io',
				version: 'v1',
				plural: 'network-attachment-definitions',
				namespace: 'ns1',
				name: 'a',
			}),
		);
		expect(code).toBe(404);
	});

	test('latency delays every answer', async () => {
		api.latencyMs = 150;
		const started = performance.now();
		await core.listPodForAllNamespaces();
		expect(performance.now() - started).toBeGreaterThanOrEqual(140);
	});

	test('down refuses connections and up serves again on the same port', async () => {
		api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		const port = api.port;
		await api.down();
		await expect(core.readNamespacedPod({name: 'web', namespace: 'ns1'})).rejects.toThrow();
		await api.up();
		expect(api.port).toBe(port);
		await expect(core.readNamespacedPod({name: 'web', namespace: 'ns1'})).resolves.toBeDefined();
	});

	test('the kubeconfig is written 0600', async () => {
		const info = await stat(join(dir, 'kubeconfig'));
		expect(info.mode & 0o777).toBe(0o600);
	});
});

describe('transport', () => {
	/** The outcome of a GET /version with node's https client trusting `ca` (node's defaults when undefined). */
	function probe(ca: string | undefined): Promise<string> {
		return new Promise((resolve) => {
			get(`${api.url}/version`, ca === undefined ? {} : {ca}, (res) => {
				res.resume();
				resolve(`HTTP ${res.statusCode}`);
			}).on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
		});
	}

	test('serves HTTPS with a certificate only the kubeconfig CA trusts', async () => {
		expect(api.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
		const config = JSON.parse(await readFile(join(dir, 'kubeconfig'), 'utf8')) as {
			clusters: {cluster: Record<string, unknown>}[];
			users: {user: Record<string, unknown>}[];
		};
		expect(config.clusters[0]?.cluster).toEqual({
			server: api.url,
			'certificate-authority-data': Buffer.from(api.caCert).toString('base64'),
		});
		expect(config.users[0]?.user).toEqual({token: 'plexus-test-token'});
		expect(await probe(undefined)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
		expect(await probe(api.caCert)).toBe('HTTP 401');
	});

	test('a request without a token is 401', async () => {
		const kc = new KubeConfig();
		kc.loadFromString(api.kubeconfig({token: ''}));
		const anonymous = kc.makeApiClient(CoreV1Api);
		const {code} = await apiError(anonymous.listPodForAllNamespaces());
		expect(code).toBe(401);
		expect(api.requests.at(-1)?.status).toBe(401);
		expect(api.requests.at(-1)?.authorization).toBeUndefined();
	});

	test('tls false serves plain http, which client-node reaches with insecure-skip-tls-verify', async () => {
		const plain = await TestApiServer.start({tls: false});
		try {
			expect(plain.url).toMatch(/^http:\/\//);
			const kc = new KubeConfig();
			kc.loadFromString(plain.kubeconfig({insecureSkipTlsVerify: true}));
			plain.createPod({metadata: {name: 'p', namespace: 'ns1'}});
			const pods = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
			expect(pods.items.map((p) => p.metadata?.name)).toEqual(['p']);
		} finally {
			await plain.close();
		}
	});

	test('a DELETE whose uid precondition no longer holds is a 409', async () => {
		api.createPod({metadata: {name: 'web', namespace: 'ns1'}});
		const {code, body} = await apiError(
			core.deleteNamespacedPod({name: 'web', namespace: 'ns1', body: {preconditions: {uid: 'not-the-uid'}}}),
		);
		expect(code).toBe(409);
		expect(String(body['message'])).toContain('Precondition failed');
		expect(api.getPod('ns1', 'web')).toBeDefined();
	});

	test('every write advances one global resourceVersion, and lists carry it', async () => {
		const a = api.createPod({metadata: {name: 'a', namespace: 'ns1'}});
		const n = api.createNad('ns1', 'n', '{}');
		expect(Number(n.metadata.resourceVersion)).toBe(Number(a.metadata.resourceVersion) + 1);
		await core.deleteNamespacedPod({name: 'a', namespace: 'ns1'});
		const list = await core.listNamespacedPod({namespace: 'ns1'});
		expect(list.metadata?.resourceVersion).toBe(String(Number(n.metadata.resourceVersion) + 1));
	});
});

describe('patch helpers', () => {
	test('merge patch deletes on null and merges objects', () => {
		expect(mergePatch({a: {b: 1, c: 2}, d: [1]}, {a: {b: null, e: 3}, d: [2]})).toEqual({
			a: {c: 2, e: 3},
			d: [2],
		});
	});

	test('json patch supports move, copy and test', () => {
		expect(
			jsonPatch({a: 1, b: [1, 2]}, [
				{op: 'test', path: '/a', value: 1},
				{op: 'copy', from: '/a', path: '/c'},
				{op: 'move', from: '/b/0', path: '/b/-'},
			]),
		).toEqual({a: 1, b: [2, 1], c: 1});
		expect(() => jsonPatch({a: 1}, [{op: 'test', path: '/a', value: 2}])).toThrow(
			'json patch test failed at "/a"',
		);
		expect(() => jsonPatch({a: 1}, [{op: 'remove', path: '/x'}])).toThrow('does not exist');
	});
});
