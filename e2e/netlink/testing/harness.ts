/**
 * The Netlink contract harness for a real kernel: namespaces made with `ip netns add` (random
 * names, so parallel runs do not collide) and `ip -json` as the independent oracle.
 */
import {randomBytes} from 'node:crypto';
import {execa} from 'execa';
import {openNetlink} from '../../../src/netlink/kernel.ts';
import type {ContractHarness} from '../../../src/netlink/testing/contract.ts';

export function kernelHarness(name: string): ContractHarness {
	return {
		name,
		open: (netns) => openNetlink(netns),
		async createNetns() {
			const ns = `pxnl-${randomBytes(4).toString('hex')}`;
			await execa('ip', ['netns', 'add', ns]);
			return `/var/run/netns/${ns}`;
		},
		async deleteNetns(path) {
			await execa('ip', ['netns', 'del', path.slice('/var/run/netns/'.length)], {reject: false});
		},
		async ipJson(netns, args) {
			const {stdout} = await execa('ip', ['-json', '-n', netns.slice('/var/run/netns/'.length), ...args]);
			return JSON.parse(stdout) as unknown[];
		},
	};
}
