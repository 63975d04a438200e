import {randomBytes} from 'node:crypto';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, it} from 'vitest';
import {openNetlink} from '../../src/netlink/kernel.ts';
import type {Netlink} from '../../src/netlink/netlink.ts';
import {expectSameState, twin} from './testing/diff.ts';

// The model against the vm kernel for vrf, vlan and dummy, state for state (see netlink-diff.ts).
describe('NetlinkModel vs the vm kernel (differential: vrf, vlan, dummy)', () => {
	let name: string;
	let kernel: Netlink;

	beforeEach(async () => {
		name = `pxnl-dv-${randomBytes(4).toString('hex')}`;
		await execa('ip', ['netns', 'add', name]);
		kernel = openNetlink(`/var/run/netns/${name}`);
		kernel.setLink('lo', {up: true});
		kernel.addLink({kind: 'dummy', name: 'd0'});
	});

	afterEach(async () => {
		kernel.close();
		await execa('ip', ['netns', 'del', name], {reject: false});
	});

	it('enslaves an addressed interface to a VRF and back, and stacks a vlan on it', async () => {
		const model = twin(`/var/run/netns/${name}`, kernel);
		const both = async (op: (nl: Netlink) => void): Promise<void> => {
			op(kernel);
			op(model);
			await expectSameState(kernel, model);
		};
		await both((nl) => nl.setLink('d0', {up: true}));
		await both((nl) => nl.addAddress('d0', '10.80.0.2/24'));
		await both((nl) => nl.addAddress('d0', 'fd00:80::2/64', {nodad: true}));
		await both((nl) => nl.addRoute({dst: '10.81.0.0/16', gateway: '10.80.0.1'}));
		await both((nl) => nl.addLink({kind: 'vrf', name: 'blue', table: 10, mac: '02:00:00:00:0b:01'}));
		await both((nl) => nl.setLink('blue', {up: true}));
		await both((nl) => nl.setLink('d0', {master: 'blue'}));
		await both((nl) => nl.addAddress('d0', 'fd00:80::2/64', {nodad: true}));
		await both((nl) => nl.replaceRoute({dst: '10.81.0.0/16', gateway: '10.80.0.1', table: 10}));
		await both((nl) => nl.writeSysctl('net.ipv6.conf.d0.keep_addr_on_down', '1'));
		await both((nl) => nl.setLink('d0', {master: null}));
		await both((nl) => nl.addLink({kind: 'vlan', name: 'd0.5', parent: 'd0', id: 5}));
		await both((nl) => nl.setLink('d0.5', {up: true}));
		await both((nl) => nl.addAddress('d0.5', '10.82.0.2/24'));
		await both((nl) => nl.setLink('d0', {up: false}));
		await both((nl) => nl.setLink('d0', {up: true}));
		await both((nl) => nl.deleteLink('blue'));
		await both((nl) => nl.deleteLink('d0'));
	});
});
