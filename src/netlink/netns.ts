/**
 * Network namespace paths: `/var/run/netns/<name>` (iproute2's bind mounts) or `/proc/<pid>/ns/net`.
 * A missing path is a NetnsNotFoundError (DEL treats it as success); an existing path that is not
 * a netns is a CniError with code 8. `createNetns`/`deleteNetns` make and remove named ones as
 * `ip netns add`/`del` do, through the addon (the main thread never changes netns).
 */
import {statfsSync} from 'node:fs';
import {basename, dirname} from 'node:path';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {NetnsNotFoundError} from './errors.ts';
import type {NetnsPath} from './netlink.ts';
import {createNetnsFile, deleteNetnsFile} from './socket.ts';

export type {NetnsPath} from './netlink.ts';

/** statfs f_type of nsfs (include/uapi/linux/magic.h NSFS_MAGIC). */
const NSFS_MAGIC = 0x6e736673;

/** True when `path` exists and is a namespace file (nsfs). */
export function netnsExists(path: NetnsPath): boolean {
	try {
		return statfsSync(path).type === NSFS_MAGIC;
	} catch {
		return false;
	}
}

/** What a CNI_NETNS path names: a namespace file, nothing, or something else (with why). */
export type NetnsKind = {kind: 'netns'} | {kind: 'missing'} | {kind: 'other'; reason: string};

/**
 * Classifies a CNI_NETNS path without opening it (a FIFO or a device must not be opened): statfs
 * says whether it lives on nsfs, as the plugins' ns.GetNS checks. A relative path is never
 * resolved against the working directory: it is 'other'.
 */
export function netnsKind(path: string): NetnsKind {
	if (!path.startsWith('/')) return {kind: 'other', reason: 'not an absolute path'};
	if (path.includes('\0')) return {kind: 'other', reason: 'contains a NUL byte'};
	let type: number;
	try {
		type = statfsSync(path).type;
	} catch (err) {
		const code = (err as NodeJS.ErrnoException).code;
		if (code === 'ENOENT' || code === 'ENOTDIR') return {kind: 'missing'};
		return {kind: 'other', reason: (err as Error).message};
	}
	return type === NSFS_MAGIC ? {kind: 'netns'} : {kind: 'other', reason: 'not a network namespace file'};
}

/**
 * Checks that `path` names a network namespace: NetnsNotFoundError when nothing is there,
 * CniError(8) when it is some other file (e.g. a netns file left after its namespace was unmounted).
 */
export function assertNetns(path: NetnsPath): void {
	let type: number;
	try {
		type = statfsSync(path).type;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NetnsNotFoundError(path, err);
		throw new CniError(
			CniErrorCode.invalidNetns,
			`failed to open netns ${JSON.stringify(path)}: ${String(err)}`,
			{
				cause: err,
			},
		);
	}
	if (type !== NSFS_MAGIC) {
		throw new CniError(
			CniErrorCode.invalidNetns,
			`failed to open netns ${JSON.stringify(path)}: not a network namespace file`,
		);
	}
}

/** Where named namespaces live (iproute2's NETNS_RUN_DIR). */
export const NETNS_RUN_DIR = '/var/run/netns';
/** The longest netns name accepted, in bytes (a file name, well below NAME_MAX). */
export const NETNS_NAME_MAX = 128;

/** Checks a netns name: a plain file name (no "/", not "." or ".."), 1 to NETNS_NAME_MAX bytes. */
export function checkNetnsName(name: string): void {
	const invalid = (why: string) =>
		new CniError(CniErrorCode.invalidNetns, `invalid netns name ${JSON.stringify(name)}: ${why}`);
	if (name === '') throw invalid('empty');
	if (name === '.' || name === '..') throw invalid('not a file name');
	if (name.includes('/')) throw invalid('contains "/"');
	if (name.includes('\0')) throw invalid('contains a NUL byte');
	if (Buffer.byteLength(name) > NETNS_NAME_MAX) throw invalid(`longer than ${NETNS_NAME_MAX} bytes`);
}

/** The path of the named netns `name`: `/var/run/netns/<name>`. */
export function netnsPathOf(name: string): NetnsPath {
	checkNetnsName(name);
	return `${NETNS_RUN_DIR}/${name}`;
}

/** A name, or a path in the netns directory (/var/run/netns or /run/netns), as a netns path. */
function namedNetnsPath(nameOrPath: string): NetnsPath {
	if (!nameOrPath.includes('/')) return netnsPathOf(nameOrPath);
	const dir = dirname(nameOrPath);
	if (dir !== NETNS_RUN_DIR && dir !== '/run/netns')
		throw new CniError(
			CniErrorCode.invalidNetns,
			`failed to delete netns ${JSON.stringify(nameOrPath)}: not in ${NETNS_RUN_DIR}`,
		);
	checkNetnsName(basename(nameOrPath));
	return nameOrPath;
}

/**
 * Creates a new, empty network namespace named `name` (only a down `lo`), as `ip netns add`
 * does, and returns its path. A NetlinkError with `exists` when one of that name is there.
 *
 * @example
 * const path = createNetns('plexus-dryrun-1a2b'); // '/var/run/netns/plexus-dryrun-1a2b'
 */
export function createNetns(name: string): NetnsPath {
	checkNetnsName(name);
	return createNetnsFile(NETNS_RUN_DIR, name);
}

/**
 * Deletes a named netns (by name or by its path in /var/run/netns), as `ip netns del` does: the
 * namespace goes once nothing else holds it. NetnsNotFoundError when there is none of that name.
 */
export function deleteNetns(nameOrPath: string): void {
	deleteNetnsFile(namedNetnsPath(nameOrPath));
}
