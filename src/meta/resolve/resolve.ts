/**
 * Resolution: from the Plexus conf and the pod to the ordered list of attachments, each a complete,
 * self-contained network list with its interface name and capability arguments. Everything that can
 * be wrong with an annotation or a NAD fails here, before any delegate runs. This file is the
 * order of things; file reads are in ./files.ts, the rules in ./policy.ts.
 *
 * Order (Multus' CmdAdd, spec v1.3 §6.2): the cluster network (`delegates[0]` / `clusterNetwork`,
 * or the pod's `v1.multus-cni.io/default-network`), then `defaultNetworks` (not for pods in
 * `systemNamespaces`) and the other inline `delegates`, then the `k8s.v1.cni.cncf.io/networks`
 * elements in annotation order.
 */
import {dirname, join} from 'node:path';
import {loadNetworkConf, type NetworkList} from '../../chain/network-list.ts';
import {CniError, isCniError} from '../../cni/errors.ts';
import {
	type AnnotationSource,
	DEFAULT_NETWORK_ANNOTATION,
	DNS1123_LABEL,
	NETWORKS_ANNOTATION,
	type NetworkSelection,
	parseNetworkSelections,
	RESOURCE_NAME_ANNOTATION,
} from '../../k8s/annotations.ts';
import type {KubeClient, Nad} from '../../k8s/client.ts';
import {qualifiedName} from '../../k8s/k8s-args.ts';
import {nadNetworkList, nadRef, networkListFromObject, selfContained, withCniArgs} from '../../k8s/nad.ts';
import {log} from '../../log.ts';
import type {PlexusConf} from '../conf/conf.ts';
import type {Attachment, NamedNetwork, ResolveContext} from './attachment.ts';
import {auxiliaryChain, networkListAtPath} from './files.ts';
import {
	assignDeviceInfoFiles,
	assignInterfaceNames,
	checkCapabilities,
	checkIsolation,
	elementCapabilityArgs,
	invalid,
	podText,
} from './policy.ts';

export {type Attachment, DEVICE_INFO_CAPABILITY, type ResolveContext} from './attachment.ts';
export {checkCapabilities, elementCapabilityArgs} from './policy.ts';

/**
 * Resolves a `clusterNetwork` / `defaultNetworks` entry like Multus' getNetDelegate: an absolute
 * path (a file, or a directory's first conf file), else a NAD in `multusNamespace` (or `ns/name`),
 * else the conf named so in confDir. With `filesFirst` the confDir conf is tried before the NAD
 * (see resolveConfClusterNetwork); the error names both misses in the same words either way.
 */
export async function resolveNamedNetwork(
	ref: string,
	key: string,
	conf: PlexusConf,
	kube: KubeClient | undefined,
	filesFirst = false,
): Promise<NamedNetwork> {
	if (ref.startsWith('/')) {
		const list = await networkListAtPath(ref, key);
		return {network: list.name, nad: undefined, list};
	}
	const parts = ref.split('/');
	const [namespace, name] =
		parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : [conf.multusNamespace, ref];
	let nadMiss: string | undefined;
	let fileMiss: string | undefined;
	const fromNad = async (): Promise<NamedNetwork | undefined> => {
		if (kube === undefined || !DNS1123_LABEL.test(name) || !DNS1123_LABEL.test(namespace)) return undefined;
		const nad = await kube.getNad(namespace, name);
		if (nad !== undefined)
			return {
				network: nadRef(nad),
				nad: {namespace, name},
				list: await nadNetworkList(nad, conf.confDir),
				resourceName: nad.annotations[RESOURCE_NAME_ANNOTATION],
			};
		nadMiss = `no network-attachment-definition "${namespace}/${name}"`;
		return undefined;
	};
	const fromConfDir = async (): Promise<NamedNetwork | undefined> => {
		if (parts.length !== 1) return undefined;
		try {
			const list = selfContained(await loadNetworkConf(conf.confDir, ref));
			return {network: list.name, nad: undefined, list};
		} catch (error) {
			if (!isCniError(error)) throw error;
			fileMiss = `no usable conf named "${ref}" in confDir "${conf.confDir}" (${error.message})`;
			return undefined;
		}
	};
	const [first, second] = filesFirst ? [fromConfDir, fromNad] : [fromNad, fromConfDir];
	const found = (await first()) ?? (await second());
	if (found !== undefined) return found;
	const tried = [nadMiss, fileMiss].filter((miss) => miss !== undefined);
	throw invalid(`failed to find network "${ref}" (${key}): ${tried.join(' and ')}`);
}

/**
 * The cluster network named by the conf (`delegates[0]` or `clusterNetwork`), without a pod: in
 * ADD's order (a NAD before a confDir network of that name), or with `filesFirst` from the conf
 * and confDir alone whenever they have it, the API asked only for a cluster network found nowhere
 * else. STATUS uses `filesFirst`: containerd 2.x turns kubelet's runtime-status poll into a STATUS
 * every 5 s on every node, and a NAD read each time would be ~1,000 API reads a second on a
 * 5,000-node cluster (and ~40 ms of every one-shot STATUS).
 */
export async function resolveConfClusterNetwork(
	conf: PlexusConf,
	kube: KubeClient | undefined,
	filesFirst = false,
): Promise<NamedNetwork> {
	const first = conf.delegates[0];
	if (first !== undefined) {
		const list = networkListFromObject({...first}, undefined, 'delegates[0] of the plexus conf');
		return {network: list.name, nad: undefined, list};
	}
	return resolveNamedNetwork(conf.clusterNetwork ?? '', 'clusterNetwork', conf, kube, filesFirst);
}

/** NAD reads started ahead of their turn, by `namespace/name`: each answers one fetchNad. */
type Prefetched = Map<string, Promise<Nad | undefined>[]>;

/**
 * Starts reading the NADs of the networks annotation's elements (those namespace isolation lets
 * through) all at once, when resolution starts: the API server answers the next while this
 * process parses the last, instead of one round trip after another (~2 ms each on the bench
 * machine). Elements still resolve in order, each from its own read, so what is reported, and in
 * which order, does not change; nor does the number of reads. None when the annotation does not
 * parse (its error comes in its turn).
 */
function prefetchElementNads(ctx: ResolveContext): Prefetched {
	const prefetched: Prefetched = new Map();
	const kube = ctx.kube;
	const value = ctx.pod?.annotations[NETWORKS_ANNOTATION];
	if (kube === undefined || value === undefined) return prefetched;
	let elements: NetworkSelection[];
	try {
		elements = parseNetworkSelections(value, annotationSource(ctx, NETWORKS_ANNOTATION));
	} catch {
		return prefetched;
	}
	for (const selection of elements) {
		try {
			checkIsolation(ctx.conf, ctx.podRef, selection.namespace, selection.name, '', []);
		} catch {
			continue; // refused in its turn, never read
		}
		const read = kube.getNad(selection.namespace, selection.name);
		read.catch(() => {}); // its fetchNad reports a failure; one never taken is moot
		const key = qualifiedName(selection);
		prefetched.set(key, [...(prefetched.get(key) ?? []), read]);
	}
	return prefetched;
}

async function fetchNad(
	ctx: ResolveContext,
	selection: NetworkSelection,
	origin: string,
	prefetched?: Prefetched,
): Promise<{list: NetworkList; nad: Nad}> {
	const kube = ctx.kube;
	const ref = qualifiedName(selection);
	const early = prefetched?.get(ref)?.shift();
	const nad =
		kube === undefined ? undefined : await (early ?? kube.getNad(selection.namespace, selection.name));
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

function annotationSource(ctx: ResolveContext, annotation: string): AnnotationSource {
	return {podNamespace: ctx.podRef?.namespace ?? '', podName: ctx.podRef?.name ?? '', annotation};
}

/** 1. The cluster network, or the pod's default-network override. */
async function clusterAttachment(ctx: ResolveContext): Promise<Attachment> {
	const {conf, podRef} = ctx;
	const override = ctx.pod?.annotations[DEFAULT_NETWORK_ANNOTATION];
	if (override === undefined || override.trim() === '') {
		const cluster = await (ctx.clusterNetwork ?? resolveConfClusterNetwork(conf, ctx.kube));
		return {
			...cluster,
			ifname: ctx.ifname,
			isClusterNetwork: true,
			// Spec §7.5: the runtime's runtimeConfig (hostPorts, bandwidth, ...) is for the cluster network only.
			capabilityArgs: {...conf.runtimeConfig},
			defaultRoute: undefined,
			origin: conf.delegates.length > 0 ? 'delegates[0]' : 'clusterNetwork',
		};
	}
	const source = annotationSource(ctx, DEFAULT_NETWORK_ANNOTATION);
	const elements = parseNetworkSelections(override, source, conf.multusNamespace);
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
	checkIsolation(conf, podRef, selection.namespace, selection.name, origin, [conf.multusNamespace]);
	const fetched = await fetchNad(ctx, selection, origin);
	return {
		network: qualifiedName(selection),
		nad: {namespace: selection.namespace, name: selection.name},
		ifname: ctx.ifname,
		isClusterNetwork: true,
		list: fetched.list,
		resourceName: fetched.nad.annotations[RESOURCE_NAME_ANNOTATION],
		capabilityArgs: {...conf.runtimeConfig},
		defaultRoute: undefined,
		origin,
	};
}

/** 2. defaultNetworks (not for system namespaces: compare namespaces, not pod names) and other delegates. */
async function confAttachments(ctx: ResolveContext): Promise<Attachment[]> {
	const {conf, podRef} = ctx;
	const out: Attachment[] = [];
	const extra = {ifname: '', isClusterNetwork: false, capabilityArgs: {}, defaultRoute: undefined};
	const inSystemNamespace = podRef !== undefined && conf.systemNamespaces.includes(podRef.namespace);
	if (!inSystemNamespace) {
		for (const [i, ref] of conf.defaultNetworks.entries()) {
			const named = await resolveNamedNetwork(ref, `defaultNetworks[${i}]`, conf, ctx.kube);
			out.push({...named, ...extra, capabilityArgs: {}, origin: `defaultNetworks[${i}]`});
		}
	}
	for (const [i, delegate] of conf.delegates.slice(1).entries()) {
		const list = networkListFromObject({...delegate}, undefined, `delegates[${i + 1}] of the plexus conf`);
		out.push({
			network: list.name,
			nad: undefined,
			list,
			...extra,
			capabilityArgs: {},
			origin: `delegates[${i + 1}]`,
		});
	}
	return out;
}

/** One element of the networks annotation as an attachment (its NAD and capabilities; devices come later). */
async function elementAttachment(
	ctx: ResolveContext,
	selection: NetworkSelection,
	origin: string,
	prefetched: Prefetched,
): Promise<Attachment> {
	const {conf, podRef} = ctx;
	checkIsolation(conf, podRef, selection.namespace, selection.name, origin, []);
	const network = qualifiedName(selection);
	const fetched = await fetchNad(ctx, selection, origin, prefetched);
	const list = withCniArgs(fetched.list, selection.cniArgs);
	const capabilityArgs = elementCapabilityArgs(selection);
	checkCapabilities(list, capabilityArgs, network, origin, podRef);
	return {
		network,
		nad: {namespace: selection.namespace, name: selection.name},
		ifname: selection.interface ?? '',
		isClusterNetwork: false,
		list,
		capabilityArgs,
		defaultRoute: selection.defaultRoute,
		origin,
		// The allocated device wins over an element's deviceID (Multus' rule): src/devices/.
		resourceName: fetched.nad.annotations[RESOURCE_NAME_ANNOTATION],
	};
}

/**
 * 3. The pod's networks annotation, in order, after `before` attachments. With onUnresolvable, an
 * element that fails is reported and its position added to `skipped`.
 */
async function annotationAttachments(
	ctx: ResolveContext,
	before: number,
	skipped: Set<number>,
	prefetched: Prefetched,
): Promise<Attachment[]> {
	const value = ctx.pod?.annotations[NETWORKS_ANNOTATION];
	if (value === undefined) return [];
	const out: Attachment[] = [];
	const elements = parseNetworkSelections(value, annotationSource(ctx, NETWORKS_ANNOTATION));
	for (const [i, selection] of elements.entries()) {
		const origin = `element ${i + 1} of annotation "${NETWORKS_ANNOTATION}"`;
		const position = before + out.length + skipped.size;
		try {
			out.push(await elementAttachment(ctx, selection, origin, prefetched));
		} catch (error) {
			if (ctx.onUnresolvable === undefined || !isCniError(error)) throw error;
			ctx.onUnresolvable(origin, error);
			skipped.add(position);
		}
	}
	return out;
}

/**
 * 3b. Multus' auxiliary chain: every *.conf of <dir of clusterNetwork>/<name>/ after a no-op
 * passthru, as the last attachment of every pod (none when the directory has none).
 */
async function auxiliaryAttachment(conf: PlexusConf): Promise<Attachment | undefined> {
	if (conf.auxiliaryCNIChainName === undefined || conf.clusterNetwork === undefined) return undefined;
	const auxiliary = await auxiliaryChain(
		conf.auxiliaryCNIChainName,
		join(dirname(conf.clusterNetwork), conf.auxiliaryCNIChainName),
		conf.cniVersion,
	);
	if (auxiliary === undefined) return undefined;
	return {
		network: auxiliary.name,
		nad: undefined,
		ifname: '',
		isClusterNetwork: false,
		list: auxiliary,
		capabilityArgs: {},
		defaultRoute: undefined,
		origin: 'auxiliaryCNIChainName',
		auxiliary: true,
	};
}

/**
 * Resolves every attachment of the pod, in order, and checks interface names.
 *
 * @throws CniError code 7 for a bad annotation, a missing or invalid NAD, an isolation violation,
 * a failed capability pre-check, or duplicate interface names; nothing has run at that point.
 */
export async function resolveAttachments(ctx: ResolveContext): Promise<Attachment[]> {
	// The cluster network's read goes out first, the elements' right behind it.
	const cluster = clusterAttachment(ctx);
	const prefetched = prefetchElementNads(ctx);
	const attachments: Attachment[] = [await cluster, ...(await confAttachments(ctx))];
	/** Positions of elements skipped through `onUnresolvable` (they still count for net<position>). */
	const skipped = new Set<number>();
	attachments.push(...(await annotationAttachments(ctx, attachments.length, skipped, prefetched)));
	// 3a. Devices: each attachment whose NAD names a resource gets its own, in the order above
	// (the device code loads only then: most pods name none).
	const podRef = ctx.podRef;
	if (attachments.some((a) => a.resourceName !== undefined && a.resourceName !== '')) {
		const {allocateDevices, deviceSources} = await import('../../devices/allocate.ts');
		await allocateDevices(
			podRef === undefined ? undefined : {...podRef, uid: ctx.pod?.uid ?? podRef.uid},
			attachments,
			ctx.devices ?? deviceSources(ctx.conf, ctx.kube),
			ctx.onUnresolvable,
		);
	}
	const auxiliary = await auxiliaryAttachment(ctx.conf);
	if (auxiliary !== undefined) attachments.push(auxiliary);
	// 4. Interface names, then 5. device information files (./policy.ts).
	assignInterfaceNames(attachments, skipped, ctx.podRef);
	assignDeviceInfoFiles(attachments, ctx.conf.deviceInfoDir, ctx.containerId ?? '');
	return attachments;
}
