/**
 * The DaemonSet run for real: the image `npm run image` built, imported into a test containerd,
 * the init container's install step and the daemon started from conf/deploy/daemonset.yaml
 * itself through CRI (host network and PID, privileged, its command, args, env and hostPath
 * mounts, each hostPath relocated to a test-owned directory; the hostroot volume is the host's
 * real /). Then pods through CRI: runtime → plexus-shim on the host → the daemon in its container
 * → delegates chrooted in the host's root. fake-flannel reads a subnet file under the host's /run
 * and portmap writes the host's iptables: both only work there, and the same pod fails, naming
 * the missing file, when the daemon runs without --chroot-dir. SIGTERM (CRI StopContainer) drains:
 * /readyz fails, the ADD in flight finishes, exit code 0.
 */
import {randomBytes, randomUUID} from 'node:crypto';
import {existsSync, readFileSync, statSync} from 'node:fs';
import {copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {execa} from 'execa';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {parseAllDocuments} from 'yaml';
import {parseExposition, value} from '../../src/daemon/testing/exposition.ts';
import {plexusVersion} from '../../src/version/version.ts';
import {filesUnder, randomSubnet} from '../helpers/cni.ts';
import {freePort, probe} from '../helpers/daemon.ts';
import {randomName, removeLink} from '../helpers/netns.ts';
import {buildFakeFlannel, FAKE_FLANNEL, subnetEnv} from '../hostroot/testing/fake-flannel.ts';
import {Containerd, DEBIAN_CNI_DIR} from './testing/containerd.ts';
import {type ContainerStatus, type PodSandboxConfig, sandboxNetnsPath} from './testing/cri-client.ts';
import {
	CONFIGMAP_MANIFEST,
	daemonSetContainer,
	daemonSetSandbox,
	ensureRootShared,
	loadDaemonSetPod,
	loadedCniNetworks,
	type ManifestContainer,
	type ManifestPod,
	manifestContainer,
} from './testing/daemonset.ts';

const REPO = resolve(import.meta.dirname, '../..');
const UNINSTALL_MANIFEST = join(REPO, 'conf/deploy/uninstall.yaml');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {version: string}).version;
const ARCHIVE = join(REPO, `.image/plexus-${VERSION}.oci.tar`);
const CRI_PROTO = join(import.meta.dirname, 'testing/cri.proto');
const NODE_NAME = 'plexus-e2e-node';
const NETWORK = 'fake-flannel-net';
/** Bound of each wait below (start-up of a container, a CNI call): not a timing assertion. */
const WAIT_MS = 60_000;

const pod: ManifestPod = loadDaemonSetPod();
let containerd: Containerd | undefined;
let dir: string;
let subnetDir: string;
let subnet: string;
let bridge: string;
let hostPort: number;
let metricsPort: number;
let undoShared: (() => Promise<void>) | undefined;
let daemonSandbox: {id: string; config: PodSandboxConfig} | undefined;
let attempt = 0;
/** The daemon container running now, if any. */
let running: {id: string; logPath: string; chroot: boolean} | undefined;

/**
 * Each hostPath of the manifest in the test: CNI dirs are containerd's; `/` and the netns dirs stay
 * the host's (this containerd mounts sandbox netns in /var/run/netns, as a real node's does).
 */
function hostPath(path: string): string {
	const c = containerd as Containerd;
	if (path === '/etc/cni/net.d') return c.confDir;
	if (path === '/opt/cni/bin') return c.binDir;
	if (path === '/' || path === '/run/netns' || path === '/var/run/netns') return path;
	return join(dir, 'host', path);
}

/** The daemon's socket as the host (and the shim) sees it. */
const hostSocket = () => {
	const daemon = manifestContainer(pod, 'daemon');
	const socket = (daemon.args ?? []).find((a) => a.startsWith('--socket='))?.slice('--socket='.length);
	if (socket === undefined) throw new Error('the daemon has no --socket argument');
	return join(hostPath(socket.replace(/\/[^/]*$/, '')), socket.replace(/^.*\//, ''));
};

/** The cluster network: fake-flannel (bridge + host-local on the subnet file's range), then portmap. */
function clusterNetwork() {
	return {
		cniVersion: '1.0.0',
		name: NETWORK,
		plugins: [
			{
				type: FAKE_FLANNEL,
				subnetFile: join(subnetDir, 'subnet.env'),
				bridge,
				dataDir: join(dir, 'networks'),
				holdFile: join(dir, 'hold'),
			},
			{type: 'portmap', capabilities: {portMappings: true}, snat: false},
		],
	};
}

/**
 * A cluster network that needs no netns before portmap: `static` answers the address, portmap
 * then needs only iptables (the host's through the chroot; the image has none).
 */
function staticThenPortmap(address: string) {
	return {
		cniVersion: '1.0.0',
		name: NETWORK,
		plugins: [
			{type: 'static', ipam: {type: 'static', addresses: [{address}]}},
			{type: 'portmap', capabilities: {portMappings: true}, snat: false},
		],
	};
}

/** Polls `condition` until it holds; fails after WAIT_MS naming what it waited for. */
async function until(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
	const deadline = Date.now() + WAIT_MS;
	while (!(await condition())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await sleep(20);
	}
}

/** Polls a container until it exited (bounded). */
async function waitExited(id: string): Promise<ContainerStatus> {
	const deadline = Date.now() + WAIT_MS;
	for (;;) {
		const {status} = await (containerd as Containerd).cri.containerStatus(id);
		if (status.state === 'CONTAINER_EXITED' || Date.now() > deadline) return status;
		await sleep(50);
	}
}

/** A container's log (CRI log format) for failure messages. */
const containerLog = (logPath: string) => readFile(join(dir, 'logs', logPath), 'utf8').catch(() => '');

/**
 * Runs init container `name` of `manifest` (its command, args and mounts) to completion in the
 * daemon's sandbox; resolves its exit status and log.
 */
async function runToCompletion(
	manifest: ManifestPod,
	name: string,
): Promise<{status: ContainerStatus; log: string}> {
	const c = containerd as Containerd;
	const s = daemonSandbox as {id: string; config: PodSandboxConfig};
	const logPath = `${name}-${attempt}.log`;
	const config = await daemonSetContainer(manifest, manifestContainer(manifest, name), {
		hostPaths: hostPath,
		nodeName: NODE_NAME,
		logPath,
	});
	config.metadata.attempt = attempt++;
	const id = await c.cri.createContainer(s.id, config, s.config);
	await c.cri.startContainer(id);
	const status = await waitExited(id);
	await c.cri.removeContainer(id);
	return {status, log: await containerLog(logPath)};
}

/** Runs the DaemonSet's install init container; fails with its log unless it exits 0. */
async function runInstall(): Promise<ContainerStatus> {
	const {status, log} = await runToCompletion(pod, 'install');
	if (status.exitCode !== 0) throw new Error(`install failed: ${log}`);
	return status;
}

/**
 * Starts the daemon container with the manifest's args; without `chroot`, minus --chroot-dir.
 * The metrics port is a free loopback one instead of the node's :9091 (not the test's to take).
 */
async function startDaemon(chroot: boolean): Promise<{id: string; logPath: string}> {
	const c = containerd as Containerd;
	const s = daemonSandbox as {id: string; config: PodSandboxConfig};
	const daemon = manifestContainer(pod, 'daemon');
	const args = (daemon.args ?? [])
		.filter((a) => chroot || !a.startsWith('--chroot-dir='))
		.map((a) => (a.startsWith('--metrics-address=') ? `--metrics-address=127.0.0.1:${metricsPort}` : a));
	const logPath = `daemon-${attempt}.log`;
	const config = await daemonSetContainer(pod, daemon, {
		hostPaths: hostPath,
		nodeName: NODE_NAME,
		logPath,
		args,
	});
	config.metadata.attempt = attempt++;
	const id = await c.cri.createContainer(s.id, config, s.config);
	await c.cri.startContainer(id);
	const deadline = Date.now() + WAIT_MS;
	while ((await probe(hostSocket(), '/readyz')) !== 200) {
		const {status} = await c.cri.containerStatus(id);
		if (status.state === 'CONTAINER_EXITED' || Date.now() > deadline) {
			throw new Error(`daemon not ready (${status.state}): ${await containerLog(logPath)}`);
		}
		await sleep(50);
	}
	running = {id, logPath, chroot};
	return {id, logPath};
}

/** Stops a daemon container as kubelet does (SIGTERM, then SIGKILL after the grace period). */
async function stopDaemon(id: string): Promise<ContainerStatus> {
	const c = containerd as Containerd;
	if (running?.id === id) running = undefined;
	await c.cri.stopContainer(id, pod.terminationGracePeriodSeconds ?? 30);
	const status = await waitExited(id);
	await c.cri.removeContainer(id);
	return status;
}

/** A workload pod's sandbox config with a hostPort on the cluster network. */
function workload(name: string): PodSandboxConfig {
	return (containerd as Containerd).sandboxConfig({
		metadata: {name, namespace: 'default', uid: randomUUID()},
		portMappings: [{protocol: 'TCP', containerPort: 8080, hostPort}],
	});
}

/** The host's nat rules that mention our hostPort (portmap's jump and its per-pod DNAT chain). */
async function hostPortRules(): Promise<string[]> {
	const {stdout} = await execa('iptables', ['-w', '-t', 'nat', '-S']);
	return stdout
		.split('\n')
		.filter((line) => line.includes(`--dport ${hostPort} `) || line.includes(`--dports ${hostPort} `));
}

/** host-local's reservations in the test's data dir. */
async function reservations(): Promise<string[]> {
	const files = await readdir(join(dir, 'networks', NETWORK)).catch(() => [] as string[]);
	return files.filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f));
}

/** Plexus' own cache files in the daemon's (relocated) cniDir: records and their progress journals. */
async function plexusCache(): Promise<string[]> {
	return filesUnder(join(hostPath('/var/lib/cni'), 'multus', 'plexus'));
}

/** Removes portmap's rules for our hostPort that a failed test left (best effort). */
async function sweepHostPortRules(): Promise<void> {
	const chains = new Set<string>();
	for (const rule of await hostPortRules()) {
		const chain = /^-A (CNI-DN-\S+)/.exec(rule)?.[1] ?? /-j (CNI-DN-\S+)/.exec(rule)?.[1];
		if (chain !== undefined) chains.add(chain);
		// The jump rule: delete it by its exact spec (iptables-restore syntax, comment quoted).
		if (!rule.startsWith('-A CNI-DN-')) {
			await execa('sh', ['-c', `iptables -w -t nat ${rule.replace(/^-A /, '-D ')}`], {reject: false});
		}
	}
	for (const chain of chains) {
		await execa('iptables', ['-w', '-t', 'nat', '-F', chain], {reject: false});
		await execa('iptables', ['-w', '-t', 'nat', '-X', chain], {reject: false});
	}
}

/**
 * Deletes the workload pods through a daemon with host-root execution before containerd closes
 * (closing first would stop the daemon's own sandbox, and the pods' DEL would find no daemon).
 */
async function deleteWorkloads(): Promise<void> {
	const c = containerd as Containerd;
	if (running !== undefined && !running.chroot) {
		await stopDaemon(running.id).catch(() => undefined);
		running = undefined;
	}
	if (running === undefined) running = {...(await startDaemon(true)), chroot: true};
	for (const sandbox of await c.cri.listPodSandbox()) {
		if (sandbox.id === daemonSandbox?.id) continue;
		await c.cri.stopPodSandbox(sandbox.id);
		await c.cri.removePodSandbox(sandbox.id);
	}
}

beforeAll(async () => {
	// The image, as `npm test` builds it before the e2e project (reused when nothing changed).
	const image = await execa('bash', [join(REPO, 'scripts/image')], {all: true});
	process.stderr.write(
		`${image.all}\nplexus image ${ARCHIVE}: ${(statSync(ARCHIVE).size / 2 ** 20).toFixed(1)} MiB\n`,
	);
	dir = await mkdtemp(join(tmpdir(), 'plexus-daemonset-'));
	await mkdir(join(dir, 'logs'));
	subnetDir = `/run/plexus-e2e-${randomBytes(8).toString('hex')}`;
	subnet = `${randomSubnet()}.0/24`;
	bridge = randomName('pxdsbr');
	hostPort = 20_000 + Math.floor(Math.random() * 20_000);
	metricsPort = await freePort();
	await mkdir(subnetDir);
	await writeFile(join(subnetDir, 'subnet.env'), subnetEnv(subnet));
	await buildFakeFlannel(join(dir, 'plugins'));
	undoShared = await ensureRootShared();
	containerd = await Containerd.start({
		cniConfs: {'10-flannel.conflist': clusterNetwork()},
		netnsInHostDir: true,
	});
	// Real files, not symlinks into /usr/lib/cni: in the daemon's container (no chroot) they are found too.
	await copyFile(join(dir, 'plugins', FAKE_FLANNEL), join(containerd.binDir, FAKE_FLANNEL));
	for (const plugin of ['bridge', 'host-local', 'portmap', 'static']) {
		await copyFile(join(DEBIAN_CNI_DIR, plugin), join(containerd.binDir, plugin));
	}
	await execa('chmod', [
		'755',
		...(await readdir(containerd.binDir)).map((f) => join(containerd?.binDir ?? '', f)),
	]);
	await containerd.importImage(ARCHIVE);
	const sandbox = daemonSetSandbox(
		pod,
		{name: `plexus-${randomName('')}`, namespace: 'kube-system', uid: randomUUID()},
		join(dir, 'logs'),
	);
	const config = containerd.sandboxConfig(sandbox);
	daemonSandbox = {id: await containerd.cri.runPodSandbox(config), config};
}, 300_000);

afterAll(async () => {
	if (containerd !== undefined && daemonSandbox !== undefined) await deleteWorkloads().catch(() => undefined);
	await containerd?.close();
	await sweepHostPortRules();
	await removeLink(bridge);
	await rm(subnetDir, {recursive: true, force: true});
	await rm(dir, {recursive: true, force: true});
	await undoShared?.();
}, 300_000);

describe('the DaemonSet under containerd', () => {
	it('imports the image the manifest names', async () => {
		const images = await (containerd as Containerd).ctr('images', 'ls', '-q');
		for (const c of [...pod.initContainers, ...pod.containers]) {
			expect(images.split('\n')).toContain(c.image);
		}
	});

	it('installs plexus-shim and 00-plexus.conflist with the init container', async () => {
		const c = containerd as Containerd;
		await runInstall();
		expect(await readdir(c.binDir)).toContain('plexus-shim');
		// The installed conf names the socket dir as the container sees it; the shim runs on the host,
		// where that hostPath lives in the test's directory.
		const confPath = join(c.confDir, '00-plexus.conflist');
		const installed = JSON.parse(await readFile(confPath, 'utf8')) as {
			name: string;
			plugins: Record<string, unknown>[];
		};
		const shimConf = installed.plugins[0] as Record<string, unknown>;
		expect(shimConf).toMatchObject({
			type: 'plexus-shim',
			clusterNetwork: '/etc/cni/net.d/10-flannel.conflist',
		});
		// The plexus-conf ConfigMap (a configMap volume of the init container) is rendered into it.
		const [configMap] = parseAllDocuments(readFileSync(CONFIGMAP_MANIFEST, 'utf8')).map(
			(doc) => doc.toJS() as {data: Record<string, string>},
		);
		expect(shimConf).toMatchObject(JSON.parse(configMap?.data['plexus.json'] ?? 'null') as object);
		shimConf['daemonSocketDir'] = hostPath(String(shimConf['daemonSocketDir']));
		await writeFile(confPath, JSON.stringify(installed));
		await until(
			async () => (await loadedCniNetworks(c.address, CRI_PROTO)).includes(installed.name),
			`containerd to load ${confPath}`,
		);
	});

	it('adds a pod through the containerized daemon, delegates in the host root; DEL leaves nothing', async () => {
		const c = containerd as Containerd;
		await startDaemon(true);
		const a = await c.cri.runPodSandbox(workload('web-a'));
		// fake-flannel read the subnet file under the host's /run: host-local allocated from it.
		const ip = (await c.cri.podSandboxStatus(a)).status.network?.ip ?? '';
		expect(`${ip}/24`.replace(/\.\d+\/24$/, '.0/24')).toBe(subnet);
		const netns = await sandboxNetnsPath(c.cri, a);
		const {stdout} = await execa('nsenter', [`--net=${netns}`, 'ip', '-json', 'addr', 'show', 'eth0']);
		const addrs = (JSON.parse(stdout) as {addr_info: {local: string}[]}[])[0]?.addr_info ?? [];
		expect(addrs.map((x) => x.local)).toContain(ip);
		// portmap ran the host's iptables: the hostPort's DNAT to the pod.
		expect((await hostPortRules()).join('\n')).toContain(`--to-destination ${ip}:8080`);
		expect(await reservations()).toEqual([ip]);
		// The daemon's own cache is in its container's (relocated) /var/lib/cni, not the host root's.
		expect(await plexusCache()).toEqual([`${a}-eth0.json`, `progress/${a}-eth0.json`]);

		await c.cri.stopPodSandbox(a);
		await c.cri.removePodSandbox(a);
		expect(await hostPortRules()).toEqual([]);
		expect(await reservations()).toEqual([]);
		expect(await plexusCache()).toEqual([]);
	});

	it("answers the manifest's readiness and liveness probes and serves metrics on the loopback listener", async () => {
		const daemon = manifestContainer(pod, 'daemon') as ManifestContainer & {
			readinessProbe: {httpGet: {host: string; path: string; port: string}};
			livenessProbe: {httpGet: {host: string; path: string; port: string}};
		};
		// As kubelet probes a hostNetwork pod: the probe's host, the named port (relocated here).
		for (const probe of [daemon.readinessProbe, daemon.livenessProbe]) {
			const {host, path} = probe.httpGet;
			expect(host).toBe('127.0.0.1');
			expect((await fetch(`http://${host}:${metricsPort}${path}`)).status).toBe(200);
		}
		const metrics = parseExposition(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
		expect(value(metrics, 'plexus_build_info', {version: plexusVersion()})).toBe(1);
		expect(
			value(metrics, 'plexus_cni_request_duration_seconds_count', {verb: 'ADD', result: 'success'}),
		).toBe(1);
	});

	it('drains on SIGTERM (StopContainer): /readyz fails, the ADD in flight finishes, exit code 0', async () => {
		const c = containerd as Containerd;
		const daemon = running as {id: string; logPath: string};
		const hold = join(dir, 'hold');
		await writeFile(hold, '');
		const addB = c.cri.runPodSandbox(workload('web-b'));
		await until(() => existsSync(`${hold}.started`), 'fake-flannel to hold the ADD');
		const stopped = stopDaemon(daemon.id);
		let readyz = 200;
		await until(async () => {
			readyz = await probe(hostSocket(), '/readyz');
			return readyz !== 200;
		}, '/readyz to change after SIGTERM');
		expect(readyz).toBe(500);
		await rm(hold);
		const b = await addB;
		expect((await c.cri.podSandboxStatus(b)).status.network?.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
		const exited = await stopped;
		expect({state: exited.state, exitCode: exited.exitCode}).toEqual({
			state: 'CONTAINER_EXITED',
			exitCode: 0,
		});
		expect(await containerLog(daemon.logPath)).toContain('plexus daemon received signal');
	});

	it('without --chroot-dir the same delegates fail: no subnet file and no iptables in the container', async () => {
		const c = containerd as Containerd;
		const daemon = await startDaemon(false);
		const failed = await c.cri.runPodSandbox(workload('web-c')).then(
			() => new Error('ADD succeeded without --chroot-dir'),
			(error: Error) => error,
		);
		process.stderr.write(`without --chroot-dir, fake-flannel: ${failed.message}\n`);
		expect(failed.message).toContain(
			`failed to load flannel 'subnet.env' file: open ${join(subnetDir, 'subnet.env')}: No such file or directory`,
		);
		// portmap, reached after a plugin that works anywhere, finds no iptables in the image.
		const clusterFile = join(c.confDir, '10-flannel.conflist');
		const staticAddress = `${subnet.replace(/\.0\/24$/, '.200')}/24`;
		await writeFile(clusterFile, JSON.stringify(staticThenPortmap(staticAddress)));
		const noIptables = await c.cri.runPodSandbox(workload('web-d')).then(
			() => new Error('ADD succeeded without --chroot-dir'),
			(error: Error) => error,
		);
		process.stderr.write(`without --chroot-dir, portmap: ${noIptables.message}\n`);
		expect(noIptables.message).toMatch(/portmap.*"iptables": executable file not found in \$PATH/s);
		expect((await stopDaemon(daemon.id)).exitCode).toBe(0);

		// The same conf with host-root execution: portmap writes the host's DNAT rule.
		await startDaemon(true);
		const e = await c.cri.runPodSandbox(workload('web-e'));
		const staticIp = staticAddress.replace(/\/24$/, '');
		expect((await c.cri.podSandboxStatus(e)).status.network?.ip).toBe(staticIp);
		expect((await hostPortRules()).join('\n')).toContain(`--to-destination ${staticIp}:8080`);
		await writeFile(clusterFile, JSON.stringify(clusterNetwork()));
	});

	it('deletes every pod, the failed ones included, once host-root execution is back', async () => {
		const daemon = running as {id: string; chroot: boolean};
		expect(daemon.chroot).toBe(true);
		await deleteWorkloads();
		expect(await hostPortRules()).toEqual([]);
		expect(await reservations()).toEqual([]);
		expect(await plexusCache()).toEqual([]);
		expect((await stopDaemon(daemon.id)).exitCode).toBe(0);
	});

	it("the way back: uninstall.yaml's init container removes what the install put on the node", async () => {
		const c = containerd as Containerd;
		const {status, log} = await runToCompletion(loadDaemonSetPod(UNINSTALL_MANIFEST), 'uninstall');
		expect(status.exitCode, log).toBe(0);
		expect(log).toContain('plexus: restored');
		expect((await readdir(c.confDir)).sort()).toEqual(['10-flannel.conflist']);
		expect(await readdir(c.binDir)).not.toContain('plexus-shim');
	});
});
