/**
 * Network configuration lists as libcni reads them (NetworkConfFromBytes, LoadNetworkConf):
 * version selection, the lenient booleans, plugin entries kept as their raw objects, the deprecated
 * single `.conf` up-converted to a one-plugin list, and discovery in a config directory.
 */
import {readdirSync, readFileSync} from 'node:fs';
import {extname, join} from 'node:path';
import {CniError, CniErrorCode, isCniError} from '../cni/errors.ts';
import {
	checkJsonDepth,
	findNonFiniteNumber,
	MAX_COMPOSED_JSON_DEPTH,
	nestsDeeperThan,
	outOfRange,
} from '../cni/json.ts';
import {ConfListSchema, describeIssues, PluginConfSchema} from '../cni/spec.ts';
import {DEFAULT_VERSION, negotiateVersion} from '../cni/versions.ts';
import {marshalLikeGo} from './delegate-conf.ts';

/** One plugin of a list: its `type` and the object exactly as written. */
export interface PluginEntry {
	readonly type: string;
	/** The plugin's own `name`, if it has one (used in error messages, as libcni). */
	readonly name: string | undefined;
	readonly raw: Readonly<Record<string, unknown>>;
}

/** A parsed conflist, holding both the parse and the original bytes/object. */
export interface NetworkList {
	readonly name: string;
	/** The selected version (cniVersion ∪ cniVersions, capped at 1.1.0). */
	readonly cniVersion: string;
	readonly disableCheck: boolean;
	readonly disableGC: boolean;
	readonly loadOnlyInlinedPlugins: boolean;
	readonly plugins: readonly PluginEntry[];
	/** The conflist bytes (what the result cache stores as `config`). */
	readonly bytes: Uint8Array;
	readonly raw: Readonly<Record<string, unknown>>;
}

/** Prefixes a message with the file it came from. */
const where = (source: string | undefined, msg: string) => (source === undefined ? msg : `${source}: ${msg}`);

/**
 * Decodes a conf or conflist. Lists are also re-parsed from bytes Plexus composed (cached lists,
 * lists with merged `cni-args`), so the bound here is the composed ceiling; conf files are held to
 * MAX_JSON_DEPTH when read (readConf).
 */
function decodeJson(bytes: Uint8Array, source: string | undefined, what: string): Record<string, unknown> {
	if (nestsDeeperThan(bytes, MAX_COMPOSED_JSON_DEPTH)) {
		throw new CniError(
			CniErrorCode.invalidConfig,
			where(
				source,
				`error parsing ${what}: JSON nests deeper than the limit of ${MAX_COMPOSED_JSON_DEPTH} levels`,
			),
		);
	}
	let value: unknown;
	try {
		value = JSON.parse(Buffer.from(bytes).toString('utf8'));
	} catch (err) {
		throw new CniError(
			CniErrorCode.decodeFailure,
			where(source, `error parsing ${what}: ${(err as Error).message}`),
		);
	}
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw new CniError(
			CniErrorCode.decodeFailure,
			where(source, `error parsing ${what}: expected a JSON object`),
		);
	}
	const at = findNonFiniteNumber(value);
	if (at !== undefined)
		throw new CniError(CniErrorCode.decodeFailure, where(source, `error parsing ${what}: ${outOfRange(at)}`));
	return value as Record<string, unknown>;
}

/** Validates one plugin object (libcni NetworkPluginConfFromBytes) and keeps it raw. */
export function parsePluginEntry(raw: Record<string, unknown>, source?: string, index?: number): PluginEntry {
	const parsed = PluginConfSchema.safeParse(raw);
	if (!parsed.success) {
		const which = index === undefined ? 'configuration' : `plugin config ${index}`;
		throw new CniError(
			CniErrorCode.invalidConfig,
			where(source, `failed to parse ${which}: ${describeIssues(parsed.error)}`),
		);
	}
	return {type: parsed.data.type, name: parsed.data.name, raw};
}

const asBool = (value: boolean | string | undefined) =>
	typeof value === 'string' ? value.toLowerCase() === 'true' : value === true;

/**
 * Parses conflist bytes. `source` (a file name) prefixes every error. A list without `plugins`
 * is returned empty; loadNetworkConf then adds `<dir>/<name>/*.conf` or refuses it.
 */
export function parseNetworkList(bytes: Uint8Array, source?: string): NetworkList {
	const raw = decodeJson(bytes, source, 'configuration list');
	const parsed = ConfListSchema.safeParse(raw);
	if (!parsed.success) {
		throw new CniError(
			CniErrorCode.invalidConfig,
			where(source, `error parsing configuration list: ${describeIssues(parsed.error)}`),
		);
	}
	const conf = parsed.data;
	const loadOnlyInlinedPlugins = asBool(conf.loadOnlyInlinedPlugins);
	if (conf.plugins === undefined && loadOnlyInlinedPlugins) {
		throw new CniError(
			CniErrorCode.invalidConfig,
			where(
				source,
				'error parsing configuration list: "loadOnlyInlinedPlugins" is true, and no "plugins" key',
			),
		);
	}
	if (conf.plugins !== undefined && conf.plugins.length === 0) {
		throw new CniError(
			CniErrorCode.invalidConfig,
			where(source, 'error parsing configuration list: no plugins in list'),
		);
	}
	let negotiated: string;
	try {
		negotiated = negotiateVersion(conf.cniVersion, conf.cniVersions);
	} catch (err) {
		throw new CniError(
			CniErrorCode.invalidConfig,
			where(source, `error parsing configuration list: ${(err as Error).message}`),
		);
	}
	return {
		name: conf.name,
		// libcni injects "" here; plugins read "" as 0.1.0, and the executor needs a comparable version.
		cniVersion: negotiated === '' ? DEFAULT_VERSION : negotiated,
		disableCheck: asBool(conf.disableCheck),
		disableGC: asBool(conf.disableGC),
		loadOnlyInlinedPlugins,
		plugins: (conf.plugins ?? []).map((p, i) => parsePluginEntry(p, source, i)),
		bytes,
		raw,
	};
}

/** Up-converts a single (deprecated) plugin conf to a one-plugin list (libcni ConfListFromConf). */
export function confListFromConf(bytes: Uint8Array, source?: string): NetworkList {
	const raw = decodeJson(bytes, source, 'configuration');
	const entry = parsePluginEntry(raw, source);
	const list = {name: entry.name ?? '', cniVersion: raw['cniVersion'] ?? '', plugins: [raw]};
	return parseNetworkList(Buffer.from(marshalLikeGo(list)), source);
}

/**
 * The regular files in `dir` with one of `extensions`, sorted by name; a missing dir is empty.
 * Conf reads are synchronous: a few small files per ADD, each of which would otherwise cost a
 * thread-pool round trip and an event-loop turn (the daemon reads confDir on every ADD).
 */
function confFiles(dir: string, extensions: readonly string[]): string[] {
	let entries: import('node:fs').Dirent[];
	try {
		entries = readdirSync(dir, {withFileTypes: true});
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
		throw new CniError(
			CniErrorCode.ioFailure,
			`failed to read config directory "${dir}": ${(err as Error).message}`,
		);
	}
	return entries
		.filter((e) => !e.isDirectory() && extensions.includes(extname(e.name)))
		.map((e) => join(dir, e.name))
		.sort();
}

/** Reads a conf file; one nested deeper than MAX_JSON_DEPTH is refused (code 7 naming it). */
function readConf(file: string): Uint8Array {
	let bytes: Uint8Array;
	try {
		bytes = readFileSync(file);
	} catch (err) {
		throw new CniError(CniErrorCode.ioFailure, `error reading ${file}: ${(err as Error).message}`);
	}
	checkJsonDepth(bytes, `conf file "${file}"`);
	return bytes;
}

/** A conflist file plus its `<dir>/<name>/*.conf` plugins unless loadOnlyInlinedPlugins. */
function networkListFromFile(file: string, dir: string): NetworkList {
	const list = parseNetworkList(readConf(file), file);
	const plugins = [...list.plugins];
	if (!list.loadOnlyInlinedPlugins) {
		for (const pluginFile of confFiles(join(dir, list.name), ['.conf'])) {
			plugins.push(
				parsePluginEntry(decodeJson(readConf(pluginFile), pluginFile, 'configuration'), pluginFile),
			);
		}
	}
	if (plugins.length === 0)
		throw new CniError(CniErrorCode.invalidConfig, `${file}: no plugin configs found`);
	return {...list, plugins};
}

/**
 * Finds network `name` in `dir` like libcni's LoadNetworkConf: `.conflist` files in name order
 * first, then `.conf`/`.json` single confs (up-converted). A broken file fails the load, naming it.
 */
export async function loadNetworkConf(dir: string, name: string): Promise<NetworkList> {
	const lists = confFiles(dir, ['.conflist']);
	for (const file of lists) {
		const list = networkListFromFile(file, dir);
		if (list.name === name) return list;
	}
	const singles = confFiles(dir, ['.conf', '.json']);
	if (singles.length === 0) {
		const msg =
			lists.length === 0
				? `no net configurations found in ${dir}`
				: `no net configuration with name "${name}" in ${dir}`;
		throw new CniError(CniErrorCode.invalidConfig, msg);
	}
	for (const file of singles) {
		const bytes = readConf(file);
		const entry = parsePluginEntry(decodeJson(bytes, file, 'configuration'), file);
		if (entry.name === name) {
			try {
				return confListFromConf(bytes, file);
			} catch (err) {
				if (isCniError(err)) throw err;
				throw new CniError(CniErrorCode.invalidConfig, `${file}: ${(err as Error).message}`);
			}
		}
	}
	throw new CniError(CniErrorCode.invalidConfig, `no net configuration with name "${name}" in ${dir}`);
}
