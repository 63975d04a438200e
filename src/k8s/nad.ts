/**
 * NetworkAttachmentDefinition → the network list a delegate chain runs (spec v1.3 §3.4): a
 * non-empty `spec.config` is used (a conflist, or a single conf up-converted), with the NAD name
 * injected when the config has none (§3.4.2); an empty spec means the conf in confDir whose `name`
 * is the NAD name, `.conflist` files before `.conf` files (§3.4.1).
 */
import {loadNetworkConf, type NetworkList, parseNetworkList} from '../chain/network-list.ts';
import {CniError, CniErrorCode, toCniError} from '../cni/errors.ts';
import {checkJsonDepth, findNonFiniteNumber, isJsonObject, outOfRange} from '../cni/json.ts';
import type {Nad} from './client.ts';
import {qualifiedName} from './k8s-args.ts';

/**
 * A network list from a decoded config object: a conflist when it has `plugins`, else a single
 * plugin conf wrapped as a one-plugin list (libcni ConfListFromConf). `name` is injected when the
 * config has none. The list's bytes are self-contained: what was run can be re-run from them alone.
 */
export function networkListFromObject(
	config: Record<string, unknown>,
	name: string | undefined,
	source: string,
): NetworkList {
	const hasName = typeof config['name'] === 'string' && config['name'] !== '';
	const named = hasName || name === undefined ? config : {...config, name};
	const list =
		named['plugins'] !== undefined
			? named
			: {cniVersion: named['cniVersion'], name: named['name'], plugins: [named]};
	return parseNetworkList(Buffer.from(JSON.stringify(list)), source);
}

/** Decodes config text (JSON, at most MAX_JSON_DEPTH deep) into a network list, naming `source` on failure (code 7). */
export function networkListFromText(text: string, name: string | undefined, source: string): NetworkList {
	checkJsonDepth(text, `config of ${source}`);
	let decoded: unknown;
	try {
		decoded = JSON.parse(text);
	} catch (error) {
		throw new CniError(
			CniErrorCode.invalidConfig,
			`invalid config of ${source}: not JSON: ${(error as Error).message}`,
		);
	}
	if (!isJsonObject(decoded))
		throw new CniError(CniErrorCode.invalidConfig, `invalid config of ${source}: not a JSON object`);
	const at = findNonFiniteNumber(decoded);
	if (at !== undefined)
		throw new CniError(CniErrorCode.invalidConfig, `invalid config of ${source}: ${outOfRange(at)}`);
	return networkListFromObject(decoded, name, source);
}

/** Re-encodes a list with every plugin inlined (plugins loaded from `<dir>/<name>/` included). */
export function selfContained(list: NetworkList): NetworkList {
	const raw: Record<string, unknown> = {...list.raw, plugins: list.plugins.map((p) => p.raw)};
	if (
		list.raw['plugins'] === undefined ||
		list.plugins.length !== (list.raw['plugins'] as unknown[]).length
	) {
		raw['loadOnlyInlinedPlugins'] = true;
	}
	return parseNetworkList(Buffer.from(JSON.stringify(raw)), list.name);
}

/**
 * Merges an annotation's `cni-args` into `args.cni` of every plugin of the list; the annotation's
 * keys win over the NAD's (spec v1.3 §4.1.2.1.6, CONVENTIONS.md "args").
 */
export function withCniArgs(
	list: NetworkList,
	cniArgs: Readonly<Record<string, unknown>> | undefined,
): NetworkList {
	if (cniArgs === undefined || Object.keys(cniArgs).length === 0) return list;
	const plugins = list.plugins.map((p) => {
		const args = isJsonObject(p.raw['args']) ? p.raw['args'] : {};
		const cni = isJsonObject(args['cni']) ? args['cni'] : {};
		return {...p.raw, args: {...args, cni: {...cni, ...cniArgs}}};
	});
	return parseNetworkList(Buffer.from(JSON.stringify({...list.raw, plugins})), list.name);
}

/**
 * Injects a device plugin's device as `deviceID` and `pciBusID` into every plugin of the list, as
 * Multus does for NADs with a `k8s.v1.cni.cncf.io/resourceName` (SR-IOV reads one or the other).
 */
export function withDeviceId(list: NetworkList, deviceId: string): NetworkList {
	const plugins = list.plugins.map((p) => ({...p.raw, deviceID: deviceId, pciBusID: deviceId}));
	return parseNetworkList(Buffer.from(JSON.stringify({...list.raw, plugins})), list.name);
}

/** `namespace/name`, how Plexus names a NAD in messages and in network-status. */
export const nadRef: (nad: {namespace: string; name: string}) => string = qualifiedName;

/**
 * The network list of a NAD (see the module comment).
 *
 * @throws CniError code 7 naming the NAD when its config is not a valid conf or conflist, or when
 * an empty spec has no conf of that name in confDir.
 */
export async function nadNetworkList(nad: Nad, confDir: string): Promise<NetworkList> {
	const source = `network-attachment-definition "${nadRef(nad)}"`;
	if (nad.config !== undefined && nad.config.trim() !== '') {
		try {
			return networkListFromText(nad.config, nad.name, source);
		} catch (error) {
			const cause = toCniError(error);
			if (cause.message.startsWith(`invalid config of ${source}`)) throw cause;
			const reason = cause.message.startsWith(`${source}: `)
				? cause.message.slice(source.length + 2)
				: cause.message;
			throw new CniError(CniErrorCode.invalidConfig, `invalid config of ${source}: ${reason}`, {
				cause,
			});
		}
	}
	try {
		return selfContained(await loadNetworkConf(confDir, nad.name));
	} catch (error) {
		const cause = toCniError(error);
		throw new CniError(
			CniErrorCode.invalidConfig,
			`failed to load ${source}: its spec.config is empty and confDir "${confDir}" has no usable conf named "${nad.name}": ${cause.message}`,
			{cause},
		);
	}
}
