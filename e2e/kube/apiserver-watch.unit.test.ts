// The test API server's list and watch, exercised through @kubernetes/client-node's Watch and
// informer (what Plexus's informers use): resourceVersions, events, bookmarks, selectors,
// timeoutSeconds, 410 for a compacted history, restarts, and the DRA kinds.
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {
	ApiException,
	CoreV1Api,
	CustomObjectsApi,
	KubeConfig,
	makeInformer,
	type V1Pod,
	Watch,
} from '@kubernetes/client-node';
import {afterEach, beforeEach, describe, expect, test, vi} from 'vitest';
import {NADS, PODS, RESOURCE_CLAIMS, RESOURCE_SLICES, TestApiServer} from './apiserver.ts';

let api: TestApiServer;
let dir: string;
let kc: KubeConfig;
let core: CoreV1Api;

async function serve(options: Parameters<typeof TestApiServer.start>[0] = {}): Promise<void> {
	api = await TestApiServer.start(options);
	kc = new KubeConfig();
	kc.loadFromFile(await api.writeKubeconfig(dir));
	core = kc.makeApiClient(CoreV1Api);
}

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-apiserver-watch-'));
	await serve();
});

afterEach(async () => {
	await api.close();
	await rm(dir, {recursive: true, force: true});
});

interface Seen {
	type: string;
	name: string | undefined;
	resourceVersion: string | undefined;
	object: Record<string, unknown>;
}

/** An open client-node watch recording its events; `ended` resolves when the stream ends. */
async function watch(path: string, query: Record<string, string | number | boolean> = {}) {
	const events: Seen[] = [];
	let end: (error: unknown) => void = () => {};
	const ended = new Promise<unknown>((resolve) => {
		end = resolve;
	});
	const controller = await new Watch(kc).watch(
		path,
		query,
		(type, object: {metadata?: {name?: string; resourceVersion?: string}}) => {
			events.push({
				type,
				name: object.metadata?.name,
				resourceVersion: object.metadata?.resourceVersion,
				object: object as Record<string, unknown>,
			});
		},
		(error) => end(error),
	);
	const waitFor = (count: number): Promise<Seen[]> =>
		vi.waitFor(
			() => {
				if (events.length < count) throw new Error(`${events.length} of ${count} events so far`);
				return events;
			},
			{timeout: 10_000},
		);
	return {events, ended, waitFor, stop: () => controller.abort()};
}

function pod(name: string, nodeName: string, labels: Record<string, string> = {}): V1Pod {
	return {metadata: {name, labels}, spec: {nodeName, containers: [{name: 'c', image: 'pause'}]}};
}

describe('watch', () => {
	test('from a list resourceVersion: ADDED, MODIFIED, DELETED in order, then a bookmark on demand', async () => {
		await core.createNamespacedPod({namespace: 'ns1', body: pod('a', 'n1')});
		const list = await core.listNamespacedPod({namespace: 'ns1'});
		const listed = Number(list.metadata?.resourceVersion);
		expect(listed).toBeGreaterThan(0);
		const w = await watch('/api/v1/namespaces/ns1/pods', {
			resourceVersion: String(listed),
			allowWatchBookmarks: true,
		});
		const b = await core.createNamespacedPod({namespace: 'ns1', body: pod('b', 'n1')});
		await core.replaceNamespacedPodStatus({
			namespace: 'ns1',
			name: 'b',
			body: {...b, status: {phase: 'Running'}},
		});
		await core.deleteNamespacedPod({namespace: 'ns1', name: 'a'});
		await core.createNamespacedPod({namespace: 'other', body: pod('c', 'n1')});
		api.bookmark();
		const events = await w.waitFor(4);
		w.stop();
		expect(events.map((e) => `${e.type} ${e.name ?? ''}`)).toEqual([
			'ADDED b',
			'MODIFIED b',
			'DELETED a',
			'BOOKMARK ',
		]);
		const versions = events.map((e) => Number(e.resourceVersion));
		expect(versions[0]).toBeGreaterThan(listed);
		expect(versions).toEqual([...versions].sort((x, y) => x - y));
		expect(events[3]?.resourceVersion).toBe(api.store.resourceVersion);
		expect(events[3]?.object).toEqual({
			kind: 'Pod',
			apiVersion: 'v1',
			metadata: {resourceVersion: api.store.resourceVersion},
		});
		expect(api.requests.at(-1)?.watch).toBe(false);
		expect(api.requestsTo('GET', '/api/v1/namespaces/ns1/pods').filter((r) => r.watch)).toHaveLength(1);
	});

	test('without a resourceVersion it starts with the current objects as ADDED', async () => {
		api.createPod({metadata: {name: 'x', namespace: 'ns1'}});
		api.createPod({metadata: {name: 'y', namespace: 'ns2'}});
		const w = await watch('/api/v1/pods');
		const events = await w.waitFor(2);
		w.stop();
		expect(events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED x', 'ADDED y']);
	});

	test('sendInitialEvents ends the initial ADDED events with an annotated bookmark', async () => {
		api.createNad('ns1', 'n', '{}');
		const w = await watch('/apis/k8s.cni.cncf.io/v1/network-attachment-definitions', {
			sendInitialEvents: true,
			resourceVersionMatch: 'NotOlderThan',
			allowWatchBookmarks: true,
		});
		const events = await w.waitFor(2);
		w.stop();
		expect(events.map((e) => e.type)).toEqual(['ADDED', 'BOOKMARK']);
		expect(events[1]?.object['metadata']).toEqual({
			resourceVersion: api.store.resourceVersion,
			annotations: {'k8s.io/initial-events-end': 'true'},
		});
	});

	test('fieldSelector spec.nodeName and metadata.name pick the matching objects only', async () => {
		const onNode = await watch('/api/v1/pods', {fieldSelector: 'spec.nodeName=node1'});
		const byName = await watch('/api/v1/namespaces/ns1/pods', {fieldSelector: 'metadata.name=b'});
		await core.createNamespacedPod({namespace: 'ns1', body: pod('a', 'node1')});
		await core.createNamespacedPod({namespace: 'ns1', body: pod('b', 'node2')});
		await core.createNamespacedPod({namespace: 'ns2', body: pod('c', 'node1')});
		await core.deleteNamespacedPod({namespace: 'ns1', name: 'b'});
		expect((await onNode.waitFor(2)).map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED a', 'ADDED c']);
		expect((await byName.waitFor(2)).map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED b', 'DELETED b']);
		onNode.stop();
		byName.stop();
		const listed = await core.listPodForAllNamespaces({fieldSelector: 'spec.nodeName!=node1'});
		expect(listed.items.map((p) => p.metadata?.name)).toEqual([]);
	});

	test('an object that stops matching a labelSelector is DELETED for that watch, one that starts is ADDED', async () => {
		const w = await watch('/api/v1/namespaces/ns1/pods', {labelSelector: 'app in (web),tier!=db'});
		api.createPod({metadata: {name: 'p', namespace: 'ns1', labels: {app: 'web'}}});
		api.createPod({metadata: {name: 'q', namespace: 'ns1', labels: {app: 'web', tier: 'db'}}});
		api.store.patch(
			PODS,
			'ns1',
			'p',
			'application/merge-patch+json',
			{metadata: {labels: {app: 'api'}}},
			undefined,
		);
		api.store.patch(
			PODS,
			'ns1',
			'q',
			'application/merge-patch+json',
			{metadata: {labels: {tier: null}}},
			undefined,
		);
		const events = await w.waitFor(3);
		w.stop();
		expect(events.map((e) => `${e.type} ${e.name}`)).toEqual(['ADDED p', 'DELETED p', 'ADDED q']);
	});

	test('an unsupported field selector is a 400 as kube-apiserver answers', async () => {
		const error = await core
			.listPodForAllNamespaces({fieldSelector: 'spec.bogus=x'})
			.catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ApiException);
		expect((error as ApiException<string>).code).toBe(400);
		expect(String((error as ApiException<string>).body)).toContain('field label not supported: spec.bogus');
	});

	test('timeoutSeconds ends the stream after a last bookmark', async () => {
		const w = await watch('/api/v1/pods', {
			timeoutSeconds: 1,
			allowWatchBookmarks: true,
			resourceVersion: api.store.resourceVersion,
		});
		expect(await w.ended).toBeNull();
		expect(w.events.map((e) => e.type)).toEqual(['BOOKMARK']);
		expect(api.openWatches).toBe(0);
	});

	test('a resourceVersion older than the history: HTTP 200 and one ERROR event with a 410 Expired Status', async () => {
		const old = api.createPod({metadata: {name: 'p', namespace: 'ns1'}}).metadata.resourceVersion;
		api.createPod({metadata: {name: 'q', namespace: 'ns1'}});
		api.compact();
		const w = await watch('/api/v1/pods', {resourceVersion: old});
		expect(await w.ended).toBeNull();
		expect(w.events).toHaveLength(1);
		expect(w.events[0]?.type).toBe('ERROR');
		expect(w.events[0]?.object).toMatchObject({kind: 'Status', code: 410, reason: 'Expired'});
		expect(String(w.events[0]?.object['message'])).toMatch(/^too old resource version: \d+ \(\d+\)$/);
		expect(api.requests.at(-1)).toMatchObject({watch: true, status: 200});
	});

	test('the history is bounded: a watch from before the last historyLimit events gets 410', async () => {
		await api.close();
		await serve({historyLimit: 2});
		const first = api.createPod({metadata: {name: 'a', namespace: 'ns1'}}).metadata.resourceVersion;
		api.createPod({metadata: {name: 'b', namespace: 'ns1'}});
		const kept = await watch('/api/v1/pods', {resourceVersion: first});
		expect((await kept.waitFor(1)).map((e) => e.name)).toEqual(['b']);
		kept.stop();
		api.createPod({metadata: {name: 'c', namespace: 'ns1'}});
		api.createPod({metadata: {name: 'd', namespace: 'ns1'}});
		const gone = await watch('/api/v1/pods', {resourceVersion: first});
		await gone.ended;
		expect(gone.events.map((e) => e.type)).toEqual(['ERROR']);
	});

	test('a list with resourceVersionMatch=Exact and a compacted resourceVersion is 410', async () => {
		const old = api.createPod({metadata: {name: 'p', namespace: 'ns1'}}).metadata.resourceVersion;
		api.createPod({metadata: {name: 'q', namespace: 'ns1'}});
		api.compact();
		const error = await core
			.listPodForAllNamespaces({resourceVersion: old, resourceVersionMatch: 'Exact'})
			.catch((e: unknown) => e);
		expect((error as ApiException<string>).code).toBe(410);
	});

	test('closeWatches ends open streams as a server-side timeout does', async () => {
		const w = await watch('/api/v1/pods');
		await vi.waitFor(() => expect(api.openWatches).toBe(1), {timeout: 10_000});
		api.closeWatches();
		expect(await w.ended).toBeNull();
		expect(api.openWatches).toBe(0);
	});

	test('restart drops watches and the history but keeps objects; keepObjects false empties the store', async () => {
		const rv = api.createPod({metadata: {name: 'p', namespace: 'ns1'}}).metadata.resourceVersion;
		api.createPod({metadata: {name: 'q', namespace: 'ns1'}});
		const w = await watch('/api/v1/pods', {resourceVersion: rv});
		await w.waitFor(1);
		const port = api.port;
		await api.restart();
		await w.ended;
		expect(api.port).toBe(port);
		expect((await core.listPodForAllNamespaces()).items.map((p) => p.metadata?.name)).toEqual(['p', 'q']);
		const after = await watch('/api/v1/pods', {resourceVersion: rv});
		await after.ended;
		expect(after.events.map((e) => e.object['code'])).toEqual([410]);
		await api.restart({keepObjects: false});
		expect((await core.listPodForAllNamespaces()).items).toEqual([]);
	});
});

describe('client-node informer', () => {
	test('lists, follows the watch, and re-lists after a 410', async () => {
		const listedAt = api.createPod({metadata: {name: 'p', namespace: 'ns1'}}).metadata.resourceVersion;
		const path = '/api/v1/namespaces/ns1/pods';
		const informer = makeInformer(kc, path, () => core.listNamespacedPod({namespace: 'ns1'}));
		const added: string[] = [];
		informer.on('add', (p) => added.push(p.metadata?.name ?? ''));
		await informer.start();
		try {
			api.createPod({metadata: {name: 'q', namespace: 'ns1'}});
			await vi.waitFor(() => expect(added).toEqual(['p', 'q']), {timeout: 10_000});
			const [first] = api.requestsTo('GET', path).filter((r) => r.watch);
			expect(first?.query['resourceVersion']).toBe(listedAt);
			// The watch ends, and before the informer re-watches, a change it missed is compacted away.
			api.closeWatches();
			api.createPod({metadata: {name: 'r', namespace: 'ns1'}});
			api.compact();
			await vi.waitFor(() => expect(api.requestsTo('GET', path).filter((r) => !r.watch)).toHaveLength(2), {
				timeout: 10_000,
			});
			const rewatch = api.requestsTo('GET', path).filter((r) => r.watch)[1];
			expect(rewatch?.query['resourceVersion']).toBe(String(Number(listedAt) + 1));
			await vi.waitFor(() => expect(informer.list().map((p) => p.metadata?.name)).toEqual(['p', 'q', 'r']), {
				timeout: 10_000,
			});
		} finally {
			await informer.stop();
		}
	});
});

describe('resource.k8s.io/v1', () => {
	const slices = {group: 'resource.k8s.io', version: 'v1', plural: 'resourceslices'};

	test('ResourceSlices are cluster-scoped and selectable by spec.nodeName and spec.driver', async () => {
		const custom = kc.makeApiClient(CustomObjectsApi);
		for (const [name, node, driver] of [
			['s1', 'n1', 'plexus.example'],
			['s2', 'n1', 'other.example'],
			['s3', 'n2', 'plexus.example'],
		] as const) {
			await custom.createClusterCustomObject({
				...slices,
				body: {
					metadata: {name},
					spec: {nodeName: node, driver, pool: {name: node, generation: 1, resourceSliceCount: 1}},
				},
			});
		}
		const listed = (await custom.listClusterCustomObject({
			...slices,
			fieldSelector: 'spec.nodeName=n1,spec.driver=plexus.example',
		})) as {items: {metadata: {name: string; namespace?: string}}[]; metadata: {resourceVersion: string}};
		expect(listed.items.map((s) => s.metadata.name)).toEqual(['s1']);
		expect(listed.items[0]?.metadata.namespace).toBeUndefined();
		const w = await watch('/apis/resource.k8s.io/v1/resourceslices', {
			resourceVersion: listed.metadata.resourceVersion,
			fieldSelector: 'spec.driver=plexus.example',
		});
		api.store.delete(RESOURCE_SLICES, '', 's3');
		api.store.delete(RESOURCE_SLICES, '', 's2');
		expect((await w.waitFor(1)).map((e) => `${e.type} ${e.name}`)).toEqual(['DELETED s3']);
		w.stop();
	});

	test('ResourceClaims are namespaced, with a status subresource', async () => {
		const claim = api.store.create(RESOURCE_CLAIMS, 'ns1', {
			metadata: {name: 'c'},
			spec: {devices: {requests: []}},
		});
		const w = await watch('/apis/resource.k8s.io/v1/namespaces/ns1/resourceclaims', {
			resourceVersion: claim.metadata.resourceVersion,
		});
		const custom = kc.makeApiClient(CustomObjectsApi);
		await custom.replaceNamespacedCustomObjectStatus({
			group: 'resource.k8s.io',
			version: 'v1',
			plural: 'resourceclaims',
			namespace: 'ns1',
			name: 'c',
			body: {...claim, status: {allocation: {devices: {results: []}}}},
		});
		const [event] = await w.waitFor(1);
		w.stop();
		expect(event?.type).toBe('MODIFIED');
		expect(event?.object['status']).toEqual({allocation: {devices: {results: []}}});
		expect(api.store.get(NADS, 'ns1', 'c')).toBeUndefined();
	});
});
