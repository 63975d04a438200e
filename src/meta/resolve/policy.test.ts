// Resolution's pure rules from plain values (no files, no API): interface names and device
// information paths.
import {describe, expect, test} from 'vitest';
import {networkListFromObject} from '../../k8s/nad.ts';
import {type Attachment, DEVICE_INFO_CAPABILITY} from './attachment.ts';
import {assignDeviceInfoFiles, assignInterfaceNames} from './policy.ts';

function attachment(
	network: string,
	ifname: string,
	plugin: Record<string, unknown> = {type: 'macvlan'},
): Attachment {
	return {
		network,
		nad: undefined,
		ifname,
		isClusterNetwork: false,
		list: networkListFromObject({cniVersion: '1.0.0', name: network, plugins: [plugin]}, undefined, 'test'),
		capabilityArgs: {},
		defaultRoute: undefined,
		origin: network,
	};
}

describe('assignInterfaceNames', () => {
	test('unnamed attachments get net<position>, skipping names others requested and skipped positions', () => {
		const all = [
			attachment('cluster', 'eth0'),
			attachment('a', ''),
			attachment('b', 'net3'),
			attachment('c', ''),
		];
		assignInterfaceNames(all, new Set([2]), undefined);
		// Positions: cluster 0, a 1, (skipped 2), b 3, c 4.
		expect(all.map((a) => a.ifname)).toEqual(['eth0', 'net1', 'net3', 'net4']);
	});

	test('a name requested twice fails naming both owners', () => {
		const all = [attachment('cluster', 'eth0'), attachment('a', 'eth0')];
		expect(() =>
			assignInterfaceNames(all, new Set(), {namespace: 'ns', name: 'p', uid: '', infraContainerId: ''}),
		).toThrow('interface "eth0" of pod "ns/p" is used twice: by cluster ("cluster") and by a ("a")');
	});
});

describe('assignDeviceInfoFiles', () => {
	test('only chains declaring the capability get a per-attachment file', () => {
		const declaring = attachment('ns/dev', 'net1', {
			type: 'sriov',
			capabilities: {[DEVICE_INFO_CAPABILITY]: true},
		});
		const plain = attachment('ns/plain', 'net2');
		assignDeviceInfoFiles([declaring, plain], '/run/devinfo', 'c1');
		expect(declaring.capabilityArgs[DEVICE_INFO_CAPABILITY]).toBe('/run/devinfo/ns-dev-c1_net1.json');
		expect(plain.capabilityArgs).toEqual({});
	});
});
