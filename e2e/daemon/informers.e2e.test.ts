import {setTimeout as sleep} from 'node:timers/promises';
import {describe, expect, it} from 'vitest';
import {runShim, startDaemon} from '../helpers/daemon.ts';
import {useDaemonBed} from '../helpers/daemon-bed.ts';
import {createNetns, randomName} from '../helpers/netns.ts';
import {CNI_BIN, type MetaHarness, macvlanNad, podCniArgs, type TestPod} from '../kube/harness.ts';

const NODE = 'node-a';
let h: MetaHarness;
let socketPath: string;
const daemons = useDaemonBed((bed) => {
	({h, socketPath} = bed);
});

/** Polls `check` until it holds (watch events and queued events arrive asynchronously). */
async function eventually(check: () => boolean): Promise<void> {
	for (let i = 0; i < 1000 && !check(); i++) await sleep(10);
	expect(check()).toBe(true);
}

/** A pod scheduled on this node (the pod informer watches `spec.nodeName=node-a`). */
async function nodePod(name: string, annotations: Record<string, string>): Promise<TestPod> {
	const netns = await createNetns('pxinf');
	const created = h.api.createPod({
		metadata: {name, namespace: 'ns1', annotations},
		spec: {nodeName: NODE, containers: [{name: 'c', image: 'pause'}]},
	});
	const pod: TestPod = {
		netns,
		namespace: 'ns1',
		name,
		uid: created.metadata.uid,
		containerId: randomName('cid'),
	};
	h.pods.push(pod);
	return pod;
}

async function shim(command: string, pod: TestPod, address: number) {
	const conf = {...h.conf(), runtimeConfig: {ips: [`${h.subnet}.${address}/24`]}};
	return runShim(command, conf, {
		CNI_CONTAINERID: pod.containerId,
		CNI_NETNS: pod.netns.path,
		CNI_IFNAME: 'eth0',
		CNI_ARGS: podCniArgs(pod),
		CNI_PATH: CNI_BIN,
		PLEXUS_SOCKET: socketPath,
	});
}

/** The API requests from `from` on, as "VERB path". */
const since = (from: number) => h.api.requests.slice(from).map((r) => `${r.method} ${r.path}`);

describe('plexus daemon with warm informers', () => {
	it('ADD reads nothing, writes network-status once without a GET, and sends events after the result', async () => {
		h.api.createNad('ns1', 'nad-a', macvlanNad('nad-a', h.master, '10.41.1.5/24'));
		h.api.createNad('ns1', 'nad-b', macvlanNad('nad-b', h.master, '10.41.2.5/24'));
		const warmup = await nodePod('warmup', {'k8s.v1.cni.cncf.io/networks': 'nad-a'});
		const pod = await nodePod('web', {'k8s.v1.cni.cncf.io/networks': 'nad-a, nad-b'});
		daemons.push(
			await startDaemon(socketPath, ['--plugin', 'plexus', '--cni-path', CNI_BIN], {NODE_NAME: NODE}),
		);
		// The first request for this kubeconfig starts its informers (pods of this node, all NADs).
		expect((await shim('ADD', warmup, 3)).exitCode).toBe(0);
		await eventually(() => h.api.openWatches === 2);
		const watches = h.api.requests.filter((r) => r.query['watch'] !== undefined);
		expect(watches.every((w) => w.query['allowWatchBookmarks'] === 'true')).toBe(true);

		const from = h.api.requests.length;
		const add = await shim('ADD', pod, 4);
		expect(add.exitCode).toBe(0);
		const during = since(from);
		expect(during.filter((r) => r.startsWith('GET '))).toEqual([]);
		expect(during.filter((r) => r.startsWith('PUT '))).toEqual([
			'PUT /api/v1/namespaces/ns1/pods/web/status',
		]);
		expect(
			JSON.parse(
				h.api.getPod('ns1', 'web')?.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'] ?? '[]',
			),
		).toHaveLength(3);
		// One AddedInterface event per attachment, posted from the queue once the result went out.
		const webEvents = () =>
			h.api
				.events('ns1')
				.filter((e) => (e as {involvedObject?: {name?: string}}).involvedObject?.name === 'web');
		await eventually(() => webEvents().length === 3);
		expect(webEvents().map((e) => (e as {reason?: string}).reason)).toEqual([
			'AddedInterface',
			'AddedInterface',
			'AddedInterface',
		]);

		// The NAD edited between ADD and DEL: DEL replays what ADD ran, from the cache.
		h.api.updateNad('ns1', 'nad-a', macvlanNad('nad-a', 'no-such-master', '10.41.9.5/24'));
		expect((await shim('DEL', pod, 4)).exitCode).toBe(0);
		expect(await h.links(pod)).toEqual(['lo']);
		// containerd repeats DEL: after a success the daemon answers it without the API or a delegate.
		const beforeRepeat = h.api.requests.length;
		expect((await shim('DEL', pod, 4)).exitCode).toBe(0);
		expect(since(beforeRepeat)).toEqual([]);
		expect((await shim('DEL', warmup, 3)).exitCode).toBe(0);
	});

	it('a pod deleted and re-created under its name gets its own network-status (never the stale pod)', async () => {
		h.api.createNad('ns1', 'nad-a', macvlanNad('nad-a', h.master, '10.42.1.5/24'));
		const first = await nodePod('web', {'k8s.v1.cni.cncf.io/networks': 'nad-a'});
		daemons.push(
			await startDaemon(socketPath, ['--plugin', 'plexus', '--cni-path', CNI_BIN], {NODE_NAME: NODE}),
		);
		expect((await shim('ADD', first, 3)).exitCode).toBe(0);
		await eventually(() => h.api.openWatches === 2);
		expect((await shim('DEL', first, 3)).exitCode).toBe(0);
		h.api.deletePod('ns1', 'web');
		const second = await nodePod('web', {'k8s.v1.cni.cncf.io/networks': 'nad-a'});
		expect(second.uid).not.toBe(first.uid);
		// Right away: whether or not the watch delivered the new pod yet, ADD must act on the new UID.
		expect((await shim('ADD', second, 4)).exitCode).toBe(0);
		const written = h.api.getPod('ns1', 'web');
		expect(written?.metadata.uid).toBe(second.uid);
		expect(written?.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status']).toBeDefined();
		expect((await shim('DEL', second, 4)).exitCode).toBe(0);
		expect(await h.links(second)).toEqual(['lo']);
	});
});
