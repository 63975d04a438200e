import {describe, expect, it} from 'vitest';
import {IFNAME_MAX, MASTER_REQUIRED, parseVlanConfig, resolveVlanTarget, VLAN_ID_MAX} from './config.ts';

const base = {cniVersion: '1.0.0', name: 'net', type: 'vlan', ipam: {type: 'static'}};

describe('vlan config', () => {
	it('accepts vlanId 0 and the maximum, and keys in any case', () => {
		expect(parseVlanConfig({...base, master: 'eth0', vlanId: 0}).vlanId).toBe(0);
		const config = parseVlanConfig({...base, Master: 'eth0', VLANID: VLAN_ID_MAX, linkincontainer: true});
		expect(config).toMatchObject({master: 'eth0', vlanId: VLAN_ID_MAX, linkInContainer: true, mtu: 0});
	});

	it.each([VLAN_ID_MAX + 1, -1, 1.5, 'x'])(
		'refuses vlanId %s with a message from the same bound',
		(vlanId) => {
			expect(() => parseVlanConfig({...base, master: 'eth0', vlanId})).toThrow(
				expect.objectContaining({
					code: 7,
					message: expect.stringContaining(`(must be between 0 and ${VLAN_ID_MAX} inclusive)`),
				}),
			);
		},
	);

	it('keeps unknown keys (the config is forwarded to IPAM as it is)', () => {
		expect(parseVlanConfig({...base, master: 'eth0', vlanId: 1, extra: {a: 1}})['extra']).toEqual({a: 1});
	});
});

describe('resolveVlanTarget', () => {
	const prevResult = {cniVersion: '1.0.0'};

	it('uses master and CNI_IFNAME when a master is given', () => {
		const config = parseVlanConfig({...base, master: 'eth0', vlanId: 7});
		expect(resolveVlanTarget(config, 'net1', true)).toEqual({
			master: 'eth0',
			masterInContainer: false,
			ifname: 'net1',
			chained: false,
		});
	});

	it('chained mode: master = CNI_IFNAME, link = <CNI_IFNAME>.<vlanId>', () => {
		const config = parseVlanConfig({...base, linkInContainer: true, vlanId: 1234, prevResult});
		expect(resolveVlanTarget(config, 'eth1', true)).toEqual({
			master: 'eth1',
			masterInContainer: true,
			ifname: 'eth1.1234',
			chained: true,
		});
	});

	it('chained mode needs prevResult on ADD only', () => {
		const config = parseVlanConfig({...base, linkInContainer: true, vlanId: 3});
		expect(() => resolveVlanTarget(config, 'net1', true)).toThrow(
			expect.objectContaining({code: 7, message: MASTER_REQUIRED}),
		);
		expect(resolveVlanTarget(config, 'net1', false).ifname).toBe('net1.3');
	});

	it('without linkInContainer an empty master is the reference error', () => {
		const config = parseVlanConfig({...base, vlanId: 3, prevResult});
		expect(() => resolveVlanTarget(config, 'net1', true)).toThrow(
			expect.objectContaining({code: 7, message: MASTER_REQUIRED}),
		);
	});

	it('a chained name over the kernel limit is a code-7 error saying how to shorten it', () => {
		const config = parseVlanConfig({...base, linkInContainer: true, vlanId: 4094, prevResult});
		expect(() => resolveVlanTarget(config, 'averylongname', true)).toThrow(
			expect.objectContaining({
				code: 7,
				message: expect.stringMatching(
					new RegExp(
						`"averylongname\\.4094" is 18 characters, over the kernel's limit of ${IFNAME_MAX}.*at most 10 characters`,
					),
				),
			}),
		);
		expect(resolveVlanTarget(config, 'abcdefghij', true).ifname).toBe('abcdefghij.4094');
	});
});

describe('vlan config defaults', () => {
	it('reads a missing vlanId as 0, as Go does', () => {
		expect(parseVlanConfig({...base, master: 'eth0'}).vlanId).toBe(0);
	});
});
