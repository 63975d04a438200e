/**
 * "Nothing left" for a CRI sandbox, as one object a test compares with `NOTHING_LEFT`: every list
 * names what is still there, so a failure says exactly what leaked.
 */
import {existsSync} from 'node:fs';
import {readdir} from 'node:fs/promises';
import {join} from 'node:path';
import {filesUnder, hostLocalReservations} from '../../helpers/cni.ts';
import {ipJsonAt} from './netns-view.ts';
import type {PlexusNode} from './plexus-node.ts';
import {mountsUnder} from './sweep.ts';

/** Where containerd 1.6's libcni caches results (it has no setting for it). */
const RUNTIME_LIBCNI_CACHE = '/var/lib/cni/results';

export interface Leftovers {
	/** The sandbox as ListPodSandbox still reports it. */
	sandboxes: string[];
	/** The sandbox's netns path, if the file or its mount is still there. */
	netns: string[];
	/** Links of the node's netns still enslaved to its bridges (the pods' host-side veths). */
	bridgePorts: string[];
	/** host-local reservations of the cluster network. */
	hostLocal: string[];
	/** Files in Plexus's cniDir (its attachment cache and its delegates' libcni results). */
	plexusCache: string[];
	/** containerd's own libcni result files of the sandbox. */
	runtimeCache: string[];
	/** The node netns' iptables-save lines naming the sandbox ID (portmap comments its rules with it) or a `patterns` string. */
	iptables: string[];
}

export const NOTHING_LEFT: Leftovers = {
	sandboxes: [],
	netns: [],
	bridgePorts: [],
	hostLocal: [],
	plexusCache: [],
	runtimeCache: [],
	iptables: [],
};

/**
 * What is left of sandbox `id` (netns at `netnsPath`) on `node`; iptables lines are also matched
 * against `patterns` (e.g. the pod's `<ip>:<port>` DNAT target).
 */
export async function leftovers(
	node: PlexusNode,
	id: string,
	netnsPath: string | undefined,
	patterns: readonly string[] = [],
): Promise<Leftovers> {
	const sandboxes = (await node.containerd.cri.listPodSandbox()).filter((s) => s.id === id).map((s) => s.id);
	const netns: string[] = [];
	if (netnsPath !== undefined) {
		if (existsSync(netnsPath)) netns.push(netnsPath);
		netns.push(...(await mountsUnder(netnsPath)));
	}
	const bridges = new Set([node.clusterBridge, node.staticBridge, node.master]);
	const links = await ipJsonAt<{ifname: string; master?: string}[]>(node.netns.path, 'link', 'show');
	const bridgePorts = links
		.filter((l) => l.master !== undefined && bridges.has(l.master))
		.map((l) => l.ifname);
	const runtimeCache = (await readdir(RUNTIME_LIBCNI_CACHE).catch(() => [] as string[]))
		.filter((f) => f.includes(id))
		.map((f) => join(RUNTIME_LIBCNI_CACHE, f));
	const rules = (await node.netns.run('iptables-save', [])).stdout.split('\n');
	return {
		sandboxes,
		netns,
		bridgePorts,
		hostLocal: await hostLocalReservations(node.dir),
		plexusCache: await filesUnder(node.cniDir),
		runtimeCache,
		iptables: rules.filter((line) => [id, ...patterns].some((p) => line.includes(p))),
	};
}
