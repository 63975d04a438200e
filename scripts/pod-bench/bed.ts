/**
 * The benchmark's test bed: host bridges, network namespaces, the in-repo API server (the same one
 * the e2e tests use) and the scenario every mode runs, a pod on the cluster network plus three NADs:
 *   eth0  cluster:  bridge + host-local                       (the cluster network, from confDir)
 *   net1  nad-a:    bridge + host-local → route-override      (built-in, in-process)
 *   net2  nad-b:    macvlan + host-local → tuning
 *   net3  nad-c:    bridge + host-local
 * Each mode has its own Kubernetes namespace, so one mode's API requests are told apart from
 * another's by path. `close()` removes everything the bed created.
 */
import {spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {TestApiServer} from '../../e2e/kube/apiserver.ts';

export const CNI_BIN = (process.env['CNI_PATH'] || '/usr/lib/cni').split(':').filter((d) => d !== '');
/** Interface names of the four attachments, in ADD order. */
export const IFNAMES = ['eth0', 'net1', 'net2', 'net3'] as const;
/** The node the daemon watches pods of. */
export const NODE_NAME = 'bench-node';
const NETWORKS_ANNOTATION = 'k8s.v1.cni.cncf.io/networks';

/** A pod by namespace and name. */
export interface PodRef {
	namespace: string;
	name: string;
}

/** Runs `ip` and throws with its stderr when it fails. */
export function ip(...args: string[]): void {
	const r = spawnSync('ip', args, {stdio: ['ignore', 'pipe', 'pipe']});
	if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.toString().trim()}`);
}

/** Host links, scratch dir, API server and the scenario's configurations. */
export class Bed {
	readonly id = randomBytes(3).toString('hex');
	readonly bridges = [`pxbK${this.id}`, `pxbA${this.id}`, `pxbC${this.id}`, `pxbM${this.id}`] as const;
	readonly dir = mkdtempSync(join(tmpdir(), 'plexus-bench-'));
	readonly confDir = join(this.dir, 'net.d');
	readonly namespaces: string[] = [];
	#api: TestApiServer | undefined;
	#kubeconfig: string | undefined;

	private constructor() {}

	/** Creates the host links, the cluster network's conflist and the API server. */
	static async create(): Promise<Bed> {
		const bed = new Bed();
		try {
			for (const bridge of bed.bridges) {
				ip('link', 'add', bridge, 'type', 'bridge');
				ip('link', 'set', bridge, 'up');
			}
			mkdirSync(bed.confDir, {recursive: true});
			writeFileSync(join(bed.confDir, '10-cluster.conflist'), JSON.stringify(bed.networks()[0]));
			bed.#api = await TestApiServer.start();
			bed.#kubeconfig = await bed.#api.writeKubeconfig(bed.dir);
		} catch (error) {
			await bed.close();
			throw error;
		}
		return bed;
	}

	get api(): TestApiServer {
		if (this.#api === undefined) throw new Error('bench API server is not running');
		return this.#api;
	}

	get kubeconfig(): string {
		if (this.#kubeconfig === undefined) throw new Error('bench kubeconfig is not written');
		return this.#kubeconfig;
	}

	/** A new network namespace, removed by `close()`. */
	netns(): string {
		const name = `pxb-${this.id}-${this.namespaces.length}`;
		ip('netns', 'add', name);
		this.namespaces.push(name);
		return name;
	}

	/** The four delegate conflists (cluster network first), as the floor runs them. */
	networks(): Record<string, unknown>[] {
		const [cluster, a, c, master] = this.bridges;
		const ipam = (octet: number) => ({
			type: 'host-local',
			subnet: `10.${octet}.0.0/16`,
			dataDir: join(this.dir, 'ipam'),
		});
		const list = (name: string, plugins: Record<string, unknown>[]) => ({cniVersion: '1.0.0', name, plugins});
		return [
			list('cluster', [{type: 'bridge', bridge: cluster, ipam: ipam(60)}]),
			list('nad-a', [
				{type: 'bridge', bridge: a, ipam: ipam(61)},
				{type: 'route-override', addroutes: [{dst: '192.0.2.0/24', gw: '10.61.0.1'}]},
			]),
			list('nad-b', [
				{type: 'macvlan', master, mode: 'bridge', ipam: ipam(62)},
				{type: 'tuning', mtu: 1400},
			]),
			list('nad-c', [{type: 'bridge', bridge: c, ipam: ipam(63)}]),
		];
	}

	/** Creates the three NADs in Kubernetes namespace `namespace`. */
	createNads(namespace: string): void {
		for (const network of this.networks().slice(1)) {
			this.api.createNad(namespace, String(network['name']), JSON.stringify(network));
		}
	}

	/** Creates `pod` on the bench node, attached to `networks` (by default the three NADs). */
	createPod(pod: PodRef, networks = 'nad-a,nad-b,nad-c'): void {
		this.api.createPod({
			metadata: {...pod, annotations: {[NETWORKS_ANNOTATION]: networks}},
			spec: {nodeName: NODE_NAME, containers: [{name: 'c', image: 'pause'}]},
		});
	}

	/** The Plexus conf kubelet's runtime would pass (the conflist in /etc/cni/net.d). */
	conf(cniVersion = '1.0.0'): string {
		return JSON.stringify({
			cniVersion,
			name: 'plexus-bench',
			type: 'plexus',
			kubeconfig: this.kubeconfig,
			confDir: this.confDir,
			cniDir: join(this.dir, 'cni'),
			binDir: CNI_BIN[0],
			clusterNetwork: 'cluster',
			logLevel: 'error',
		});
	}

	/** The CNI_* environment of `command` for `pod` in `netns`. */
	env(
		command: string,
		netns: string,
		pod: PodRef,
		extra: Record<string, string> = {},
	): Record<string, string> {
		return {
			PATH: process.env['PATH'] ?? '/usr/bin:/bin',
			CNI_COMMAND: command,
			CNI_CONTAINERID: `bench-${this.id}-${pod.namespace}-${pod.name}`,
			CNI_NETNS: `/var/run/netns/${netns}`,
			CNI_IFNAME: 'eth0',
			CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name}`,
			CNI_PATH: CNI_BIN.join(':'),
			...extra,
		};
	}

	/** Removes the namespaces, links, API server and scratch dir. */
	async close(): Promise<void> {
		for (const ns of this.namespaces) spawnSync('ip', ['netns', 'del', ns]);
		for (const link of this.bridges) spawnSync('ip', ['link', 'del', link]);
		await this.#api?.close();
		rmSync(this.dir, {recursive: true, force: true});
	}
}
