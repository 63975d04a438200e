/**
 * Which device each attachment gets: a pure function of the attachments that name a resource, in
 * resolution order (cluster network, defaultNetworks, the networks annotation in order), and the
 * pod's devices, in source order (device plugins container by container, then DRA claims).
 *
 * Each attachment takes the next unused device of its resource; a device is handed out once per
 * pod, however many sources report it. Multus keeps a cursor per lookup and can start a second
 * lookup with the cursor back at 0 (the default-network annotation, a NAD first met in
 * `defaultNetworks`), handing one VF to two interfaces; and when the devices run out it runs the
 * delegate without a deviceID. Here there is one cursor per ADD, and running out is an error.
 */
import {CniError, CniErrorCode} from '../cni/errors.ts';

/** One allocated device and where it was read. */
export interface DeviceRef {
	resourceName: string;
	deviceId: string;
	/** "PodResources", "checkpoint", `DRA claim "ns/name"`, ... (dry-run shows it). */
	source: string;
}

/** An attachment asking for a device of `resourceName`. */
export interface DeviceRequest {
	resourceName: string;
	/** The network, for messages (`ns/nad`). */
	network: string;
	/** Where the attachment came from, for messages. */
	origin: string;
}

/** The pod's devices per resource, in order, without repeats. */
function byResource(devices: readonly DeviceRef[]): Map<string, DeviceRef[]> {
	const map = new Map<string, DeviceRef[]>();
	for (const device of devices) {
		const list = map.get(device.resourceName) ?? [];
		if (!list.some((d) => d.deviceId === device.deviceId)) list.push(device);
		map.set(device.resourceName, list);
	}
	return map;
}

/**
 * The device of each request, by position (undefined where the request is undefined).
 *
 * @throws CniError code 7 naming the network, its origin and the resource when the pod has no
 * unused device of that resource left; with `onShortage`, that error is handed to it instead and
 * the request gets no device (dry-run and DEL without a cache report every shortage).
 */
export function assignDevices(
	requests: readonly (DeviceRequest | undefined)[],
	devices: readonly DeviceRef[],
	pod: string,
	onShortage?: (request: DeviceRequest, error: CniError) => void,
): (DeviceRef | undefined)[] {
	const free = byResource(devices);
	const taken = new Map<string, DeviceRequest[]>();
	return requests.map((request) => {
		if (request === undefined) return undefined;
		const device = free.get(request.resourceName)?.shift();
		const before = taken.get(request.resourceName) ?? [];
		if (device === undefined) {
			const owners = before.map((r) => `"${r.network}" (${r.origin})`).join(', ');
			const allocated =
				before.length === 0
					? 'none is allocated to it'
					: `its ${before.length} allocated one${before.length === 1 ? ' is' : 's are'} taken by ${owners}`;
			const error = new CniError(
				CniErrorCode.invalidConfig,
				`network "${request.network}" (${request.origin}) needs a "${request.resourceName}" device, but ${pod} has none left: ${allocated}`,
			);
			if (onShortage === undefined) throw error;
			onShortage(request, error);
			return undefined;
		}
		taken.set(request.resourceName, [...before, request]);
		return device;
	});
}

/**
 * The device-plugin devices of a pod in Multus' documented order (multus-cni#1539): containers in
 * order, each container's IDs of one resource merged and sorted (kubelet reports them in map
 * order), so the order is stable across ADD, DEL and kubelet restarts.
 */
export function devicePluginOrder(
	rows: readonly {container: string; resourceName: string; deviceIds: readonly string[]}[],
	source: string,
): DeviceRef[] {
	const containers = new Map<string, Map<string, string[]>>();
	for (const row of rows) {
		const resources = containers.get(row.container) ?? new Map<string, string[]>();
		resources.set(row.resourceName, [...(resources.get(row.resourceName) ?? []), ...row.deviceIds]);
		containers.set(row.container, resources);
	}
	const devices: DeviceRef[] = [];
	for (const resources of containers.values()) {
		for (const [resourceName, ids] of resources) {
			for (const deviceId of [...ids].sort()) devices.push({resourceName, deviceId, source});
		}
	}
	return devices;
}
