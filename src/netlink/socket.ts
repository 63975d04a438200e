/**
 * The seam to the native addon (native/netns.c), and the only module that loads it. It opens a
 * NETLINK_ROUTE socket or a file inside a netns (a short-lived thread does setns; the main
 * thread never moves), moves datagrams, and creates and deletes named netns files (a short-lived
 * thread unshares). Failures become typed errors here: a missing netns is a NetnsNotFoundError,
 * a failed create or delete a NetlinkError with the errno, anything else an Error with `errno`
 * and `syscall`.
 */
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {addonLoader} from '../native/addon.ts';
import {EINVAL, ENOENT, NetlinkError, NetnsNotFoundError} from './errors.ts';
import type {NetnsPath} from './netlink.ts';

interface Addon {
	openNetlink(nsPath: string | null, protocol: number, rcvTimeoutMs: number, rcvBufBytes: number): number;
	openFile(nsPath: string | null, path: string, flags: number, mode: number): number;
	send(fd: number, buf: Uint8Array): number;
	recv(fd: number, buf: Uint8Array): number;
	close(fd: number): void;
	createNetns(runDir: string, name: string): void;
	deleteNetns(path: string): void;
}

/** An Error from the addon: the failing syscall and its positive errno. */
export interface SyscallError extends Error {
	readonly errno: number;
	readonly syscall: string;
}

export function isSyscallError(err: unknown): err is SyscallError {
	return err instanceof Error && typeof (err as SyscallError).errno === 'number' && 'syscall' in err;
}

const load = addonLoader<Addon>('plexus_netns', 'netlink');

export const NETLINK_ROUTE = 0;

/** Default receive timeout: a kernel that does not answer within this fails the operation. */
export const DEFAULT_RCV_TIMEOUT_MS = 5000;
/** Socket receive buffer: large enough that a dump never overruns. */
export const RCV_BUF_BYTES = 1 << 20;

function netnsError(netns: NetnsPath, err: unknown): Error {
	if (isSyscallError(err) && err.syscall === 'open netns' && err.errno === ENOENT) {
		return new NetnsNotFoundError(netns, err);
	}
	if (isSyscallError(err) && err.syscall === 'setns' && err.errno === EINVAL) {
		return new CniError(
			CniErrorCode.invalidNetns,
			`failed to open netns ${JSON.stringify(netns)}: not a network namespace`,
			{cause: err},
		);
	}
	if (isSyscallError(err) && (err.syscall === 'open netns' || err.syscall === 'setns')) {
		return new CniError(
			CniErrorCode.invalidNetns,
			`failed to open netns ${JSON.stringify(netns)}: ${err.message}`,
			{
				cause: err,
			},
		);
	}
	return err instanceof Error ? err : new Error(String(err));
}

/**
 * Opens a bound NETLINK_ROUTE socket (NETLINK_EXT_ACK and NETLINK_GET_STRICT_CHK on, 1 MiB
 * receive buffer, SO_RCVTIMEO) inside `netns`, or in the caller's netns when undefined.
 */
export function openRouteSocket(netns: NetnsPath | undefined, rcvTimeoutMs = DEFAULT_RCV_TIMEOUT_MS): number {
	try {
		return load().openNetlink(netns ?? null, NETLINK_ROUTE, rcvTimeoutMs, RCV_BUF_BYTES);
	} catch (err) {
		throw netns === undefined ? err : netnsError(netns, err);
	}
}

/** Opens `path` (e.g. /proc/sys/net/...) from inside `netns`; flags are fs.constants.O_*. */
export function openFileInNetns(netns: NetnsPath | undefined, path: string, flags: number, mode = 0): number {
	try {
		return load().openFile(netns ?? null, path, flags, mode);
	} catch (err) {
		throw netns === undefined ? err : netnsError(netns, err);
	}
}

/** Sends one datagram to the kernel. */
export function sendDatagram(fd: number, buf: Uint8Array): void {
	load().send(fd, buf);
}

/** Receives one datagram into `buf`; returns its length. EAGAIN when the receive timeout expires. */
export function receiveDatagram(fd: number, buf: Uint8Array): number {
	return load().recv(fd, buf);
}

/** Closes an fd opened here. */
export function closeFd(fd: number): void {
	load().close(fd);
}

/**
 * Creates the netns `runDir/name` as `ip netns add` does (runDir made a shared mount point, an
 * empty file bind-mounted with a new netns that a short-lived thread unshared). The name must be
 * checked already (netns.ts). NetlinkError with the errno on failure: EEXIST when the file is there.
 */
export function createNetnsFile(runDir: string, name: string): NetnsPath {
	const path = `${runDir}/${name}`;
	try {
		load().createNetns(runDir, name);
	} catch (err) {
		if (!isSyscallError(err)) throw err;
		throw new NetlinkError(`create netns ${JSON.stringify(path)}`, err.errno, undefined, {cause: err});
	}
	return path;
}

/** Unmounts and removes a netns file, as `ip netns del` does; NetnsNotFoundError when it is not there. */
export function deleteNetnsFile(path: NetnsPath): void {
	try {
		load().deleteNetns(path);
	} catch (err) {
		if (!isSyscallError(err)) throw err;
		if (err.errno === ENOENT) throw new NetnsNotFoundError(path, err);
		throw new NetlinkError(`delete netns ${JSON.stringify(path)}`, err.errno, undefined, {cause: err});
	}
}
