// The reflector against a tiny list/watch server: list, watch with bookmarks and a randomised
// 5-10 min timeout, re-watch from the last resourceVersion, 410 re-list, reconnect after a restart,
// and a re-created object (same name, new UID) never lost to its predecessor's DELETED.
import {setTimeout as sleep} from 'node:timers/promises';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {configureLog} from '../../log.ts';
import {RestClient} from '../rest/http.ts';
import type {ClusterAccess} from '../rest/kubeconfig.ts';
import {MIN_WATCH_TIMEOUT_S, Reflector} from './reflector.ts';
import {ListWatchServer} from './testing/list-watch-server.ts';

configureLog({logToStderr: false});

const PATH = '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions';
let api: ListWatchServer;
let rest: RestClient;
let reflector: Reflector | undefined;

function access(server: string): ClusterAccess {
	return {
		server: new URL(server),
		ca: undefined,
		insecure: false,
		serverName: undefined,
		cert: undefined,
		key: undefined,
		token: 't',
		tokenFile: undefined,
		basic: undefined,
		source: 'test',
	};
}

beforeEach(async () => {
	api = new ListWatchServer();
	await api.up();
	rest = new RestClient(access(api.url));
});

afterEach(async () => {
	await reflector?.stop();
	reflector = undefined;
	rest.close();
	await api.down();
});

/** Polls `check` until it holds (watch events arrive asynchronously). */
async function eventually(check: () => boolean): Promise<void> {
	for (let i = 0; i < 500 && !check(); i++) await sleep(10);
	expect(check()).toBe(true);
}

function start(random = () => 0.5, shortWatchMs = 0): Reflector {
	reflector = new Reflector(rest, {path: PATH, random, shortWatchMs});
	return reflector;
}

describe('Reflector', {timeout: 30_000}, () => {
	test('lists, then watches from the list resourceVersion asking for bookmarks, 5-10 min', async () => {
		api.put('ns1', 'a', 'u-a');
		const r = start(() => 0.25);
		await r.start();
		expect(r.synced).toBe(true);
		expect(r.store.get('ns1/a')?.metadata?.uid).toBe('u-a');
		await eventually(() => api.watching === 1);
		expect(api.watches[0]?.query).toEqual({
			watch: 'true',
			allowWatchBookmarks: 'true',
			resourceVersion: r.resourceVersion,
			timeoutSeconds: String(Math.floor(MIN_WATCH_TIMEOUT_S * 1.25)),
		});
		api.put('ns1', 'b', 'u-b');
		await eventually(() => r.store.has('ns1/b'));
		api.remove('ns1', 'a');
		await eventually(() => !r.store.has('ns1/a'));
		expect(r.stats).toMatchObject({lists: 1, watches: 1, events: 2});
	});

	test.each([0, 0.999])('the watch timeout stays within [5, 10) minutes (rand %s)', async (rand) => {
		await start(() => rand).start();
		await eventually(() => api.watching === 1);
		const seconds = Number(api.watches[0]?.query['timeoutSeconds']);
		expect(seconds).toBeGreaterThanOrEqual(300);
		expect(seconds).toBeLessThan(600);
	});

	test('a watch that ends is re-opened from the last bookmark, without a list', async () => {
		const r = start();
		await r.start();
		await eventually(() => api.watching === 1);
		const rv = api.bookmark();
		await eventually(() => r.resourceVersion === rv);
		api.endWatches();
		await eventually(() => api.watches.length === 2 && api.watching === 1);
		expect(api.watches[1]?.query['resourceVersion']).toBe(rv);
		expect(r.stats).toMatchObject({lists: 1, bookmarks: 1});
	});

	test.each([false, true])('410 Gone re-lists at once (as an ERROR event: %s)', async (asEvent) => {
		api.put('ns1', 'a', 'u-a');
		const r = start();
		await r.start();
		await eventually(() => api.watching === 1);
		api.goneAsEvent = asEvent;
		api.goneNext = 1;
		api.endWatches();
		// Created while no watch is open: only the re-list can bring it.
		api.put('ns1', 'b', 'u-b');
		await eventually(() => r.stats.gone === 1 && r.store.has('ns1/b') && api.watching === 1);
		expect(r.stats).toMatchObject({lists: 2, failures: 0});
	});

	test('a 410 right after a re-list backs off instead of looping', async () => {
		const r = start();
		await r.start();
		await eventually(() => api.watching === 1);
		api.goneNext = 2;
		api.endWatches();
		await eventually(() => r.stats.gone === 2 && api.watching === 1);
		expect(r.stats).toMatchObject({lists: 3, failures: 1});
	});

	test('a watch that ends at once without any event backs off instead of looping', async () => {
		const r = start(() => 0.5, 60_000);
		await r.start();
		await eventually(() => api.watching === 1);
		api.endWatches();
		await eventually(() => r.stats.failures === 1 && api.watching === 1);
		expect(r.stats).toMatchObject({lists: 1, watches: 2});
	});

	test('reconnects after the API server restarts, keeping the store meanwhile', async () => {
		api.put('ns1', 'a', 'u-a');
		const r = start();
		await r.start();
		await eventually(() => api.watching === 1);
		await api.down();
		await eventually(() => r.stats.failures >= 1);
		expect(r.store.has('ns1/a')).toBe(true);
		expect(r.synced).toBe(false);
		await api.up();
		await eventually(() => api.watching === 1 && r.synced);
		api.put('ns1', 'd', 'u-d');
		await eventually(() => r.store.has('ns1/d'));
	});

	test('a pod deleted and re-created under its name is never lost to the old DELETED', async () => {
		api.put('ns1', 'web', 'old');
		const r = start();
		await r.start();
		await eventually(() => api.watching === 1);
		// The new pod's ADDED arrives before the old pod's DELETED (events of different objects).
		const old = api.objects.get('ns1/web');
		api.put('ns1', 'web', 'new');
		await eventually(() => r.store.get('ns1/web')?.metadata?.uid === 'new');
		api.raw(`${JSON.stringify({type: 'DELETED', object: old})}\n`);
		api.bookmark();
		await eventually(() => r.stats.bookmarks === 1);
		expect(r.store.get('ns1/web')?.metadata?.uid).toBe('new');
	});

	test('ignores malformed watch lines and keeps following the stream', async () => {
		const r = start();
		await r.start();
		await eventually(() => api.watching === 1);
		api.raw('not json\n{"type":"ADDED"}\n{"type":"MODIFIED","object":{"kind":"x"}}\n');
		api.put('ns1', 'c', 'u-c');
		await eventually(() => r.store.has('ns1/c'));
		expect(r.stats.failures).toBe(0);
	});

	test('stop ends the watch and the loop', async () => {
		const r = start();
		await r.start();
		await eventually(() => api.watching === 1);
		await r.stop();
		await eventually(() => api.watching === 0);
		const seen = api.requests.length;
		await sleep(50);
		expect(api.requests.length).toBe(seen);
	});
});
