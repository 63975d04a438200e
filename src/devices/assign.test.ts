import {describe, expect, test} from 'vitest';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {assignDevices, type DeviceRef, devicePluginOrder} from './assign.ts';

const SRIOV = 'intel.com/sriov';
const dev = (deviceId: string, source = 'PodResources', resourceName = SRIOV): DeviceRef => ({
	resourceName,
	deviceId,
	source,
});
const req = (network: string, origin: string, resourceName = SRIOV) => ({resourceName, network, origin});

describe('assignDevices', () => {
	test('each attachment naming a resource takes the next device, in attachment order', () => {
		const devices = [
			dev('0000:18:02.0'),
			dev('0000:18:02.1'),
			dev('GPU-1', 'PodResources', 'nvidia.com/gpu'),
		];
		const out = assignDevices(
			[
				req('ns/a', 'clusterNetwork'),
				undefined,
				req('ns/b', 'element 1'),
				req('ns/g', 'element 2', 'nvidia.com/gpu'),
			],
			devices,
			'pod "ns/web"',
		);
		expect(out.map((d) => d?.deviceId)).toEqual(['0000:18:02.0', undefined, '0000:18:02.1', 'GPU-1']);
	});

	// Multus hands the default-network annotation's NAD (and a NAD first met in defaultNetworks) a
	// fresh cursor, so it gets the same VF as a later NAD of the same resource.
	test('the cluster network, a default network and an element never share a device', () => {
		const out = assignDevices(
			[
				req('ns/sriov', 'annotation "v1.multus-cni.io/default-network"'),
				req('kube-system/sriov', 'defaultNetworks[0]'),
				req('ns/sriov', 'element 1'),
			],
			[dev('0000:18:02.0'), dev('0000:18:02.1'), dev('0000:18:02.2')],
			'pod "ns/web"',
		);
		expect(new Set(out.map((d) => d?.deviceId)).size).toBe(3);
	});

	test('the same NAD twice takes two devices', () => {
		const out = assignDevices(
			[req('ns/a', 'element 1'), req('ns/a', 'element 2')],
			[dev('x'), dev('y')],
			'pod',
		);
		expect(out.map((d) => d?.deviceId)).toEqual(['x', 'y']);
	});

	test('a device reported by two sources is handed out once', () => {
		const devices = [
			dev('0000:18:02.0'),
			dev('0000:18:02.0', 'DRA claim "ns/c"'),
			dev('0000:18:02.1', 'DRA claim "ns/c"'),
		];
		const out = assignDevices([req('ns/a', 'element 1'), req('ns/b', 'element 2')], devices, 'pod');
		expect(out.map((d) => d?.deviceId)).toEqual(['0000:18:02.0', '0000:18:02.1']);
		expect(() =>
			assignDevices([req('ns/a', 'e1'), req('ns/b', 'e2'), req('ns/c', 'e3')], devices, 'pod'),
		).toThrow(CniError);
	});

	// Multus runs the delegate without a deviceID when the devices run out.
	test('running out of devices is an error naming the network and who took them', () => {
		let error: unknown;
		try {
			assignDevices([req('ns/a', 'element 1'), req('ns/b', 'element 2')], [dev('x')], 'pod "ns/web"');
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(CniError);
		expect((error as CniError).code).toBe(CniErrorCode.invalidConfig);
		expect((error as CniError).message).toBe(
			'network "ns/b" (element 2) needs a "intel.com/sriov" device, but pod "ns/web" has none left: its 1 allocated one is taken by "ns/a" (element 1)',
		);
		expect(() => assignDevices([req('ns/a', 'element 1')], [], 'pod "ns/web"')).toThrow(
			'network "ns/a" (element 1) needs a "intel.com/sriov" device, but pod "ns/web" has none left: none is allocated to it',
		);
	});
});

describe('devicePluginOrder', () => {
	test('containers in order, each container sorted (multus-cni docs/device-resource-assignment.md)', () => {
		const rows = [
			{container: 'c1', resourceName: SRIOV, deviceIds: ['0000:18:02.3', '0000:18:02.0']},
			{container: 'c2', resourceName: SRIOV, deviceIds: ['0000:18:02.5', '0000:18:02.1']},
		];
		expect(devicePluginOrder(rows, 'PodResources').map((d) => d.deviceId)).toEqual([
			'0000:18:02.0',
			'0000:18:02.3',
			'0000:18:02.1',
			'0000:18:02.5',
		]);
	});

	test('two rows of one resource in one container are merged before sorting', () => {
		const rows = [
			{container: 'c1', resourceName: SRIOV, deviceIds: ['b']},
			{container: 'c1', resourceName: 'nvidia.com/gpu', deviceIds: ['GPU-1']},
			{container: 'c1', resourceName: SRIOV, deviceIds: ['a']},
		];
		expect(devicePluginOrder(rows, 'checkpoint')).toEqual([
			dev('a', 'checkpoint'),
			dev('b', 'checkpoint'),
			dev('GPU-1', 'checkpoint', 'nvidia.com/gpu'),
		]);
	});
});
