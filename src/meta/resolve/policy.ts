/**
 * The pure policy of resolution: namespace isolation, the capabilities an element asks for and
 * whether its chain can honour them, interface names, and device-information file paths. No I/O
 * (that is ./files.ts and the kube client), so each rule is testable from plain values.
 */
import {join} from 'node:path';
import type {NetworkList} from '../../chain/network-list.ts';
import {CniError, CniErrorCode} from '../../cni/errors.ts';
import type {NetworkSelection} from '../../k8s/annotations.ts';
import type {PodRef} from '../../k8s/k8s-args.ts';
import type {PlexusConf} from '../conf/conf.ts';
import {type Attachment, DEVICE_INFO_CAPABILITY} from './attachment.ts';

/** A resolution failure: code 7 (invalid network config), nothing has run yet. */
export function invalid(msg: string): CniError {
	return new CniError(CniErrorCode.invalidConfig, msg);
}

/** `pod "ns/name"` in resolution messages, or "the container" outside Kubernetes. */
export function podText(ref: PodRef | undefined): string {
	return ref === undefined ? 'the container' : `pod "${ref.namespace}/${ref.name}"`;
}

/**
 * Namespace isolation (spec §7.4, Multus' namespaceIsolation): with it on, a pod may only use NADs
 * of its own namespace and of `globalNamespaces` (plus `multusNamespace` for its default network).
 *
 * @throws CniError code 7 naming the allowed namespaces.
 */
export function checkIsolation(
	conf: PlexusConf,
	pod: PodRef | undefined,
	namespace: string,
	name: string,
	origin: string,
	extraAllowed: readonly string[],
): void {
	if (!conf.namespaceIsolation || pod === undefined || namespace === pod.namespace) return;
	if (conf.globalNamespaces.includes(namespace) || extraAllowed.includes(namespace)) return;
	const allowed = [pod.namespace, ...conf.globalNamespaces, ...extraAllowed]
		.map((ns) => `"${ns}"`)
		.join(', ');
	throw invalid(
		`namespace isolation forbids ${podText(pod)} to use network-attachment-definition "${namespace}/${name}" (${origin}): allowed namespaces are ${allowed}`,
	);
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
export function declares(list: NetworkList, capability: string): boolean {
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
 * Interface names: requested names win; the others are net<position> (Multus' numbering, the
 * cluster network being position 0, `skipped` positions keeping their slot), or the next net<n>
 * that no element requested. Two requests for one name fail before anything runs.
 */
export function assignInterfaceNames(
	attachments: Attachment[],
	skipped: ReadonlySet<number>,
	pod: PodRef | undefined,
): void {
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
				`interface "${attachment.ifname}" of ${podText(pod)} is used twice: by ${previous.origin} ("${previous.network}") and by ${attachment.origin} ("${attachment.network}")`,
			);
		}
		owners.set(attachment.ifname, attachment);
	}
}

/**
 * Device information (device-info spec v1.1.0 §4.2.1, §5.1.1): a chain that declares the
 * CNIDeviceInfoFile capability gets a path unique to this attachment to write its device to.
 */
export function assignDeviceInfoFiles(
	attachments: readonly Attachment[],
	deviceInfoDir: string,
	containerId: string,
): void {
	for (const attachment of attachments) {
		if (!declares(attachment.list, DEVICE_INFO_CAPABILITY) && attachment.devicePluginInfo === undefined)
			continue;
		const owner = (
			attachment.nad === undefined ? attachment.network : `${attachment.nad.namespace}-${attachment.nad.name}`
		).replaceAll('/', '-');
		attachment.capabilityArgs[DEVICE_INFO_CAPABILITY] = join(
			deviceInfoDir,
			`${owner}-${containerId}_${attachment.ifname}.json`,
		);
	}
}
