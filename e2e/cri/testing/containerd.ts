/**
 * A real containerd (Debian's 1.6 + runc) for e2e tests, started as kubelet's node would run it
 * but owning nothing of the host: its own root, state, socket, CNI conf dir and CNI bin dir in a
 * temp directory (never /etc/cni/net.d or /opt/cni/bin), and a locally built pause image as the
 * sandbox image. `close()` stops every sandbox through CRI, stops containerd, then force-removes
 * whatever is left (containers, shims, mounts, netns bind mounts, the directory), also after a
 * failed test.
 *
 * @example
 * const containerd = await Containerd.start({
 *   cniConfs: {'00-plexus.conflist': conflist},
 *   cniPlugins: {plexus: PLEXUS_BIN, ...debianPlugins('bridge', 'host-local')},
 * });
 * try {
 *   const id = await containerd.cri.runPodSandbox({metadata: {name, namespace, uid}});
 *   const netns = await sandboxNetnsPath(containerd.cri, id);
 * } finally {
 *   await containerd.close();
 * }
 */
import {type ChildProcess, spawn} from 'node:child_process';
import {closeSync, openSync} from 'node:fs';
import {mkdir, mkdtemp, readFile, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {execa} from 'execa';
import {randomName} from '../../helpers/netns.ts';
import {type ContainerdLayout, containerdConfig} from './containerd-config.ts';
import {CriClient, type PodSandboxConfig} from './cri-client.ts';
import {buildPauseImage, PAUSE_IMAGE} from './pause-image.ts';
import {removeCgroups, sweep} from './sweep.ts';

export type {ContainerdLayout} from './containerd-config.ts';

/** Where Debian's containernetworking-plugins installs the reference plugins. */
export const DEBIAN_CNI_DIR = '/usr/lib/cni';

/** `{name: /usr/lib/cni/<name>}` for each name, for `cniPlugins`. */
export function debianPlugins(...names: string[]): Record<string, string> {
	return Object.fromEntries(names.map((name) => [name, join(DEBIAN_CNI_DIR, name)]));
}

export interface ContainerdOptions {
	/**
	 * CNI conf files written into the conf dir before containerd starts: file name → content
	 * (a string as is, anything else as JSON). The CRI plugin uses the lexically first one.
	 */
	cniConfs?: Record<string, unknown> | ((layout: ContainerdLayout) => Record<string, unknown>);
	/**
	 * CNI plugins symlinked into the bin dir: name → executable. `loopback` is always added (containerd
	 * runs it for the sandbox's lo before the conf's network).
	 */
	cniPlugins?: Record<string, string>;
	/** Snapshotter of the CRI plugin; default overlayfs. */
	snapshotter?: string;
	/** Prefix of the temp directory. */
	prefix?: string;
	/** containerd's --log-level; default info. */
	logLevel?: string;
	/**
	 * Extra environment of containerd; CNI plugins inherit it (libcni passes the runtime's
	 * environment plus CNI_*), e.g. `PLEXUS_SHIM_DEL_TIMEOUT_MS` for plexus-shim.
	 */
	env?: Record<string, string>;
	/**
	 * Run containerd (and so its shims and CNI plugins) in this network namespace (a path such as
	 * /var/run/netns/<name>) instead of the test process's: the "host" network of the node.
	 */
	netnsPath?: string;
	/**
	 * Mount sandbox netns in the host's /var/run/netns, where a real node's containerd puts them
	 * (and where a DaemonSet's netns hostPath sees them); default: under the state dir.
	 */
	netnsInHostDir?: boolean;
}

/** How long start() waits for the CRI plugin to answer (containerd 1.6 starts in well under 5 s). */
const START_TIMEOUT_MS = 60_000;
/** Bound of each CRI call made while closing (a stuck CNI DEL must not hang the suite). */
const CLOSE_CALL_DEADLINE_MS = 30_000;
/** How long containerd gets to exit after SIGTERM before SIGKILL. */
const STOP_TIMEOUT_MS = 10_000;

/** A running test containerd. */
export class Containerd {
	/** The temp directory holding everything below. */
	readonly dir: string;
	readonly layout: ContainerdLayout;
	readonly configPath: string;
	/** containerd's stdout and stderr. */
	readonly logFile: string;
	/** A CRI client on this containerd's socket. */
	readonly cri: CriClient;
	/**
	 * The cgroup parent to give sandboxes (`linux.cgroupParent`, see `sandboxConfig`): runc leaves
	 * a sandbox's parent cgroup behind, so this one is per containerd and removed by close().
	 */
	readonly cgroupParent = `/${randomName('plexus-cri-')}`;
	readonly #process: ChildProcess;
	readonly #exit: Promise<void>;
	#exited = false;
	#closed = false;

	private constructor(dir: string, layout: ContainerdLayout, child: ChildProcess) {
		this.dir = dir;
		this.layout = layout;
		this.configPath = join(dir, 'config.toml');
		this.logFile = join(dir, 'containerd.log');
		this.cri = new CriClient(layout.address);
		this.#process = child;
		this.#exit = new Promise((resolve) => {
			const done = () => {
				this.#exited = true;
				resolve();
			};
			if (child.exitCode !== null || child.signalCode !== null) done();
			child.once('exit', done);
			child.once('error', done);
		});
	}

	/** The containerd socket (CRI and containerd's own API). */
	get address(): string {
		return this.layout.address;
	}

	get confDir(): string {
		return this.layout.confDir;
	}

	get binDir(): string {
		return this.layout.binDir;
	}

	/**
	 * Starts containerd in a fresh temp dir, imports the pause image and waits until the CRI plugin
	 * answers (and, when `cniConfs` were given, reports NetworkReady). On failure everything started
	 * is removed again and the error carries containerd's log.
	 */
	static async start(options: ContainerdOptions = {}): Promise<Containerd> {
		const dir = await mkdtemp(join(tmpdir(), options.prefix ?? 'plexus-containerd-'));
		const layout: ContainerdLayout = {
			root: join(dir, 'root'),
			state: join(dir, 'state'),
			address: join(dir, 'containerd.sock'),
			optDir: join(dir, 'opt'),
			runcRoot: join(dir, 'state', 'runc'),
			confDir: join(dir, 'net.d'),
			binDir: join(dir, 'bin'),
			sandboxImage: PAUSE_IMAGE,
			snapshotter: options.snapshotter ?? 'overlayfs',
			netnsInHostDir: options.netnsInHostDir ?? false,
		};
		const sweepOnly = {address: layout.address, runcRoot: layout.runcRoot, state: layout.state, dir};
		let containerd: Containerd | undefined;
		try {
			await prepareDirs(layout, options);
			const configPath = join(dir, 'config.toml');
			await writeFile(configPath, containerdConfig(layout));
			const pauseTar = await buildPauseImage(dir);
			const logFd = openSync(join(dir, 'containerd.log'), 'a');
			const [file, ...prefix] =
				options.netnsPath === undefined
					? ['containerd']
					: ['nsenter', `--net=${options.netnsPath}`, 'containerd'];
			const child = spawn(
				file,
				[
					...prefix,
					'--config',
					configPath,
					'--root',
					layout.root,
					'--state',
					layout.state,
					'--address',
					layout.address,
					'--log-level',
					options.logLevel ?? 'info',
				],
				{stdio: ['ignore', logFd, logFd], env: {...process.env, ...options.env}},
			);
			closeSync(logFd);
			containerd = new Containerd(dir, layout, child);
			await containerd.#waitReady(options.cniConfs !== undefined);
			await containerd.ctr('images', 'import', pauseTar);
			return containerd;
		} catch (error) {
			const log = await readFile(join(dir, 'containerd.log'), 'utf8').catch(() => '');
			if (containerd !== undefined) await containerd.close();
			else await sweep(sweepOnly);
			throw new Error(`failed to start containerd: ${String(error)}\n${tail(log)}`, {cause: error});
		}
	}

	/** Polls CRI Version (and Status' NetworkReady when `network`) until both answer. */
	async #waitReady(network: boolean): Promise<void> {
		const deadline = Date.now() + START_TIMEOUT_MS;
		let last: unknown;
		while (Date.now() < deadline) {
			if (this.#exited) throw new Error('containerd exited during start-up');
			try {
				await this.cri.version();
				if (!network) return;
				const ready = (await this.cri.status()).find((c) => c.type === 'NetworkReady');
				if (ready?.status === true) return;
				last = new Error(`NetworkReady is false: ${ready?.reason ?? ''} ${ready?.message ?? ''}`);
			} catch (error) {
				last = error;
			}
			await sleep(50);
		}
		throw new Error(`containerd not ready after ${START_TIMEOUT_MS} ms: ${String(last)}`);
	}

	/** `config` with this containerd's cgroup parent filled in (what kubelet's pod cgroup is). */
	sandboxConfig(config: PodSandboxConfig): PodSandboxConfig {
		return {
			...config,
			linux: {...config.linux, cgroupParent: config.linux?.cgroupParent ?? this.cgroupParent},
		};
	}

	/** Runs `ctr -n k8s.io --address <socket> <args>` (the CRI plugin's namespace); returns stdout. */
	async ctr(...args: string[]): Promise<string> {
		const {stdout} = await execa('ctr', ['-n', 'k8s.io', '--address', this.layout.address, ...args]);
		return stdout;
	}

	/** Imports an image tar (OCI layout or docker archive) into the CRI plugin's namespace. */
	async importImage(tarPath: string): Promise<void> {
		await this.ctr('images', 'import', tarPath);
	}

	/** Writes (or replaces) a CNI conf file; the CRI plugin reloads the conf dir on change. */
	async writeCniConf(fileName: string, content: unknown): Promise<void> {
		await writeFile(join(this.layout.confDir, fileName), render(content));
	}

	/** containerd's log so far (for failure messages). */
	async log(): Promise<string> {
		return readFile(this.logFile, 'utf8').catch(() => '');
	}

	/**
	 * Stops and removes every sandbox through CRI (CNI DEL runs), stops containerd, then sweeps
	 * containers, shims, mounts and the directory. Safe to call twice and after a failed start.
	 */
	async close(): Promise<void> {
		if (this.#closed) return;
		this.#closed = true;
		if (!this.#exited) {
			const cri = new CriClient(this.layout.address, CLOSE_CALL_DEADLINE_MS);
			try {
				for (const sandbox of await cri.listPodSandbox()) {
					await cri.stopPodSandbox(sandbox.id).catch(() => undefined);
					await cri.removePodSandbox(sandbox.id).catch(() => undefined);
				}
			} catch {
				// containerd not answering: the sweep below does it by force
			} finally {
				cri.close();
			}
		}
		this.cri.close();
		await this.#stop();
		await sweep({
			address: this.layout.address,
			runcRoot: this.layout.runcRoot,
			state: this.layout.state,
			dir: this.dir,
		});
		await removeCgroups(this.cgroupParent);
	}

	/** SIGTERM, then SIGKILL after STOP_TIMEOUT_MS; waits for the exit. */
	async #stop(): Promise<void> {
		if (this.#exited) return;
		this.#process.kill('SIGTERM');
		const timer = setTimeout(() => this.#process.kill('SIGKILL'), STOP_TIMEOUT_MS);
		await this.#exit;
		clearTimeout(timer);
	}
}

const render = (content: unknown) =>
	typeof content === 'string' ? content : `${JSON.stringify(content, null, 2)}\n`;

/** Creates the directories, writes the CNI confs and links the CNI plugins. */
async function prepareDirs(layout: ContainerdLayout, options: ContainerdOptions): Promise<void> {
	for (const path of [layout.root, layout.state, layout.optDir, layout.confDir, layout.binDir]) {
		await mkdir(path, {recursive: true, mode: 0o711});
	}
	const confs = typeof options.cniConfs === 'function' ? options.cniConfs(layout) : options.cniConfs;
	for (const [name, content] of Object.entries(confs ?? {})) {
		await writeFile(join(layout.confDir, name), render(content));
	}
	const plugins = {...debianPlugins('loopback'), ...options.cniPlugins};
	for (const [name, target] of Object.entries(plugins)) await symlink(target, join(layout.binDir, name));
}

/** The last lines of a log, for error messages. */
function tail(log: string, lines = 40): string {
	return log.split('\n').slice(-lines).join('\n');
}
