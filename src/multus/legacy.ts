/**
 * Pods Multus ADDed, served by Plexus after a node switched from `type: multus` to `type: plexus`.
 * DEL replays Multus' cached delegates (./multus-cache.ts) the way Multus' CmdDel does (reference
 * §1.10): in reverse, the master (delegate 0) as the runtime's CNI_IFNAME, the others as their
 * requested name or `net<index>`, each through libcni with its result from `<cniDir>/results` as
 * `prevResult`, going on after failures. CHECK runs every delegate's CHECK (Multus checks none of
 * them, §1.11). GC DELs the delegates of containers the runtime no longer lists.
 */
import {rm} from 'node:fs/promises';
import {join} from 'node:path';
import type {RuntimeConf} from '../chain/executor.ts';
import type {NetworkList} from '../chain/network-list.ts';
import {CniError, toCniError} from '../cni/errors.ts';
import type {GcAttachment} from '../cni/spec.ts';
import {versionAtLeast} from '../cni/versions.ts';
import {log} from '../log.ts';
import {aggregate, type Invocation} from '../meta/invocation.ts';
import {
	delegateNetworkList,
	MultusCache,
	type MultusCacheFile,
	type MultusDelegate,
	multusIfname,
} from './multus-cache.ts';

/** The request Multus built every delegate's RuntimeConf from. */
export interface MultusContainer {
	containerId: string;
	netns: string;
	/** The runtime's CNI_IFNAME: the master delegate's interface. */
	ifname: string;
	/** The runtime's CNI_ARGS pairs. */
	pairs: readonly (readonly [string, string])[];
	/** The runtime's `runtimeConfig` (capability arguments). */
	runtimeConfig: Readonly<Record<string, unknown>>;
	/**
	 * GC: the RuntimeConf each delegate was added with, from its libcni cache entry, by
	 * `<network>\0<ifname>`; used as is, as libcni GC does.
	 */
	recorded?: ReadonlyMap<string, RuntimeConf> | undefined;
}

/** The RuntimeConf delegate `d` runs with: its recorded one in GC, else Multus' derivation. */
function runtimeConfOf(
	d: MultusDelegate,
	list: NetworkList,
	container: MultusContainer,
	deviceInfoDir: string,
) {
	const rt = multusRuntimeConf(d, container, deviceInfoDir);
	return container.recorded?.get(`${list.name}\u0000${rt.ifname}`) ?? rt;
}

/** The runtimeConfig keys Multus' RuntimeConfig struct keeps; any other is dropped (§1.2). */
const MULTUS_RUNTIME_KEYS = [
	'portMappings',
	'bandwidth',
	'ips',
	'mac',
	'infinibandGUID',
	'deviceID',
	'CNIDeviceInfoFile',
] as const;

const isEmpty = (v: unknown) =>
	v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

/**
 * CNI_ARGS as Multus builds them: its five fixed pairs, then each runtime pair fills an empty
 * fixed value or is appended (so a runtime `IgnoreUnknown=1` appears twice, as with Multus).
 */
export function multusArgs(pairs: readonly (readonly [string, string])[]): [string, string][] {
	const get = (key: string) => pairs.find(([k]) => k === key)?.[1] ?? '';
	const args: [string, string][] = [
		['IgnoreUnknown', 'true'],
		['K8S_POD_NAMESPACE', get('K8S_POD_NAMESPACE')],
		['K8S_POD_NAME', get('K8S_POD_NAME')],
		['K8S_POD_INFRA_CONTAINER_ID', get('K8S_POD_INFRA_CONTAINER_ID')],
		['K8S_POD_UID', get('K8S_POD_UID')],
	];
	for (const [key, value] of pairs) {
		const empty = args.find(([k, v]) => k === key && v === '' && value !== '');
		if (empty === undefined) args.push([key, value]);
		else empty[1] = value;
	}
	return args;
}

/**
 * The capability arguments of one delegate (Multus mergeCNIRuntimeConfig + newCNIRuntimeConf):
 * the runtime's, then for a non-master delegate its own ips/mac/infinibandGUID/deviceID; a
 * deviceID brings the auto-generated CNIDeviceInfoFile.
 */
export function multusCapabilityArgs(
	d: MultusDelegate,
	ifname: string,
	container: MultusContainer,
	deviceInfoDir: string,
): Record<string, unknown> {
	const rc: Record<string, unknown> = {};
	for (const key of MULTUS_RUNTIME_KEYS) {
		const value = container.runtimeConfig[key];
		if (!isEmpty(value)) rc[key] = value;
	}
	if (d.index !== 0) {
		if (d.ipRequest !== undefined) rc['ips'] = d.ipRequest;
		if (d.macRequest !== undefined) rc['mac'] = d.macRequest;
		if (d.infinibandGUIDRequest !== undefined) rc['infinibandGUID'] = d.infinibandGUIDRequest;
		if (d.deviceID !== undefined) rc['deviceID'] = d.deviceID;
	}
	if (typeof rc['deviceID'] === 'string' && rc['deviceID'] !== '') {
		const id = `${d.name}-${container.containerId}_${ifname}`.replaceAll('/', '-');
		rc['CNIDeviceInfoFile'] = join(deviceInfoDir, `${id}.json`);
	}
	return rc;
}

/** The libcni RuntimeConf Multus used for delegate `d`. */
export function multusRuntimeConf(
	d: MultusDelegate,
	container: MultusContainer,
	deviceInfoDir: string,
): RuntimeConf {
	const ifname = multusIfname(d, container.ifname);
	return {
		containerId: container.containerId,
		netns: container.netns,
		ifname,
		args: multusArgs(container.pairs),
		capabilityArgs: multusCapabilityArgs(d, ifname, container, deviceInfoDir),
	};
}

/** `multus delegate "ns1/net-a" (interface "net1")`. */
const describe = (d: MultusDelegate, ifname: string) => `multus delegate "${d.name}" (interface "${ifname}")`;

/**
 * DELs the cached delegates in reverse, going on after failures (Multus delPlugins); returns the
 * failures. A delegate's device-info file goes with it.
 */
export async function delMultusDelegates(
	inv: Invocation,
	cached: MultusCacheFile,
	container: MultusContainer,
): Promise<CniError[]> {
	const errors: CniError[] = [];
	for (const d of [...cached.delegates].reverse()) {
		let rt = multusRuntimeConf(d, container, inv.conf.deviceInfoDir);
		try {
			const list = delegateNetworkList(d, inv.conf.cniVersion, cached.file);
			rt = runtimeConfOf(d, list, container, inv.conf.deviceInfoDir);
			await inv.executor.delNetworkList(list, rt);
			const deviceInfo = rt.capabilityArgs['CNIDeviceInfoFile'];
			if (typeof deviceInfo === 'string') await rm(deviceInfo, {force: true});
		} catch (error) {
			const cause = toCniError(error);
			errors.push(
				new CniError(cause.code, `failed to delete ${describe(d, rt.ifname)}: ${cause.message}`, {cause}),
			);
		}
	}
	return errors;
}

/** CHECKs every cached delegate in order with its cached result; the first failure is thrown. */
export async function checkMultusDelegates(
	inv: Invocation,
	cached: MultusCacheFile,
	container: MultusContainer,
): Promise<void> {
	for (const d of cached.delegates) {
		const rt = multusRuntimeConf(d, container, inv.conf.deviceInfoDir);
		const list = delegateNetworkList(d, inv.conf.cniVersion, cached.file);
		// A delegate ADDed at 0.3.x has no CHECK; it is skipped, as plexus' own attachments are.
		if (!versionAtLeast(list.cniVersion, '0.4.0')) continue;
		try {
			await inv.executor.checkNetworkList(list, rt);
		} catch (error) {
			const cause = toCniError(error);
			throw new CniError(cause.code, `check of ${describe(d, rt.ifname)} failed: ${cause.message}`, {cause});
		}
	}
}

/** The container of the current request, for DEL and CHECK. */
export function requestContainer(inv: Invocation): MultusContainer {
	return {
		containerId: inv.request.containerId,
		netns: inv.request.netns,
		ifname: inv.request.ifname,
		pairs: inv.container.pairs,
		runtimeConfig: inv.conf.runtimeConfig,
	};
}

/**
 * A stale container as libcni GC sees it: each delegate's RuntimeConf from its cached result, and
 * the runtime's netns, interface name and arguments from the master's (for delegates without one).
 */
async function staleContainer(inv: Invocation, cached: MultusCacheFile): Promise<MultusContainer> {
	const master = cached.delegates[0];
	const list =
		master === undefined ? undefined : delegateNetworkList(master, inv.conf.cniVersion, cached.file);
	const mine = (await inv.executor.cache.list()).filter((a) => a.containerId === cached.containerId);
	const recorded = new Map<string, RuntimeConf>(
		mine.map((a) => [
			`${a.networkName}\u0000${a.ifname}`,
			{
				containerId: a.containerId,
				netns: a.netns,
				ifname: a.ifname,
				args: a.cniArgs,
				capabilityArgs: a.capabilityArgs,
			},
		]),
	);
	const found = list === undefined ? undefined : mine.find((a) => a.networkName === list.name);
	if (found === undefined) {
		log(
			'warning',
			'no cached result for the master delegate of a stale multus pod; assuming interface eth0',
			{
				file: cached.file,
			},
		);
	}
	return {
		containerId: cached.containerId,
		netns: found?.netns ?? '',
		ifname: master?.ifnameRequest ?? found?.ifname ?? 'eth0',
		pairs: found?.cniArgs ?? [],
		runtimeConfig: found?.capabilityArgs ?? {},
		recorded,
	};
}

/** What GC of the Multus-era pods did. */
export interface MultusGcOutcome {
	errors: CniError[];
	/** Result-cache attachments of containers still in use: libcni GC must leave them alone. */
	stillValid: GcAttachment[];
}

/**
 * GC of Multus-era pods: every `<cniDir>/<containerID>` whose container the runtime no longer
 * lists is DELeted like Multus' DEL and removed; the libcni results of listed containers are
 * reported still valid. An unusable cache file is an error naming it.
 */
export async function gcMultusEra(
	inv: Invocation,
	validContainers: ReadonlySet<string>,
): Promise<MultusGcOutcome> {
	const cache = new MultusCache(inv.conf.cniDir);
	const errors: CniError[] = [];
	for (const containerId of await cache.containerIds()) {
		if (validContainers.has(containerId)) continue;
		let cached: MultusCacheFile | undefined;
		try {
			cached = await cache.read(containerId);
		} catch (error) {
			errors.push(toCniError(error));
			continue;
		}
		if (cached === undefined) continue;
		let container: MultusContainer;
		try {
			container = await staleContainer(inv, cached);
		} catch (error) {
			errors.push(toCniError(error));
			continue;
		}
		const failed = await delMultusDelegates(inv, cached, container);
		if (failed.length === 0) await cache.remove(containerId);
		errors.push(...failed);
	}
	const stillValid = (await inv.executor.cache.list())
		.filter((a) => validContainers.has(a.containerId))
		.map((a) => ({containerID: a.containerId, ifname: a.ifname}));
	return {errors, stillValid};
}

/**
 * DEL of a pod Multus ADDed: false when there is no Multus cache for the container. On success
 * the cache file is removed; on failure it stays, so the runtime's retry replays the same.
 *
 * @throws CniError naming the file when the cache is not a Multus cache, or the aggregated
 * delegate failures.
 */
export async function delMultusEra(inv: Invocation): Promise<boolean> {
	const cache = new MultusCache(inv.conf.cniDir);
	const cached = await cache.read(inv.request.containerId);
	if (cached === undefined) return false;
	log('info', 'deleting a pod added by multus from its delegate cache', {file: cached.file, pod: inv.pod});
	const errors = await delMultusDelegates(inv, cached, requestContainer(inv));
	if (errors.length > 0)
		throw aggregate(`failed to delete ${inv.pod} (multus cache "${cached.file}")`, errors);
	await cache.remove(inv.request.containerId);
	return true;
}

/** CHECK of a pod Multus ADDed: false when there is no Multus cache for the container. */
export async function checkMultusEra(inv: Invocation): Promise<boolean> {
	const cached = await new MultusCache(inv.conf.cniDir).read(inv.request.containerId);
	if (cached === undefined) return false;
	await checkMultusDelegates(inv, cached, requestContainer(inv));
	return true;
}
