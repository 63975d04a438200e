/**
 * The meta-plugin e2e harness: the test API server (HTTPS; its kubeconfig carries the CA and a
 * bearer token), a scratch dir (confDir, cniDir), host links
 * (a cluster bridge and a macvlan master), "pods" (a netns plus a Pod object), and `bin/plexus`
 * run as kubelet's runtime would run it: CNI_* in the environment, the Plexus conf on stdin.
 */
import {randomInt} from 'node:crypto';
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {execa} from 'execa';
import {createNetns, ipJson, type Netns, randomName, removeLink, removeNetns} from '../helpers/netns.ts';
import {type ApiServerOptions, TestApiServer} from './apiserver.ts';

export const CNI_BIN = '/usr/lib/cni';
export const PLEXUS = fileURLToPath(new URL('../../bin/plexus', import.meta.url));

/** A pod: its netns, its Pod object and its container ID. */
export interface TestPod {
	readonly netns: Netns;
	readonly namespace: string;
	readonly name: string;
	readonly uid: string;
	readonly containerId: string;
}

export interface CniRun {
	exitCode: number;
	stdout: string;
	stderr: string;
	/** stdout decoded (the result or the error JSON), undefined when empty. */
	json: Record<string, unknown> | undefined;
}

/** Everything one test needs; `close()` removes all of it. */
/** The CNI_ARGS kubelet's runtime sends for `pod`. */
export function podCniArgs(pod: TestPod): string {
	return `IgnoreUnknown=1;K8S_POD_NAMESPACE=${pod.namespace};K8S_POD_NAME=${pod.name};K8S_POD_INFRA_CONTAINER_ID=${pod.containerId};K8S_POD_UID=${pod.uid}`;
}

export class MetaHarness {
	readonly api: TestApiServer;
	readonly dir: string;
	readonly kubeconfig: string;
	readonly confDir: string;
	readonly cniDir: string;
	readonly binDir: string;
	/** A host bridge the cluster network's `bridge` plugin uses. */
	readonly clusterBridge = randomName('pxcb');
	/** A host bridge that macvlan NADs use as `master`. */
	readonly master = randomName('pxmv');
	/** The cluster network's subnet (first three octets). */
	readonly subnet = `10.${randomInt(100, 250)}.${randomInt(0, 256)}`;
	readonly pods: TestPod[] = [];
	#next = 2;

	private constructor(api: TestApiServer, dir: string, kubeconfig: string) {
		this.api = api;
		this.dir = dir;
		this.kubeconfig = kubeconfig;
		this.confDir = join(dir, 'net.d');
		this.cniDir = join(dir, 'cni');
		this.binDir = join(dir, 'bin');
	}

	/** A harness whose API server starts with `options` (HTTPS with a token by default). */
	static async create(options: ApiServerOptions = {}): Promise<MetaHarness> {
		const api = await TestApiServer.start(options);
		const dir = await mkdtemp(join(tmpdir(), 'plexus-meta-e2e-'));
		const harness = new MetaHarness(api, dir, await api.writeKubeconfig(dir));
		await mkdir(harness.confDir, {recursive: true});
		await mkdir(harness.binDir, {recursive: true});
		await execa('ip', ['link', 'add', harness.master, 'type', 'bridge']);
		await execa('ip', ['link', 'set', harness.master, 'up']);
		return harness;
	}

	/** The cluster network conflist: bridge + static IPAM with the next address of the subnet. */
	clusterNetwork(): Record<string, unknown> {
		return {
			cniVersion: '1.0.0',
			name: 'cluster-net',
			plugins: [
				{
					type: 'bridge',
					bridge: this.clusterBridge,
					isGateway: true,
					ipam: {type: 'static', routes: [{dst: '0.0.0.0/0', gw: `${this.subnet}.1`}]},
					capabilities: {ips: true},
				},
			],
		};
	}

	/** The Plexus conf (stdin), a Multus-style conf with `type: plexus`. */
	conf(extra: Record<string, unknown> = {}): Record<string, unknown> {
		return {
			cniVersion: '1.0.0',
			name: 'plexus-net',
			type: 'plexus',
			capabilities: {ips: true},
			kubeconfig: this.kubeconfig,
			confDir: this.confDir,
			cniDir: this.cniDir,
			binDir: this.binDir,
			logToStderr: true,
			logLevel: 'debug',
			delegates: [this.clusterNetwork()],
			...extra,
		};
	}

	/** Creates a netns and a Pod object with `annotations`. */
	async createPod(name: string, annotations: Record<string, string>, namespace = 'ns1'): Promise<TestPod> {
		const netns = await createNetns('pxmeta');
		const created = this.api.createPod({metadata: {name, namespace, annotations}});
		const pod: TestPod = {netns, namespace, name, uid: created.metadata.uid, containerId: randomName('cid')};
		this.pods.push(pod);
		return pod;
	}

	/** Runs `bin/plexus` as the runtime does for `pod`. */
	async cni(
		command: string,
		pod: TestPod,
		conf: Record<string, unknown> = this.conf(),
		ifname = 'eth0',
		extraEnv: Record<string, string> = {},
	): Promise<CniRun> {
		// The cluster network gets a per-pod address through the runtime's `ips` capability.
		const runtimeConfig =
			command === 'ADD' || command === 'DEL' || command === 'CHECK'
				? {ips: [`${this.subnet}.${this.#addressOf(pod)}/24`]}
				: undefined;
		const stdin = JSON.stringify(runtimeConfig === undefined ? conf : {...conf, runtimeConfig});
		const run = await execa(PLEXUS, [], {
			input: stdin,
			env: {
				PATH: process.env['PATH'] ?? '/usr/bin:/bin',
				CNI_COMMAND: command,
				CNI_CONTAINERID: pod.containerId,
				CNI_NETNS: pod.netns.path,
				CNI_IFNAME: ifname,
				CNI_ARGS: podCniArgs(pod),
				CNI_PATH: CNI_BIN,
				...extraEnv,
			},
			extendEnv: false,
			reject: false,
		});
		const stdout = String(run.stdout);
		return {
			exitCode: run.exitCode ?? -1,
			stdout,
			stderr: String(run.stderr),
			json: stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>),
		};
	}

	readonly #addresses = new Map<string, number>();

	#addressOf(pod: TestPod): number {
		let address = this.#addresses.get(pod.containerId);
		if (address === undefined) {
			address = this.#next++;
			this.#addresses.set(pod.containerId, address);
		}
		return address;
	}

	/** Installs a recording wrapper for `type` in binDir: every call's verb and stdin go to a log. */
	async recordCalls(type: string): Promise<string> {
		const logFile = join(this.dir, `${type}.calls`);
		const script = `#!/bin/sh\nin=$(cat)\nprintf '%s %s\\n' "$CNI_COMMAND" "$in" >> '${logFile}'\nprintf '%s' "$in" | exec '${CNI_BIN}/${type}'\n`;
		await writeFile(join(this.binDir, type), script, {mode: 0o755});
		return logFile;
	}

	/** The link names in a pod. */
	async links(pod: TestPod): Promise<string[]> {
		return (await ipJson<{ifname: string}[]>(pod.netns, 'link', 'show')).map((l) => l.ifname).sort();
	}

	/** Files left in cniDir (plexus cache and libcni results). */
	async cachedFiles(): Promise<string[]> {
		try {
			return (await readdir(this.cniDir, {recursive: true, withFileTypes: true}))
				.filter((e) => e.isFile())
				.map((e) => join(e.parentPath, e.name).slice(this.cniDir.length + 1))
				.sort();
		} catch {
			return [];
		}
	}

	/** Host veths still attached to the cluster bridge. */
	async clusterBridgePorts(): Promise<string[]> {
		const links = await ipJson<{ifname: string; master?: string}[]>(undefined, 'link', 'show');
		return links.filter((l) => l.master === this.clusterBridge).map((l) => l.ifname);
	}

	async close(): Promise<void> {
		for (const pod of this.pods) await removeNetns(pod.netns);
		await removeLink(this.clusterBridge);
		await removeLink(this.master);
		await this.api.close();
		await rm(this.dir, {recursive: true, force: true});
	}
}

/** A NAD config: macvlan on `master` with a static address, then optional chained plugins. */
export function macvlanNad(
	name: string,
	master: string,
	address: string | undefined,
	extra: Record<string, unknown>[] = [],
	version = '1.0.0',
): string {
	const macvlan: Record<string, unknown> = {type: 'macvlan', master, mode: 'bridge'};
	if (address !== undefined) macvlan['ipam'] = {type: 'static', addresses: [{address}]};
	return JSON.stringify({cniVersion: version, name, plugins: [macvlan, ...extra]});
}
