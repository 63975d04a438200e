/**
 * Typed netlink failures. A kernel refusal becomes a NetlinkError carrying the errno (number and
 * name) and the kernel's extended-ack text; callers branch on `notFound` / `exists` /
 * `notSupported` or on the two subclasses DEL turns into success (LinkNotFoundError,
 * NetnsNotFoundError). All are CniErrors, so they reach the user with a code and a message.
 */
import {constants} from 'node:os';
import {CniError, CniErrorCode} from '../cni/errors.ts';

/** errno number → symbolic name, preferring the names iproute2 and the kernel headers print. */
const ERRNO_NAMES: ReadonlyMap<number, string> = (() => {
	const preferred = new Set(['EOPNOTSUPP', 'EAGAIN', 'EDEADLK']);
	const names = new Map<number, string>();
	for (const [name, value] of Object.entries(constants.errno)) {
		if (!names.has(value) || preferred.has(name)) names.set(value, name);
	}
	return names;
})();

/** The symbolic name of a positive errno (`17` → `'EEXIST'`); `'E<n>'` when unknown. */
export function errnoName(errno: number): string {
	return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

/** The C library's text for a positive errno (`17` → `'file already exists'`). */
export function errnoText(errno: number): string {
	if (errno === 95) return 'operation not supported'; // libuv says "... on socket", which misleads here
	try {
		// node:util on first use: importing it costs every one-shot process its parseArgs and diff code.
		return process.getBuiltinModule('node:util').getSystemErrorMessage(-errno).toLowerCase();
	} catch {
		return `errno ${errno}`;
	}
}

export const ENOENT = 2;
export const ESRCH = 3;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const EOPNOTSUPP = 95;
export const EADDRNOTAVAIL = 99;
export const ENETUNREACH = 101;

/** What a failed operation was doing, e.g. `add link "vrf0"`; becomes `failed to <operation>`. */
export type NetlinkOperation = string;

/**
 * A kernel (or model) refusal of a netlink request.
 *
 * @example
 * // failed to add link "blue": operation not supported (EOPNOTSUPP): Unknown device type
 * if (err instanceof NetlinkError && err.notSupported) …
 */
export class NetlinkError extends CniError {
	/** Positive errno, e.g. 17. */
	readonly errno: number;
	/** Symbolic errno, e.g. 'EEXIST'. */
	readonly errnoName: string;
	/** The kernel's NETLINK_EXT_ACK message, when it sent one. */
	readonly extack: string | undefined;
	/** What was attempted, e.g. `add link "blue"`. */
	readonly operation: NetlinkOperation;

	constructor(operation: NetlinkOperation, errno: number, extack?: string, options: {cause?: unknown} = {}) {
		const name = errnoName(errno);
		const tail = extack === undefined || extack === '' ? '' : `: ${extack}`;
		super(CniErrorCode.internal, `failed to ${operation}: ${errnoText(errno)} (${name})${tail}`, options);
		this.errno = errno;
		this.errnoName = name;
		this.extack = extack === '' ? undefined : extack;
		this.operation = operation;
	}

	/** The object does not exist (ENODEV, ESRCH, ENOENT, EADDRNOTAVAIL for addresses). */
	get notFound(): boolean {
		return isNotFoundErrno(this.errno);
	}

	/** The object already exists (EEXIST). */
	get exists(): boolean {
		return this.errno === EEXIST;
	}

	/** The kernel lacks the feature or device kind (EOPNOTSUPP). */
	get notSupported(): boolean {
		return this.errno === EOPNOTSUPP;
	}
}

function isNotFoundErrno(errno: number): boolean {
	return errno === ENODEV || errno === ESRCH || errno === ENOENT || errno === EADDRNOTAVAIL;
}

/** A link looked up by name or index is absent (the kernel's ENODEV). */
export class LinkNotFoundError extends NetlinkError {
	/** The name or index that was looked up. */
	readonly link: string | number;

	constructor(link: string | number, operation?: NetlinkOperation, extack?: string) {
		super(operation ?? `find link ${JSON.stringify(link)}`, ENODEV, extack);
		this.link = link;
	}
}

/** A network namespace path does not exist (or is not a netns). DEL treats this as success. */
export class NetnsNotFoundError extends CniError {
	readonly path: string;

	constructor(path: string, cause?: unknown) {
		super(
			CniErrorCode.invalidNetns,
			`failed to open netns ${JSON.stringify(path)}: no such network namespace`,
			cause === undefined ? {} : {cause},
		);
		this.path = path;
	}
}

/** True when `err` is a NetlinkError saying "no such object" (ENODEV/ESRCH/ENOENT/EADDRNOTAVAIL). */
export function isNotFound(err: unknown): boolean {
	return err instanceof NetlinkError && err.notFound;
}

/** True when `err` is a NetlinkError saying "already exists" (EEXIST). */
export function isExists(err: unknown): boolean {
	return err instanceof NetlinkError && err.exists;
}

/** True when `err` is a NetlinkError saying "not supported here" (EOPNOTSUPP). */
export function isNotSupported(err: unknown): boolean {
	return err instanceof NetlinkError && err.notSupported;
}
