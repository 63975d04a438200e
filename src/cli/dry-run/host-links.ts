/**
 * The host links a `--execute` run can own, and which of them outlive its DEL: a leak, or a
 * bridge a plugin created, which CNI never deletes (kept, not a leak).
 */
import type {NetworkList} from '../../chain/network-list.ts';
import {openNetlink} from '../../netlink/kernel.ts';
import type {Link} from '../../netlink/netlink.ts';

/** The host's links. */
export function hostLinks(): Link[] {
	const nl = openNetlink();
	try {
		return nl.listLinks();
	} finally {
		nl.close();
	}
}

/** A chain as far as leftovers go: its network name and its plugins' configs. */
export type RanList = Pick<NetworkList, 'name'> & {
	plugins: readonly Pick<NetworkList['plugins'][number], 'type' | 'raw'>[];
};

/** The bridges the chains' `bridge` plugins attach to (their `bridge` key, cni0 by default). */
export function configuredBridges(lists: readonly RanList[]): Set<string> {
	const names = new Set<string>();
	for (const list of lists)
		for (const plugin of list.plugins)
			if (plugin.type === 'bridge') {
				const name = plugin.raw['bridge'];
				names.add(typeof name === 'string' && name !== '' ? name : 'cni0');
			}
	return names;
}

/**
 * Host links made during the run and still there after DEL, split: the bridges a plugin created
 * (CNI never deletes them: other containers may share them) are kept, the rest is left behind.
 * Only links the run can own are looked at (so other activity on the host is no leak): those ADD
 * results named, the bridges the configs name, and links enslaved to either (a veth a failed
 * attachment left on its bridge).
 */
export function newHostLinks(
	before: readonly Link[],
	after: readonly Link[],
	named: ReadonlySet<string>,
	bridges: ReadonlySet<string>,
): {kept: string[]; left: string[]} {
	const existed = new Set(before.map((l) => l.name));
	const ours = new Set([...named, ...bridges]);
	const oursIndexes = new Set(after.filter((l) => ours.has(l.name)).map((l) => l.index));
	const kept: string[] = [];
	const left: string[] = [];
	for (const link of after) {
		if (existed.has(link.name)) continue;
		const enslaved = link.masterIndex !== undefined && oursIndexes.has(link.masterIndex);
		if (!ours.has(link.name) && !enslaved) continue;
		if (link.kind === 'bridge' && bridges.has(link.name)) kept.push(`bridge "${link.name}"`);
		else left.push(`link "${link.name}" on the host`);
	}
	return {kept, left};
}
