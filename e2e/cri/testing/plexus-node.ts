/**
 * A Kubernetes node in one test file, minus kubelet: its own network namespace (./node-netns.ts)
 * as the node's host network, the test API server (pods and NADs, reachable from the node at the
 * same 127.0.0.1 address), a real containerd whose first CNI conf is Plexus's, the cluster network as the next conf (bridge +
 * host-local + portmap on a test-owned bridge and subnet), host bridges for the NADs, and in daemon
 * mode `bin/plexus daemon` as a host process with `plexus-shim` in the runtime's bin dir. The CNI
 * entry (`plexus` or `plexus-shim`) is a recorder (./cni-recorder.ts) in front of the real binary.
 *
 * Tests drive it as kubelet does: a Pod object in the API server, then RunPodSandbox with the
 * same name, namespace and uid, then StopPodSandbox/RemovePodSandbox.
 */
import {randomInt} from 'node:crypto';
import {mkdir, mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {execa} from 'execa';
import {probe, requireShim, SHIM} from '../../helpers/daemon.ts';
import {randomName} from '../../helpers/netns.ts';
import {TestApiServer} from '../../kube/apiserver.ts';
import {installRecorder, type RecordedCall, readCalls} from './cni-recorder.ts';
import {Containerd, type ContainerdLayout, debianPlugins} from './containerd.ts';
import type {PodSandboxConfig, PortMapping} from './cri-client.ts';
import {NodeNetns} from './node-netns.ts';

/** How Plexus runs behind the runtime. */
export type PlexusMode = 'one-shot' | 'daemon';

export const PLEXUS_BIN = fileURLToPath(new URL('../../../bin/plexus', import.meta.url));

/** The Debian plugins the node's networks use. */
const DELEGATES = ['bridge', 'host-local', 'portmap', 'macvlan', 'static'];

/** plexus-shim's DEL retry bound while the daemon is unreachable (its default is 10 s). */
const SHIM_DEL_TIMEOUT_MS = 1500;
/** How long the daemon gets to answer /readyz after start. */
const DAEMON_START_TIMEOUT_MS = 60_000;

/** The name of the network Plexus's conf declares (what the runtime caches results under). */
export const PLEXUS_NETWORK = 'plexus-cni-network';
/** The cluster network's name (its conflist is the second conf of the runtime's conf dir). */
export const CLUSTER_NETWORK = 'cluster-net';

/** `bin/plexus daemon` in the node's netns on `socketPath`, logging to `logFile` (the real binary, not a test fixture). */
function spawnPlexusDaemon(netns: NodeNetns, socketPath: string, logFile: string) {
	const args = ['daemon', '--socket', socketPath, '--metrics-address', 'off', '--grace-ms', '0'];
	const [nsenter, net] = netns.enter;
	return execa(nsenter, [net, PLEXUS_BIN, ...args, '--log-level', 'debug', '--log-file', logFile], {
		reject: false,
		stdin: 'ignore',
		stdout: 'ignore',
		stderr: 'ignore',
	});
}

type DaemonProcess = ReturnType<typeof spawnPlexusDaemon>;

/** A pod as both the API server and the runtime know it. */
export interface NodePod {
	name: string;
	namespace: string;
	uid: string;
}

export class PlexusNode {
	readonly mode: PlexusMode;
	readonly api: TestApiServer;
	readonly dir: string;
	/** Plexus's cache dir (`cniDir`): its attachment cache and its delegates' libcni results. */
	readonly cniDir: string;
	/** host-local's dataDir of the cluster network. */
	readonly hostLocalDir: string;
	/** Where the recorder saves each CNI call of the runtime. */
	readonly callsDir: string;
	readonly socketPath: string;
	readonly clusterBridge = randomName('pxcc');
	/** The macvlan master of seed 001's NADs (`br-ex` in the seed). */
	readonly master = randomName('pxcm');
	/** The bridge of the bridge + static NAD. */
	readonly staticBridge = randomName('pxcs');
	/** First three octets of the cluster network's /24. */
	readonly subnet = `10.${randomInt(100, 250)}.${randomInt(0, 256)}`;
	/** First three octets of the bridge + static NAD's /24 (10.99 is outside the cluster range). */
	readonly staticSubnet = `10.99.${randomInt(0, 256)}`;
	#containerd: Containerd | undefined;
	#netns: NodeNetns | undefined;
	#daemon: DaemonProcess | undefined;
	#kubeconfig = '';

	private constructor(mode: PlexusMode, api: TestApiServer, dir: string) {
		this.mode = mode;
		this.api = api;
		this.dir = dir;
		this.cniDir = join(dir, 'plexus-cache');
		this.hostLocalDir = join(dir, 'host-local');
		this.callsDir = join(dir, 'calls');
		this.socketPath = join(dir, 'run', 'plexus.sock');
	}

	/** The node's network namespace: bridges, host-side veths and iptables rules live there. */
	get netns(): NodeNetns {
		if (this.#netns === undefined) throw new Error('the node has no netns');
		return this.#netns;
	}

	get containerd(): Containerd {
		if (this.#containerd === undefined) throw new Error('the node has no containerd');
		return this.#containerd;
	}

	/** The CNI entry the runtime execs: `plexus` or `plexus-shim`. */
	get pluginType(): string {
		return this.mode === 'daemon' ? 'plexus-shim' : 'plexus';
	}

	/** Starts everything; on failure removes what was started and rethrows. */
	static async start(mode: PlexusMode): Promise<PlexusNode> {
		const api = await TestApiServer.start();
		const node = new PlexusNode(mode, api, await mkdtemp(join(tmpdir(), 'plexus-cri-node-')));
		try {
			await node.#setUp();
			return node;
		} catch (error) {
			await node.close();
			throw error;
		}
	}

	async #setUp(): Promise<void> {
		for (const path of [this.cniDir, this.hostLocalDir, this.callsDir, join(this.dir, 'net.d')]) {
			await mkdir(path, {recursive: true});
		}
		this.#kubeconfig = await this.api.writeKubeconfig(this.dir);
		this.#netns = await NodeNetns.create(this.dir);
		await this.netns.forwardLoopback(this.api.port);
		for (const bridge of [this.master, this.staticBridge]) {
			await this.netns.run('ip', ['link', 'add', bridge, 'type', 'bridge']);
			await this.netns.run('ip', ['link', 'set', bridge, 'up']);
		}
		if (this.mode === 'daemon') {
			requireShim();
			await this.startDaemon();
		}
		this.#containerd = await Containerd.start({
			prefix: 'plexus-cri-containerd-',
			cniConfs: (layout) => ({
				'00-plexus.conflist': this.plexusConflist(layout),
				'10-cluster.conflist': this.clusterConflist(),
			}),
			cniPlugins: debianPlugins(...DELEGATES),
			env: {PLEXUS_SHIM_DEL_TIMEOUT_MS: String(SHIM_DEL_TIMEOUT_MS)},
			netnsPath: this.netns.path,
		});
		const target = this.mode === 'daemon' ? SHIM : PLEXUS_BIN;
		await installRecorder(this.containerd.binDir, this.pluginType, target, this.callsDir);
	}

	/** The cluster network: bridge + host-local + portmap, as a flannel-less node would have it. */
	clusterConflist(): Record<string, unknown> {
		return {
			cniVersion: '1.0.0',
			name: CLUSTER_NETWORK,
			plugins: [
				{
					type: 'bridge',
					bridge: this.clusterBridge,
					isGateway: true,
					ipam: {
						type: 'host-local',
						dataDir: this.hostLocalDir,
						ranges: [[{subnet: `${this.subnet}.0/24`, gateway: `${this.subnet}.1`}]],
						routes: [{dst: '0.0.0.0/0'}],
					},
				},
				{type: 'portmap', capabilities: {portMappings: true}},
			],
		};
	}

	/** Plexus's conflist, as `plexus install` writes it (plus the test's own paths). */
	plexusConflist(layout: ContainerdLayout): Record<string, unknown> {
		return {
			cniVersion: '1.0.0',
			name: PLEXUS_NETWORK,
			plugins: [
				{
					type: this.pluginType,
					capabilities: {portMappings: true},
					...(this.mode === 'daemon' ? {daemonSocketDir: join(this.dir, 'run')} : {}),
					clusterNetwork: join(layout.confDir, '10-cluster.conflist'),
					kubeconfig: this.#kubeconfig,
					confDir: join(this.dir, 'net.d'),
					cniDir: this.cniDir,
					binDir: layout.binDir,
					logFile: join(this.dir, 'plexus.log'),
					logLevel: 'debug',
					apiTimeoutMs: 4000,
				},
			],
		};
	}

	/** Starts `bin/plexus daemon` on the node's socket and waits for /readyz. */
	async startDaemon(): Promise<void> {
		if (this.#daemon !== undefined) throw new Error('the daemon is already running');
		const child = spawnPlexusDaemon(this.netns, this.socketPath, join(this.dir, 'daemon.log'));
		this.#daemon = child;
		let exited = false;
		void child.then(() => {
			exited = true;
		});
		const deadline = Date.now() + DAEMON_START_TIMEOUT_MS;
		while (!exited && Date.now() < deadline) {
			if ((await probe(this.socketPath, '/readyz')) === 200) return;
			await new Promise((resolve) => setTimeout(resolve, 25));
		}
		await this.stopDaemon();
		throw new Error(`plexus daemon did not become ready (see ${join(this.dir, 'daemon.log')})`);
	}

	/** Kills the daemon (SIGKILL: the node's daemon crashed or is being replaced) and waits. */
	async stopDaemon(): Promise<void> {
		const child = this.#daemon;
		this.#daemon = undefined;
		if (child === undefined) return;
		child.kill('SIGKILL');
		await child;
	}

	/** Creates the Pod object (annotations as given); the API server assigns its uid. */
	createPod(name: string, namespace: string, annotations: Record<string, string> = {}): NodePod {
		const created = this.api.createPod({metadata: {name, namespace, annotations}});
		return {name, namespace, uid: created.metadata.uid};
	}

	/** The RunPodSandbox config kubelet would send for `pod`. */
	sandboxConfig(pod: NodePod, portMappings: PortMapping[] = []): PodSandboxConfig {
		return this.containerd.sandboxConfig({
			metadata: {name: pod.name, namespace: pod.namespace, uid: pod.uid, attempt: 0},
			hostname: pod.name,
			portMappings,
			labels: {'io.kubernetes.pod.name': pod.name, 'io.kubernetes.pod.namespace': pod.namespace},
		});
	}

	/** RunPodSandbox for `pod`; returns the sandbox ID. */
	runPod(pod: NodePod, portMappings: PortMapping[] = []): Promise<string> {
		return this.containerd.cri.runPodSandbox(this.sandboxConfig(pod, portMappings));
	}

	/** The CNI calls the runtime made for one sandbox (through the recorder). */
	calls(sandboxId: string): Promise<RecordedCall[]> {
		return readCalls(this.callsDir, sandboxId);
	}

	/** The CNI calls the runtime made for the pod with `uid` (also when RunPodSandbox failed). */
	async podCalls(uid: string): Promise<RecordedCall[]> {
		return (await readCalls(this.callsDir)).filter((c) => c.args.split(';').includes(`K8S_POD_UID=${uid}`));
	}

	/**
	 * Stops containerd (and its sandboxes), the daemon and the API server; deletes the node netns
	 * (its bridges and iptables rules with it) and the directory.
	 */
	async close(): Promise<void> {
		const steps = [
			() => this.#containerd?.close(),
			() => this.stopDaemon(),
			() => this.#netns?.close(),
			() => this.api.close(),
			() => rm(this.dir, {recursive: true, force: true}),
		];
		const errors: unknown[] = [];
		for (const step of steps) await Promise.resolve(step()).catch((error: unknown) => errors.push(error));
		if (errors.length > 0) throw new AggregateError(errors, 'failed to close the test node');
	}
}
