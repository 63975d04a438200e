import {describe, expect, test} from 'vitest';
import {CniError} from '../cni/errors.ts';
import {draDevices} from './dra.ts';
import {FakeDraPort, type FakeSlice} from './testing/fake-dra.ts';

const pod = {namespace: 'ns', name: 'web'};
const DRIVER = 'sriovnetwork.k8snetworkplumbingwg.io';
const SRIOV = 'intel.com/sriov';

function vf(name: string, deviceId: string | undefined, resourceName: string | undefined = SRIOV) {
	return {name, deviceId, resourceName};
}

function slice(
	node: string | undefined,
	pool: string,
	generation: number,
	devices: FakeSlice['devices'],
): FakeSlice {
	return {nodeName: node, driver: DRIVER, pool, generation, devices};
}

function port(): FakeDraPort {
	const p = new FakeDraPort();
	p.pods.set('ns/web', {
		nodeName: 'node-1',
		claims: [
			{name: 'vfs', resourceClaimName: 'web-vfs'},
			{name: 'unused', resourceClaimName: undefined},
		],
		extended: undefined,
	});
	p.claims.set('ns/web-vfs', {
		results: [
			{request: 'vf', driver: DRIVER, pool: 'node-1', device: 'vf-1'},
			{request: 'vf', driver: DRIVER, pool: 'node-1', device: 'vf-0'},
			{request: 'gpu', driver: 'gpu.example.com', pool: 'node-1', device: 'gpu-0'},
		],
	});
	p.slices.push(
		slice('node-1', 'node-1', 2, [vf('vf-0', '0000:18:02.0'), vf('vf-1', '0000:18:02.1')]),
		// An older generation of the same pool says otherwise: it is being replaced.
		slice('node-1', 'node-1', 1, [vf('vf-0', '0000:99:00.0')]),
		slice('node-2', 'node-1', 3, [vf('vf-0', '0000:77:00.0')]),
		{
			nodeName: 'node-1',
			driver: 'gpu.example.com',
			pool: 'node-1',
			generation: 1,
			devices: [vf('gpu-0', undefined, undefined)],
		},
	);
	return p;
}

async function failure(promise: Promise<unknown>): Promise<CniError> {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(CniError);
	return error as CniError;
}

describe('draDevices', () => {
	test("claims → results → the node's newest slices; devices without network attributes are skipped", async () => {
		const p = port();
		expect(await draDevices(p, pod)).toEqual([
			{resourceName: SRIOV, deviceId: '0000:18:02.1', source: 'DRA claim "ns/web-vfs"'},
			{resourceName: SRIOV, deviceId: '0000:18:02.0', source: 'DRA claim "ns/web-vfs"'},
		]);
		// One list per driver, with the pod's node (the field selectors).
		expect(p.calls.filter((c) => c.method === 'listSlices').map((c) => c.args)).toEqual([
			['node-1', DRIVER],
			['node-1', 'gpu.example.com'],
		]);
	});

	test('a pod without claims costs one pod read; a pod the API does not have has none', async () => {
		const p = new FakeDraPort();
		p.pods.set('ns/web', {nodeName: 'node-1', claims: [], extended: undefined});
		expect(await draDevices(p, pod)).toEqual([]);
		expect(await draDevices(p, {namespace: 'ns', name: 'gone'})).toEqual([]);
		expect(p.calls.map((c) => c.method)).toEqual(['getPod', 'getPod']);
	});

	test('a missing or unallocated claim is an error naming it', async () => {
		const p = port();
		p.claims.delete('ns/web-vfs');
		expect((await failure(draDevices(p, pod))).message).toBe(
			'failed to read resourceclaim "ns/web-vfs" of pod "ns/web": not found',
		);
		p.claims.set('ns/web-vfs', {results: undefined});
		expect((await failure(draDevices(p, pod))).message).toBe(
			'failed to read resourceclaim "ns/web-vfs" of pod "ns/web": it has no device allocation',
		);
	});

	test('a slice list failure fails the lookup', async () => {
		const p = port();
		p.listFailure = 'failed to list resourceslices: forbidden (403)';
		expect((await failure(draDevices(p, pod))).message).toContain('forbidden (403)');
	});

	describe('extended resources backed by DRA', () => {
		function extended(resourceName = SRIOV, requestName = 'container-0-request-0'): FakeDraPort {
			const p = port();
			p.pods.set('ns/web', {
				nodeName: 'node-1',
				claims: [],
				extended: {
					resourceClaimName: 'web-extended-resources-abc',
					requestMappings: [{containerName: 'app', resourceName, requestName}],
				},
			});
			p.claims.set('ns/web-extended-resources-abc', {
				results: [
					{request: 'container-0-request-0', driver: DRIVER, pool: 'node-1', device: 'vf-1'},
					{request: 'other', driver: DRIVER, pool: 'node-1', device: 'vf-0'},
				],
			});
			return p;
		}

		test("keys the mapped request's devices by the extended resource name", async () => {
			expect(await draDevices(extended(), pod)).toEqual([
				{
					resourceName: SRIOV,
					deviceId: '0000:18:02.1',
					source: 'DRA extended resource claim "ns/web-extended-resources-abc"',
				},
			]);
		});

		test('a request without results, or a device whose resourceName disagrees, is an error', async () => {
			expect((await failure(draDevices(extended(SRIOV, 'missing'), pod))).message).toBe(
				'failed to find the devices of request "missing" (intel.com/sriov) of container "app" in resourceclaim "ns/web-extended-resources-abc"',
			);
			expect((await failure(draDevices(extended('example.com/other'), pod))).message).toContain(
				'has "k8s.cni.cncf.io/resourceName" "intel.com/sriov", not "example.com/other"',
			);
		});

		test("a device missing from the node's slices is an error", async () => {
			const p = extended();
			p.slices.splice(0, 1);
			expect((await failure(draDevices(p, pod))).message).toContain(
				`failed to find device "${DRIVER}/node-1/vf-1" of request "container-0-request-0"`,
			);
		});
	});
});
