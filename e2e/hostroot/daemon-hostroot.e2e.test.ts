/**
 * `plexus daemon --chroot-dir`: delegates found on CNI_PATH inside the host root and run chrooted
 * there, the daemon's own socket and caches outside it. The root is a small prepared one
 * (./testing/prepared-root.ts) holding fake-flannel, which exists nowhere else and reads a subnet
 * file that exists only under the root's /run; the daemon runs in its own mount namespace, as in
 * the DaemonSet's container.
 */
import {existsSync} from 'node:fs';
import {readdir} from 'node:fs/promises';
import {join} from 'node:path';
import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest';
import {filesUnder, randomSubnet} from '../helpers/cni.ts';
import {requireShim, runShim} from '../helpers/daemon.ts';
import {createNetns, ipJson, type Netns, randomName, removeLink, removeNetns} from '../helpers/netns.ts';
import {FAKE_FLANNEL} from './testing/fake-flannel.ts';
import {
	type PreparedRoot,
	prepareRoot,
	type RootDaemon,
	removeRoot,
	spawnRootDaemon,
	waitReady,
} from './testing/prepared-root.ts';

let prepared: PreparedRoot | undefined;
let netns: Netns | undefined;
let bridge: string;
const daemons: RootDaemon[] = [];

beforeAll(requireShim);

beforeEach(async () => {
	netns = await createNetns('pxhr');
	bridge = randomName('pxhrbr');
	prepared = await prepareRoot(`${randomSubnet()}.0/24`);
});

afterEach(async () => {
	for (const daemon of daemons.splice(0)) {
		daemon.kill('SIGKILL');
		await daemon;
	}
	if (netns !== undefined) await removeNetns(netns);
	await removeLink(bridge);
	await removeRoot(prepared);
});

/** Starts the daemon on the prepared root's socket, with or without host-root execution. */
async function daemon(p: PreparedRoot, chroot: boolean): Promise<string> {
	const socket = join(p.dir, `plexus-${daemons.length}.sock`);
	const started = spawnRootDaemon(p, socket, [
		'--cni-path=/opt/cni/bin',
		`--cache-dir=${join(p.dir, 'cache')}`,
		...(chroot ? [`--chroot-dir=${p.root}`] : []),
	]);
	daemons.push(started);
	await waitReady(started, socket);
	return socket;
}

/** The Plexus conf: no API server, fake-flannel as the cluster network, caches in the test's dir. */
function conf(p: PreparedRoot) {
	return {
		cniVersion: '1.0.0',
		name: 'plexus-hostroot',
		type: 'plexus',
		kubeconfig: '',
		cniDir: join(p.dir, 'cni'),
		delegates: [
			{
				cniVersion: '1.0.0',
				name: 'flannel-net',
				plugins: [{type: FAKE_FLANNEL, subnetFile: p.subnetFile, bridge, dataDir: '/var/lib/cni/networks'}],
			},
		],
	};
}

/** The shim as the runtime runs it. */
async function shim(command: string, p: PreparedRoot, socket: string, ns: Netns) {
	const run = await runShim(command, conf(p), {
		CNI_CONTAINERID: 'hostroot-ctr',
		CNI_NETNS: ns.path,
		CNI_IFNAME: 'eth0',
		CNI_PATH: '/opt/cni/bin',
		PLEXUS_SOCKET: socket,
	});
	return {exitCode: run.exitCode, stdout: String(run.stdout)};
}

describe('plexus daemon --chroot-dir', () => {
	it('runs a delegate that exists only in the host root, reading a file only there; DEL undoes it', async () => {
		const p = prepared as PreparedRoot;
		const ns = netns as Netns;
		expect(existsSync(join('/opt/cni/bin', FAKE_FLANNEL))).toBe(false);
		expect(existsSync(p.subnetFile)).toBe(false);
		const socket = await daemon(p, true);

		const add = await shim('ADD', p, socket, ns);
		expect(add.exitCode, add.stdout).toBe(0);
		const result = JSON.parse(add.stdout) as {ips: {address: string}[]};
		// host-local allocated from FLANNEL_SUBNET of the root's subnet file.
		const prefix = p.subnet.replace(/\.0\/24$/, '.');
		expect(result.ips[0]?.address).toMatch(new RegExp(`^${prefix.replaceAll('.', '\\.')}\\d+/24$`));
		const addrs = await ipJson<{ifname: string; addr_info: {local: string}[]}[]>(ns, 'addr', 'show', 'eth0');
		expect(`${addrs[0]?.addr_info.find((a) => a.local.startsWith(prefix))?.local}/24`).toBe(
			result.ips[0]?.address,
		);
		// The delegates' files are in the root; the daemon's own cache is outside it.
		const reservations = join(p.root, 'var/lib/cni/networks/flannel-net');
		expect((await readdir(reservations)).filter((f) => f.startsWith(prefix))).toHaveLength(1);
		expect(await filesUnder(join(p.dir, 'cni', 'plexus'))).toEqual([
			'hostroot-ctr-eth0.json',
			'progress/hostroot-ctr-eth0.json',
		]);
		expect(existsSync(join(p.root, p.dir))).toBe(false);

		const del = await shim('DEL', p, socket, ns);
		expect(del).toEqual({exitCode: 0, stdout: ''});
		expect((await ipJson<{ifname: string}[]>(ns, 'link', 'show')).map((l) => l.ifname)).toEqual(['lo']);
		expect((await readdir(reservations)).filter((f) => f.startsWith(prefix))).toEqual([]);
	});

	it('without --chroot-dir the same delegate is not found: it exists only under the root', async () => {
		const p = prepared as PreparedRoot;
		const socket = await daemon(p, false);
		const add = await shim('ADD', p, socket, netns as Netns);
		expect(add.exitCode).toBe(1);
		expect(JSON.parse(add.stdout)).toMatchObject({
			code: 7,
			msg: expect.stringContaining(`failed to find plugin "${FAKE_FLANNEL}" in path [/opt/cni/bin]`),
		});
		expect(add.stdout).not.toContain('under host root');
	});
});
