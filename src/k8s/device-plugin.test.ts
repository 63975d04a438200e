import {describe, expect, test} from 'vitest';
import {parseCheckpoint} from './device-plugin.ts';

// kubelet ≥ 1.20 writes DeviceIDs per NUMA node; older ones a plain list.
const checkpoint = JSON.stringify({
	Data: {
		PodDeviceEntries: [
			{
				PodUID: 'u1',
				ContainerName: 'app',
				ResourceName: 'intel.com/sriov',
				DeviceIDs: {'1': ['0000:18:02.7'], '0': ['0000:18:02.5']},
			},
			{PodUID: 'u1', ContainerName: 'side', ResourceName: 'intel.com/sriov', DeviceIDs: ['0000:18:02.6']},
			{PodUID: 'u2', ContainerName: 'app', ResourceName: 'intel.com/sriov', DeviceIDs: ['0000:18:03.0']},
		],
		RegisteredDevices: {'intel.com/sriov': ['0000:18:02.5']},
	},
	Checksum: 1234,
});

describe('parseCheckpoint', () => {
	test('reads both DeviceIDs layouts', () => {
		expect(parseCheckpoint(checkpoint, 'cp')).toEqual([
			{
				podUid: 'u1',
				containerName: 'app',
				resourceName: 'intel.com/sriov',
				deviceIds: ['0000:18:02.5', '0000:18:02.7'],
			},
			{podUid: 'u1', containerName: 'side', resourceName: 'intel.com/sriov', deviceIds: ['0000:18:02.6']},
			{podUid: 'u2', containerName: 'app', resourceName: 'intel.com/sriov', deviceIds: ['0000:18:03.0']},
		]);
	});

	test('a file without entries has no allocations; broken JSON names the file', () => {
		expect(parseCheckpoint('{"Data":{}}', 'cp')).toEqual([]);
		expect(() => parseCheckpoint('{', '/var/lib/kubelet/cp')).toThrow(
			'failed to read device checkpoint "/var/lib/kubelet/cp"',
		);
	});
});
