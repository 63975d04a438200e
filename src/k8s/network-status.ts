/**
 * The `k8s.v1.cni.cncf.io/network-status` annotation, exactly per multi-net spec v1.3 §5: one
 * entry per attachment including the cluster network. Unlike Multus (reference §1.9/§1.15) every
 * entry has `default` (true for the cluster network only), results without interfaces still get an
 * entry, there are no non-spec keys (`mtu`, `gateway`), and `default-route` lists the gateways of
 * the element that asked for the default route.
 */
import {type CniResult, convertResult, type Dns, type Result100} from '../cni/result.ts';

/** One entry (spec v1.3 §5.3). */
export interface NetworkStatus {
	name: string;
	interface?: string;
	ips?: string[];
	mac?: string;
	default: boolean;
	dns?: Dns;
	'device-info'?: Record<string, unknown>;
	'default-route'?: string[];
}

/** What the status of one attachment is built from. */
export interface AttachmentOutcome {
	/** `namespace/name` of the NAD, or the conf name for a cluster network from a file. */
	name: string;
	/** CNI_IFNAME the attachment ran with. */
	ifname: string;
	isClusterNetwork: boolean;
	/** The chain's final result; undefined when the attachment produced none. */
	result: CniResult | undefined;
	/** The element's `default-route` gateways, when it set that key. */
	defaultRoute?: readonly string[] | undefined;
	deviceInfo?: Record<string, unknown> | undefined;
}

function bareIp(cidr: string): string {
	const slash = cidr.indexOf('/');
	return slash === -1 ? cidr : cidr.slice(0, slash);
}

/**
 * The entry of one attachment. Interface: the first result interface with a `sandbox` (§5.3.2),
 * else CNI_IFNAME; IPs: those pointing at that interface, or, when no interface has a sandbox,
 * those pointing at none (§5.3.3), as bare addresses like every consumer of Multus' status expects.
 */
export function networkStatusEntry(outcome: AttachmentOutcome): NetworkStatus {
	const entry: NetworkStatus = {
		name: outcome.name,
		interface: outcome.ifname,
		default: outcome.isClusterNetwork,
	};
	if (outcome.result !== undefined) {
		const result = convertResult(outcome.result, '1.1.0') as Result100;
		const interfaces = result.interfaces ?? [];
		const index = interfaces.findIndex((i) => i.sandbox !== undefined && i.sandbox !== '');
		const ips = (result.ips ?? []).filter((ip) =>
			index === -1
				? ip.interface === undefined || ip.interface < 0 || interfaces[ip.interface] === undefined
				: ip.interface === index,
		);
		const chosen = index === -1 ? undefined : interfaces[index];
		if (chosen !== undefined) {
			entry.interface = chosen.name;
			if (chosen.mac !== undefined && chosen.mac !== '') entry.mac = chosen.mac;
		}
		if (ips.length > 0) entry.ips = ips.map((ip) => bareIp(ip.address));
		entry.dns = result.dns ?? {};
	} else {
		entry.dns = {};
	}
	if (outcome.deviceInfo !== undefined) entry['device-info'] = outcome.deviceInfo;
	if (outcome.defaultRoute !== undefined) entry['default-route'] = [...outcome.defaultRoute];
	// Keys in the spec's order (§5.3), so the annotation reads the way the spec lists them.
	const ordered: NetworkStatus = {name: entry.name, default: entry.default};
	for (const key of ['interface', 'ips', 'mac', 'default', 'dns', 'device-info', 'default-route'] as const) {
		if (entry[key] !== undefined) Object.assign(ordered, {[key]: entry[key]});
	}
	return ordered;
}

/** The annotation value: the entries as a JSON list, in attachment order. */
export function formatNetworkStatus(outcomes: readonly AttachmentOutcome[]): string {
	return JSON.stringify(outcomes.map(networkStatusEntry), null, 4);
}
