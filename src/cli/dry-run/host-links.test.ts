// Which host links outlive an --execute run's DEL: a bridge a plugin created is kept (CNI never
// deletes it), anything else the run owns is left behind, a failed attachment's veth on its
// bridge included; links the run cannot own (other activity on the host) are not looked at.
import {describe, expect, test} from 'vitest';
import {networkListFromText} from '../../k8s/nad.ts';
import type {Link} from '../../netlink/netlink.ts';
import {configuredBridges, newHostLinks} from './host-links.ts';

const link = (index: number, name: string, kind: string | undefined, masterIndex?: number): Link => ({
	index,
	name,
	kind,
	mtu: 1500,
	mac: undefined,
	up: true,
	flags: 0,
	operState: 'up',
	masterIndex,
	parentIndex: undefined,
	linkNetnsId: undefined,
});

describe('host links after --execute', () => {
	test('the bridges the configs name, cni0 for a bridge plugin without one', () => {
		const list = (plugins: string) =>
			networkListFromText(`{"cniVersion":"1.0.0","name":"n","plugins":[${plugins}]}`, undefined, 'test');
		expect(
			configuredBridges([
				list('{"type":"bridge","bridge":"br9"},{"type":"tuning"}'),
				list('{"type":"bridge"}'),
			]),
		).toEqual(new Set(['br9', 'cni0']));
		expect(configuredBridges([list('{"type":"macvlan","master":"eth0"}')])).toEqual(new Set());
	});

	test('kept, left behind, and not ours', () => {
		const before = [link(1, 'lo', undefined), link(2, 'eth0', undefined), link(3, 'br-old', 'bridge')];
		const after = [
			...before,
			link(10, 'cni0', 'bridge'),
			link(11, 'veth1', 'veth', 10), // a failed attachment's host end, on our bridge
			link(12, 'vethnamed', 'veth'), // named by an ADD result
			link(13, 'other', 'veth'), // someone else's
			link(14, 'veth2', 'veth', 3), // on a bridge that was there before and is not ours
		];
		expect(newHostLinks(before, after, new Set(['vethnamed']), new Set(['cni0']))).toEqual({
			kept: ['bridge "cni0"'],
			left: ['link "veth1" on the host', 'link "vethnamed" on the host'],
		});
		// A configured bridge that was there before is neither kept nor a leak; its new ports are leaks.
		expect(newHostLinks(before, after, new Set(), new Set(['br-old']))).toEqual({
			kept: [],
			left: ['link "veth2" on the host'],
		});
	});
});
