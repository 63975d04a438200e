/**
 * Scratch network namespaces and host links for e2e tests: random names (other suites run at the
 * same time), `ip -json` as the oracle for kernel state, and cleanup that tolerates what the test
 * already removed.
 */
import {randomBytes} from 'node:crypto';
import {execa} from 'execa';

/** A random name with `prefix`, at most 15 characters (IFNAMSIZ - 1). */
export function randomName(prefix: string): string {
	return `${prefix}${randomBytes(6).toString('hex')}`.slice(0, 15);
}

export interface Netns {
	readonly name: string;
	/** /var/run/netns/<name>, the path CNI_NETNS takes. */
	readonly path: string;
}

/** Creates a fresh named netns (with lo up, as a runtime's sandbox has). */
export async function createNetns(prefix = 'pxns'): Promise<Netns> {
	const name = randomName(prefix);
	await execa('ip', ['netns', 'add', name]);
	await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
	return {name, path: `/var/run/netns/${name}`};
}

/** Deletes a netns if it still exists. */
export async function removeNetns(ns: Netns): Promise<void> {
	await execa('ip', ['netns', 'del', ns.name], {reject: false});
}

/** Deletes a host link if it still exists. */
export async function removeLink(name: string): Promise<void> {
	await execa('ip', ['link', 'del', name], {reject: false});
}

/** `ip -json <args>` in `ns` (or on the host), parsed. */
export async function ipJson<T = Record<string, unknown>[]>(
	ns: Netns | undefined,
	...args: string[]
): Promise<T> {
	const netnsArgs = ns === undefined ? [] : ['-n', ns.name];
	const {stdout} = await execa('ip', [...netnsArgs, '-json', ...args]);
	return JSON.parse(stdout === '' ? '[]' : stdout) as T;
}

/** The names of the links in `ns`. */
export async function linkNames(ns: Netns | undefined, ...filter: string[]): Promise<string[]> {
	const links = await ipJson<{ifname: string}[]>(ns, 'link', 'show', ...filter);
	return links.map((l) => l.ifname);
}

/** Reads a file inside `ns` (for /proc/sys values). */
export async function readInNetns(ns: Netns, file: string): Promise<string> {
	const {stdout} = await execa('ip', ['netns', 'exec', ns.name, 'cat', file]);
	return stdout.trim();
}
