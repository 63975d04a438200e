// The daemon's informers (startInformers, KubeClients) against the in-repo API server over HTTPS
// with watch: initial list + watch with bookmarks, bookmark resourceVersions, re-list after 410,
// reconnect after a restart, a NAD edited, a pod deleted and re-created under its name (never
// served stale), status writes from the cache without a GET, idle informers stopped.
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {TestApiServer} from '../../e2e/kube/apiserver.ts';
import {configureLog} from '../log.ts';
import {parsePlexusConf} from '../meta/conf/conf.ts';
import {type Informers, startInformers} from './kube-cache.ts';
import {KubeClients} from './meta.ts';

configureLog({logToStderr: false});

let api: TestApiServer;
let dir: string;
let kubeconfig: string;
let running: Informers | undefined;

beforeEach(async () => {
	api = await TestApiServer.start({bookmarkIntervalMs: null});
	dir = await mkdtemp(join(tmpdir(), 'plexus-informers-'));
	kubeconfig = await api.writeKubeconfig(dir);
});

afterEach(async () => {
	await running?.stop();
	running = undefined;
	await api.close();
	await rm(dir, {recursive: true, force: true});
});

/** Polls `check` until it holds (watch events arrive asynchronously). */
async function eventually(check: () => boolean): Promise<void> {
	for (let i = 0; i < 500 && !check(); i++) await sleep(10);
	expect(check()).toBe(true);
}

const onNode = (name: string, uid?: string) => ({
	metadata: {name, namespace: 'ns1', ...(uid === undefined ? {} : {uid})},
	spec: {nodeName: 'node-a', containers: [{name: 'c', image: 'pause'}]},
});

describe('startInformers against the test API server (HTTPS, watch)', {timeout: 30_000}, () => {
	test('lists this node’s pods and all NADs, then watches with bookmarks from the list resourceVersion', async () => {
		api.createPod(onNode('web-0'));
		api.createPod({metadata: {name: 'elsewhere', namespace: 'ns1'}, spec: {nodeName: 'node-b'}});
		api.createNad('ns1', 'net-a', '{"type":"macvlan"}');
		running = await startInformers({kubeconfig, nodeName: 'node-a'});
		expect(running.synced()).toBe(true);
		expect(running.pods?.get('ns1', 'web-0')?.name).toBe('web-0');
		expect(running.pods?.get('ns1', 'elsewhere')).toBeUndefined();
		expect(running.nads.get('ns1', 'net-a')?.config).toBe('{"type":"macvlan"}');
		await eventually(() => api.openWatches === 2);
		const watches = api.requests.filter((r) => r.query['watch'] !== undefined);
		for (const watch of watches) {
			expect(watch.query).toMatchObject({allowWatchBookmarks: 'true'});
			expect(Number(watch.query['timeoutSeconds'])).toBeGreaterThanOrEqual(300);
			expect(Number(watch.query['timeoutSeconds'])).toBeLessThan(600);
		}
		expect(watches.find((w) => w.path === '/api/v1/pods')?.query['fieldSelector']).toBe(
			'spec.nodeName=node-a',
		);
		api.createNad('ns1', 'net-b', '{}');
		await eventually(() => running?.nads.get('ns1', 'net-b') !== undefined);
		// A NAD edited is seen as edited.
		api.updateNad('ns1', 'net-a', '{"type":"ipvlan"}');
		await eventually(() => running?.nads.get('ns1', 'net-a')?.config === '{"type":"ipvlan"}');
	});

	test('a watch that ends re-opens from the last bookmark; a compacted history re-lists (410)', async () => {
		running = await startInformers({kubeconfig});
		await eventually(() => api.openWatches === 1);
		api.createNad('ns1', 'a', '{}');
		api.bookmark();
		await eventually(() => (running?.stats?.()['nads']?.bookmarks ?? 0) >= 1);
		const listsBefore = api.requests.filter((r) => r.query['watch'] === undefined).length;
		api.closeWatches();
		await eventually(() => api.openWatches === 1);
		const rewatch = api.requests.filter((r) => r.query['watch'] !== undefined).at(-1);
		expect(Number(rewatch?.query['resourceVersion'])).toBeGreaterThan(0);
		expect(api.requests.filter((r) => r.query['watch'] === undefined).length).toBe(listsBefore);
		// While the watch is down, a NAD is created and the history compacted: the next watch from
		// the last resourceVersion gets 410 and the informer re-lists.
		await api.down();
		api.createNad('ns1', 'b', '{}');
		api.compact();
		await api.up();
		await eventually(() => (running?.stats?.()['nads']?.gone ?? 0) >= 1 && api.openWatches === 1);
		expect(running.nads.get('ns1', 'b')).toBeDefined();
		expect(running.stats?.()['nads']?.lists).toBe(2);
	});

	test('reconnects after the API server restarts and catches up', async () => {
		running = await startInformers({kubeconfig});
		await eventually(() => api.openWatches === 1);
		await api.restart();
		api.createNad('ns1', 'after-restart', '{}');
		await eventually(() => running?.nads.get('ns1', 'after-restart') !== undefined && running.synced());
	});
});

describe('KubeClients with real informers', {timeout: 30_000}, () => {
	const conf = () =>
		parsePlexusConf({cniVersion: '1.0.0', name: 'n', type: 'plexus', clusterNetwork: 'c', kubeconfig});
	const env = (uid: string) => ({CNI_ARGS: `K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web;K8S_POD_UID=${uid}`});

	test('a warm cache answers reads without requests; the status write PUTs without a GET', async () => {
		const pod = api.createPod(onNode('web'));
		api.createNad('ns1', 'net-a', '{}');
		const clients = new KubeClients(undefined, {nodeName: 'node-a'});
		try {
			clients.get(conf(), env(pod.metadata.uid), 'ADD');
			await clients.informersStarted();
			await eventually(() => api.openWatches === 2);
			const before = api.requests.length;
			const kube = clients.get(conf(), env(pod.metadata.uid), 'ADD')!;
			expect((await kube.getPod('ns1', 'web'))?.uid).toBe(pod.metadata.uid);
			expect(await kube.getNad('ns1', 'net-a')).toBeDefined();
			expect(await kube.setPodAnnotation('ns1', 'web', pod.metadata.uid, 'k', 'v')).toBe('written');
			expect(api.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual([
				'PUT /api/v1/namespaces/ns1/pods/web/status',
			]);
		} finally {
			await clients.close();
		}
	});

	test('a pod deleted and re-created under its name is never served stale', async () => {
		const old = api.createPod(onNode('web'));
		const clients = new KubeClients(undefined, {nodeName: 'node-a'});
		try {
			clients.get(conf(), env(old.metadata.uid), 'ADD');
			await clients.informersStarted();
			await eventually(() => api.openWatches === 2);
			// The API server goes away, the pod is re-created meanwhile: the cache still holds the old one.
			await api.down();
			api.deletePod('ns1', 'web');
			const fresh = api.createPod(onNode('web'));
			await api.up();
			const kube = clients.get(conf(), env(fresh.metadata.uid), 'ADD')!;
			expect((await kube.getPod('ns1', 'web'))?.uid).toBe(fresh.metadata.uid);
			expect(await kube.setPodAnnotation('ns1', 'web', fresh.metadata.uid, 'k', 'v')).toBe('written');
			expect(api.getPod('ns1', 'web')?.metadata.annotations).toMatchObject({k: 'v'});
		} finally {
			await clients.close();
		}
	});

	test('events are queued and sent after the request, not during it', async () => {
		const pod = api.createPod(onNode('web'));
		const clients = new KubeClients(undefined, {nodeName: 'node-a'});
		try {
			const kube = clients.get(conf(), env(pod.metadata.uid), 'ADD')!;
			await clients.events!.during(async () => {
				await kube.createEvent({
					namespace: 'ns1',
					podName: 'web',
					podUid: pod.metadata.uid,
					type: 'Normal',
					reason: 'AddedInterface',
					message: 'm',
				});
				expect(api.events('ns1')).toHaveLength(0);
			});
			await clients.events!.flush();
			expect(api.events('ns1')).toHaveLength(1);
		} finally {
			await clients.close();
		}
	});

	test('informers of a kubeconfig unused for idleMs are stopped, and restart on the next use', async () => {
		const clients = new KubeClients(undefined, {nodeName: 'node-a', idleMs: 3_600_000});
		try {
			clients.get(conf(), {}, 'ADD');
			await clients.informersStarted();
			await eventually(() => api.openWatches === 2);
			expect(await clients.stopIdle(3_600_000)).toEqual([]);
			expect(await clients.stopIdle(0)).toEqual([kubeconfig]);
			expect(api.openWatches).toBe(0);
			clients.get(conf(), {}, 'ADD');
			await clients.informersStarted();
			await eventually(() => api.openWatches === 2);
		} finally {
			await clients.close();
		}
	});
});
