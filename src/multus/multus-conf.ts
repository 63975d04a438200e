/**
 * Taking over a node's Multus conf (`00-multus.conf` / `00-multus.conflist`, reference §1.3): the
 * settings Plexus carries over unchanged (its conf accepts every Multus key with the same
 * meaning), the `name`, `cniVersion` and `capabilities` the runtime already knows, and what is
 * left behind (Multus' daemon-only keys). A thick Multus conf (`type: multus-shim`) holds few
 * keys; its daemon config `<confDir>/multus.d/daemon-config.json` is overlaid on it, as the
 * daemon does for every request ("server config overrides").
 */
import {access, readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {decodeJson, isJsonObject} from '../cni/json.ts';

/** The file names Multus' entrypoints write, in the order the runtime would read them. */
export const MULTUS_CONF_NAMES = ['00-multus.conf', '00-multus.conflist'] as const;

/** Multus keys a Plexus conf takes with the same meaning (reference §1.2). */
export const TAKEN_OVER_KEYS = [
	'kubeconfig',
	'confDir',
	'cniDir',
	'binDir',
	'clusterNetwork',
	'defaultNetworks',
	'delegates',
	'systemNamespaces',
	'multusNamespace',
	'namespaceIsolation',
	'globalNamespaces',
	'readinessindicatorfile',
	'logFile',
	'logLevel',
	'logToStderr',
	'logOptions',
	'retryDeleteOnError',
	'auxiliaryCNIChainName',
] as const;

/**
 * Keys that become the Plexus conf's identity rather than settings. Everything else (Multus'
 * shim, daemon and entrypoint keys such as `daemonSocketDir`, `chrootDir`, `multusConfigFile`,
 * the dead `cniConf`) is left behind and reported.
 */
const IDENTITY_KEYS = new Set(['type', 'name', 'cniVersion', 'cniVersions', 'capabilities']);

/** What a Multus conf amounts to for Plexus. */
export interface MultusTakeover {
	/** The Multus conf file. */
	path: string;
	/** The thick daemon config read with it, if any. */
	daemonConfig: string | undefined;
	/** `multus` (thin) or `multus-shim` (thick). */
	type: string;
	/** The network name the runtime knows the pods under (keep it: GC and caches are per name). */
	name: string;
	cniVersion: string;
	capabilities: Record<string, boolean>;
	/** The settings to put into the Plexus conf, by key. */
	settings: Record<string, unknown>;
	/** Keys read and not carried over (Multus' own, or unknown to it), sorted. */
	dropped: string[];
	/** The thick daemon's `chrootDir` (where its pod sees the host's root), if set. */
	chrootDir?: string | undefined;
}

function invalid(path: string, reason: string): CniError {
	return new CniError(CniErrorCode.invalidConfig, `failed to take over multus conf "${path}": ${reason}`);
}

async function readJsonObject(path: string): Promise<Record<string, unknown>> {
	let value: unknown;
	try {
		value = decodeJson(await readFile(path, 'utf8'), `conf file "${path}"`);
	} catch (error) {
		throw invalid(path, (error as Error).message);
	}
	if (!isJsonObject(value)) throw invalid(path, 'not a JSON object');
	return value;
}

/**
 * Reads a Multus conf (a single conf, or a conflist whose first plugin is Multus) and, for the
 * thick shim, the daemon config in `<confDir>/multus.d/`.
 *
 * @throws CniError code 7 naming the file when it is not JSON or not a Multus conf.
 */
export async function readMultusConf(path: string, confDir: string): Promise<MultusTakeover> {
	const top = await readJsonObject(path);
	let plugin = top;
	if (Array.isArray(top['plugins'])) {
		const first: unknown = top['plugins'][0];
		if (!isJsonObject(first)) throw invalid(path, 'its "plugins" list has no Multus plugin');
		if (top['plugins'].length > 1)
			throw invalid(path, 'a Multus conflist chains further plugins; plexus cannot carry them over');
		plugin = first;
	}
	const type = plugin['type'];
	if (type !== 'multus' && type !== 'multus-shim')
		throw invalid(path, `its plugin type is ${JSON.stringify(type)}, not "multus" or "multus-shim"`);
	let merged: Record<string, unknown> = {...plugin};
	let daemonConfig: string | undefined;
	if (type === 'multus-shim') {
		const file = join(confDir, 'multus.d', 'daemon-config.json');
		if (
			await access(file).then(
				() => true,
				() => false,
			)
		) {
			daemonConfig = file;
			merged = {...merged, ...(await readJsonObject(file))};
		}
	}
	const settings: Record<string, unknown> = {};
	const dropped: string[] = [];
	for (const [key, value] of Object.entries(merged)) {
		if ((TAKEN_OVER_KEYS as readonly string[]).includes(key)) settings[key] = value;
		// Multus ignores keys it does not know, so leaving them behind changes nothing.
		else if (!IDENTITY_KEYS.has(key)) dropped.push(key);
	}
	const name = top['name'] ?? plugin['name'];
	const cniVersion = top['cniVersion'] ?? plugin['cniVersion'];
	if (typeof cniVersion !== 'string' || cniVersion === '') throw invalid(path, 'no "cniVersion"');
	const capabilities: Record<string, boolean> = {};
	if (isJsonObject(plugin['capabilities'])) {
		for (const [k, v] of Object.entries(plugin['capabilities'])) if (v === true) capabilities[k] = true;
	}
	return {
		path,
		daemonConfig,
		type,
		name: typeof name === 'string' && name !== '' ? name : 'multus-cni-network',
		cniVersion,
		capabilities,
		settings,
		dropped: dropped.sort(),
		chrootDir: typeof merged['chrootDir'] === 'string' ? merged['chrootDir'] : undefined,
	};
}

/** The Multus conf in `confDir` the runtime reads first, or undefined. */
export async function findMultusConf(confDir: string, names: readonly string[]): Promise<string | undefined> {
	const found = MULTUS_CONF_NAMES.find((n) => names.includes(n));
	return found === undefined ? undefined : join(confDir, found);
}
