import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {readPodResources} from './pod-resources.ts';
import {FakeKubelet} from './testing/fake-kubelet.ts';

// gRPC status codes (grpc-js `status`), spelled out so the test does not load the library itself.
const UNKNOWN = 2;
const INTERNAL = 13;
const RESOURCE_EXHAUSTED = 8;

const pod = {namespace: 'ns', name: 'web'};
const webPod = {
	name: 'web',
	namespace: 'ns',
	containers: [
		{
			name: 'sidecar',
			devices: [{resourceName: 'intel.com/sriov', deviceIds: ['0000:18:02.3', '0000:18:02.0']}],
		},
		{
			name: 'app',
			devices: [
				{resourceName: 'intel.com/sriov', deviceIds: ['0000:18:02.5']},
				{resourceName: 'nvidia.com/gpu', deviceIds: ['GPU-1']},
			],
		},
	],
};
const otherPod = {
	name: 'web',
	namespace: 'other',
	containers: [{name: 'app', devices: [{resourceName: 'intel.com/sriov', deviceIds: ['0000:18:03.0']}]}],
};

let dir: string;
let socket: string;
let kubelet: FakeKubelet;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-podres-'));
	socket = join(dir, 'kubelet.sock');
	kubelet = new FakeKubelet();
	kubelet.pods = [otherPod, webPod];
});

afterEach(async () => {
	await kubelet.stop();
	await rm(dir, {recursive: true, force: true});
});

async function failure(promise: Promise<unknown>): Promise<CniError> {
	const error = await promise.then(
		() => undefined,
		(e: unknown) => e,
	);
	expect(error).toBeInstanceOf(CniError);
	return error as CniError;
}

const webRows = [
	{container: 'sidecar', resourceName: 'intel.com/sriov', deviceIds: ['0000:18:02.3', '0000:18:02.0']},
	{container: 'app', resourceName: 'intel.com/sriov', deviceIds: ['0000:18:02.5']},
	{container: 'app', resourceName: 'nvidia.com/gpu', deviceIds: ['GPU-1']},
];

describe('readPodResources', () => {
	test('a missing socket is "no PodResources API" (the caller reads the checkpoint)', async () => {
		expect(await readPodResources(pod, socket)).toBeUndefined();
	});

	test('asks Get for the one pod and keeps containers and rows in kubelet order', async () => {
		await kubelet.start(socket);
		expect(await readPodResources(pod, socket)).toEqual(webRows);
		expect(kubelet.calls).toEqual([{method: 'Get', request: {podName: 'web', podNamespace: 'ns'}}]);
	});

	test.each(['unimplemented', 'disabled'] as const)(
		'falls back to List when Get is %s, matching the pod by name and namespace',
		async (mode) => {
			kubelet.getMode = mode;
			await kubelet.start(socket);
			expect(await readPodResources(pod, socket)).toEqual(webRows);
			expect(kubelet.calls.map((c) => c.method)).toEqual(['Get', 'List']);
		},
	);

	test('a pod kubelet does not know has no devices', async () => {
		kubelet.pods = [otherPod];
		await kubelet.start(socket);
		expect(await readPodResources(pod, socket)).toEqual([]);
		kubelet.getMode = 'unimplemented';
		expect(await readPodResources(pod, socket)).toEqual([]);
	});

	test('rate limiting is a "try again later" error naming the socket', async () => {
		kubelet.failure = {method: 'Get', code: RESOURCE_EXHAUSTED, details: 'rejected by rate limit'};
		await kubelet.start(socket);
		const error = await failure(readPodResources(pod, socket));
		expect(error.code).toBe(CniErrorCode.tryAgainLater);
		expect(error.message).toBe(
			`failed to read pod resources from kubelet socket "${socket}": Get (RESOURCE_EXHAUSTED): rejected by rate limit`,
		);
	});

	test('a failing List after an unsupported Get is an I/O error naming the socket', async () => {
		kubelet.getMode = 'unimplemented';
		kubelet.failure = {method: 'List', code: INTERNAL, details: 'boom'};
		await kubelet.start(socket);
		const error = await failure(readPodResources(pod, socket));
		expect(error.code).toBe(CniErrorCode.ioFailure);
		expect(error.message).toContain(`kubelet socket "${socket}": List (INTERNAL): boom`);
	});

	test('another Get error is not hidden by a List', async () => {
		kubelet.failure = {method: 'Get', code: UNKNOWN, details: 'something else'};
		await kubelet.start(socket);
		const error = await failure(readPodResources(pod, socket));
		expect(error.message).toContain('Get (UNKNOWN): something else');
		expect(kubelet.calls.map((c) => c.method)).toEqual(['Get']);
	});

	test('a reply slower than the deadline fails the call instead of hanging', async () => {
		kubelet.delayMs = 5000;
		await kubelet.start(socket);
		const error = await failure(readPodResources(pod, socket, 200));
		expect(error.code).toBe(CniErrorCode.tryAgainLater);
		expect(error.message).toContain(`kubelet socket "${socket}": Get (DEADLINE_EXCEEDED)`);
	});

	test('a socket file nobody listens on is an error naming it, not a checkpoint fallback', async () => {
		await writeFile(socket, '');
		const error = await failure(readPodResources(pod, socket, 2000));
		expect(error.code).toBe(CniErrorCode.tryAgainLater);
		expect(error.message).toContain(
			`failed to read pod resources from kubelet socket "${socket}": Get (UNAVAILABLE)`,
		);
	});
});
