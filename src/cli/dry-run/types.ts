/**
 * The types `plexus dry-run` shares between planning (./plan.ts), --simulate (./simulate.ts),
 * --execute (./execute.ts) and rendering (./render.ts): the report and its parts, and the inputs.
 * In their own file so that none of those imports another for a type (no import cycle).
 */
import type {RuntimeConf} from '../../chain/executor.ts';
import type {NetworkList} from '../../chain/network-list.ts';
import type {PluginExec} from '../../chain/plugin-exec.ts';
import type {CniPlugin} from '../../cni/plugin.ts';
import type {KubeClient, Pod} from '../../k8s/client.ts';

export interface Finding {
	severity: 'error' | 'warning';
	/** The message the meta-plugin's ADD would fail with (errors), or the tool's own (warnings). */
	message: string;
	/** The error's `details`, when it has some. */
	details?: string;
	/** Set when the failure was found by `--simulate` (on the modelled netns) or `--execute`, not by planning. */
	source?: 'simulation' | 'execute';
	/** The attachment (its network) the finding is about, when it is about one. */
	network?: string;
	/** The plugin's position in the attachment's chain (1-based), when it is about one. */
	plugin?: number;
}

export interface PluginPlan {
	/** 1-based position in the chain. */
	index: number;
	type: string;
	/** How it runs: in-process built-in, a binary found on the path, or missing. */
	runsAs: 'builtin' | 'binary' | 'missing';
	/** The binary's resolved path (binaries only). */
	path: string | null;
	/** The versions the plugin supports: its VERSION answer, or the built-in's list; null when unknown. */
	supportedVersions: string[] | null;
	/** The type of the plugin whose result this one gets as `prevResult` (null for the first). */
	prevResultFrom: string | null;
	/** The exact stdin; `prevResult` (known only when the previous plugin has run) is the string "from <type>". */
	stdin: string;
	/** The CNI_* environment variables it gets. */
	env: Record<string, string>;
}

export interface AttachmentPlan {
	network: string;
	/** "namespace/name" of the NAD, null for networks from the conf or a file. */
	nad: string | null;
	ifname: string;
	isClusterNetwork: boolean;
	/** Where it came from ("clusterNetwork", "element 1 of annotation ..."). */
	origin: string;
	cniVersion: string;
	/** The network list's exact bytes (what the Plexus cache persists and DEL replays). */
	config: string;
	plugins: PluginPlan[];
	/** The element's `default-route` gateways, null when it did not ask for the default route. */
	defaultRoute: string[] | null;
	/** The device its NAD's resourceName got and where it was read (absent without one). */
	device?: {resourceName: string; deviceId: string; source: string};
}

export interface DryRunReport {
	schemaVersion: number;
	mode: 'pod' | 'network';
	/** "namespace/name" of the pod (pod mode). */
	pod: string | null;
	attachments: AttachmentPlan[];
	findings: Finding[];
	/** The `--simulate` run (null without it). */
	simulation: Simulation | null;
	/** The `--execute` run (null without it). */
	execution: Execution | null;
}

export interface Common {
	/** CNI_PATH directories. */
	path: readonly string[];
	/** The environment delegates would inherit. */
	env: Readonly<Record<string, string>>;
	containerId: string;
	netns: string;
	/** CNI_IFNAME (the cluster network's interface in pod mode). */
	ifname: string;
	/** Finds and runs binaries (VERSION only). */
	exec: PluginExec;
	/** The in-process delegates (default: the built-ins, as ADD has them). */
	inProcess?: ((exec: PluginExec) => Promise<ReadonlyMap<string, CniPlugin>>) | undefined;
	/** Ask each binary for its versions (default true). */
	queryVersions?: boolean | undefined;
	/** The node's link names, when dry-run runs on the node (--check-host): masters are checked. */
	hostLinks?: ReadonlySet<string> | undefined;
}

export interface PodDryRun extends Common {
	/** The Plexus conf ADD runs with (dry-run's own log settings in it). */
	confStdin: Uint8Array;
	/** The Plexus conf exactly as the runtime passes it on stdin, checked first (default confStdin). */
	confAsGiven?: Uint8Array | undefined;
	pod: Pod;
	/** Where NADs (and cluster-network NADs) come from. */
	kube: KubeClient;
}

export interface NetworkDryRun extends Common {
	list: NetworkList;
	/** CNI_ARGS pairs. */
	args: readonly (readonly [string, string])[];
	capabilityArgs: Readonly<Record<string, unknown>>;
}

/** One delegate chain to run: its list and runtime conf, the network it is, and ADD's failure prefix. */
export interface ChainRun {
	list: NetworkList;
	rt: RuntimeConf;
	network: string;
	prefix: string | undefined;
}

/** One delegate run in the simulation. */
export interface SimulatedStep {
	network: string;
	ifname: string;
	/** 1-based position in the chain. */
	index: number;
	type: string;
	/** builtin: ran on the model; opaque: an external binary, stood in for. */
	runsAs: 'builtin' | 'opaque';
	/** The exact stdin, with the real prevResult. */
	stdin: string;
	/** The result it returned, or null when it failed. */
	result: unknown;
	/** Its failure, or null. */
	error: string | null;
}

/** The pod's network namespace after the simulated ADD. */
export interface NetView {
	links: {name: string; kind: string | null; up: boolean; master: string | null; vlan: number | null}[];
	/** Addresses, without IPv6 link-local ones. */
	addresses: {dev: string; cidr: string}[];
	/** Routes of every table but `local`, without IPv6 link-local and multicast ones. */
	routes: {table: number; dst: string; gateway: string | null; dev: string | null; type: string}[];
	vrfs: {name: string; table: number; ports: string[]}[];
}

export interface Simulation {
	steps: SimulatedStep[];
	view: NetView;
	/** The network-status ADD would write (not written), null when it would write none. */
	networkStatus: unknown[] | null;
	/** Where the simulated ADD failed (what ADD would report on that state). */
	findings: Finding[];
}

/** One delegate run (ADD or DEL) on the real kernel. */
export interface ExecutedStep {
	command: 'ADD' | 'DEL';
	network: string;
	ifname: string;
	type: string;
	runsAs: 'builtin' | 'binary';
	/** The binary's path (binaries only). */
	path: string | null;
	stdin: string;
	stdout: string;
	stderr: string;
	durationMs: number;
	error: string | null;
}

export interface Execution {
	netns: string;
	/** The netns was made for the run (and deleted after it), not given with --netns. */
	netnsCreated: boolean;
	containerId: string;
	steps: ExecutedStep[];
	/** The netns after ADD (null when nothing was added). */
	view: NetView | null;
	/** The network-status ADD would write (not written), null when it would write none. */
	networkStatus: unknown[] | null;
	/** What DEL left behind; empty when the netns, host and caches are as before. */
	leftovers: string[];
	/** Host bridges the plugins created, which CNI never deletes (not a leak). */
	kept: string[];
	findings: Finding[];
}
