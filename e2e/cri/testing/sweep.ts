/**
 * Forced cleanup of what a test containerd can leave behind when a test failed or containerd was
 * killed: containers in its runc root, its shim processes (found by the containerd address on
 * their command line, killed by pid), the shims' sockets under /run/containerd/s, and every mount
 * under its directory (overlay rootfs, netns bind mounts, shm). containerd itself never stops
 * shims or containers on exit (live restore), so this runs after every test containerd.
 */
import {readdir, readFile, rm, rmdir} from 'node:fs/promises';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {execa} from 'execa';

/** What to sweep: the containerd's socket, runc root (per namespace under it) and its own directory. */
export interface SweepTarget {
	readonly address: string;
	readonly runcRoot: string;
	readonly state: string;
	readonly dir: string;
}

/** How long a killed process may take to disappear before the sweep gives up on it. */
const PROCESS_EXIT_TIMEOUT_MS = 10_000;

/** Kills and deletes every container runc still knows under `runcRoot/<namespace>`. */
async function sweepContainers(runcRoot: string): Promise<void> {
	let namespaces: string[];
	try {
		namespaces = await readdir(runcRoot);
	} catch {
		return;
	}
	for (const namespace of namespaces) {
		const root = join(runcRoot, namespace);
		const list = await execa('runc', ['--root', root, 'list', '--format', 'json'], {reject: false});
		const containers = JSON.parse(list.stdout.trim() === '' ? 'null' : list.stdout) as {id: string}[] | null;
		for (const {id} of containers ?? []) {
			await execa('runc', ['--root', root, 'kill', id, 'KILL'], {reject: false});
			await execa('runc', ['--root', root, 'delete', '--force', id], {reject: false});
		}
	}
}

/** The pids of processes whose command line has `-address <address>` (the shims of one containerd). */
export async function shimPids(address: string): Promise<number[]> {
	const pids: number[] = [];
	for (const entry of await readdir('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		let argv: string[];
		try {
			argv = (await readFile(`/proc/${entry}/cmdline`, 'utf8')).split('\0');
		} catch {
			continue;
		}
		const at = argv.indexOf('-address');
		if (at >= 0 && argv[at + 1] === address && argv.some((a) => a.includes('containerd-shim'))) {
			pids.push(Number(entry));
		}
	}
	return pids;
}

const alive = (pid: number) => {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
};

/** SIGKILLs `pids` and waits until they are gone. */
export async function killAndWait(pids: readonly number[]): Promise<void> {
	for (const pid of pids) {
		try {
			process.kill(pid, 'SIGKILL');
		} catch {
			// already gone
		}
	}
	const deadline = Date.now() + PROCESS_EXIT_TIMEOUT_MS;
	while (pids.some(alive) && Date.now() < deadline) await sleep(20);
}

/** The shim sockets recorded in the task bundles (`<state>/io.containerd.runtime.v2.task/<ns>/<id>/address`). */
async function shimSockets(state: string): Promise<string[]> {
	const tasks = join(state, 'io.containerd.runtime.v2.task');
	const sockets: string[] = [];
	let namespaces: string[];
	try {
		namespaces = await readdir(tasks);
	} catch {
		return sockets;
	}
	for (const namespace of namespaces) {
		for (const id of await readdir(join(tasks, namespace)).catch(() => [] as string[])) {
			const address = await readFile(join(tasks, namespace, id, 'address'), 'utf8').catch(() => '');
			const path = address.trim().replace(/^unix:\/\//, '');
			if (path.startsWith('/run/containerd/s/')) sockets.push(path);
		}
	}
	return sockets;
}

/** Mount points at or under `dir`, deepest first (mountinfo field 5, octal escapes decoded). */
export async function mountsUnder(dir: string): Promise<string[]> {
	const info = await readFile('/proc/self/mountinfo', 'utf8');
	return info
		.split('\n')
		.map((line) => line.split(' ')[4])
		.filter((point): point is string => point !== undefined)
		.map((point) =>
			point.replace(/\\([0-7]{3})/g, (_, code: string) => String.fromCharCode(Number.parseInt(code, 8))),
		)
		.filter((point) => point === dir || point.startsWith(`${dir}/`))
		.sort((a, b) => b.length - a.length);
}

/** Removes everything a stopped test containerd left (see the module comment). */
export async function sweep(target: SweepTarget): Promise<void> {
	await sweepContainers(target.runcRoot);
	const sockets = await shimSockets(target.state);
	await killAndWait(await shimPids(target.address));
	for (const socket of sockets) await rm(socket, {force: true});
	for (const point of await mountsUnder(target.dir)) {
		await execa('umount', ['--lazy', point], {reject: false});
	}
	await rm(target.dir, {recursive: true, force: true});
}

/** Where the cgroup hierarchies are mounted (v1 controllers and the v2 or hybrid `unified`). */
const CGROUP_ROOT = '/sys/fs/cgroup';

/** Removes the (empty) cgroup `path` and its empty children in every hierarchy; tolerates absence. */
export async function removeCgroups(path: string): Promise<void> {
	const hierarchies = await readdir(CGROUP_ROOT).catch(() => [] as string[]);
	for (const hierarchy of ['', ...hierarchies]) {
		const top = join(CGROUP_ROOT, hierarchy, path);
		const dirs = await readdir(top, {recursive: true, withFileTypes: true}).catch(() => []);
		const children = dirs.filter((d) => d.isDirectory()).map((d) => join(d.parentPath, d.name));
		for (const dir of [...children.sort((a, b) => b.length - a.length), top]) {
			await rmdir(dir).catch(() => undefined);
		}
	}
}
