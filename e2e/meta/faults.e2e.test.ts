// The meta-plugin's failure paths on a real kernel: nothing is left behind by a failing ADD, DEL
// works offline (API down, NAD deleted or edited) and replays the exact ADD configs, pods share a
// NAD independently, and namespace isolation refuses before anything runs.
import {readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {ipJson} from '../helpers/netns.ts';
import {MetaHarness, macvlanNad, type TestPod} from '../kube/harness.ts';

let h: MetaHarness;

beforeEach(async () => {
	h = await MetaHarness.create();
});

afterEach(async () => {
	await h.close();
});

const failingTuning = () => ({type: 'tuning', mac: 'not-a-mac', dataDir: join(h.dir, 'tuning')});

async function expectNothingLeft(pod: TestPod): Promise<void> {
	expect(await h.links(pod)).toEqual(['lo']);
	expect(await h.clusterBridgePorts()).toEqual([]);
	expect(await h.cachedFiles()).toEqual([]);
}

async function addresses(pod: TestPod, dev: string): Promise<string[]> {
	const [link] = await ipJson<{addr_info: {family: string; local: string; prefixlen: number}[]}[]>(
		pod.netns,
		'addr',
		'show',
		'dev',
		dev,
	);
	return (link?.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`);
}

describe('a failing ADD leaves nothing behind', () => {
	test.each([
		[0, 'cluster-net', 'eth0', 'delegates[0]'],
		[1, 'ns1/nad-a', 'net1', 'element 1 of annotation "k8s.v1.cni.cncf.io/networks"'],
		[2, 'ns1/nad-b', 'net2', 'element 2 of annotation "k8s.v1.cni.cncf.io/networks"'],
	])('failure at position %i (%s)', async (position, network, ifname, origin) => {
		h.api.createNad(
			'ns1',
			'nad-a',
			macvlanNad('nad-a', h.master, '10.30.1.5/24', position === 1 ? [failingTuning()] : []),
		);
		h.api.createNad(
			'ns1',
			'nad-b',
			macvlanNad('nad-b', h.master, '10.30.2.5/24', position === 2 ? [failingTuning()] : []),
		);
		const cluster = h.clusterNetwork();
		if (position === 0) (cluster['plugins'] as unknown[]).push(failingTuning());
		const pod = await h.createPod('web', {'k8s.v1.cni.cncf.io/networks': 'nad-a, nad-b'});
		const add = await h.cni('ADD', pod, h.conf({delegates: [cluster]}));
		expect(add.exitCode).toBe(1);
		const msg = String(add.json?.['msg']);
		expect(
			msg.startsWith(
				`failed to add network "${network}" (${origin}) as interface "${ifname}" of pod "ns1/web": plugin type="tuning" failed (add):`,
			),
		).toBe(true);
		await expectNothingLeft(pod);
		expect(
			h.api.getPod('ns1', 'web')?.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'],
		).toBeUndefined();
		// The runtime still calls DEL after a failed ADD: it must succeed with nothing to do.
		expect((await h.cni('DEL', pod)).exitCode).toBe(0);
	});
});

describe('DEL offline', () => {
	test('with the API server down: success, nothing left, no API needed', async () => {
		h.api.createNad('ns1', 'nad-a', macvlanNad('nad-a', h.master, '10.30.1.5/24'));
		h.api.createNad('ns1', 'nad-b', macvlanNad('nad-b', h.master, '10.30.2.5/24'));
		const pod = await h.createPod('web', {'k8s.v1.cni.cncf.io/networks': 'nad-a, nad-b'});
		expect((await h.cni('ADD', pod)).exitCode).toBe(0);
		expect(await h.links(pod)).toEqual(['eth0', 'lo', 'net1', 'net2']);
		await h.api.down();
		const requestsBefore = h.api.requests.length;
		const del = await h.cni('DEL', pod);
		expect(del.exitCode).toBe(0);
		await expectNothingLeft(pod);
		expect(h.api.requests.length).toBe(requestsBefore);
		// And again, now without a cache: the pod cannot be read, DEL still succeeds, bounded.
		const started = performance.now();
		const again = await h.cni('DEL', pod);
		expect(again.exitCode).toBe(0);
		expect(again.stderr).toContain('cannot properly delete');
		expect(performance.now() - started).toBeLessThan(20_000);
	});

	test('DEL from the cache never loads the Kubernetes client; ADD loads the REST client, never client-node', async () => {
		h.api.createNad('ns1', 'nad-a', macvlanNad('nad-a', h.master, '10.30.1.5/24'));
		const pod = await h.createPod('web', {'k8s.v1.cni.cncf.io/networks': 'nad-a'});
		const probe = fileURLToPath(new URL('../testing/kube-module-probe.ts', import.meta.url));
		const modules = join(h.dir, 'modules.log');
		// The bundle bin/plexus runs (the REST client is its k8s-rest chunk), then the sources.
		for (const [fromSource, restClient] of [
			['', '/dist/plexus/k8s-rest-'],
			['1', '/src/k8s/rest/http.ts'],
		] as const) {
			const env = {
				NODE_OPTIONS: `--import=${probe}`,
				PLEXUS_MODULE_LOG: modules,
				PLEXUS_FROM_SOURCE: fromSource,
			};
			await writeFile(modules, '');
			expect((await h.cni('ADD', pod, h.conf(), 'eth0', env)).exitCode).toBe(0);
			const added = await readFile(modules, 'utf8');
			expect(added).toContain(restClient);
			// client-node costs ~0.7 s to import: the one-shot path must never load it.
			expect(added).not.toContain('@kubernetes/client-node');
			await writeFile(modules, '');
			expect((await h.cni('DEL', pod, h.conf(), 'eth0', env)).exitCode).toBe(0);
			expect(await readFile(modules, 'utf8')).toBe('');
			await expectNothingLeft(pod);
		}
	});

	test('a hanging API server does not stall DEL: the call bound cuts it off', async () => {
		const pod = await h.createPod('web', {'k8s.v1.cni.cncf.io/networks': 'nad-a'});
		h.api.latencyMs = 60_000;
		const started = performance.now();
		const del = await h.cni('DEL', pod);
		const elapsed = performance.now() - started;
		expect(del.exitCode).toBe(0);
		expect(del.stderr).toContain('timed out');
		expect(del.stderr).toContain('cannot properly delete');
		// 2 s API bound plus process start-up on a busy machine; far below the 60 s the server would take.
		expect(elapsed).toBeLessThan(15_000);
	});

	test.each(['deleted', 'edited'])(
		'with the NAD %s between ADD and DEL: the same configs are replayed',
		async (change) => {
			const calls = await h.recordCalls('macvlan');
			h.api.createNad('ns1', 'nad-a', macvlanNad('nad-a', h.master, '10.30.1.5/24'));
			const pod = await h.createPod('web', {'k8s.v1.cni.cncf.io/networks': 'nad-a'});
			expect((await h.cni('ADD', pod)).exitCode).toBe(0);
			h.api.deleteNad('ns1', 'nad-a');
			if (change === 'edited')
				h.api.createNad('ns1', 'nad-a', macvlanNad('nad-a', 'elsewhere0', '10.99.9.9/24'));
			expect((await h.cni('DEL', pod)).exitCode).toBe(0);
			await expectNothingLeft(pod);
			const lines = (await readFile(calls, 'utf8')).trim().split('\n');
			const parsed = lines.map(
				(l) => [l.slice(0, l.indexOf(' ')), JSON.parse(l.slice(l.indexOf(' ') + 1))] as const,
			);
			expect(parsed.map(([verb]) => verb)).toEqual(['ADD', 'DEL']);
			const {prevResult, ...delConf} = parsed[1]![1] as Record<string, unknown>;
			expect(delConf).toEqual(parsed[0]![1]);
			expect(prevResult).toMatchObject({interfaces: [{name: 'net1'}], ips: [{address: '10.30.1.5/24'}]});
		},
	);

	test('a corrupt cache is reported and DEL falls back to the API', async () => {
		h.api.createNad('ns1', 'nad-a', macvlanNad('nad-a', h.master, '10.30.1.5/24'));
		const pod = await h.createPod('web', {'k8s.v1.cni.cncf.io/networks': 'nad-a'});
		expect((await h.cni('ADD', pod)).exitCode).toBe(0);
		const file = join(h.cniDir, 'plexus', `${pod.containerId}-eth0.json`);
		await writeFile(file, (await readFile(file, 'utf8')).slice(0, 100));
		const del = await h.cni('DEL', pod);
		expect(del.exitCode).toBe(0);
		expect(del.stderr).toContain('plexus cache is corrupt; falling back to the API');
		await expectNothingLeft(pod);
	});

	test('with the pod deleted from the API: DEL replays the cache', async () => {
		h.api.createNad('ns1', 'nad-a', macvlanNad('nad-a', h.master, '10.30.1.5/24'));
		const pod = await h.createPod('web', {'k8s.v1.cni.cncf.io/networks': 'nad-a'});
		expect((await h.cni('ADD', pod)).exitCode).toBe(0);
		h.api.deletePod('ns1', 'web');
		expect((await h.cni('DEL', pod)).exitCode).toBe(0);
		await expectNothingLeft(pod);
	});
});

test('two pods with the same NAD get their own attachments', async () => {
	h.api.createNad(
		'ns1',
		'shared',
		JSON.stringify({
			cniVersion: '1.0.0',
			name: 'shared',
			plugins: [
				{
					type: 'macvlan',
					master: h.master,
					mode: 'bridge',
					capabilities: {ips: true},
					ipam: {type: 'static'},
				},
			],
		}),
	);
	const one = await h.createPod('one', {
		'k8s.v1.cni.cncf.io/networks': '[{"name":"shared","ips":["10.40.0.11/24"]}]',
	});
	const two = await h.createPod('two', {
		'k8s.v1.cni.cncf.io/networks': '[{"name":"shared","ips":["10.40.0.12/24"]}]',
	});
	expect((await h.cni('ADD', one)).exitCode).toBe(0);
	expect((await h.cni('ADD', two)).exitCode).toBe(0);
	expect(await addresses(one, 'net1')).toEqual(['10.40.0.11/24']);
	expect(await addresses(two, 'net1')).toEqual(['10.40.0.12/24']);
	expect((await h.cni('DEL', one)).exitCode).toBe(0);
	expect(await h.links(one)).toEqual(['lo']);
	expect(await addresses(two, 'net1')).toEqual(['10.40.0.12/24']);
	expect((await h.cni('CHECK', two)).exitCode).toBe(0);
	expect((await h.cni('DEL', two)).exitCode).toBe(0);
	await expectNothingLeft(two);
});

test('a missing NAD posts a NoNetworkFound event and ADD fails before anything runs', async () => {
	const pod = await h.createPod('web', {'k8s.v1.cni.cncf.io/networks': 'ghost'});
	const add = await h.cni('ADD', pod);
	expect(add.exitCode).toBe(1);
	expect(add.json).toMatchObject({
		code: 7,
		msg: 'failed to find network-attachment-definition "ns1/ghost" (element 1 of annotation "k8s.v1.cni.cncf.io/networks") for pod "ns1/web"',
	});
	expect(h.api.events('ns1').map((e) => [e['type'], e['reason'], e['message']])).toEqual([
		['Warning', 'NoNetworkFound', add.json?.['msg']],
	]);
	await expectNothingLeft(pod);
});

test('network-status survives conflicting writes (409 retried against a fresh resourceVersion)', async () => {
	const pod = await h.createPod('web', {});
	h.api.inject({method: 'PUT', path: '/api/v1/namespaces/ns1/pods/web/status', status: 409, times: 2});
	expect((await h.cni('ADD', pod)).exitCode).toBe(0);
	expect(h.api.requestsTo('PUT', '/api/v1/namespaces/ns1/pods/web/status').map((r) => r.status)).toEqual([
		409, 409, 200,
	]);
	expect(h.api.getPod('ns1', 'web')?.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status']).toContain(
		'"default": true',
	);
	expect((await h.cni('DEL', pod)).exitCode).toBe(0);
	await expectNothingLeft(pod);
});

test('rejected credentials fail ADD with a message saying so, and leave nothing', async () => {
	const pod = await h.createPod('web', {});
	h.api.token = 'rotated-token';
	const add = await h.cni('ADD', pod);
	expect(add.exitCode).toBe(1);
	expect(add.json?.['msg']).toBe(
		'failed to get pod "ns1/web": unauthorized (401): the kubeconfig credentials were rejected (expired or rotated token?)',
	);
	await expectNothingLeft(pod);
});

describe('namespace isolation', () => {
	test.each([
		[
			{'k8s.v1.cni.cncf.io/networks': 'other/nad-x'},
			'network-attachment-definition "other/nad-x" (element 1 of annotation "k8s.v1.cni.cncf.io/networks"): allowed namespaces are "ns1", "default"',
		],
		[
			{'v1.multus-cni.io/default-network': 'other/nad-x'},
			'network-attachment-definition "other/nad-x" (annotation "v1.multus-cni.io/default-network"): allowed namespaces are "ns1", "default", "kube-system"',
		],
	])('%j is refused before anything runs', async (annotations, what) => {
		h.api.createNad('other', 'nad-x', macvlanNad('nad-x', h.master, '10.50.0.5/24'));
		const pod = await h.createPod('web', annotations);
		const add = await h.cni('ADD', pod, h.conf({namespaceIsolation: true}));
		expect(add.exitCode).toBe(1);
		expect(add.json).toMatchObject({code: 7});
		expect(add.json?.['msg']).toBe(`namespace isolation forbids pod "ns1/web" to use ${what}`);
		await expectNothingLeft(pod);
		expect(h.api.requestsTo('GET', /network-attachment-definitions/)).toEqual([]);
	});
});
