/**
 * Resolution: from the Plexus conf and the pod to the ordered list of attachments, each a complete,
 * self-contained network list with its interface name and capability arguments. Everything that can
 * be wrong with an annotation or a NAD fails here, before any delegate runs.
 *
 * Order (Multus' CmdAdd, spec v1.3 §6.2): the cluster network (`delegates[0]` / `clusterNetwork`,
 * or the pod's `v1.multus-cni.io/default-network`), then `defaultNetworks` (not for pods in
 * `systemNamespaces`) and the other inline `delegates`, then the `k8s.v1.cni.cncf.io/networks`
 * elements in annotation order.
 */
import {readdir, readFile, stat} from 'node:fs/promises';
import {dirname, extname, join} from 'node:path';
import {loadNetworkConf, type NetworkList} from '../chain/network-list.ts';
import {CniError, CniErrorCode, isCniError} from '../cni/errors.ts';
import {decodeJson} from '../cni/json.ts';
import {allocateDevices, type DeviceSources, deviceSources} from '../devices/allocate.ts';
import type {DeviceRef} from '../devices/assign.ts';
import {log} from '../log.ts';
import {
	type AnnotationSource,
	DEFAULT_NETWORK_ANNOTATION,
	DNS1123_LABEL,
	NETWORKS_ANNOTATION,
	type NetworkSelection,
	parseNetworkSelections,
} from './annotations.ts';
import type {KubeClient, Nad, Pod} from './client.ts';
import type {PlexusConf} from './conf.ts';
import {RESOURCE_NAME_ANNOTATION} from './device-plugin.ts';
import type {PodRef} from './k8s-args.ts';
import {
	nadNetworkList,
	nadRef,
	networkListFromObject,
	networkListFromText,
	selfContained,
	withCniArgs,
} from './nad.ts';

/** One attachment of the pod: one network list run on one interface. */
export interface Attachment {
	/** The network-status name: `namespace/name` of a NAD, else the conf's name. */
	network: string;
	nad: {namespace: string; name: string} | undefined;
	ifname: string;
	isClusterNetwork: boolean;
	/** The complete list to run; its bytes are what the cache persists and DEL replays. */
	list: NetworkList;
	/** The capability arguments; each plugin gets the ones it declares as `runtimeConfig`. */
	capabilityArgs: Record<string, unknown>;
	/** The element's `default-route` gateways, when it set the key. */
	defaultRoute: string[] | undefined;
	/** The device plugin's device-info file to copy to CNIDeviceInfoFile before ADD (NADs with a resourceName). */
	devicePluginInfo?: string;
	/** The NAD's `k8s.v1.cni.cncf.io/resourceName`, when it names one (src/devices/ gives it a device). */
	resourceName?: string | undefined;
	/** The device it got and where it was read (PodResources, checkpoint, DRA claim). */
	device?: DeviceRef;
	/** Multus' auxiliary chain: runs like an attachment, but is not a network of the pod (no status). */
	auxiliary?: true;
	/** Where the attachment came from, for messages ("element 2 of k8s.v1.cni.cncf.io/networks"). */
	origin: string;
}

export interface ResolveContext {
	conf: PlexusConf;
	/** CNI_IFNAME: the cluster network's interface. */
	ifname: string;
	podRef: PodRef | undefined;
	/** The pod from the API; undefined without an API server or when the pod is gone. */
	pod: Pod | undefined;
	kube: KubeClient | undefined;
	/** CNI_CONTAINERID, for per-attachment file names (device information). */
	containerId?: string | undefined;
	/** Told about a missing NAD before the error is thrown (Warning event `NoNetworkFound`). */
	onNetworkNotFound?:
		| ((nad: {namespace: string; name: string}, message: string) => Promise<void>)
		| undefined;
	/**
	 * When set, an annotation element that cannot be resolved (NAD missing or broken, isolation,
	 * capabilities) is reported here and skipped instead of failing everything: DEL without a cache
	 * must still undo the rest. The skipped element keeps its `net<position>` slot, so the others
	 * get the interface names they had at ADD.
	 */
	onUnresolvable?: ((origin: string, error: CniError) => void) | undefined;
	/** Where devices are read (default: from the conf and `kube`, src/devices/allocate.ts). */
	devices?: DeviceSources | undefined;
}

/** The device-info spec's capability: where a plugin writes the device it attached. */
export const DEVICE_INFO_CAPABILITY = 'CNIDeviceInfoFile';

function invalid(msg: string): CniError {
	return new CniError(CniErrorCode.invalidConfig, msg);
}

function podText(ref: PodRef | undefined): string {
	return ref === undefined ? 'the container' : `pod "${ref.namespace}/${ref.name}"`;
}

/** The first conf file of a directory, by name (Multus' clusterNetwork-as-directory). */
async function firstConfFile(dir: string): Promise<string | undefined> {
	const names = (await readdir(dir))
		.filter((n) => ['.conf', '.conflist', '.json'].includes(extname(n)))
		.sort();
	return names[0] === undefined ? undefined : join(dir, names[0]);
}

async function listFromFile(file: string): Promise<NetworkList> {
	let text: string;
	try {
		text = await readFile(file, 'utf8');
	} catch (error) {
		throw new CniError(
			CniErrorCode.ioFailure,
			`failed to read network config file "${file}": ${(error as Error).message}`,
		);
	}
	return networkListFromText(text, undefined, `file "${file}"`);
}

interface NamedNetwork {
	network: string;
	nad: {namespace: string; name: string} | undefined;
	list: NetworkList;
	resourceName?: string | undefined;
}

/**
 * Resolves a `clusterNetwork` / `defaultNetworks` entry like Multus' getNetDelegate: an absolute
 * path (a file, or a directory's first conf file), else a NAD in `multusNamespace` (or `ns/name`),
 * else the conf named so in confDir.
 */
export async function resolveNamedNetwork(
	ref: string,
	key: string,
	conf: PlexusConf,
	kube: KubeClient | undefined,
): Promise<NamedNetwork> {
	if (ref.startsWith('/')) {
		let info: Awaited<ReturnType<typeof stat>>;
		try {
			info = await stat(ref);
		} catch {
			throw invalid(`failed to find network "${ref}" (${key}): no such file or directory`);
		}
		const file = info.isDirectory() ? await firstConfFile(ref) : ref;
		if (file === undefined)
			throw invalid(
				`failed to find network "${ref}" (${key}): the directory has no .conf/.conflist/.json file`,
			);
		const list = await listFromFile(file);
		return {network: list.name, nad: undefined, list};
	}
	const parts = ref.split('/');
	const [namespace, name] =
		parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : [conf.multusNamespace, ref];
	const tried: string[] = [];
	if (kube !== undefined && DNS1123_LABEL.test(name) && DNS1123_LABEL.test(namespace)) {
		const nad = await kube.getNad(namespace, name);
		if (nad !== undefined)
			return {
				network: nadRef(nad),
				nad: {namespace, name},
				list: await nadNetworkList(nad, conf.confDir),
				resourceName: nad.annotations[RESOURCE_NAME_ANNOTATION],
			};
		tried.push(`no network-attachment-definition "${namespace}/${name}"`);
	}
	if (parts.length === 1) {
		try {
			const list = selfContained(await loadNetworkConf(conf.confDir, ref));
			return {network: list.name, nad: undefined, list};
		} catch (error) {
			if (!isCniError(error)) throw error;
			tried.push(`no usable conf named "${ref}" in confDir "${conf.confDir}" (${error.message})`);
		}
	}
	throw invalid(`failed to find network "${ref}" (${key}): ${tried.join(' and ')}`);
}

/** The cluster network from the conf alone (`delegates[0]` or `clusterNetwork`), as STATUS needs it. */
export async function resolveConfClusterNetwork(
	conf: PlexusConf,
	kube: KubeClient | undefined,
): Promise<NamedNetwork> {
	const first = conf.delegates[0];
	if (first !== undefined) {
		const list = networkListFromObject({...first}, undefined, 'delegates[0] of the plexus conf');
		return {network: list.name, nad: undefined, list};
	}
	return resolveNamedNetwork(conf.clusterNetwork ?? '', 'clusterNetwork', conf, kube);
}

/**
 * Namespace isolation (spec §7.4, Multus' namespaceIsolation): with it on, a pod may only use NADs
 * of its own namespace and of `globalNamespaces` (plus `multusNamespace` for its default network).
 */
function checkIsolation(
	ctx: ResolveContext,
	namespace: string,
	name: string,
	origin: string,
	extraAllowed: readonly string[],
): void {
	const pod = ctx.podRef;
	if (!ctx.conf.namespaceIsolation || pod === undefined || namespace === pod.namespace) return;
	if (ctx.conf.globalNamespaces.includes(namespace) || extraAllowed.includes(namespace)) return;
	const allowed = [pod.namespace, ...ctx.conf.globalNamespaces, ...extraAllowed]
		.map((ns) => `"${ns}"`)
		.join(', ');
	throw invalid(
		`namespace isolation forbids ${podText(pod)} to use network-attachment-definition "${namespace}/${name}" (${origin}): allowed namespaces are ${allowed}`,
	);
}

async function fetchNad(
	ctx: ResolveContext,
	selection: NetworkSelection,
	origin: string,
): Promise<{list: NetworkList; nad: Nad}> {
	const kube = ctx.kube;
	const ref = `${selection.namespace}/${selection.name}`;
	const nad = kube === undefined ? undefined : await kube.getNad(selection.namespace, selection.name);
	if (nad === undefined) {
		const message = `failed to find network-attachment-definition "${ref}" (${origin}) for ${podText(ctx.podRef)}`;
		await ctx.onNetworkNotFound?.({namespace: selection.namespace, name: selection.name}, message);
		throw invalid(message);
	}
	let list: NetworkList;
	try {
		list = await nadNetworkList(nad, ctx.conf.confDir);
	} catch (error) {
		if (!isCniError(error)) throw error;
		// Say which pod and which element pulled the broken NAD in.
		throw new CniError(error.code, `${error.message} (${origin} of ${podText(ctx.podRef)})`, {
			details: error.details,
			cause: error,
		});
	}
	// Spec v1.3 §3.4.3: the NAD name should equal the CNI network name; a mismatch is legal but confusing.
	if (list.name !== selection.name) {
		log('warning', 'network-attachment-definition name differs from its CNI network name', {
			nad: ref,
			network: list.name,
		});
	}
	return {list, nad};
}

/** The auxiliary chain list, or undefined when its directory holds no .conf file. */
async function auxiliaryChain(
	name: string,
	dir: string,
	cniVersion: string,
): Promise<NetworkList | undefined> {
	let files: string[];
	try {
		files = (await readdir(dir)).filter((f) => extname(f) === '.conf').sort();
	} catch {
		files = [];
	}
	if (files.length === 0) {
		log('debug', 'auxiliary CNI chain has no plugin; skipped', {dir});
		return undefined;
	}
	const plugins: Record<string, unknown>[] = [{type: 'passthru'}];
	for (const file of files) {
		const path = join(dir, file);
		let plugin: unknown;
		try {
			plugin = decodeJson(await readFile(path, 'utf8'), `conf file "${path}"`);
		} catch (error) {
			throw invalid(`failed to read auxiliary chain plugin "${path}": ${(error as Error).message}`);
		}
		if (typeof plugin !== 'object' || plugin === null || Array.isArray(plugin)) {
			throw invalid(`failed to read auxiliary chain plugin "${path}": not a JSON object`);
		}
		plugins.push(plugin as Record<string, unknown>);
	}
	return networkListFromObject({cniVersion, name, plugins}, name, `auxiliary chain "${dir}"`);
}

/** The runtimeConfig an element asks for (spec v1.3 §4.1.2.1). */
export function elementCapabilityArgs(selection: NetworkSelection): Record<string, unknown> {
	const args: Record<string, unknown> = {};
	if (selection.ips !== undefined) args['ips'] = selection.ips;
	if (selection.mac !== undefined) args['mac'] = selection.mac;
	if (selection.infinibandGuid !== undefined) args['infinibandGUID'] = selection.infinibandGuid;
	if (selection.portMappings !== undefined) args['portMappings'] = selection.portMappings;
	if (selection.bandwidth !== undefined) args['bandwidth'] = selection.bandwidth;
	if (selection.deviceID !== undefined) args['deviceID'] = selection.deviceID;
	return args;
}

/** True when some plugin of the list declares `capability`. */
function declares(list: NetworkList, capability: string): boolean {
	return list.plugins.some((p) => {
		const caps = p.raw['capabilities'];
		return (
			typeof caps === 'object' && caps !== null && (caps as Record<string, unknown>)[capability] === true
		);
	});
}

/**
 * The spec's capability pre-check: an attachment requesting `ips`, `mac`, ... fails unless some
 * plugin of its list declares that capability (otherwise the request would be silently dropped).
 */
export function checkCapabilities(
	list: NetworkList,
	requested: Readonly<Record<string, unknown>>,
	network: string,
	origin: string,
	pod: PodRef | undefined,
): void {
	for (const capability of Object.keys(requested)) {
		if (!declares(list, capability)) {
			throw invalid(
				`network-attachment-definition "${network}" cannot honour "${capability}" requested by ${podText(pod)} (${origin}): no plugin in its chain declares the "${capability}" capability`,
			);
		}
	}
}

/**
 * Resolves every attachment of the pod, in order, and checks interface names.
 *
 * @throws CniError code 7 for a bad annotation, a missing or invalid NAD, an isolation violation,
 * a failed capability pre-check, or duplicate interface names; nothing has run at that point.
 */
export async function resolveAttachments(ctx: ResolveContext): Promise<Attachment[]> {
	const {conf, podRef, pod} = ctx;
	const attachments: Attachment[] = [];
	const source = (annotation: string): AnnotationSource => ({
		podNamespace: podRef?.namespace ?? '',
		podName: podRef?.name ?? '',
		annotation,
	});

	// 1. The cluster network, or the pod's default-network override.
	const override = pod?.annotations[DEFAULT_NETWORK_ANNOTATION];
	if (override !== undefined && override.trim() !== '') {
		const elements = parseNetworkSelections(
			override,
			source(DEFAULT_NETWORK_ANNOTATION),
			conf.multusNamespace,
		);
		if (elements.length !== 1) {
			throw invalid(
				`invalid annotation "${DEFAULT_NETWORK_ANNOTATION}" on ${podText(podRef)}: it must select exactly one network, got ${elements.length}`,
			);
		}
		const selection = elements[0]!;
		const origin = `annotation "${DEFAULT_NETWORK_ANNOTATION}"`;
		if (selection.interface !== undefined && selection.interface !== ctx.ifname) {
			throw invalid(
				`invalid annotation "${DEFAULT_NETWORK_ANNOTATION}" on ${podText(podRef)}: "interface" cannot rename the cluster network interface "${ctx.ifname}"`,
			);
		}
		checkIsolation(ctx, selection.namespace, selection.name, origin, [conf.multusNamespace]);
		const fetched = await fetchNad(ctx, selection, origin);
		attachments.push({
			network: `${selection.namespace}/${selection.name}`,
			nad: {namespace: selection.namespace, name: selection.name},
			ifname: ctx.ifname,
			isClusterNetwork: true,
			list: fetched.list,
			resourceName: fetched.nad.annotations[RESOURCE_NAME_ANNOTATION],
			capabilityArgs: {...conf.runtimeConfig},
			defaultRoute: undefined,
			origin,
		});
	} else {
		const cluster = await resolveConfClusterNetwork(conf, ctx.kube);
		attachments.push({
			...cluster,
			ifname: ctx.ifname,
			isClusterNetwork: true,
			// Spec §7.5: the runtime's runtimeConfig (hostPorts, bandwidth, ...) is for the cluster network only.
			capabilityArgs: {...conf.runtimeConfig},
			defaultRoute: undefined,
			origin: conf.delegates.length > 0 ? 'delegates[0]' : 'clusterNetwork',
		});
	}

	// 2. defaultNetworks (not for system namespaces: compare namespaces, not pod names) and other delegates.
	const inSystemNamespace = podRef !== undefined && conf.systemNamespaces.includes(podRef.namespace);
	if (!inSystemNamespace) {
		for (const [i, ref] of conf.defaultNetworks.entries()) {
			const named = await resolveNamedNetwork(ref, `defaultNetworks[${i}]`, conf, ctx.kube);
			attachments.push({
				...named,
				ifname: '',
				isClusterNetwork: false,
				capabilityArgs: {},
				defaultRoute: undefined,
				origin: `defaultNetworks[${i}]`,
			});
		}
	}
	for (const [i, delegate] of conf.delegates.slice(1).entries()) {
		const list = networkListFromObject({...delegate}, undefined, `delegates[${i + 1}] of the plexus conf`);
		attachments.push({
			network: list.name,
			nad: undefined,
			ifname: '',
			isClusterNetwork: false,
			list,
			capabilityArgs: {},
			defaultRoute: undefined,
			origin: `delegates[${i + 1}]`,
		});
	}

	// 3. The pod's networks annotation, in order.
	/** Positions of elements skipped through `onUnresolvable` (they still count for net<position>). */
	const skipped = new Set<number>();
	const value = pod?.annotations[NETWORKS_ANNOTATION];
	if (value !== undefined) {
		const elements = parseNetworkSelections(value, source(NETWORKS_ANNOTATION));
		for (const [i, selection] of elements.entries()) {
			const origin = `element ${i + 1} of annotation "${NETWORKS_ANNOTATION}"`;
			const position = attachments.length + skipped.size;
			try {
				checkIsolation(ctx, selection.namespace, selection.name, origin, []);
				const network = `${selection.namespace}/${selection.name}`;
				const fetched = await fetchNad(ctx, selection, origin);
				const list = withCniArgs(fetched.list, selection.cniArgs);
				const capabilityArgs = elementCapabilityArgs(selection);
				checkCapabilities(list, capabilityArgs, network, origin, podRef);
				attachments.push({
					network,
					nad: {namespace: selection.namespace, name: selection.name},
					ifname: selection.interface ?? '',
					isClusterNetwork: false,
					list,
					capabilityArgs,
					defaultRoute: selection.defaultRoute,
					origin,
					// The allocated device wins over an element's deviceID (Multus' rule).
					resourceName: fetched.nad.annotations[RESOURCE_NAME_ANNOTATION],
				});
			} catch (error) {
				if (ctx.onUnresolvable === undefined || !isCniError(error)) throw error;
				ctx.onUnresolvable(origin, error);
				skipped.add(position);
			}
		}
	}

	// 3a. Devices: each attachment whose NAD names a resource gets its own, in the order above.
	await allocateDevices(
		podRef === undefined ? undefined : {...podRef, uid: pod?.uid ?? podRef.uid},
		attachments,
		ctx.devices ?? deviceSources(conf, ctx.kube),
		ctx.onUnresolvable,
	);

	// 3b. Multus' auxiliary chain: every *.conf of <dir of clusterNetwork>/<name>/ after a no-op
	// passthru, as the last attachment of every pod (skipped when the directory has none).
	if (conf.auxiliaryCNIChainName !== undefined && conf.clusterNetwork !== undefined) {
		const auxiliary = await auxiliaryChain(
			conf.auxiliaryCNIChainName,
			join(dirname(conf.clusterNetwork), conf.auxiliaryCNIChainName),
			conf.cniVersion,
		);
		if (auxiliary !== undefined) {
			attachments.push({
				network: auxiliary.name,
				nad: undefined,
				ifname: '',
				isClusterNetwork: false,
				list: auxiliary,
				capabilityArgs: {},
				defaultRoute: undefined,
				origin: 'auxiliaryCNIChainName',
				auxiliary: true,
			});
		}
	}

	// 4. Interface names: requested names win; the others are net<position> (Multus' numbering,
	// the cluster network being position 0), or the next net<n> that no element requested. Two
	// requests for one name fail before anything runs.
	const requested = new Set(attachments.map((a) => a.ifname).filter((name) => name !== ''));
	const owners = new Map<string, Attachment>();
	let position = 0;
	for (const attachment of attachments) {
		while (skipped.has(position)) position++;
		if (attachment.ifname === '') {
			let n = position;
			while (requested.has(`net${n}`) || owners.has(`net${n}`)) n++;
			attachment.ifname = `net${n}`;
		}
		position++;
		const previous = owners.get(attachment.ifname);
		if (previous !== undefined) {
			throw invalid(
				`interface "${attachment.ifname}" of ${podText(podRef)} is used twice: by ${previous.origin} ("${previous.network}") and by ${attachment.origin} ("${attachment.network}")`,
			);
		}
		owners.set(attachment.ifname, attachment);
	}

	// 5. Device information (device-info spec v1.1.0 §4.2.1, §5.1.1): a chain that declares the
	// CNIDeviceInfoFile capability gets a path unique to this attachment to write its device to.
	for (const attachment of attachments) {
		if (!declares(attachment.list, DEVICE_INFO_CAPABILITY) && attachment.devicePluginInfo === undefined)
			continue;
		const owner = (
			attachment.nad === undefined ? attachment.network : `${attachment.nad.namespace}-${attachment.nad.name}`
		).replaceAll('/', '-');
		attachment.capabilityArgs[DEVICE_INFO_CAPABILITY] = join(
			conf.deviceInfoDir,
			`${owner}-${ctx.containerId ?? ''}_${attachment.ifname}.json`,
		);
	}
	return attachments;
}
