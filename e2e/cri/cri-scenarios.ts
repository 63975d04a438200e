/**
 * The CRI scenarios both modes run (one-shot `bin/plexus`, and plexus-shim + `plexus daemon`):
 * containerd driven as kubelet drives it, Plexus called by the runtime, the kernel, the API server
 * and the host checked afterwards. One containerd per test file (beforeAll); each test has its own
 * pod. Used by one-shot.e2e.test.ts and daemon.e2e.test.ts.
 */
import {readFileSync} from 'node:fs';
import {fileURLToPath} from 'node:url';
import {execa} from 'execa';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {parseAllDocuments} from 'yaml';
import {CriError, sandboxNetnsPath} from './testing/cri-client.ts';
import {leftovers, NOTHING_LEFT} from './testing/leftovers.ts';
import {netnsView} from './testing/netns-view.ts';
import {CLUSTER_NETWORK, type NodePod, type PlexusMode, PlexusNode} from './testing/plexus-node.ts';

const SEED_001 = fileURLToPath(new URL('../../conf/examples/001-route-override.yaml', import.meta.url));
const NETWORKS = 'k8s.v1.cni.cncf.io/networks';
const NETWORK_STATUS = 'k8s.v1.cni.cncf.io/network-status';
const CONTAINER_PORT = 8080;

interface KubeDoc {
	kind: string;
	metadata: {name: string; namespace: string; annotations?: Record<string, string>};
	spec?: {config?: string | undefined};
}

/** Seed 001's documents (two NADs and the pod), with `br-ex` replaced by the node's master. */
function seed001(master: string): {nads: KubeDoc[]; pod: KubeDoc} {
	const docs = parseAllDocuments(readFileSync(SEED_001, 'utf8')).map((d) => d.toJSON() as KubeDoc);
	const nads = docs
		.filter((d) => d.kind === 'NetworkAttachmentDefinition')
		.map((d) => ({...d, spec: {config: d.spec?.config?.replaceAll('"br-ex"', JSON.stringify(master))}}));
	const pod = docs.find((d) => d.kind === 'Pod');
	if (pod === undefined || nads.length !== 2) throw new Error(`${SEED_001}: expected two NADs and a pod`);
	return {nads, pod};
}

/** A bridge + static NAD: one more veth on its own bridge, address `<staticSubnet>.<host>`. */
function staticNad(node: PlexusNode, host = 10): string {
	return JSON.stringify({
		cniVersion: '1.0.0',
		name: 'static-net',
		plugins: [
			{
				type: 'bridge',
				bridge: node.staticBridge,
				ipam: {type: 'static', addresses: [{address: `${node.staticSubnet}.${host}/24`}]},
			},
		],
	});
}

/** A TCP listener inside the netns at `path` answering "pod <name>" (a Node one-liner under nsenter). */
function listenInNetns(path: string, name: string) {
	const script = `require('node:net').createServer((s) => s.end('pod ${name}')).listen(${CONTAINER_PORT}, () => console.log('ready'))`;
	const child = execa('nsenter', [`--net=${path}`, process.execPath, '-e', script], {reject: false});
	const ready = new Promise<void>((resolve, reject) => {
		child.stdout?.once('data', () => resolve());
		void child.then((r) => reject(new Error(`listener exited: ${r.stderr}`)));
	});
	return {child, ready};
}

/** Connects to 127.0.0.1:port inside the node's netns (a Node one-liner) and returns what came back. */
async function fetchInNode(node: PlexusNode, port: number): Promise<string> {
	const script = `const s = require('node:net').connect(${port}, '127.0.0.1'); let d = ''; s.on('data', (c) => (d += c)); s.on('end', () => process.stdout.write(d)); s.setTimeout(10000, () => process.exit(3));`;
	return (await node.netns.run(process.execPath, ['-e', script])).stdout;
}

/** A host port of the node (its own netns: nothing else listens there). */
const randomHostPort = () => 30_000 + Math.floor(Math.random() * 2768);

/**
 * Registers the shared scenarios for `mode`; `extra` adds mode-specific tests that get the node.
 */
export function describeCriNode(mode: PlexusMode, extra?: (node: () => PlexusNode) => void): void {
	describe(`containerd → ${mode === 'daemon' ? 'plexus-shim → plexus daemon' : 'bin/plexus'}`, () => {
		let node: PlexusNode;

		beforeAll(async () => {
			node = await PlexusNode.start(mode);
		});

		afterAll(async () => {
			await node?.close();
		});

		describe('a pod on the cluster network, seed 001 and a bridge + static NAD', () => {
			let pod: NodePod;
			let id: string;
			let netns: string;
			let podIp: string;
			const hostPort = randomHostPort();

			beforeAll(async () => {
				const seed = seed001(node.master);
				for (const nad of seed.nads)
					node.api.createNad(nad.metadata.namespace, nad.metadata.name, nad.spec?.config);
				const namespace = seed.pod.metadata.namespace;
				node.api.createNad(namespace, 'static-net', staticNad(node));
				const elements = JSON.parse(seed.pod.metadata.annotations?.[NETWORKS] ?? '[]') as object[];
				const networks = JSON.stringify([...elements, {name: 'static-net', interface: 'eth3'}]);
				pod = node.createPod(seed.pod.metadata.name, namespace, {[NETWORKS]: networks});
				id = await node.runPod(pod, [{protocol: 'TCP', containerPort: CONTAINER_PORT, hostPort}]);
				netns = await sandboxNetnsPath(node.containerd.cri, id);
				podIp = (await node.containerd.cri.podSandboxStatus(id)).status.network?.ip ?? '';
			});

			it('containerd called Plexus once, with the pod in CNI_ARGS and the hostPort in runtimeConfig', async () => {
				const calls = await node.calls(id);
				expect(calls.map((c) => c.command)).toEqual(['ADD']);
				const [add] = calls;
				expect(add).toMatchObject({ifname: 'eth0', netns, exitCode: 0, path: node.containerd.binDir});
				expect(add?.args.split(';').sort()).toEqual(
					[
						'IgnoreUnknown=1',
						`K8S_POD_NAMESPACE=${pod.namespace}`,
						`K8S_POD_NAME=${pod.name}`,
						`K8S_POD_INFRA_CONTAINER_ID=${id}`,
						`K8S_POD_UID=${pod.uid}`,
					].sort(),
				);
				// containerd 1.6 (go-cni) marshals its PortMapping struct without JSON tags: the keys are
				// Go's field names, and portmap (Go, case-insensitive decoding) reads them as the spec's.
				expect(add?.config).toMatchObject({
					type: node.pluginType,
					runtimeConfig: {
						portMappings: [{HostPort: hostPort, ContainerPort: CONTAINER_PORT, Protocol: 'tcp', HostIP: ''}],
					},
				});
			});

			it('the sandbox netns holds exactly the expected links, addresses and routes', async () => {
				const view = await netnsView(netns);
				expect(view.links.map((l) => `${l.name} ${l.kind}`)).toEqual([
					'eth0 veth',
					'eth1 macvlan',
					'eth2 macvlan',
					'eth3 veth',
					'lo loopback',
				]);
				expect(view.addresses).toEqual(
					[
						`eth0 ${podIp}/24`,
						'eth1 192.168.100.10/24',
						'eth2 192.168.200.10/24',
						`eth3 ${node.staticSubnet}.10/24`,
						'lo 127.0.0.1/8',
					].sort(),
				);
				expect(view.routes).toEqual(
					[
						`default via ${node.subnet}.1 dev eth0`,
						`${node.subnet}.0/24 dev eth0`,
						'10.0.0.0/8 via 192.168.100.1 dev eth1',
						'192.168.100.0/24 dev eth1',
						'172.16.0.0/12 via 192.168.200.1 dev eth2',
						'192.168.200.0/24 dev eth2',
						`${node.staticSubnet}.0/24 dev eth3`,
					].sort(),
				);
			});

			it("PodSandboxStatus reports the cluster network's IP (host-local's reservation)", async () => {
				expect(podIp.startsWith(`${node.subnet}.`)).toBe(true);
				const {status} = await node.containerd.cri.podSandboxStatus(id);
				expect(status).toMatchObject({state: 'SANDBOX_READY', metadata: {uid: pod.uid}});
				expect(await leftovers(node, id, netns)).toMatchObject({
					hostLocal: [`${CLUSTER_NETWORK}/${podIp}`],
				});
			});

			it('network-status in the API server matches the kernel', async () => {
				const annotation = node.api.getPod(pod.namespace, pod.name)?.metadata.annotations?.[NETWORK_STATUS];
				const status = JSON.parse(annotation ?? '[]') as {
					name: string;
					interface: string;
					ips: string[];
					mac: string;
					default?: boolean;
				}[];
				expect(status.map((s) => [s.name, s.interface, s.default ?? false])).toEqual([
					[CLUSTER_NETWORK, 'eth0', true],
					[`${pod.namespace}/management-net`, 'eth1', false],
					[`${pod.namespace}/sip-net`, 'eth2', false],
					[`${pod.namespace}/static-net`, 'eth3', false],
				]);
				const view = await netnsView(netns);
				for (const entry of status) {
					const link = view.links.find((l) => l.name === entry.interface);
					expect(entry.mac).toBe(link?.mac);
					const kernelIps = view.addresses
						.filter((a) => a.startsWith(`${entry.interface} `))
						.map((a) => a.split(' ')[1]?.split('/')[0]);
					expect(entry.ips).toEqual(kernelIps);
				}
			});

			it("the hostPort is DNATed by portmap to the pod's cluster IP and carries a connection from the node", async () => {
				const nat = (await node.netns.run('iptables-save', ['-t', 'nat'])).stdout.split('\n');
				const dnat = nat.filter(
					(l) =>
						l.includes(`--dport ${hostPort}`) && l.includes(`--to-destination ${podIp}:${CONTAINER_PORT}`),
				);
				expect(dnat).toHaveLength(1);
				const listener = listenInNetns(netns, pod.name);
				try {
					await listener.ready;
					expect(await fetchInNode(node, hostPort)).toBe(`pod ${pod.name}`);
				} finally {
					listener.child.kill('SIGKILL');
					await listener.child;
				}
			});

			it('StopPodSandbox twice, then RemovePodSandbox, leave nothing', async () => {
				await node.containerd.cri.stopPodSandbox(id);
				await node.containerd.cri.stopPodSandbox(id);
				await node.containerd.cri.removePodSandbox(id);
				const calls = await node.calls(id);
				expect(calls.map((c) => `${c.command} ${c.exitCode}`)).toEqual(['ADD 0', 'DEL 0', 'DEL 0', 'DEL 0']);
				expect(
					await leftovers(node, id, netns, [`${podIp}:${CONTAINER_PORT}`, `--dport ${hostPort}`]),
				).toEqual(NOTHING_LEFT);
			});
		});

		it("a missing NAD fails RunPodSandbox with Plexus's message and leaves nothing", async () => {
			const pod = node.createPod('ghost-pod', 'ns1', {[NETWORKS]: 'ghost-net'});
			const run = node.runPod(pod);
			await expect(run).rejects.toBeInstanceOf(CriError);
			await expect(run).rejects.toThrow(
				`failed to find network-attachment-definition "ns1/ghost-net" (element 1 of annotation "${NETWORKS}") for pod "ns1/ghost-pod"`,
			);
			expect(await node.containerd.cri.listPodSandbox({'io.kubernetes.pod.name': pod.name})).toEqual([]);
			const calls = await node.podCalls(pod.uid);
			expect(calls.map((c) => `${c.command} ${c.exitCode}`)).toEqual(['ADD 1', 'DEL 0']);
			const [add] = calls;
			expect(JSON.parse(add?.stdout ?? '{}')).toMatchObject({code: 7});
			expect(await leftovers(node, add?.containerId ?? '', add?.netns)).toEqual(NOTHING_LEFT);
		});

		it('StopPodSandbox with the API server down succeeds, and Stop + Remove leave nothing', async () => {
			node.api.createNad('ns1', 'offline-net', staticNad(node, 11));
			const pod = node.createPod('offline-pod', 'ns1', {[NETWORKS]: 'offline-net'});
			const id = await node.runPod(pod);
			const netns = await sandboxNetnsPath(node.containerd.cri, id);
			expect((await netnsView(netns)).addresses).toContain(`net1 ${node.staticSubnet}.11/24`);
			await node.api.down();
			try {
				await node.containerd.cri.stopPodSandbox(id);
				await node.containerd.cri.stopPodSandbox(id);
				await node.containerd.cri.removePodSandbox(id);
			} finally {
				await node.api.up();
			}
			expect((await node.calls(id)).map((c) => `${c.command} ${c.exitCode}`)).toEqual([
				'ADD 0',
				'DEL 0',
				'DEL 0',
				'DEL 0',
			]);
			expect(await leftovers(node, id, netns)).toEqual(NOTHING_LEFT);
		});

		extra?.(() => node);
	});
}
