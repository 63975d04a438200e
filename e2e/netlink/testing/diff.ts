/**
 * Differential check of the in-memory model against a real kernel: a netns's state is loaded into
 * a NetlinkModel, the same operations run on both, and links, addresses, routes (every table,
 * including the ones the kernel derives by itself) and rules must stay identical.
 */
import {expect} from 'vitest';
import {NetlinkModel} from '../../../src/netlink/model.ts';
import type {Address, Link, Netlink, Route, Rule} from '../../../src/netlink/netlink.ts';

const linkKey = (l: Link): string =>
	`${l.index} ${l.name} kind=${l.kind} mtu=${l.mtu} mac=${l.mac} up=${l.up} master=${l.masterIndex} vrf=${l.vrf?.table} vlan=${l.vlan?.id}`;
const addrKey = (a: Address): string =>
	`${a.index} ${a.cidr} scope=${a.scope} nodad=${a.nodad} noprefixroute=${a.noprefixroute}`;
const routeKey = (r: Route): string =>
	`${r.table} ${r.type} ${r.dst} gw=${r.gateway} oif=${r.oif} scope=${r.scope} proto=${r.protocol} metric=${r.metric} src=${r.prefsrc}`;
const ruleKey = (r: Rule): string =>
	`${r.family} ${r.priority} ${r.action} table=${r.table} src=${r.src} dst=${r.dst} l3mdev=${r.l3mdev}`;

/** Everything compared, as sorted text lines (readable diffs when they differ). */
export function snapshot(nl: Netlink): Record<string, string[]> {
	return {
		links: nl.listLinks().map(linkKey).sort(),
		addresses: nl.listAddresses().map(addrKey).sort(),
		routes: nl.listRoutes({table: 'all'}).map(routeKey).sort(),
		rules: nl.listRules().map(ruleKey).sort(),
	};
}

/** A model loaded from `kernel` (a handle on `netns`), and a handle on it. */
export function twin(netns: string, kernel: Netlink): Netlink {
	const model = new NetlinkModel();
	model.load(netns, kernel);
	return model.open(netns);
}

/** Waits (up to 3 s, for the kernel's asynchronous IPv6 routes) until both snapshots agree. */
export async function expectSameState(kernel: Netlink, model: Netlink): Promise<void> {
	const deadline = Date.now() + 3000;
	for (;;) {
		const k = snapshot(kernel);
		const m = snapshot(model);
		if (JSON.stringify(k) === JSON.stringify(m) || Date.now() > deadline) {
			expect(m).toEqual(k);
			return;
		}
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}
