import {randomBytes} from 'node:crypto';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {NetlinkError} from '../../src/netlink/errors.ts';
import {openNetlink} from '../../src/netlink/kernel.ts';
import type {Netlink} from '../../src/netlink/netlink.ts';
import {expectSameState, twin} from './testing/diff.ts';

// The model against the host kernel, state for state: the same operations on both, then every
// link, address, route (all tables) and rule compared.
describe('NetlinkModel vs the host kernel (differential)', () => {
	let name: string;
	let path: string;
	let kernel: Netlink;

	beforeEach(async () => {
		name = `pxnl-d-${randomBytes(4).toString('hex')}`;
		path = `/var/run/netns/${name}`;
		await execa('ip', ['netns', 'add', name]);
		kernel = openNetlink(path);
		kernel.setLink('lo', {up: true});
		kernel.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}});
		kernel.addLink({kind: 'bridge', name: 'br0'});
	});

	afterEach(async () => {
		kernel.close();
		await execa('ip', ['netns', 'del', name], {reject: false});
	});

	/** Runs `op` on the kernel and on a model loaded from it beforehand, then compares them. */
	async function both(model: Netlink, op: (nl: Netlink) => void): Promise<void> {
		op(kernel);
		op(model);
		await expectSameState(kernel, model);
	}

	/** Runs `op` on both and expects the same refusal (errno). */
	function bothFail(model: Netlink, op: (nl: Netlink) => void): void {
		const errnos = [kernel, model].map((nl) => {
			try {
				op(nl);
				return 'no error';
			} catch (err) {
				return err instanceof NetlinkError ? err.errnoName : String(err);
			}
		});
		expect(errnos[1]).toBe(errnos[0]);
		expect(errnos[0]).not.toBe('no error');
	}

	it('loads a netns into the model unchanged', async () => {
		kernel.setLink('va', {up: true});
		kernel.setLink('vb', {up: true});
		kernel.addAddress('va', '10.70.0.2/24');
		kernel.addRoute({dst: '10.71.0.0/16', gateway: '10.70.0.1', oif: 'va', onlink: true, table: 7});
		kernel.addRule({family: 4, priority: 50, table: 7});
		// The kernel adds each up veth's IPv6 link-local a moment later: load the netns once both
		// have theirs, or the model would copy a state the kernel is still changing.
		const linkLocals = () => {
			const withOne = new Set(
				kernel
					.listAddresses()
					.filter((a) => a.address.startsWith('fe80:'))
					.map((a) => a.index),
			);
			return ['va', 'vb'].every((name) => withOne.has(kernel.getLink(name).index));
		};
		for (let i = 0; i < 150 && !linkLocals(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
		await expectSameState(kernel, twin(path, kernel));
	});

	it('derives the same routes for addresses on up and down links, across bridge enslaving', async () => {
		const model = twin(path, kernel);
		bothFail(model, (nl) => nl.addRoute({dst: '10.76.0.0/16', oif: 'va'}));
		bothFail(model, (nl) => nl.addRoute({dst: 'fd00:76::/64', oif: 'va'}));
		bothFail(model, (nl) => nl.addRoute({dst: '10.76.0.0/16', gateway: '10.72.0.1'}));
		await both(model, (nl) => nl.addAddress('va', '10.72.0.2/24'));
		await both(model, (nl) => nl.addAddress('va', 'fd00:72::2/64', {nodad: true}));
		await both(model, (nl) => nl.setLink('va', {up: true}));
		await both(model, (nl) => nl.setLink('vb', {up: true}));
		await both(model, (nl) => nl.addAddress('va', '10.73.0.2/30', {noprefixroute: true}));
		await both(model, (nl) => nl.addRoute({dst: '10.74.0.0/16', gateway: '10.72.0.1'}));
		await both(model, (nl) => nl.addRoute({dst: 'fd00:74::/64', gateway: 'fd00:72::1', metric: 10}));
		await both(model, (nl) => nl.setLink('br0', {up: true}));
		await both(model, (nl) => nl.addAddress('br0', '10.75.0.1/24'));
		await both(model, (nl) => nl.setLink('vb', {master: 'br0'}));
		await both(model, (nl) => nl.setLink('va', {up: false}));
		await both(model, (nl) => nl.setLink('va', {up: true}));
		await both(model, (nl) => nl.deleteAddress('va', '10.72.0.2/24'));
		await both(model, (nl) => nl.deleteLink('br0'));
	});

	it('keeps routes, rules and a macvlan in step', async () => {
		kernel.setLink('va', {up: true});
		kernel.setLink('vb', {up: true});
		const model = twin(path, kernel);
		await both(model, (nl) => nl.addAddress('va', '10.90.0.2/24'));
		await both(model, (nl) => nl.addAddress('va', 'fd00:90::2/64', {nodad: true}));
		await both(model, (nl) =>
			nl.addLink({kind: 'macvlan', name: 'mv0', parent: 'va', mode: 'bridge', mac: '02:00:00:00:90:01'}),
		);
		await both(model, (nl) => nl.setLink('mv0', {up: true, mtu: 1400}));
		await both(model, (nl) => nl.addAddress('mv0', '10.91.0.2/24'));
		await both(model, (nl) => nl.addRoute({dst: '10.92.0.0/16', gateway: '10.90.0.1', table: 92, metric: 5}));
		await both(model, (nl) =>
			nl.replaceRoute({dst: '10.92.0.0/16', gateway: '10.91.0.1', table: 92, metric: 5}),
		);
		await both(model, (nl) => nl.addRoute({dst: '10.93.0.0/16', type: 'blackhole', table: 92}));
		await both(model, (nl) => nl.addRoute({dst: 'fd00:93::/64', oif: 'va', table: 92}));
		await both(model, (nl) => nl.addRule({family: 4, priority: 92, table: 92, src: '10.91.0.0/24'}));
		await both(model, (nl) => nl.addRule({family: 6, table: 92}));
		await both(model, (nl) => nl.deleteRoute({dst: '10.92.0.0/16', table: 92}));
		await both(model, (nl) => nl.deleteRule({family: 4, priority: 92}));
		await both(model, (nl) => nl.setLink('va', {up: false}));
		await both(model, (nl) => nl.setLink('va', {up: true}));
		await both(model, (nl) => nl.deleteLink('va'));
	});
});
