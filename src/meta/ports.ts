/**
 * The ports of the meta-plugin's steps (./steps/): everything ADD, DEL, CHECK, STATUS and GC
 * touch outside their own data — the Kubernetes client, delegate exec (and the in-process
 * built-ins), Netlink for `default-route`, the clock, device information files, the readiness
 * indicator and the netns probe. The plugin (./plugin.ts) builds them from PlexusDeps with the
 * production defaults; `plexus dry-run` builds its own (manifest-backed client, recording exec,
 * the Netlink model) and runs the same steps.
 */
import type {PluginExec} from '../chain/plugin-exec.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import type {KubeClient} from '../k8s/client.ts';
import type {OpenNetlink} from '../netlink/netlink.ts';
import type {PlexusConf} from './conf/conf.ts';
import {
	defaultBuiltins,
	defaultKube,
	defaultOpenNetlink,
	type PlexusDeps,
	READINESS_POLL_MS,
	READINESS_TIMEOUT_MS,
	waitReadiness,
} from './deps.ts';
import {type DeviceInfoFiles, nodeDeviceInfoFiles} from './device-info.ts';
import {type ProbeNetns, probeNetnsIn} from './netns-guard.ts';

export type {DeviceInfoFiles} from './device-info.ts';

/** What the steps run against. */
export interface MetaPorts {
	/** The Kubernetes client for a conf, or undefined when no API server is configured. */
	kube(conf: PlexusConf, env: Readonly<Record<string, string>>, verb: 'ADD' | 'DEL'): KubeClient | undefined;
	/** Runs delegate binaries (undefined: the executor's default, ProcessPluginExec). */
	exec: PluginExec | undefined;
	/** The in-process delegates by type for a conf (found before CNI_PATH: deps.ts delegateExec). */
	inProcess(conf: PlexusConf, exec: PluginExec | undefined): Promise<ReadonlyMap<string, CniPlugin>>;
	/** Decorates the whole delegate seam, built-ins included (timing, recording); optional. */
	wrapExec?: ((exec: PluginExec) => PluginExec) | undefined;
	/** Opens Netlink in a netns (for `default-route`), loaded on first use. */
	netlink(): Promise<OpenNetlink>;
	/** The time a DEL failure is recorded at. */
	now(): Date;
	files: DeviceInfoFiles;
	/** Waits for the conf's readiness indicator file (`wait` false: checks once). */
	ready(conf: PlexusConf, wait: boolean): Promise<void>;
	/** Classifies CNI_NETNS before anything runs. */
	probeNetns: ProbeNetns;
}

/** The production ports, with any of PlexusDeps replacing its default. */
export function portsFrom(deps: PlexusDeps): MetaPorts {
	return {
		kube: deps.kube ?? defaultKube,
		exec: deps.exec,
		inProcess: deps.inProcess ?? defaultBuiltins,
		wrapExec: deps.wrapExec,
		netlink: async () => deps.openNetlink ?? (await defaultOpenNetlink()),
		now: () => new Date(),
		files: nodeDeviceInfoFiles,
		ready: (conf, wait) =>
			waitReadiness(
				conf.readinessIndicatorFile,
				wait ? (deps.readinessTimeoutMs ?? READINESS_TIMEOUT_MS) : 0,
				deps.readinessPollMs ?? READINESS_POLL_MS,
				deps.hostRoot,
			),
		probeNetns: deps.probeNetns ?? probeNetnsIn(deps.hostRoot),
	};
}
