/**
 * Devices kubelet's device plugins allocated to a pod, for NADs annotated with
 * `k8s.v1.cni.cncf.io/resourceName` (SR-IOV and friends), read from kubelet's device-manager
 * checkpoint file: the fallback when kubelet's PodResources socket does not exist, as in Multus
 * (src/devices/ reads the socket and hands the devices out).
 * @see https://github.com/k8snetworkplumbingwg/multus-cni/blob/95a0932350f0060cd232096876e24672a1de83fa/pkg/checkpoint/checkpoint.go
 */
import {readFile} from 'node:fs/promises';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {checkJsonDepth, isJsonObject} from '../cni/json.ts';

export {RESOURCE_NAME_ANNOTATION} from './annotations.ts';
export {DEFAULT_DEVICE_CHECKPOINT, DEFAULT_DP_DEVICE_INFO_DIR} from './device-plugin-paths.ts';

/** One allocation of the checkpoint: a container's devices of one resource. */
export interface DeviceAllocation {
	podUid: string;
	containerName: string;
	resourceName: string;
	deviceIds: string[];
}

/**
 * Decodes checkpoint JSON. `DeviceIDs` is a list in old kubelets and a map of NUMA node → list
 * since 1.20; both are read.
 */
export function parseCheckpoint(text: string, source: string): DeviceAllocation[] {
	checkJsonDepth(text, `device checkpoint "${source}"`);
	let raw: unknown;
	try {
		raw = JSON.parse(text);
	} catch (error) {
		throw new CniError(
			CniErrorCode.ioFailure,
			`failed to read device checkpoint "${source}": ${(error as Error).message}`,
		);
	}
	const data = isJsonObject(raw) && isJsonObject(raw['Data']) ? raw['Data'] : undefined;
	const entries = data?.['PodDeviceEntries'];
	if (!Array.isArray(entries)) return [];
	return entries.filter(isJsonObject).map((entry) => {
		const ids = entry['DeviceIDs'];
		const deviceIds = Array.isArray(ids) ? ids : isJsonObject(ids) ? Object.values(ids).flat() : [];
		return {
			podUid: String(entry['PodUID'] ?? ''),
			containerName: String(entry['ContainerName'] ?? ''),
			resourceName: String(entry['ResourceName'] ?? ''),
			deviceIds: deviceIds.filter((id): id is string => typeof id === 'string'),
		};
	});
}

/** Reads the checkpoint file; a missing file means no allocations. */
export async function readCheckpoint(path: string): Promise<DeviceAllocation[]> {
	let text: string;
	try {
		text = await readFile(path, 'utf8');
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
		throw new CniError(
			CniErrorCode.ioFailure,
			`failed to read device checkpoint "${path}": ${(error as Error).message}`,
		);
	}
	return parseCheckpoint(text, path);
}
