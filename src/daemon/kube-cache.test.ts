import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import type {AddressInfo} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {FakeKubeClient} from '../k8s/testing/fake-client.ts';
import {configureLog} from '../log.ts';
import {parsePlexusConf} from '../meta/conf/conf.ts';
import {plexusVersion} from '../version/version.ts';
import {CachedKubeClient, type Informers, startInformers} from './kube-cache.ts';
import {KubeClients} from './meta.ts';

configureLog({logToStderr: false});

const pod = {name: 'web-0', namespace: 'ns1', uid: 'u1', annotations: {a: 'b'}};
const nad = {name: 'net-a', namespace: 'ns1', config: '{"type":"macvlan"}', annotations: {}};

describe('CachedKubeClient', () => {
	it('serves hits from the caches and misses from the API; writes always go to the API', async () => {
		const api = new FakeKubeClient();
		api.addPod({...pod, name: 'other'});
		api.addNad('ns1', 'net-b', '{}');
		const client = new CachedKubeClient(api, {
			pods: {get: (ns, name) => (ns === 'ns1' && name === 'web-0' ? pod : undefined)},
			nads: {get: (ns, name) => (ns === 'ns1' && name === 'net-a' ? nad : undefined)},
		});
		expect(await client.getPod('ns1', 'web-0')).toBe(pod);
		expect(await client.getNad('ns1', 'net-a')).toBe(nad);
		expect(api.calls).toEqual([]);
		expect(await client.getPod('ns1', 'other')).toMatchObject({name: 'other'});
		expect(await client.getNad('ns1', 'net-b')).toMatchObject({name: 'net-b'});
		expect(await client.getPod('ns1', 'gone')).toBeUndefined();
		expect(client.stats).toEqual({hits: 2, misses: 3});
		api.addPod(pod);
		expect(await client.setPodAnnotation('ns1', 'web-0', 'u1', 'k', 'v')).toBe('written');
		await client.createEvent({
			namespace: 'ns1',
			podName: 'web-0',
			podUid: 'u1',
			type: 'Normal',
			reason: 'R',
			message: 'm',
		});
		expect(api.calls.map((c) => c.method)).toEqual([
			'getPod',
			'getNad',
			'getPod',
			'setPodAnnotation',
			'createEvent',
		]);
	});

	it('a synced NAD cache answers a miss itself (as a lister); an unsynced one asks the API', async () => {
		const api = new FakeKubeClient();
		api.addNad('kube-system', 'cluster', '{}');
		let synced = true;
		const client = new CachedKubeClient(api, {nads: {get: () => undefined, synced: () => synced}});
		expect(await client.getNad('kube-system', 'cluster')).toBeUndefined();
		expect(api.calls).toEqual([]);
		synced = false;
		expect(await client.getNad('kube-system', 'cluster')).toMatchObject({name: 'cluster'});
		expect(api.calls.map((c) => c.method)).toEqual(['getNad']);
		expect(client.stats).toEqual({hits: 1, misses: 1});
	});

	it('works without a pod cache (no node name): pods always come from the API', async () => {
		const api = new FakeKubeClient();
		api.addPod(pod);
		const client = new CachedKubeClient(api, {nads: {get: () => undefined}});
		expect(await client.getPod('ns1', 'web-0')).toEqual(pod);
		expect(api.calls.map((c) => c.method)).toEqual(['getPod']);
	});
});

describe('KubeClients with informers', () => {
	it('starts informers once per kubeconfig, serves reads from them, stops them on close', async () => {
		const started: {kubeconfig: string; nodeName?: string | undefined}[] = [];
		let stopped = 0;
		const informers: Informers = {
			pods: {get: (ns, name) => (name === 'web-0' && ns === 'ns1' ? pod : undefined)},
			nads: {get: () => nad},
			synced: () => true,
			stop: async () => {
				stopped++;
			},
		};
		const api = new FakeKubeClient();
		const clients = new KubeClients(() => api, {
			nodeName: 'node-a',
			start: async (options) => {
				started.push(options);
				return informers;
			},
		});
		const conf = parsePlexusConf({
			cniVersion: '1.0.0',
			name: 'n',
			type: 'plexus',
			clusterNetwork: 'c',
			kubeconfig: '/k',
		});
		const add = clients.get(conf, {}, 'ADD');
		const del = clients.get(conf, {}, 'DEL');
		await clients.informersStarted();
		expect(started).toEqual([{kubeconfig: '/k', nodeName: 'node-a'}]);
		expect(await add?.getPod('ns1', 'web-0')).toBe(pod);
		expect(await del?.getNad('ns1', 'x')).toBe(nad);
		expect(api.calls).toEqual([]);
		await clients.close();
		expect(stopped).toBe(1);
	});

	it('prestarts the in-cluster informers only when informers are on', async () => {
		const started: string[] = [];
		const start = async (options: {kubeconfig: string}) => {
			started.push(options.kubeconfig);
			return {pods: undefined, nads: {get: () => undefined}, synced: () => true, stop: async () => undefined};
		};
		const on = new KubeClients(() => new FakeKubeClient(), {start});
		on.prestart('');
		on.prestart('');
		new KubeClients(() => new FakeKubeClient()).prestart('');
		await on.informersStarted();
		expect(started).toEqual(['']);
		await on.close();
	});

	it('reports the informers synced only once every started informer listed', async () => {
		let synced = false;
		const clients = new KubeClients(() => new FakeKubeClient(), {
			start: async () => ({
				pods: undefined,
				nads: {get: () => undefined},
				synced: () => synced,
				stop: async () => undefined,
			}),
		});
		expect(clients.informersSynced()).toBe(true);
		clients.prestart('');
		expect(clients.informersSynced()).toBe(false);
		await clients.informersStarted();
		expect(clients.informersSynced()).toBe(false);
		synced = true;
		expect(clients.informersSynced()).toBe(true);
		await clients.close();
	});

	it('falls back to the API when the informers fail to start', async () => {
		const api = new FakeKubeClient();
		api.addPod(pod);
		const clients = new KubeClients(() => api, {start: async () => Promise.reject(new Error('no list'))});
		const conf = parsePlexusConf({
			cniVersion: '1.0.0',
			name: 'n',
			type: 'plexus',
			clusterNetwork: 'c',
			kubeconfig: '/k',
		});
		const client = clients.get(conf, {}, 'ADD');
		await clients.informersStarted();
		expect(await client?.getPod('ns1', 'web-0')).toEqual(pod);
		await clients.close();
	});
});

/** A list/watch API server for pods and NADs: lists from memory, watch streams pushed events. */
class ListWatchServer {
	readonly server: Server;
	readonly requests: string[] = [];
	/** The User-Agent of each request, list and watch alike. */
	readonly userAgents: string[] = [];
	readonly watchers: {path: string; res: ServerResponse}[] = [];
	failLists = 0;
	readonly pods: unknown[] = [];
	readonly nads: unknown[] = [];
	readonly slices: unknown[] = [];

	constructor() {
		this.server = createServer((req, res) => this.#handle(req, res));
	}

	#handle(req: IncomingMessage, res: ServerResponse): void {
		const url = new URL(req.url ?? '/', 'http://x');
		this.requests.push(`${url.pathname}${url.search}`);
		this.userAgents.push(req.headers['user-agent'] ?? '');
		if (url.searchParams.get('watch') === 'true') {
			res.writeHead(200, {'content-type': 'application/json'});
			res.flushHeaders();
			this.watchers.push({path: url.pathname, res});
			return;
		}
		if (this.failLists > 0) {
			this.failLists--;
			res.writeHead(500, {'content-type': 'application/json'}).end('{"kind":"Status","code":500}');
			return;
		}
		const items = url.pathname.endsWith('/pods')
			? this.pods
			: url.pathname.endsWith('/resourceslices')
				? this.slices
				: this.nads;
		res.writeHead(200, {'content-type': 'application/json'});
		res.end(JSON.stringify({apiVersion: 'v1', kind: 'List', metadata: {resourceVersion: '10'}, items}));
	}

	/** Sends a watch event to every watcher of `path`. */
	push(path: string, type: string, object: unknown): void {
		for (const w of this.watchers) if (w.path === path) w.res.write(`${JSON.stringify({type, object})}\n`);
	}

	async listen(): Promise<number> {
		await new Promise<void>((done) => this.server.listen(0, '127.0.0.1', done));
		return (this.server.address() as AddressInfo).port;
	}

	close(): void {
		for (const w of this.watchers) w.res.destroy();
		this.server.closeAllConnections();
		this.server.close();
	}
}

const NADS = '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions';
const apiPod = (name: string, rv: string) => ({
	apiVersion: 'v1',
	kind: 'Pod',
	metadata: {name, namespace: 'ns1', uid: `uid-${name}`, resourceVersion: rv, annotations: {n: name}},
	spec: {nodeName: 'node-a'},
});
const apiNad = (name: string, rv: string) => ({
	apiVersion: 'k8s.cni.cncf.io/v1',
	kind: 'NetworkAttachmentDefinition',
	metadata: {name, namespace: 'ns1', resourceVersion: rv},
	spec: {config: `{"name":"${name}"}`},
});

describe('startInformers (reflectors against a list/watch server)', () => {
	let dir: string;
	let api: ListWatchServer;
	let kubeconfig: string;
	let running: Informers | undefined;

	beforeEach(async () => {
		dir = mkdtempSync(join(tmpdir(), 'plexus-informers-'));
		api = new ListWatchServer();
		const port = await api.listen();
		kubeconfig = join(dir, 'kubeconfig');
		writeFileSync(
			kubeconfig,
			JSON.stringify({
				apiVersion: 'v1',
				kind: 'Config',
				clusters: [
					{name: 'c', cluster: {server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true}},
				],
				users: [{name: 'u', user: {token: 't'}}],
				contexts: [{name: 'x', context: {cluster: 'c', user: 'u'}}],
				'current-context': 'x',
			}),
		);
	});

	afterEach(async () => {
		await running?.stop();
		running = undefined;
		api.close();
		rmSync(dir, {recursive: true, force: true});
	});

	/** Polls `check` until it holds (watch events arrive asynchronously). */
	async function eventually(check: () => boolean): Promise<void> {
		for (let i = 0; i < 200 && !check(); i++) await sleep(10);
		expect(check()).toBe(true);
	}

	it('watches no ResourceSlices until a DRA read needs them, then only this node’s', async () => {
		const slice = (name: string, driver: string) => ({
			metadata: {name, uid: `uid-${name}`, resourceVersion: '7'},
			spec: {
				nodeName: 'node-a',
				driver,
				pool: {name: 'p', generation: 1},
				devices: [{name: 'd0', attributes: {'k8s.cni.cncf.io/deviceID': {string: `${name}-0`}}}],
			},
		});
		api.slices.push(slice('s-vf', 'vf.example'), slice('s-gpu', 'gpu.example'));
		running = await startInformers({kubeconfig, nodeName: 'node-a'});
		expect(api.requests.filter((r) => r.includes('resourceslices'))).toEqual([]);
		expect(running.stats?.()).not.toHaveProperty('resourceslices');
		const vfs = await running.slices?.slices('vf.example');
		expect(vfs?.map((s) => s.devices[0]?.deviceId)).toEqual(['s-vf-0']);
		expect(api.requests).toContain(
			'/apis/resource.k8s.io/v1/resourceslices?fieldSelector=spec.nodeName%3Dnode-a',
		);
		expect(running.stats?.()['resourceslices']?.lists).toBe(1);
		await running.slices?.slices('gpu.example');
		expect(api.requests.filter((r) => r.includes('resourceslices') && !r.includes('watch'))).toHaveLength(1);
	});

	it('has no slice cache without a node name', async () => {
		running = await startInformers({kubeconfig});
		expect(running.slices).toBeUndefined();
	});

	it('lists this node’s pods and all NADs, then follows watch events', async () => {
		api.pods.push(apiPod('web-0', '5'));
		api.nads.push(apiNad('net-a', '6'));
		running = await startInformers({kubeconfig, nodeName: 'node-a'});
		expect(running.synced()).toBe(true);
		expect(api.requests).toContain('/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a');
		expect(running.pods?.get('ns1', 'web-0')).toEqual({
			name: 'web-0',
			namespace: 'ns1',
			uid: 'uid-web-0',
			annotations: {n: 'web-0'},
		});
		expect(running.nads.get('ns1', 'net-a')).toEqual({
			name: 'net-a',
			namespace: 'ns1',
			config: '{"name":"net-a"}',
			annotations: {},
		});
		await eventually(() => api.watchers.length === 2);
		// Lists and watches alike name Plexus and its version (API audit logs and APF key on it).
		expect(new Set(api.userAgents)).toEqual(new Set([`plexus/${plexusVersion()} (one-shot)`]));
		api.push(NADS, 'ADDED', apiNad('net-b', '11'));
		api.push('/api/v1/pods', 'ADDED', apiPod('web-1', '12'));
		await eventually(() => running?.nads.get('ns1', 'net-b') !== undefined);
		await eventually(() => running?.pods?.get('ns1', 'web-1') !== undefined);
		api.push(NADS, 'DELETED', apiNad('net-a', '13'));
		await eventually(() => running?.nads.get('ns1', 'net-a') === undefined);
	});

	it('ignores malformed watch lines instead of failing, and keeps following the stream', async () => {
		running = await startInformers({kubeconfig});
		await eventually(() => api.watchers.length === 1);
		for (const w of api.watchers)
			w.res.write('{"type":"ADDED"}\n{"type":"MODIFIED","object":{"kind":"x"}}\n');
		api.push(NADS, 'ADDED', apiNad('net-c', '20'));
		await eventually(() => running?.nads.get('ns1', 'net-c') !== undefined);
	});

	it('without a node name watches NADs only', async () => {
		running = await startInformers({kubeconfig});
		expect(running.pods).toBeUndefined();
		expect(api.requests.some((r) => r.startsWith('/api/v1/pods'))).toBe(false);
		expect(running.synced()).toBe(true);
	});

	it('retries a failing list with backoff and becomes synced when it succeeds', async () => {
		api.failLists = 1;
		api.nads.push(apiNad('net-a', '6'));
		running = await startInformers({kubeconfig});
		expect(running.synced()).toBe(false);
		expect(running.nads.get('ns1', 'net-a')).toBeUndefined();
		for (let i = 0; i < 300 && !running.synced(); i++) await sleep(10);
		expect(running.synced()).toBe(true);
		expect(running.nads.get('ns1', 'net-a')).toMatchObject({name: 'net-a'});
	});
});
