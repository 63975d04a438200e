/**
 * What the meta-plugin talks to (the Kubernetes client, delegate exec, in-process built-ins,
 * Netlink for `default-route`), with the production defaults, and the readiness indicator wait.
 * Everything heavy is imported on first use: a DEL served from the cache loads none of it, and the
 * built-ins load on the first chain that names one (before: every verb paid ~35 modules for them).
 */
import {setTimeout as sleep} from 'node:timers/promises';
import {BUILTIN_TYPES} from '../../delegates/builtin-types.ts';
import {BuiltinPluginExec, ipamExecOf, type LazyBuiltins} from '../chain/builtin-exec.ts';
import {type PluginExec, ProcessPluginExec} from '../chain/plugin-exec.ts';
import {monotonicMs} from '../clock.ts';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import {access} from '../fs/promises.ts';
import {type KubeClient, NodeKubeClient} from '../k8s/client.ts';
import {kubeClientOptions} from '../k8s/client-options.ts';
import type {OpenNetlink} from '../netlink/netlink.ts';
import type {PlexusConf} from './conf/conf.ts';
import type {ProbeNetns} from './netns-guard.ts';
import {PASSTHRU_TYPE, passthruPlugin} from './passthru.ts';

/** Multus waits this long for the readiness indicator file on ADD and GC. */
export const READINESS_TIMEOUT_MS = 45_000;
export const READINESS_POLL_MS = 1000;
export {DEL_API_TIMEOUT_MS} from '../k8s/client-options.ts';

/** What the plugin talks to; tests replace any of it. */
export interface PlexusDeps {
	/** The Kubernetes client for a conf, or undefined when no API server is configured. */
	kube?:
		| ((
				conf: PlexusConf,
				env: Readonly<Record<string, string>>,
				verb: 'ADD' | 'DEL',
		  ) => KubeClient | undefined)
		| undefined;
	/** Runs delegate binaries (default: ProcessPluginExec, posix_spawn). */
	exec?: PluginExec | undefined;
	/**
	 * In-process delegates by type (default: the built-ins minus `disableBuiltins`), given the exec
	 * for their own IPAM calls; they are found before CNI_PATH (delegateExec).
	 */
	inProcess?: ((conf: PlexusConf, exec: PluginExec) => Promise<ReadonlyMap<string, CniPlugin>>) | undefined;
	/**
	 * Decorates the whole delegate seam, built-ins included (timing and logs in the daemon and the
	 * one-shot process, recording in dry-run). Default: none.
	 */
	wrapExec?: ((exec: PluginExec) => PluginExec) | undefined;
	readinessTimeoutMs?: number | undefined;
	readinessPollMs?: number | undefined;
	/** Opens Netlink in the pod's netns for `default-route` (default: the kernel implementation). */
	openNetlink?: OpenNetlink | undefined;
	/**
	 * The host's root as this process sees it, when delegates run chrooted there (`plexus daemon
	 * --chroot-dir`): the cluster network's readiness indicator file is looked up inside it.
	 */
	hostRoot?: string | undefined;
	/** Classifies CNI_NETNS before anything runs (default: statfs on the real path, ./netns-guard.ts). */
	probeNetns?: ProbeNetns | undefined;
}

/** The client-node KubeClient when a kubeconfig or the in-cluster variables exist. */
export function defaultKube(
	conf: PlexusConf,
	env: Readonly<Record<string, string>>,
	verb: 'ADD' | 'DEL',
): KubeClient | undefined {
	const options = kubeClientOptions(conf, env, verb);
	// One connection: a one-shot process's requests queue on it rather than open another (TLS).
	// And the process has no other TLS client, so its CA can be the process's trust.
	return options === undefined
		? undefined
		: new NodeKubeClient({...options, maxConnections: 1, soleTlsClient: true});
}

/** The built-in delegates (vrf, vlan, route-override) minus the conf's `disableBuiltins`. */
export async function defaultBuiltins(
	conf: PlexusConf,
	exec: PluginExec,
): Promise<ReadonlyMap<string, CniPlugin>> {
	const [{createBuiltins}, {openNetlink}] = await Promise.all([
		import('../../delegates/index.ts'),
		import('../netlink/kernel.ts'),
	]);
	return createBuiltins({openNetlink: (netns) => openNetlink(netns), exec}, {disable: conf.disableBuiltins});
}

/** The delegate seam, and the scheduling of its undecorated built-in exec. */
export interface DelegateSeam {
	readonly exec: PluginExec;
	/** Built-ins loaded ahead of their turn, work started during the next binary run. */
	readonly schedule: Pick<BuiltinPluginExec, 'warm' | 'duringNextRun' | 'flush'>;
}

/**
 * The one seam the meta-plugin's delegates run through: the in-process delegates (deps.inProcess,
 * plus `passthru` unless registered or disabled) found by type before CNI_PATH, every other type a
 * binary run by deps.exec; deps.wrapExec decorates the whole.
 */
export async function delegateExec(conf: PlexusConf, deps: PlexusDeps): Promise<PluginExec> {
	return (await delegateSeam(conf, deps)).exec;
}

/** delegateExec's seam with its schedule (./invocation.ts warms the built-ins and defers event posts through it). */
export async function delegateSeam(conf: PlexusConf, deps: PlexusDeps): Promise<DelegateSeam> {
	const binaries = deps.exec ?? new ProcessPluginExec();
	let seam: PluginExec | undefined;
	// A built-in's IPAM call runs through the decorated seam (timed, recorded), found as a binary.
	const ipam = ipamExecOf(binaries, () => seam ?? binaries);
	const inProcess = deps.inProcess ?? defaultBuiltins;
	const builtins =
		inProcess === defaultBuiltins
			? lazyDefaultBuiltins(conf, ipam)
			: withPassthru(conf, await inProcess(conf, ipam));
	const exec = new BuiltinPluginExec(binaries, builtins);
	seam = deps.wrapExec?.(exec) ?? exec;
	return {exec: seam, schedule: exec};
}

/** `inProcess` plus `passthru`, unless registered there or disabled. */
function withPassthru(
	conf: PlexusConf,
	inProcess: ReadonlyMap<string, CniPlugin>,
): ReadonlyMap<string, CniPlugin> {
	return inProcess.has(PASSTHRU_TYPE) || conf.disableBuiltins.includes(PASSTHRU_TYPE)
		? inProcess
		: new Map([...inProcess, [PASSTHRU_TYPE, passthruPlugin]]);
}

/**
 * The production built-ins by name, imported (delegates/index.ts, the Netlink core) only when a
 * chain first names one: STATUS and chains of binaries alone load none of it.
 */
function lazyDefaultBuiltins(conf: PlexusConf, ipam: PluginExec): LazyBuiltins {
	const types = new Set<string>(BUILTIN_TYPES.filter((type) => !conf.disableBuiltins.includes(type)));
	if (!conf.disableBuiltins.includes(PASSTHRU_TYPE)) types.add(PASSTHRU_TYPE);
	return {types, load: async () => withPassthru(conf, await defaultBuiltins(conf, ipam))};
}

/** The kernel Netlink opener, loaded on first use. */
export async function defaultOpenNetlink(): Promise<OpenNetlink> {
	return (await import('../netlink/kernel.ts')).openNetlink;
}

/**
 * Waits up to `timeoutMs` for the readiness indicator file (spec §6.1.2: block while the cluster
 * network is not ready). An empty path means no wait. With `hostRoot`, the file is the one the
 * cluster network wrote in the host's root (where its delegates run), not in our own.
 *
 * @throws CniError code 50 (not available) when the file does not appear in time.
 */
export async function waitReadiness(
	file: string,
	timeoutMs: number,
	pollMs: number,
	hostRoot?: string,
): Promise<void> {
	if (file === '') return;
	const deadline = monotonicMs() + timeoutMs;
	const where = hostRoot === undefined ? '' : ` under host root "${hostRoot}"`;
	const inRoot = hostRoot === undefined ? undefined : (await import('../chain/host-root.ts')).resolveInRoot;
	for (;;) {
		try {
			const path = hostRoot === undefined || inRoot === undefined ? file : await inRoot(hostRoot, file);
			if (path === undefined) throw new Error('not found');
			await access(path);
			return;
		} catch {
			if (monotonicMs() >= deadline) {
				throw new CniError(
					CniErrorCode.notAvailable,
					`plexus is not ready: readiness indicator file "${file}" does not exist${where} (the cluster network is not up yet)`,
				);
			}
		}
		await sleep(pollMs);
	}
}
