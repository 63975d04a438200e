/**
 * What Multus leaves on a node for every pod it ADDed: `<cniDir>/<containerID>` (default cniDir
 * /var/lib/cni/multus), written before any delegate ran, holding the pod's delegate list as Go's
 * encoding/json marshals `[]*types.DelegateNetConf` (reference §1.8 step 5, §1.10 step 3):
 *
 * ```jsonc
 * [{
 *   "Conf": {"cniVersion": "0.4.0", "name": "macvlan-net", "type": "macvlan", "ipam": {"type": "host-local"}, "dns": {}},
 *   "ConfList": {},                       // a conflist delegate: {"cniVersion", "name", "plugins": [...]}
 *   "Name": "ns1/macvlan-net",            // "<ns>/<nad>", or the conf name for a cluster network file
 *   "ifnameRequest": "eth1",              // omitempty, like every lower-case key below
 *   "macRequest": "...", "infinibandGUIDRequest": "...", "ipRequest": ["10.1.1.5/24"],
 *   "default-route": ["10.1.1.1"], "deviceID": "0000:18:02.5", "resourceName": "intel/sriov",
 *   "IsFilterV4Gateway": false, "IsFilterV6Gateway": false,   // v3.x: "IsFilterGateway"
 *   "Bytes": "<base64 of the exact conf or conflist bytes the delegate was added with>"
 * }]
 * ```
 *
 * `MasterPlugin` and `ConfListPlugin` are `json:"-"`: Multus' DEL re-derives them (delegate 0 is
 * the master, a delegate is a conflist when `ConfList.plugins` is non-empty), and so does Plexus.
 * Recent Multus master also writes `CNINetworkConfigList` (libcni's parsed list); `Bytes` stays
 * the authority. Anything else (not JSON, not a list, an unknown key, bytes that are not the conf
 * the rest of the record describes) is an error naming the file, never a skipped pod.
 * @see https://github.com/k8snetworkplumbingwg/multus-cni/blob/95a0932350f0060cd232096876e24672a1de83fa/pkg/types/types.go
 */
import {readdir, readFile, rm} from 'node:fs/promises';
import {join} from 'node:path';
import {confListFromConf, type NetworkList, parseNetworkList} from '../chain/network-list.ts';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {checkJsonDepth, isJsonObject, MAX_COMPOSED_JSON_DEPTH, nestsDeeperThan} from '../cni/json.ts';

/** Every key a Multus v3.x/v4.x DelegateNetConf marshals to. */
export const MULTUS_DELEGATE_KEYS: ReadonlySet<string> = new Set([
	'Conf',
	'ConfList',
	'CNINetworkConfigList',
	'Name',
	'ifnameRequest',
	'macRequest',
	'infinibandGUIDRequest',
	'ipRequest',
	'default-route',
	'IsFilterGateway',
	'IsFilterV4Gateway',
	'IsFilterV6Gateway',
	'deviceID',
	'resourceName',
	'Bytes',
]);

/** CNI container IDs (spec §2), which is also what makes a file in cniDir a Multus cache. */
const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** One cached delegate, as Multus' DEL would use it. */
export interface MultusDelegate {
	/** Position in the list: 0 is the master (cluster network), `net<index>` the default ifname. */
	index: number;
	/** `Name`: "<ns>/<nad>" for a NAD, the conf name otherwise. */
	name: string;
	/** A conflist (`ConfList.plugins` non-empty), else a single conf. */
	conflist: boolean;
	/** The exact bytes Multus added the delegate with. */
	bytes: Uint8Array;
	/** The `cniVersion` in those bytes ('' when absent). */
	cniVersion: string;
	ifnameRequest: string | undefined;
	macRequest: string | undefined;
	infinibandGUIDRequest: string | undefined;
	ipRequest: string[] | undefined;
	deviceID: string | undefined;
	resourceName: string | undefined;
}

/** A decoded `<cniDir>/<containerID>` file. */
export interface MultusCacheFile {
	file: string;
	containerId: string;
	delegates: MultusDelegate[];
}

/** The code-6 error every unusable cache file gets, naming it. */
function unusable(file: string, reason: string): CniError {
	return new CniError(CniErrorCode.decodeFailure, `failed to read multus cache "${file}": ${reason}`, {
		details:
			'the file is not a Multus v3.x/v4.x delegate cache; the pod was not cleaned up. Inspect the file, undo its delegates by hand (or restore it), then remove it so DEL can succeed',
	});
}

/** Go's []byte JSON: standard base64 with padding. */
function decodeBase64(text: string): Uint8Array | undefined {
	if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
	return Buffer.from(text, 'base64');
}

function optionalString(d: Record<string, unknown>, key: string, fail: (r: string) => CniError) {
	const v = d[key];
	if (v === undefined) return undefined;
	if (typeof v !== 'string') throw fail(`key "${key}" is not a string`);
	return v === '' ? undefined : v;
}

/** Decodes one delegate record; `fail` builds the error naming the file and the delegate. */
function decodeDelegate(raw: unknown, index: number, file: string): MultusDelegate {
	const fail = (reason: string) => unusable(file, `delegate ${index}: ${reason}`);
	if (!isJsonObject(raw)) throw fail('not a JSON object');
	for (const key of Object.keys(raw)) {
		if (!MULTUS_DELEGATE_KEYS.has(key))
			throw fail(`unknown key "${key}" (no Multus v3.x/v4.x release writes it; a newer format?)`);
	}
	const {Conf: conf, ConfList: confList, Name: name, Bytes: encoded} = raw;
	if (!isJsonObject(conf) || !isJsonObject(confList))
		throw fail('keys "Conf" and "ConfList" must both be objects (Multus always writes both)');
	if (typeof name !== 'string') throw fail('key "Name" is not a string');
	if (typeof encoded !== 'string' || encoded === '')
		throw fail('key "Bytes" (the delegate config) is missing');
	const bytes = decodeBase64(encoded);
	if (bytes === undefined) throw fail('key "Bytes" is not base64');
	if (nestsDeeperThan(bytes, MAX_COMPOSED_JSON_DEPTH))
		throw fail(`key "Bytes" nests deeper than the limit of ${MAX_COMPOSED_JSON_DEPTH} levels`);
	let config: unknown;
	try {
		config = JSON.parse(Buffer.from(bytes).toString('utf8'));
	} catch (error) {
		throw fail(`key "Bytes" does not hold JSON (${(error as Error).message})`);
	}
	if (!isJsonObject(config)) throw fail('key "Bytes" does not hold a JSON object');
	const plugins = confList['plugins'];
	const conflist = Array.isArray(plugins) && plugins.length > 0;
	if (conflist !== Array.isArray(config['plugins'])) {
		throw fail(
			conflist
				? '"ConfList" has plugins but "Bytes" is not a conflist'
				: '"Bytes" is a conflist but "ConfList" has no plugins',
		);
	}
	const ipRequest = raw['ipRequest'];
	if (ipRequest !== undefined && ipRequest !== null) {
		if (!Array.isArray(ipRequest) || !ipRequest.every((ip) => typeof ip === 'string'))
			throw fail('key "ipRequest" is not a list of strings');
	}
	const cniVersion = config['cniVersion'];
	return {
		index,
		name,
		conflist,
		bytes,
		cniVersion: typeof cniVersion === 'string' ? cniVersion : '',
		ifnameRequest: optionalString(raw, 'ifnameRequest', fail),
		macRequest: optionalString(raw, 'macRequest', fail),
		infinibandGUIDRequest: optionalString(raw, 'infinibandGUIDRequest', fail),
		ipRequest: Array.isArray(ipRequest) && ipRequest.length > 0 ? (ipRequest as string[]) : undefined,
		deviceID: optionalString(raw, 'deviceID', fail),
		resourceName: optionalString(raw, 'resourceName', fail),
	};
}

/**
 * Decodes the text of a Multus delegate cache.
 *
 * @throws CniError code 6 naming `file` and what is wrong with it (code 7 when it nests too deep).
 */
export function decodeMultusCache(text: string, file: string): MultusDelegate[] {
	checkJsonDepth(text, `multus cache "${file}"`, MAX_COMPOSED_JSON_DEPTH);
	let raw: unknown;
	try {
		raw = JSON.parse(text);
	} catch (error) {
		throw unusable(file, `not JSON (${(error as Error).message})`);
	}
	if (!Array.isArray(raw)) {
		const what =
			isJsonObject(raw) && typeof raw['kind'] === 'string'
				? `an object of kind "${raw['kind']}"`
				: typeof raw;
		throw unusable(file, `expected the JSON list of delegates Multus writes, found ${what}`);
	}
	if (raw.length === 0)
		throw unusable(file, 'the delegate list is empty (Multus always caches the cluster network)');
	return raw.map((d, i) => decodeDelegate(d, i, file));
}

/**
 * The network list to run for a delegate. A conflist without `cniVersion` gets `cniVersion` (the
 * conf's) as Multus' DEL back-fills it, but into the original bytes: Multus re-marshals its typed
 * ConfList there, which drops every plugin-specific key (IPAM ranges, master...) and leaks the
 * addresses (Multus #755, #1449).
 */
export function delegateNetworkList(d: MultusDelegate, cniVersion: string, file: string): NetworkList {
	const source = `${file} (delegate ${d.index} "${d.name}")`;
	if (!d.conflist) return confListFromConf(d.bytes, source);
	if (d.cniVersion !== '' || cniVersion === '') return parseNetworkList(d.bytes, source);
	const config = JSON.parse(Buffer.from(d.bytes).toString('utf8')) as Record<string, unknown>;
	return parseNetworkList(Buffer.from(JSON.stringify({...config, cniVersion}), 'utf8'), source);
}

/**
 * The network list of a libcni result-cache `config`: a conflist, or the single conf libcni's
 * AddNetwork caches (what Multus ran single-conf delegates with), up-converted.
 */
export function cachedNetworkList(config: Uint8Array, source: string): NetworkList {
	let raw: unknown;
	try {
		raw = JSON.parse(Buffer.from(config).toString('utf8'));
	} catch {
		return parseNetworkList(config, source);
	}
	const single = isJsonObject(raw) && typeof raw['type'] === 'string' && raw['plugins'] === undefined;
	return single ? confListFromConf(config, source) : parseNetworkList(config, source);
}

/** The interface a delegate was added as (Multus getIfname). */
export function multusIfname(d: MultusDelegate, runtimeIfname: string): string {
	if (d.ifnameRequest !== undefined) return d.ifnameRequest;
	return d.index === 0 ? runtimeIfname : `net${d.index}`;
}

/** The Multus delegate caches of one cniDir. */
export class MultusCache {
	readonly dir: string;

	constructor(cniDir: string) {
		this.dir = cniDir;
	}

	path(containerId: string): string {
		return join(this.dir, containerId);
	}

	/**
	 * The cache of `containerId`, or undefined when there is none.
	 *
	 * @throws CniError naming the file when it exists but is unreadable or not a Multus cache.
	 */
	async read(containerId: string): Promise<MultusCacheFile | undefined> {
		if (!CONTAINER_ID.test(containerId)) return undefined;
		const file = this.path(containerId);
		let text: string;
		try {
			text = await readFile(file, 'utf8');
		} catch (error) {
			const code = (error as NodeJS.ErrnoException).code;
			if (code === 'ENOENT') return undefined;
			if (code === 'EISDIR') return undefined;
			throw new CniError(
				CniErrorCode.ioFailure,
				`failed to read multus cache "${file}": ${(error as Error).message}`,
			);
		}
		return {file, containerId, delegates: decodeMultusCache(text, file)};
	}

	/** The container IDs with a cache file (regular files named like a container ID), sorted. */
	async containerIds(): Promise<string[]> {
		try {
			return (await readdir(this.dir, {withFileTypes: true}))
				.filter((e) => e.isFile() && CONTAINER_ID.test(e.name) && !e.name.includes('.tmp-'))
				.map((e) => e.name)
				.sort();
		} catch {
			return [];
		}
	}

	async remove(containerId: string): Promise<void> {
		await rm(this.path(containerId), {force: true});
	}
}
