// RestDraPort against a small HTTP server on loopback that answers like the API server: the
// paths and field selectors it asks for, the resource.k8s.io/v1 shapes it reads, 404 and 403.
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {createServer, type Server} from 'node:http';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {NodeKubeClient} from '../k8s/client.ts';
import type {RestDraPort} from './dra-rest.ts';

let dir: string;
let server: Server;
let requests: string[];
let port: RestDraPort;

const pod = {
	apiVersion: 'v1',
	kind: 'Pod',
	metadata: {name: 'web', namespace: 'ns', uid: 'u1'},
	spec: {nodeName: 'node-1', containers: [{name: 'app', image: 'x'}]},
	status: {
		resourceClaimStatuses: [{name: 'vfs', resourceClaimName: 'web-vfs'}, {name: 'none'}],
		extendedResourceClaimStatus: {
			resourceClaimName: 'web-ext',
			requestMappings: [
				{containerName: 'app', resourceName: 'intel.com/sriov', requestName: 'container-0-request-0'},
			],
		},
	},
};
const claim = {
	apiVersion: 'resource.k8s.io/v1',
	kind: 'ResourceClaim',
	metadata: {name: 'web-vfs', namespace: 'ns'},
	spec: {devices: {}},
	status: {
		allocation: {
			devices: {results: [{request: 'vf', driver: 'sriov.example', pool: 'node-1', device: 'vf-0'}]},
		},
	},
};
const slices = {
	apiVersion: 'resource.k8s.io/v1',
	kind: 'ResourceSliceList',
	metadata: {},
	items: [
		{
			metadata: {name: 's1'},
			spec: {
				driver: 'sriov.example',
				nodeName: 'node-1',
				pool: {name: 'node-1', generation: 3, resourceSliceCount: 1},
				devices: [
					{
						name: 'vf-0',
						attributes: {
							'k8s.cni.cncf.io/deviceID': {string: '0000:18:02.0'},
							'k8s.cni.cncf.io/resourceName': {string: 'intel.com/sriov'},
						},
					},
					{name: 'vf-int', attributes: {'k8s.cni.cncf.io/deviceID': {int: 7}}},
					{name: 'gpu'},
				],
			},
		},
	],
};

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-dra-rest-'));
	requests = [];
	server = createServer((req, res) => {
		requests.push(`${req.method} ${decodeURIComponent(req.url ?? '')}`);
		res.setHeader('content-type', 'application/json');
		const url = new URL(req.url ?? '/', 'http://x');
		const routes: Record<string, unknown> = {
			'/api/v1/namespaces/ns/pods/web': pod,
			'/apis/resource.k8s.io/v1/namespaces/ns/resourceclaims/web-vfs': claim,
			'/apis/resource.k8s.io/v1/resourceslices': slices,
		};
		if (url.pathname === '/apis/resource.k8s.io/v1/namespaces/ns/resourceclaims/secret') {
			res.statusCode = 403;
			res.end(
				JSON.stringify({kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403}),
			);
			return;
		}
		const body = routes[url.pathname];
		if (body === undefined) {
			res.statusCode = 404;
			res.end(
				JSON.stringify({kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404}),
			);
			return;
		}
		res.end(JSON.stringify(body));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const kubeconfig = join(dir, 'kubeconfig');
	await writeFile(
		kubeconfig,
		JSON.stringify({
			apiVersion: 'v1',
			kind: 'Config',
			clusters: [
				{
					name: 'c',
					cluster: {
						server: `http://127.0.0.1:${(server.address() as {port: number}).port}`,
						'insecure-skip-tls-verify': true,
					},
				},
			],
			users: [{name: 'u', user: {token: 't'}}],
			contexts: [{name: 'x', context: {cluster: 'c', user: 'u'}}],
			'current-context': 'x',
		}),
	);
	port = new NodeKubeClient({kubeconfig}).draPort() as RestDraPort;
});

afterEach(async () => {
	await new Promise<void>((resolve) => server.close(() => resolve()));
	await rm(dir, {recursive: true, force: true});
});

describe('RestDraPort', () => {
	test("reads the pod's node, claims and extended resource mappings", async () => {
		expect(await port.getPod('ns', 'web')).toEqual({
			nodeName: 'node-1',
			claims: [
				{name: 'vfs', resourceClaimName: 'web-vfs'},
				{name: 'none', resourceClaimName: undefined},
			],
			extended: {
				resourceClaimName: 'web-ext',
				requestMappings: [
					{containerName: 'app', resourceName: 'intel.com/sriov', requestName: 'container-0-request-0'},
				],
			},
		});
		expect(await port.getPod('ns', 'gone')).toBeUndefined();
	});

	test("reads a claim's allocation; 404 is undefined, 403 an error naming the claim", async () => {
		expect(await port.getClaim('ns', 'web-vfs')).toEqual({
			results: [{request: 'vf', driver: 'sriov.example', pool: 'node-1', device: 'vf-0'}],
		});
		expect(await port.getClaim('ns', 'missing')).toBeUndefined();
		await expect(port.getClaim('ns', 'secret')).rejects.toThrow(
			'failed to get resourceclaim "ns/secret": forbidden (403)',
		);
	});

	test('lists slices by node and driver; only string attributes count', async () => {
		expect(await port.listSlices('node-1', 'sriov.example')).toEqual([
			{
				driver: 'sriov.example',
				pool: 'node-1',
				generation: 3,
				devices: [
					{name: 'vf-0', deviceId: '0000:18:02.0', resourceName: 'intel.com/sriov'},
					{name: 'vf-int', deviceId: undefined, resourceName: undefined},
					{name: 'gpu', deviceId: undefined, resourceName: undefined},
				],
			},
		]);
		await port.listSlices(undefined, 'sriov.example');
		expect(requests.filter((r) => r.includes('resourceslices'))).toEqual([
			'GET /apis/resource.k8s.io/v1/resourceslices?fieldSelector=spec.nodeName=node-1,spec.driver=sriov.example',
			'GET /apis/resource.k8s.io/v1/resourceslices?fieldSelector=spec.driver=sriov.example',
		]);
	});
});
