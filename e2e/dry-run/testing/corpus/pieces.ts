/**
 * Building blocks of the dry-run consistency corpus: the host names a case may use, the valid
 * Plexus conf, cluster network and secondary NADs a case starts from, and the plugin configs it
 * chains. Every address and link name comes from the run's `CorpusHost`, so concurrent runs of
 * other suites never collide with it.
 */
import type {Pod} from '../../../../src/k8s/client.ts';

/** What the host provides for one corpus run. */
export interface CorpusHost {
	/** An existing host bridge, the `master` of macvlan NADs. */
	readonly master: string;
	/** A name no host link has (a missing master). */
	readonly missingMaster: string;
	/** The host bridge the cluster network's bridge plugin creates (removed after the run). */
	readonly clusterBridge: string;
	/** The host bridge secondary bridge NADs create (removed after the run). */
	readonly secondaryBridge: string;
	/** The cluster network's subnet, first three octets. */
	readonly subnet: string;
	/** The Plexus cache (cniDir), the conf's binDir (empty) and confDir. */
	readonly cniDir: string;
	readonly binDir: string;
	readonly confDir: string;
}

/** A NAD as the corpus serves it (config undefined: a NAD without spec.config). */
export interface CorpusNad {
	namespace: string;
	name: string;
	config: string | undefined;
}

/** One generated case: the Plexus conf file's text, the pod, and the NADs the cluster has. */
export interface CorpusCase {
	index: number;
	/** What the case exercises (the summary counts cases per category). */
	category: string;
	/** What the generator meant: a case ADD accepts, or one it refuses. */
	intent: 'valid' | 'broken';
	/**
	 * Set when the runtime's own conf loader (libcni) refuses the file, so no runtime would run
	 * ADD with it: only the verdicts are compared, and dry-run's message must name the file.
	 */
	unloadable?: true;
	/** A short description of what was changed (shown with a mismatch). */
	what: string;
	/** The Plexus conf file (JSON), what the runtime passes on stdin. */
	conf: string;
	pod: Pod;
	nads: CorpusNad[];
}

export const POD_NAMESPACE = 'ns1';
export const NETWORKS = 'k8s.v1.cni.cncf.io/networks';

/** The valid Plexus conf every case starts from. */
export function baseConf(host: CorpusHost): Record<string, unknown> {
	return {
		cniVersion: '1.0.0',
		name: 'plexus-net',
		type: 'plexus',
		clusterNetwork: 'cluster-net',
		multusNamespace: 'kube-system',
		confDir: host.confDir,
		cniDir: host.cniDir,
		binDir: host.binDir,
		logFile: '',
		logToStderr: false,
		logLevel: 'error',
	};
}

/** A static IPAM block with one address. */
export function staticIpam(address: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
	return {type: 'static', addresses: [{address}], ...extra};
}

/** The cluster network: the host's cluster bridge with a static address. */
export function clusterNad(host: CorpusHost, version = '1.0.0'): CorpusNad {
	return {
		namespace: 'kube-system',
		name: 'cluster-net',
		config: JSON.stringify({
			cniVersion: version,
			name: 'cluster-net',
			plugins: [
				{
					type: 'bridge',
					bridge: host.clusterBridge,
					ipam: staticIpam(`${host.subnet}.2/24`, {routes: [{dst: '0.0.0.0/0', gw: `${host.subnet}.1`}]}),
				},
			],
		}),
	};
}

/** A macvlan on the host's master with a static address in 10.<n>.0.0/24. */
export function macvlan(
	host: CorpusHost,
	n: number,
	extra: Record<string, unknown> = {},
): Record<string, unknown> {
	return {type: 'macvlan', master: host.master, mode: 'bridge', ipam: staticIpam(`10.${n}.0.5/24`), ...extra};
}

/** A bridge on the secondary host bridge with a static address in 10.<n>.0.0/24. */
export function bridge(host: CorpusHost, n: number): Record<string, unknown> {
	return {type: 'bridge', bridge: host.secondaryBridge, ipam: staticIpam(`10.${n}.0.6/24`)};
}

/** A route-override adding a route through the gateway of 10.<n>.0.0/24. */
export function routeOverride(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
	return {type: 'route-override', addroutes: [{dst: `192.0.2.${n % 250}/32`, gw: `10.${n}.0.1`}], ...extra};
}

/** A tuning plugin (a binary) setting the interface's MTU. */
export function tuning(): Record<string, unknown> {
	return {type: 'tuning', mtu: 1400};
}

/** A conflist NAD in the pod's namespace. */
export function listNad(
	name: string,
	plugins: readonly unknown[],
	version = '1.0.0',
	namespace = POD_NAMESPACE,
): CorpusNad {
	return {namespace, name, config: JSON.stringify({cniVersion: version, name, plugins})};
}

/** A single-plugin conf NAD in the pod's namespace. */
export function singleNad(name: string, plugin: Record<string, unknown>, version = '1.0.0'): CorpusNad {
	return {namespace: POD_NAMESPACE, name, config: JSON.stringify({cniVersion: version, name, ...plugin})};
}

/** A pod with its networks annotation (none when undefined). */
export function podWith(index: number, networks: string | undefined, namespace = POD_NAMESPACE): Pod {
	return {
		namespace,
		name: `pod-${index}`,
		uid: '',
		annotations: networks === undefined ? {} : {[NETWORKS]: networks},
	};
}
