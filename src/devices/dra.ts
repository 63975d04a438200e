/**
 * Devices allocated through Dynamic Resource Allocation (`resource.k8s.io/v1`): the pod's
 * `status.resourceClaimStatuses` name its ResourceClaims, each claim's `status.allocation.devices
 * .results` name (driver, pool, device), and the node's ResourceSlices of that driver give the
 * device's `k8s.cni.cncf.io/deviceID` and `k8s.cni.cncf.io/resourceName` attributes. The
 * resourceName attribute is what a NAD's `k8s.v1.cni.cncf.io/resourceName` annotation must equal.
 * Extended resources backed by DRA (`status.extendedResourceClaimStatus`) map a container's
 * request to the extended resource name instead (reference device-allocation §2).
 *
 * The API reads sit behind `DraPort` (./dra-rest.ts talks to the API server; tests use a fake).
 * Unlike Multus, only the newest generation of a pool counts (older slices are being replaced).
 * @see https://github.com/k8snetworkplumbingwg/multus-cni/blob/95a0932350f0060cd232096876e24672a1de83fa/pkg/draclient/draclient.go
 */
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {log} from '../log.ts';
import type {DeviceRef} from './assign.ts';

export const DRA_DEVICE_ID_ATTRIBUTE = 'k8s.cni.cncf.io/deviceID';
export const DRA_RESOURCE_NAME_ATTRIBUTE = 'k8s.cni.cncf.io/resourceName';

/** The DRA part of a pod: its node and claims. */
export interface DraPod {
	nodeName: string | undefined;
	/** `status.resourceClaimStatuses`, in order; `resourceClaimName` unset when no claim was needed. */
	claims: {name: string; resourceClaimName: string | undefined}[];
	/** `status.extendedResourceClaimStatus`. */
	extended:
		| {
				resourceClaimName: string;
				requestMappings: {containerName: string; resourceName: string; requestName: string}[];
		  }
		| undefined;
}

/** One allocated device of a claim (`status.allocation.devices.results[]`). */
export interface ClaimResult {
	request: string;
	driver: string;
	pool: string;
	device: string;
}

/** A claim as read: undefined results when it is not allocated (yet). */
export interface Claim {
	results: ClaimResult[] | undefined;
}

/** A ResourceSlice reduced to the device attributes Plexus reads (their `string` member only). */
export interface Slice {
	driver: string;
	pool: string;
	generation: number;
	devices: {name: string; deviceId: string | undefined; resourceName: string | undefined}[];
}

/** The API reads of DRA. "Not found" is undefined; every other failure a thrown CniError. */
export interface DraPort {
	getPod(namespace: string, name: string): Promise<DraPod | undefined>;
	getClaim(namespace: string, name: string): Promise<Claim | undefined>;
	/** The slices of `driver` published for `nodeName` (field selectors spec.nodeName, spec.driver). */
	listSlices(nodeName: string | undefined, driver: string): Promise<Slice[]>;
}

/** A KubeClient that can also read DRA objects (the client-node one). */
export interface DraCapable {
	draPort(): DraPort;
}

/** True when `kube` offers DRA reads. */
export function isDraCapable(kube: unknown): kube is DraCapable {
	return typeof (kube as Partial<DraCapable> | undefined)?.draPort === 'function';
}

type SliceDevice = Slice['devices'][number];

function failed(message: string): CniError {
	return new CniError(CniErrorCode.ioFailure, message);
}

/** Reads claims and slices once per lookup (one ADD). */
class DraLookup {
	readonly #slices = new Map<string, Promise<Map<string, SliceDevice>>>();

	readonly port: DraPort;
	readonly namespace: string;
	readonly podName: string;
	readonly nodeName: string | undefined;

	constructor(port: DraPort, namespace: string, podName: string, nodeName: string | undefined) {
		this.port = port;
		this.namespace = namespace;
		this.podName = podName;
		this.nodeName = nodeName;
	}

	/** The allocated results of claim `name`, or a CNI error when it is missing or unallocated. */
	async results(name: string): Promise<ClaimResult[]> {
		const ref = `${this.namespace}/${name}`;
		const claim = await this.port.getClaim(this.namespace, name);
		if (claim === undefined)
			throw failed(
				`failed to read resourceclaim "${ref}" of pod "${this.namespace}/${this.podName}": not found`,
			);
		if (claim.results === undefined)
			throw failed(
				`failed to read resourceclaim "${ref}" of pod "${this.namespace}/${this.podName}": it has no device allocation`,
			);
		return claim.results;
	}

	/** The device a result names, from the newest generation of its pool on this node. */
	async device(result: ClaimResult): Promise<SliceDevice | undefined> {
		let index = this.#slices.get(result.driver);
		if (index === undefined) {
			index = this.port.listSlices(this.nodeName, result.driver).then(indexSlices);
			this.#slices.set(result.driver, index);
		}
		return (await index).get(`${result.pool}/${result.device}`);
	}
}

/** Devices by `pool/device`, from each pool's newest generation. */
function indexSlices(slices: Slice[]): Map<string, SliceDevice> {
	const newest = new Map<string, number>();
	for (const s of slices) newest.set(s.pool, Math.max(newest.get(s.pool) ?? 0, s.generation));
	const index = new Map<string, SliceDevice>();
	for (const s of slices) {
		if (s.generation !== newest.get(s.pool)) continue;
		for (const d of s.devices) index.set(`${s.pool}/${d.name}`, d);
	}
	return index;
}

/**
 * Devices of the pod's ResourceClaims that carry both network attributes, in claim and result
 * order. Devices without them (a GPU in the same claim) are skipped, not errors.
 */
async function claimDevices(lookup: DraLookup, claims: DraPod['claims']): Promise<DeviceRef[]> {
	const devices: DeviceRef[] = [];
	for (const status of claims) {
		if (status.resourceClaimName === undefined) continue;
		const source = `DRA claim "${lookup.namespace}/${status.resourceClaimName}"`;
		for (const result of await lookup.results(status.resourceClaimName)) {
			const device = await lookup.device(result);
			if (device?.deviceId === undefined || device.resourceName === undefined) {
				log('debug', 'DRA device without network attributes; skipped', {
					claim: status.resourceClaimName,
					device: `${result.driver}/${result.pool}/${result.device}`,
				});
				continue;
			}
			devices.push({resourceName: device.resourceName, deviceId: device.deviceId, source});
		}
	}
	return devices;
}

/**
 * Devices of the pod's DRA-backed extended resources, keyed by the extended resource name. Strict:
 * every mapped request must have results, each found on the node with a deviceID, and a device's
 * resourceName attribute, when it has one, must agree with the mapping.
 */
async function extendedDevices(
	lookup: DraLookup,
	extended: NonNullable<DraPod['extended']>,
): Promise<DeviceRef[]> {
	const claim = `${lookup.namespace}/${extended.resourceClaimName}`;
	const source = `DRA extended resource claim "${claim}"`;
	const results = await lookup.results(extended.resourceClaimName);
	const devices: DeviceRef[] = [];
	for (const mapping of extended.requestMappings) {
		// A firstAvailable request reports `request/subrequest`.
		const mine = results.filter(
			(r) => r.request === mapping.requestName || r.request.startsWith(`${mapping.requestName}/`),
		);
		const what = `request "${mapping.requestName}" (${mapping.resourceName}) of container "${mapping.containerName}"`;
		if (mine.length === 0) throw failed(`failed to find the devices of ${what} in resourceclaim "${claim}"`);
		for (const result of mine) {
			const device = await lookup.device(result);
			const name = `${result.driver}/${result.pool}/${result.device}`;
			if (device?.deviceId === undefined)
				throw failed(
					`failed to find device "${name}" of ${what} (resourceclaim "${claim}") with a "${DRA_DEVICE_ID_ATTRIBUTE}" attribute in the node's resourceslices`,
				);
			if (device.resourceName !== undefined && device.resourceName !== mapping.resourceName)
				throw failed(
					`device "${name}" of ${what} (resourceclaim "${claim}") has "${DRA_RESOURCE_NAME_ATTRIBUTE}" "${device.resourceName}", not "${mapping.resourceName}"`,
				);
			devices.push({resourceName: mapping.resourceName, deviceId: device.deviceId, source});
		}
	}
	return devices;
}

/**
 * The network devices DRA allocated to the pod, in order: its ResourceClaims (status order), then
 * its DRA-backed extended resources (mapping order). A pod without claims costs one pod read.
 *
 * @throws CniError when a claim is missing or unallocated, an API read fails, or an extended
 * resource's device cannot be found.
 */
export async function draDevices(
	port: DraPort,
	pod: {namespace: string; name: string},
): Promise<DeviceRef[]> {
	const status = await port.getPod(pod.namespace, pod.name);
	if (status === undefined) return [];
	const lookup = new DraLookup(port, pod.namespace, pod.name, status.nodeName);
	const devices = await claimDevices(lookup, status.claims);
	if (status.extended !== undefined) devices.push(...(await extendedDevices(lookup, status.extended)));
	return devices;
}
