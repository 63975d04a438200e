/**
 * Network namespace paths: `/var/run/netns/<name>` (iproute2's bind mounts) or `/proc/<pid>/ns/net`.
 * A missing path is a NetnsNotFoundError (DEL treats it as success); an existing path that is not
 * a netns is a CniError with code 8.
 */
import {statfsSync} from 'node:fs';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {NetnsNotFoundError} from './errors.ts';
import type {NetnsPath} from './netlink.ts';

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
