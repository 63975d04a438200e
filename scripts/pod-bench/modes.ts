/**
 * The three ways the benchmark attaches the same pod, each an ADD, a DEL and a repeated DEL of
 * round `i`, resolving wall times in ms:
 *   floor        the delegate chains alone: the chain executor in this warm process exec'ing
 *                Debian's plugins (route-override in-process, as Plexus runs it); no meta-plugin,
 *                no API server;
 *   one-shot     bin/plexus exec'd per verb, as kubelet's runtime runs a thin CNI plugin;
 *   daemon+shim  plexus-shim exec'd per verb, talking to a running `plexus daemon`.
 * The Plexus modes read the pod and NADs from the API server and write network-status, each in
 * its own Kubernetes namespace. Every exec, the floor's delegates included, goes through
 * posix_spawn (./processes.ts `run`, src/chain/native-spawn.ts), as containerd's exec costs: a
 * fork of this large process would add its own 10-15 ms to each.
 */
import {join} from 'node:path';
import {withBuiltins} from '../../delegates/index.ts';
import {ChainExecutor, type RuntimeConf} from '../../src/chain/executor.ts';
import {parseNetworkList} from '../../src/chain/network-list.ts';
import {ProcessPluginExec} from '../../src/chain/plugin-exec.ts';
import {openNetlink} from '../../src/netlink/kernel.ts';
import {type Bed, CNI_BIN, IFNAMES, type PodRef} from './bed.ts';
import {ok, PLEXUS, run, SHIM} from './processes.ts';

/** One way of attaching the pod. */
export interface Mode {
	readonly label: string;
	/** The Kubernetes namespace of its pods; undefined when it uses no API server. */
	readonly namespace: string | undefined;
	/** Untimed set-up of round `i` (the Pod object). */
	prepare(i: number): void;
	add(i: number): Promise<number>;
	del(i: number): Promise<number>;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
	const started = performance.now();
	await work();
	return performance.now() - started;
}

/** The delegate chains alone, in this process. */
export function floorMode(bed: Bed): Mode {
	const netns = bed.netns();
	const exec = new ProcessPluginExec();
	const executor = new ChainExecutor({
		path: CNI_BIN,
		cacheDir: join(bed.dir, 'floor-cache'),
		exec: withBuiltins(exec, openNetlink),
		env: {PATH: process.env['PATH'] ?? ''},
	});
	const lists = bed.networks().map((n) => parseNetworkList(new Uint8Array(Buffer.from(JSON.stringify(n)))));
	const rt = (i: number, ifname: string): RuntimeConf => ({
		containerId: `floor-${bed.id}-${i}`,
		netns: `/var/run/netns/${netns}`,
		ifname,
		args: [],
		capabilityArgs: {},
	});
	return {
		label: 'floor (delegates alone)',
		namespace: undefined,
		prepare: () => {},
		add: (i) =>
			timed(async () => {
				for (const [k, list] of lists.entries()) await executor.addNetworkList(list, rt(i, IFNAMES[k] ?? ''));
			}),
		del: (i) =>
			timed(async () => {
				for (const [k, list] of [...lists.entries()].reverse())
					await executor.delNetworkList(list, rt(i, IFNAMES[k] ?? ''));
			}),
	};
}

/** A Plexus mode: `file` exec'd per verb with `extraEnv`, pods in Kubernetes namespace `namespace`. */
function plexusMode(
	bed: Bed,
	label: string,
	namespace: string,
	file: string,
	extraEnv: Record<string, string>,
): Mode {
	const netns = bed.netns();
	bed.createNads(namespace);
	const pod = (i: number): PodRef => ({namespace, name: `pod-${i}`});
	const verb = async (command: string, i: number) =>
		ok(`${label} ${command}`, await run(file, bed.env(command, netns, pod(i), extraEnv), bed.conf()));
	return {
		label,
		namespace,
		prepare: (i) => bed.createPod(pod(i)),
		add: (i) => verb('ADD', i),
		del: (i) => verb('DEL', i),
	};
}

/** bin/plexus exec'd per verb. */
export function oneShotMode(bed: Bed): Mode {
	return plexusMode(bed, 'plexus one-shot', 'bench-oneshot', PLEXUS, {});
}

/** plexus-shim exec'd per verb, served by the daemon listening on `socketPath`. */
export function daemonMode(bed: Bed, socketPath: string): Mode {
	return plexusMode(bed, 'plexus daemon + shim', 'bench-daemon', SHIM, {PLEXUS_SOCKET: socketPath});
}
