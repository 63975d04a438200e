/**
 * A small prepared "host root" for host-root e2e tests, and `plexus daemon` started next to it in
 * its own mount namespace, as the DaemonSet's container sees the host at /hostroot: the root has
 * the host's /usr (read-only), /proc, /sys, /dev and /run/netns mounted in, plus its own
 * /opt/cni/bin and /run that exist nowhere else. The mounts are made inside the daemon's private
 * mount namespace (`unshare --mount --propagation slave`), so nothing is mounted on the host and
 * they vanish with the daemon, even when a test fails.
 */
import {mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {execa} from 'execa';
import {probe} from '../../helpers/daemon.ts';
import {randomName} from '../../helpers/netns.ts';
import {buildFakeFlannel, subnetEnv} from './fake-flannel.ts';

const PLEXUS = resolve(import.meta.dirname, '../../../bin/plexus');

/** Mounts the host's pieces into the root ($1) in this (private) mount namespace, then execs the rest. */
const MOUNT_AND_EXEC = `root=$1; shift
mount --bind /usr "$root/usr"
mount -o remount,bind,ro "$root/usr"
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount --rbind /run/netns "$root/run/netns"
exec "$@"`;

export interface PreparedRoot {
	/** The test's scratch directory (the daemon's socket and caches live here, outside the root). */
	readonly dir: string;
	/** The root directory handed to --chroot-dir. */
	readonly root: string;
	/** The subnet file as a process chrooted in the root names it (under /run). */
	readonly subnetFile: string;
	/** The /24 written into it. */
	readonly subnet: string;
}

/** Creates the root: fake-flannel in /opt/cni/bin (bridge, host-local as absolute symlinks into /usr/lib/cni), the subnet file. */
export async function prepareRoot(subnet: string): Promise<PreparedRoot> {
	const dir = await mkdtemp(join(tmpdir(), 'plexus-hostroot-e2e-'));
	const root = join(dir, 'root');
	for (const sub of ['usr', 'proc', 'sys', 'dev', 'run/netns', 'opt/cni/bin', 'var/lib/cni', 'tmp']) {
		await mkdir(join(root, sub), {recursive: true});
	}
	for (const [link, target] of [
		['bin', 'usr/bin'],
		['sbin', 'usr/sbin'],
		['lib', 'usr/lib'],
		['lib64', 'usr/lib64'],
		['var/run', '/run'],
	] as const) {
		await symlink(target, join(root, link));
	}
	await buildFakeFlannel(join(root, 'opt/cni/bin'));
	for (const plugin of ['bridge', 'host-local']) {
		await symlink(`/usr/lib/cni/${plugin}`, join(root, 'opt/cni/bin', plugin));
	}
	const subnetFile = `/run/${randomName('plexus-test-')}/subnet.env`;
	await mkdir(join(root, subnetFile, '..'), {recursive: true});
	await writeFile(join(root, subnetFile), subnetEnv(subnet));
	return {dir, root, subnetFile, subnet};
}

/** Removes the prepared root (the daemon's mount namespace must be gone: stop it first). */
export async function removeRoot(prepared: PreparedRoot | undefined): Promise<void> {
	if (prepared !== undefined) await rm(prepared.dir, {recursive: true, force: true});
}

/** `bin/plexus daemon` in its own mount namespace with the root's mounts (stdout and stderr in `all`). */
export function spawnRootDaemon(prepared: PreparedRoot, socket: string, args: readonly string[]) {
	return execa(
		'unshare',
		[
			'--mount',
			'--propagation',
			'slave',
			'--',
			'sh',
			'-ec',
			MOUNT_AND_EXEC,
			'sh',
			prepared.root,
			PLEXUS,
			'daemon',
			`--socket=${socket}`,
			'--metrics-address=off',
			'--grace-ms=0',
			'--informers=off',
			'--log-level=debug',
			...args,
		],
		{reject: false, all: true, env: {NODE_OPTIONS: ''}},
	);
}

export type RootDaemon = ReturnType<typeof spawnRootDaemon>;

/** Waits until the daemon answers /readyz (bounded; a daemon that exits fails with its output). */
export async function waitReady(daemon: RootDaemon, socket: string): Promise<void> {
	let exited = false;
	void daemon.then(() => {
		exited = true;
	});
	const deadline = Date.now() + 60_000;
	while (!exited && Date.now() < deadline) {
		if ((await probe(socket, '/readyz')) === 200) return;
		await sleep(25);
	}
	daemon.kill('SIGKILL');
	throw new Error(`daemon did not become ready: ${(await daemon).all}`);
}
