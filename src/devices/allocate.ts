/**
 * Device allocation for one ADD, the one entry point resolution calls: reads the pod's devices from
 * their sources (kubelet's PodResources API, else its checkpoint file when the socket is absent;
 * then DRA through the API server), gives each attachment naming a resource its own device
 * (./assign.ts) and puts it where the plugins read it: `deviceID` and `pciBusID` in every plugin
 * of the list, `runtimeConfig.deviceID` for the plugins declaring that capability, and the device
 * plugin's device-info file to copy to CNIDeviceInfoFile (device-info spec §4.2.1).
 * Nothing is read when no attachment names a resource.
 */
import type {NetworkList} from '../chain/network-list.ts';
import {type CniError, isCniError} from '../cni/errors.ts';
import {readCheckpoint} from '../k8s/device-plugin.ts';
import {withDeviceId} from '../k8s/nad.ts';
import {log} from '../log.ts';
import {tracedApiCall} from '../observe/context.ts';
import {assignDevices, type DeviceRef, devicePluginOrder} from './assign.ts';
import {type DraPort, draDevices, isDraCapable} from './dra.ts';
import {readPodResources} from './pod-resources.ts';

/** Where a pod's devices are read. */
export interface DeviceSources {
	/** Kubelet's PodResources socket (conf key `podResourcesSocket`). */
	podResourcesSocket: string;
	/** Kubelet's device-manager checkpoint, read only when the socket does not exist. */
	checkpointFile: string;
	/** DRA reads; undefined without an API server. */
	dra: DraPort | undefined;
	/** The device plugins' device-info directory (device-info spec §4.1). */
	devicePluginInfoDir: string;
	/** The bound of one PodResources call, in ms. */
	timeoutMs?: number | undefined;
}

/**
 * The sources a Plexus conf names; DRA when `kube` can read it (the client-node client, not the
 * fakes or dry-run's manifests).
 */
export function deviceSources(
	conf: {podResourcesSocket: string; deviceCheckpointFile: string; devicePluginInfoDir: string},
	kube: unknown,
): DeviceSources {
	return {
		podResourcesSocket: conf.podResourcesSocket,
		checkpointFile: conf.deviceCheckpointFile,
		devicePluginInfoDir: conf.devicePluginInfoDir,
		dra: isDraCapable(kube) ? kube.draPort() : undefined,
	};
}

/** The pod as allocation knows it. */
export interface DevicePod {
	namespace: string;
	name: string;
	uid: string;
}

/** What allocation reads and sets on an attachment (resolve.ts's Attachment fits). */
export interface DeviceTarget {
	network: string;
	origin: string;
	/** The NAD's `k8s.v1.cni.cncf.io/resourceName`, when it names one. */
	resourceName?: string | undefined;
	list: NetworkList;
	capabilityArgs: Record<string, unknown>;
	devicePluginInfo?: string;
	/** The device it got, and where it came from (dry-run shows it). */
	device?: DeviceRef;
}

/** All devices allocated to the pod, in source order (see module comment). */
export async function podDevices(pod: DevicePod, sources: DeviceSources): Promise<DeviceRef[]> {
	const rows = await tracedApiCall(`get pod resources of "${pod.namespace}/${pod.name}" from kubelet`, () =>
		readPodResources(pod, sources.podResourcesSocket, sources.timeoutMs),
	);
	let devices: DeviceRef[];
	if (rows !== undefined) {
		devices = devicePluginOrder(rows, 'PodResources');
	} else {
		const entries = pod.uid === '' ? [] : await readCheckpoint(sources.checkpointFile);
		const mine = entries
			.filter((e) => e.podUid === pod.uid)
			.map((e) => ({container: e.containerName, resourceName: e.resourceName, deviceIds: e.deviceIds}));
		devices = devicePluginOrder(mine, 'checkpoint');
	}
	if (sources.dra !== undefined) devices.push(...(await draDevices(sources.dra, pod)));
	return devices;
}

/** The device plugin's device-info file of one device: every "/" of either part becomes "-" (§4.1). */
export function devicePluginInfoPath(dir: string, resourceName: string, deviceId: string): string {
	return `${dir}/${resourceName.replaceAll('/', '-')}-${deviceId.replaceAll('/', '-')}-device.json`;
}

function declares(list: NetworkList, capability: string): boolean {
	return list.plugins.some((p) => {
		const caps = p.raw['capabilities'];
		return (
			typeof caps === 'object' && caps !== null && (caps as Record<string, unknown>)[capability] === true
		);
	});
}

/**
 * Gives each target naming a resource its device, in the targets' order, and sets it on the target.
 * An element's own `deviceID` (network-selection element) is replaced by the allocated one.
 *
 * @throws CniError when a source fails (naming it) or a target's resource has no device left;
 * with `onUnresolvable`, each such error is reported there (with the target's origin, or
 * "devices" for a source) and the targets concerned get no device.
 */
export async function allocateDevices(
	pod: DevicePod | undefined,
	targets: readonly DeviceTarget[],
	sources: DeviceSources,
	onUnresolvable?: ((origin: string, error: CniError) => void) | undefined,
): Promise<void> {
	const requests = targets.map((t) =>
		t.resourceName === undefined || t.resourceName === ''
			? undefined
			: {resourceName: t.resourceName, network: t.network, origin: t.origin},
	);
	if (requests.every((r) => r === undefined)) return;
	let devices: DeviceRef[] = [];
	try {
		devices = pod === undefined ? [] : await podDevices(pod, sources);
	} catch (error) {
		if (onUnresolvable === undefined || !isCniError(error)) throw error;
		onUnresolvable('devices', error);
		return;
	}
	const podName = pod === undefined ? 'the container' : `pod "${pod.namespace}/${pod.name}"`;
	const assigned = assignDevices(
		requests,
		devices,
		podName,
		onUnresolvable === undefined ? undefined : (request, error) => onUnresolvable(request.origin, error),
	);
	for (const [i, target] of targets.entries()) {
		const device = assigned[i];
		if (device === undefined) continue;
		target.device = device;
		log('debug', 'device allocated', {network: target.network, origin: target.origin, ...device});
		target.list = withDeviceId(target.list, device.deviceId);
		if (declares(target.list, 'deviceID')) target.capabilityArgs['deviceID'] = device.deviceId;
		target.devicePluginInfo = devicePluginInfoPath(
			sources.devicePluginInfoDir,
			device.resourceName,
			device.deviceId,
		);
	}
}
