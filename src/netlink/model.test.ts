import {describe, expect, it} from 'vitest';
import {MODEL_KINDS, NetlinkModel} from './model.ts';
import {netlinkContract} from './testing/contract.ts';

function modelHarness(name: string, kinds: readonly string[]) {
	const kernel = new NetlinkModel({kinds});
	let n = 0;
	return {
		name,
		open: kernel.open,
		async createNetns() {
			const path = `/var/run/netns/model-${++n}`;
			kernel.addNetns(path);
			return path;
		},
		async deleteNetns(path: string) {
			kernel.deleteNetns(path);
		},
	};
}

netlinkContract(modelHarness('model', MODEL_KINDS), ['core', 'l3']);
netlinkContract(modelHarness('model without vrf', ['veth', 'bridge', 'macvlan']), ['no-vrf']);

describe('NetlinkModel.load', () => {
	it('copies a netns from another Netlink, so both then answer alike', () => {
		const source = new NetlinkModel();
		source.addNetns('/var/run/netns/src');
		const from = source.open('/var/run/netns/src');
		from.setLink('lo', {up: true});
		from.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}, up: true});
		from.setLink('vb', {up: true});
		from.addLink({kind: 'vrf', name: 'blue', table: 10, up: true});
		from.setLink('vb', {master: 'blue'});
		from.addAddress('va', '10.1.0.2/24');
		from.addAddress('vb', 'fd00:1::2/64', {nodad: true});
		from.addRoute({dst: '10.2.0.0/16', gateway: '10.1.0.1', table: 7});
		from.addRule({family: 4, priority: 7, table: 7});
		from.writeSysctl('net.ipv6.conf.va.keep_addr_on_down', '1');
		const copy = new NetlinkModel();
		copy.load('/var/run/netns/copy', from);
		const to = copy.open('/var/run/netns/copy');
		const sorted = (items: unknown[]): string[] => items.map((i) => JSON.stringify(i)).sort();
		const state = (nl: typeof from) => ({
			links: sorted(nl.listLinks()),
			addresses: sorted(nl.listAddresses()),
			routes: sorted(nl.listRoutes({table: 'all'})),
			rules: sorted(nl.listRules()),
			keep: nl.readSysctl('net.ipv6.conf.va.keep_addr_on_down'),
		});
		expect(state(to)).toEqual(state(from));
		for (const nl of [from, to]) nl.setLink('vb', {master: null});
		expect(state(to)).toEqual(state(from));
		expect(to.listRoutes({table: 10})).toEqual([]);
	});
});
