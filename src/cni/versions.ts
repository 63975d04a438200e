/**
 * CNI spec versions: the ones Plexus speaks, ordering, and libcni's selection of a conflist's
 * version from `cniVersion` ∪ `cniVersions`.
 */
import {CniError, CniErrorCode} from './errors.ts';
import {isJsonObject, nestsDeeperThan} from './json.ts';

/** Every spec version Plexus implements, oldest first. */
export const SUPPORTED_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The newest spec version implemented (libcni's `version.Current()`). */
export const CURRENT_VERSION: CniVersion = '1.1.0';

/** The version a config without `cniVersion` is read as (the Go library's default). */
export const DEFAULT_VERSION: CniVersion = '0.1.0';

const versionPattern = /^(\d+)\.(\d+)\.(\d+)$/;

/** True when `value` is one of SUPPORTED_VERSIONS. */
export function isSupportedVersion(value: string): value is CniVersion {
	return (SUPPORTED_VERSIONS as readonly string[]).includes(value);
}

/** Splits "x.y.z" into numbers; anything else is a config error naming the value. */
function parseVersion(value: string): [number, number, number] {
	const match = versionPattern.exec(value);
	if (match === null) {
		throw new CniError(CniErrorCode.invalidConfig, `invalid cniVersion "${value}": expected "x.y.z"`);
	}
	return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** Orders two "x.y.z" versions: negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
	const left = parseVersion(a);
	const right = parseVersion(b);
	for (let i = 0; i < 3; i++) {
		const diff = (left[i] ?? 0) - (right[i] ?? 0);
		if (diff !== 0) return diff;
	}
	return 0;
}

/** a ≥ b. */
export function versionAtLeast(a: string, b: string): boolean {
	return compareVersions(a, b) >= 0;
}

/**
 * Picks a conflist's version as libcni's NetworkConfFromBytes does: with `cniVersions`, the highest
 * of `cniVersions` ∪ {`cniVersion`} that is not above CURRENT_VERSION (versions above are skipped);
 * without it, `cniVersion` as written. Returns '' when neither is given.
 */
export function negotiateVersion(
	cniVersion: string | undefined,
	cniVersions: readonly string[] | undefined,
): string {
	if (cniVersions === undefined) return cniVersion ?? '';
	const candidates = cniVersions.filter((v) => compareVersions(v, CURRENT_VERSION) <= 0);
	if (cniVersion !== undefined && cniVersion !== '' && compareVersions(cniVersion, CURRENT_VERSION) <= 0) {
		candidates.push(cniVersion);
	}
	if (candidates.length === 0) return cniVersion ?? '';
	candidates.sort(compareVersions);
	return candidates[candidates.length - 1] ?? '';
}

/** What an error JSON may carry as its cniVersion: a version, never arbitrary text from the config. */
export const VERSION_SYNTAX = /^\d{1,4}\.\d{1,4}\.\d{1,4}$/;

/**
 * The cniVersion a config declares, if `config` decodes and its `cniVersion` reads as a version;
 * undefined otherwise (and, with `maxDepth`, when it nests deeper). Labels an error JSON before
 * (or without) the config being parsed for real.
 */
export function sniffVersion(config: Uint8Array, maxDepth?: number): string | undefined {
	if (maxDepth !== undefined && nestsDeeperThan(config, maxDepth)) return undefined;
	try {
		const conf = JSON.parse(Buffer.from(config).toString('utf8')) as unknown;
		const version = isJsonObject(conf) ? conf['cniVersion'] : undefined;
		if (typeof version === 'string' && VERSION_SYNTAX.test(version)) return version;
	} catch {
		// Not JSON: whoever parses it reports that.
	}
	return undefined;
}
