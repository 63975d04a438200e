// The daemon's slice cache: no slice request before a DRA read needs one, then one list+watch of
// this node's slices that serves every later read; another node or an unsynced cache lists live.
import {setTimeout as sleep} from 'node:timers/promises';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {FakeDraPort} from '../devices/testing/fake-dra.ts';
import {Reflector} from '../k8s/informer/reflector.ts';
import {ListWatchServer} from '../k8s/informer/testing/list-watch-server.ts';
import {RestClient} from '../k8s/rest/http.ts';
import {configureLog} from '../log.ts';
import {CachedDraPort, NodeSlices} from './slice-cache.ts';

configureLog({logToStderr: false});

const PATH = '/apis/resource.k8s.io/v1/resourceslices';
let api: ListWatchServer;
let rest: RestClient;
let slices: NodeSlices;

function sliceSpec(driver: string, devices: [string, string][], generation = 1) {
	return {
		driver,
		nodeName: 'n1',
		pool: {name: 'pool-a', generation, resourceSliceCount: 1},
		devices: devices.map(([name, id]) => ({
			name,
			attributes: {
				'k8s.cni.cncf.io/deviceID': {string: id},
				'k8s.cni.cncf.io/resourceName': {string: 'example.com/vf'},
			},
		})),
	};
}

beforeEach(async () => {
	api = new ListWatchServer();
	await api.up();
	rest = new RestClient({
		server: new URL(api.url),
		ca: undefined,
		insecure: false,
		serverName: undefined,
		cert: undefined,
		key: undefined,
		token: 't',
		tokenFile: undefined,
		basic: undefined,
		source: 'test',
	});
	slices = new NodeSlices(
		'n1',
		() => new Reflector(rest, {path: PATH, fieldSelector: 'spec.nodeName=n1', shortWatchMs: 0}),
	);
});

afterEach(async () => {
	await slices.stop();
	rest.close();
	await api.down();
});

/** Polls `check` until it holds (watch events arrive asynchronously). */
async function eventually(check: () => boolean): Promise<void> {
	for (let i = 0; i < 500 && !check(); i++) await sleep(10);
	expect(check()).toBe(true);
}

describe('CachedDraPort with NodeSlices', {timeout: 30_000}, () => {
	test('starts the reflector on the first slice read only, then serves from its store', async () => {
		api.put('', 's-vf', 'u1', sliceSpec('vf.example', [['d0', '0000:3b:00.2']]));
		api.put('', 's-gpu', 'u2', sliceSpec('gpu.example', [['g0', 'gpu-0']]));
		const inner = new FakeDraPort();
		const port = new CachedDraPort(inner, async () => slices);
		await port.getClaim('ns1', 'c');
		expect(slices.started).toBe(false);
		expect(api.requests).toEqual([]);

		const first = await port.listSlices('n1', 'vf.example');
		expect(first.map((s) => s.devices.map((d) => d.deviceId))).toEqual([['0000:3b:00.2']]);
		expect(api.requests[0]).toEqual({path: PATH, query: {fieldSelector: 'spec.nodeName=n1'}});
		await eventually(() => api.watching === 1);

		api.put('', 's-vf', 'u1', sliceSpec('vf.example', [['d1', '0000:3b:00.3']], 2));
		await eventually(() => slices.stats()?.events === 1);
		const second = await port.listSlices('n1', 'vf.example');
		expect(second.map((s) => [s.generation, s.devices.map((d) => d.deviceId)])).toEqual([
			[2, ['0000:3b:00.3']],
		]);
		expect(api.requests.filter((r) => r.query['watch'] !== 'true')).toHaveLength(1);
		expect(inner.calls.map((c) => c.method)).toEqual(['getClaim']);
	});

	test("another node's slices and an unreachable API server are listed live", async () => {
		const inner = new FakeDraPort();
		inner.slices.push({driver: 'vf.example', pool: 'p', generation: 1, devices: [], nodeName: 'n2'});
		const port = new CachedDraPort(inner, async () => slices);
		expect(await port.listSlices('n2', 'vf.example')).toHaveLength(1);
		expect(slices.started).toBe(false);

		await api.down();
		expect(await port.listSlices('n1', 'vf.example')).toEqual([]);
		expect(slices.started).toBe(true);
		expect(inner.calls).toEqual([
			{method: 'listSlices', args: ['n2', 'vf.example']},
			{method: 'listSlices', args: ['n1', 'vf.example']},
		]);
	});

	test('without a node name (no NodeSlices) every read is the inner port', async () => {
		const inner = new FakeDraPort();
		const port = new CachedDraPort(inner, async () => undefined);
		await port.getPod('ns1', 'p');
		await port.listSlices('n1', 'vf.example');
		expect(inner.calls.map((c) => c.method)).toEqual(['getPod', 'listSlices']);
	});
});
