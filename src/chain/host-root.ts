/**
 * Delegates run in the host's root, as Multus thick's `chrootDir: /hostroot` runs them: the daemon
 * lives in a container that sees the host's `/` at a mount such as /hostroot, and a cluster network
 * (flannel's /run/flannel/subnet.env, calico's /var/lib/calico/nodename), dhcp's socket or
 * portmap's iptables only work in the host's own root. HostRootPluginExec decorates a PluginExec:
 * `find` searches CNI_PATH inside the root (symlinks resolved as the chrooted plugin will see
 * them) and `exec` asks the inner exec to run the plugin chrooted there (ExecRequest.root); the
 * daemon's own files (socket, cache, logs) stay in the container. Built-in delegates run
 * in-process and are not affected; the binaries they call (IPAM) go through this exec too.
 */
import {constants} from 'node:fs';
import {isAbsolute, join, posix} from 'node:path';
import {access, lstat, readlink, stat} from '../fs/promises.ts';
import {
	CHROOT_EXEC_HELPER,
	type ExecRequest,
	type PluginExec,
	pluginNotFound,
	validatePluginType,
} from './plugin-exec.ts';

/** Symlinks followed in one lookup before giving up (Linux's MAXSYMLINKS). */
const MAX_SYMLINKS = 40;

/**
 * Where `path` (absolute, as a process chrooted into `root` names it) lives on our side: each
 * component is resolved inside `root`, absolute symlink targets restart at `root` and ".." stops
 * at it (openat2's RESOLVE_IN_ROOT). Undefined when a component is missing or links loop.
 */
export async function resolveInRoot(root: string, path: string): Promise<string | undefined> {
	const pending = path.split('/').filter((part) => part !== '' && part !== '.');
	const resolved: string[] = [];
	let links = 0;
	while (pending.length > 0) {
		const part = pending.shift() as string;
		if (part === '..') {
			resolved.pop();
			continue;
		}
		const here = join(root, ...resolved, part);
		let info: Awaited<ReturnType<typeof lstat>>;
		try {
			info = await lstat(here);
		} catch {
			return undefined;
		}
		if (!info.isSymbolicLink()) {
			resolved.push(part);
			continue;
		}
		if (++links > MAX_SYMLINKS) return undefined;
		const target = await readlink(here);
		if (posix.isAbsolute(target)) resolved.length = 0;
		pending.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
	}
	return join(root, ...resolved);
}

/**
 * libcni's FindInPath inside `root`: the first CNI_PATH directory holding `type` as a regular
 * file there. Returns the path inside the root (what the chrooted exec runs). Throws CniError 7.
 */
export async function findInRoot(root: string, type: string, path: readonly string[]): Promise<string> {
	validatePluginType(type);
	for (const dir of path) {
		const inRoot = posix.join(dir, type);
		const outside = await resolveInRoot(root, inRoot);
		if (outside === undefined) continue;
		try {
			if ((await stat(outside)).isFile()) return inRoot;
		} catch {
			// Not in this directory; keep looking.
		}
	}
	throw pluginNotFound(type, path, root);
}

/** A PluginExec whose binary delegates are found and run inside `root` (the host's `/`). */
export class HostRootPluginExec implements PluginExec {
	readonly #inner: PluginExec;
	readonly #root: string;

	constructor(inner: PluginExec, root: string) {
		this.#inner = inner;
		this.#root = root;
	}

	/** The root every delegate runs in. */
	get root(): string {
		return this.#root;
	}

	find(type: string, path: readonly string[]): Promise<string> {
		return findInRoot(this.#root, type, path);
	}

	exec(request: ExecRequest): Promise<Uint8Array> {
		return this.#inner.exec({...request, root: this.#root});
	}
}

/**
 * Checks, before a daemon serves, that `root` can host delegates: an absolute path to a directory
 * and the chroot helper built. Throws an Error naming what is wrong.
 */
export async function checkHostRoot(root: string, helper = CHROOT_EXEC_HELPER): Promise<void> {
	if (!isAbsolute(root)) throw new Error(`--chroot-dir "${root}" is not an absolute path`);
	let isDir = false;
	try {
		isDir = (await stat(root)).isDirectory();
	} catch (err) {
		throw new Error(`--chroot-dir "${root}": ${(err as Error).message}`);
	}
	if (!isDir) throw new Error(`--chroot-dir "${root}" is not a directory`);
	try {
		await access(helper, constants.X_OK);
	} catch {
		throw new Error(`the chroot helper "${helper}" is missing: "npm ci" builds it (shim/binding.gyp)`);
	}
}
