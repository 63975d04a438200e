/**
 * The meta-plugin's ports (src/meta/ports.ts) as `--simulate` and `--execute` provide them, so
 * both run ADD's own steps: the manifest-backed client wrapped so that network-status and events
 * are recorded and shown, never written; the caller's exec and built-ins (recording ones); the
 * Netlink model or the kernel; device information kept in memory (--simulate) or where the spec
 * puts it (--execute). The readiness indicator is not waited for: dry-run shows what ADD would do
 * once the cluster network is ready.
 */
import {readFile} from 'node:fs/promises';
import type {PluginExec} from '../../chain/plugin-exec.ts';
import {decodeJson} from '../../cni/json.ts';
import type {CniPlugin} from '../../cni/plugin.ts';
import {NETWORK_STATUS_ANNOTATION} from '../../k8s/annotations.ts';
import type {KubeClient, Nad, Pod, PodEvent, StatusWriteOutcome} from '../../k8s/client.ts';
import type {PlexusConf} from '../../meta/conf/conf.ts';
import type {ProbeNetns} from '../../meta/netns-guard.ts';
import type {DeviceInfoFiles, MetaPorts} from '../../meta/ports.ts';
import {type Attachment, DEVICE_INFO_CAPABILITY} from '../../meta/resolve/attachment.ts';
import type {OpenNetlink} from '../../netlink/netlink.ts';

/**
 * Reads through to a client, answering the dry-run's own pod for its name; records the pod writes
 * ADD makes instead of making them.
 */
export class RecordingKube implements KubeClient {
	readonly #inner: KubeClient;
	readonly #pod: Pod;
	/** The network-status ADD would write, parsed; null until it writes one. */
	networkStatus: unknown[] | null = null;
	/** The events ADD would post. */
	readonly events: PodEvent[] = [];

	constructor(inner: KubeClient, pod: Pod) {
		this.#inner = inner;
		this.#pod = pod;
	}

	async getPod(namespace: string, name: string): Promise<Pod | undefined> {
		if (namespace === this.#pod.namespace && name === this.#pod.name) return this.#pod;
		return this.#inner.getPod(namespace, name);
	}

	getNad(namespace: string, name: string): Promise<Nad | undefined> {
		return this.#inner.getNad(namespace, name);
	}

	async setPodAnnotation(
		_namespace: string,
		_name: string,
		_uid: string | undefined,
		key: string,
		value: string,
	): Promise<StatusWriteOutcome> {
		if (key === NETWORK_STATUS_ANNOTATION) this.networkStatus = JSON.parse(value) as unknown[];
		return 'written';
	}

	async createEvent(event: PodEvent): Promise<void> {
		this.events.push(event);
	}
}

/**
 * Device information in memory: the device plugin's file is read (never written) and what a
 * chain would find in its CNIDeviceInfoFile is that copy.
 */
export function memoryDeviceInfo(): DeviceInfoFiles {
	const files = new Map<string, Record<string, unknown>>();
	return {
		prepare: async (a: Attachment) => {
			const target = a.capabilityArgs[DEVICE_INFO_CAPABILITY];
			if (typeof target !== 'string' || a.devicePluginInfo === undefined) return;
			try {
				const info = decodeJson(await readFile(a.devicePluginInfo, 'utf8'), 'device information');
				if (typeof info === 'object' && info !== null && !Array.isArray(info))
					files.set(target, info as Record<string, unknown>);
			} catch {
				// Not every device plugin writes device information; the spec makes it optional.
			}
		},
		read: async (capabilityArgs) => {
			const file = capabilityArgs[DEVICE_INFO_CAPABILITY];
			return typeof file === 'string' ? files.get(file) : undefined;
		},
	};
}

/** What a dry-run mode plugs into the steps. */
export interface DryRunPortsOf {
	kube: RecordingKube;
	exec: PluginExec;
	inProcess: (conf: PlexusConf, exec: PluginExec | undefined) => Promise<ReadonlyMap<string, CniPlugin>>;
	/** Decorates the whole delegate seam (dry-run records every run through it). */
	wrapExec?: ((exec: PluginExec) => PluginExec) | undefined;
	netlink: OpenNetlink;
	files: DeviceInfoFiles;
	probeNetns: ProbeNetns;
}

/** The meta-plugin's ports for a dry-run mode. */
export function dryRunPorts(of: DryRunPortsOf): MetaPorts {
	return {
		kube: () => of.kube,
		exec: of.exec,
		inProcess: of.inProcess,
		wrapExec: of.wrapExec,
		netlink: async () => of.netlink,
		now: () => new Date(),
		files: of.files,
		ready: async () => {},
		probeNetns: of.probeNetns,
	};
}
