/**
 * Protocol helpers shared by the built-in delegates: version gates, prevResult in and result out
 * (through the one conversion table in src/cni/result.ts), and opening CNI_NETNS.
 */
import {CniError, CniErrorCode} from '../../src/cni/errors.ts';
import type {PluginRequest} from '../../src/cni/plugin.ts';
import {convertResult, parseResult, type Result100} from '../../src/cni/result.ts';
import {CURRENT_VERSION, versionAtLeast} from '../../src/cni/versions.ts';
import {NetnsNotFoundError} from '../../src/netlink/errors.ts';
import type {Netlink, NetnsPath, OpenNetlink} from '../../src/netlink/netlink.ts';

/** Fails with code 1 unless `cniVersion` is one the delegate supports (skel's version check). */
export function assertSupportedVersion(
	pluginType: string,
	supported: readonly string[],
	cniVersion: string,
): void {
	if (supported.includes(cniVersion)) return;
	throw new CniError(
		CniErrorCode.incompatibleVersion,
		`incompatible CNI versions: config is "${cniVersion}", ${pluginType} supports ${JSON.stringify(supported)}`,
	);
}

/**
 * A delegate's config loader: parses the request's config with `parse`, then checks its
 * cniVersion is one of `supported` ({@link assertSupportedVersion}).
 */
export function configLoader<Config extends {readonly cniVersion: string}>(
	pluginType: string,
	supported: readonly string[],
	parse: (raw: Record<string, unknown>) => Config,
): (request: PluginRequest) => Config {
	return (request) => {
		const config = parse(request.config);
		assertSupportedVersion(pluginType, supported, config.cniVersion);
		return config;
	};
}

/** The first spec version with CHECK. */
export const CHECK_MIN_VERSION = '0.4.0';

/** Fails with code 1 for CHECK on a config older than 0.4.0 (the reference's wording, matched by its tests). */
export function assertCheckAllowed(cniVersion: string): void {
	if (versionAtLeast(cniVersion, CHECK_MIN_VERSION)) return;
	throw new CniError(CniErrorCode.incompatibleVersion, 'config version does not allow CHECK');
}

/** A result in the newest layout, the form every delegate works on internally. */
export type Result = Result100;

/** prevResult (any version) as a {@link Result}; its absence is undefined. */
export function readPrevResult(
	prevResult: Record<string, unknown> | undefined,
	cniVersion: string,
): Result | undefined {
	if (prevResult === undefined) return undefined;
	return convertResult(parseResult(prevResult, cniVersion), CURRENT_VERSION) as Result;
}

/** `result` as the object a binary prints for `cniVersion`. */
export function writeResult(result: Result, cniVersion: string): Record<string, unknown> {
	const canonical = parseResult({...result, cniVersion: CURRENT_VERSION});
	return convertResult(canonical, cniVersion) as unknown as Record<string, unknown>;
}

/** A deep copy of a result, so that amending it never touches the caller's object. */
export function cloneResult(result: Result): Result {
	return structuredClone(result);
}

/**
 * Runs `fn` with a handle on `netns`, closing it afterwards. Opening a missing netns throws
 * NetnsNotFoundError, which DEL callers turn into success with {@link ignoreMissingNetns}.
 */
export async function withNetns<T>(
	open: OpenNetlink,
	netns: NetnsPath,
	fn: (nl: Netlink) => T | Promise<T>,
): Promise<T> {
	const nl = open(netns);
	try {
		return await fn(nl);
	} finally {
		nl.close();
	}
}

/** Resolves when `work` succeeds or fails only because the netns is gone (DEL's idempotence). */
export async function ignoreMissingNetns(work: Promise<void>): Promise<void> {
	try {
		await work;
	} catch (err) {
		if (err instanceof NetnsNotFoundError) return;
		throw err;
	}
}

/**
 * The config's prevResult as a {@link Result}, for an ADD or CHECK that needs it: none is a code-7
 * error with `message` (each delegate keeps its reference plugin's wording).
 */
export function requirePrevResult(
	config: {readonly prevResult?: Record<string, unknown> | undefined; readonly cniVersion: string},
	message: string,
): Result {
	const prev = readPrevResult(config.prevResult, config.cniVersion);
	if (prev === undefined) throw new CniError(CniErrorCode.invalidConfig, message);
	return prev;
}

/** Sleeps `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
	return new Promise((resolve) => setTimeout(resolve, ms));
}
