/**
 * The Netlink contract suite: one set of vitest tests, registered against any implementation by
 * a harness. The unit project runs it on the in-memory model, the e2e project on the host kernel
 * (veth/bridge/macvlan), the vm project on the test bed's kernel (vrf/vlan/dummy). When both pass,
 * the model behaves like the kernel for everything asserted here. Every test works only inside
 * namespaces the harness creates for it.
 */
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {isCniError} from '../../cni/errors.ts';
import {LinkNotFoundError, NetlinkError} from '../errors.ts';
import type {Netlink, NetnsPath, OpenNetlink, Route} from '../netlink.ts';

/** What the suite needs from an implementation. */
export interface ContractHarness {
	/** Shown in test titles: `model`, `host kernel`, `vm kernel`. */
	readonly name: string;
	readonly open: OpenNetlink;
	/** Creates a fresh, empty netns and returns its path. */
	createNetns(): Promise<NetnsPath>;
	deleteNetns(path: NetnsPath): Promise<void>;
	/** Optional independent oracle (`ip -json -n <ns> ...` on a real kernel). */
	ipJson?(netns: NetnsPath, args: readonly string[]): Promise<unknown[]>;
}

/** `core`: veth, bridge, macvlan, addresses, routes, rules, sysctl; `l3`: vrf, vlan, dummy. */
export type ContractGroup = 'core' | 'l3' | 'no-vrf';

interface Ctx {
	a: NetnsPath;
	b: NetnsPath;
	nl: Netlink;
	nlb: Netlink;
}

function thrown(fn: () => unknown): unknown {
	try {
		fn();
	} catch (err) {
		return err;
	}
	throw new Error('expected the call to throw');
}

function netlinkError(fn: () => unknown): NetlinkError {
	const err = thrown(fn);
	expect(err).toBeInstanceOf(NetlinkError);
	return err as NetlinkError;
}

const IFF_LOWER_UP = 0x10000;

/**
 * Waits until both ends of a veth report carrier. The kernel raises carrier asynchronously
 * (linkwatch), and IPv6 installs an address's local route only once the link is ready.
 */
async function untilCarrier(nl: Netlink, ...names: string[]): Promise<void> {
	const deadline = Date.now() + 5000;
	while (!names.every((n) => (nl.getLink(n).flags & IFF_LOWER_UP) !== 0)) {
		if (Date.now() > deadline) throw new Error(`no carrier on ${names.join(', ')} after 5 s`);
		await new Promise((resolve) => setTimeout(resolve, 10));
	}
}

/**
 * Retries an assertion for up to 3 s. The kernel installs an IPv6 address's local route from a
 * workqueue (addrconf), a little after the RTM_NEWADDR request returns; the model does it at once.
 */
async function eventually(assertion: () => void): Promise<void> {
	const deadline = Date.now() + 3000;
	for (;;) {
		try {
			assertion();
			return;
		} catch (err) {
			if (Date.now() > deadline) throw err;
			await new Promise((resolve) => setTimeout(resolve, 10));
		}
	}
}

const routeKey = (r: Route): string =>
	`${r.table} ${r.type} ${r.dst} via ${r.gateway ?? '-'} dev ${r.oif ?? '-'}`;

/** Registers the suite's `groups` against `harness`. */
export function netlinkContract(harness: ContractHarness, groups: readonly ContractGroup[]): void {
	describe(`Netlink contract (${harness.name})`, () => {
		const ctx = {} as Ctx;
		beforeEach(async () => {
			ctx.a = await harness.createNetns();
			ctx.b = await harness.createNetns();
			ctx.nl = harness.open(ctx.a);
			ctx.nlb = harness.open(ctx.b);
			ctx.nl.setLink('lo', {up: true});
		});
		afterEach(async () => {
			ctx.nl.close();
			ctx.nlb.close();
			await harness.deleteNetns(ctx.a);
			await harness.deleteNetns(ctx.b);
		});
		if (groups.includes('core')) coreTests(harness, ctx);
		if (groups.includes('no-vrf')) noVrfTests(ctx);
		if (groups.includes('l3')) l3Tests(ctx);
	});
}

function coreTests(harness: ContractHarness, ctx: Ctx): void {
	describe('links', () => {
		it('finds lo as ifindex 1 in a fresh netns, by name and by index', () => {
			const lo = ctx.nl.getLink('lo');
			expect(lo).toMatchObject({index: 1, name: 'lo', kind: undefined, up: true, mtu: 65536});
			expect(ctx.nl.getLink(1).name).toBe('lo');
			expect(ctx.nl.listLinks().map((l) => l.name)).toEqual(['lo']);
		});

		it('creates a veth pair, and deleting one end removes both', () => {
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}, mtu: 1400});
			const va = ctx.nl.getLink('va');
			const vb = ctx.nl.getLink('vb');
			expect(va).toMatchObject({kind: 'veth', mtu: 1400, up: false, parentIndex: vb.index});
			expect(vb).toMatchObject({kind: 'veth', parentIndex: va.index});
			expect(va.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
			ctx.nl.deleteLink('vb');
			expect(ctx.nl.findLink('va')).toBeUndefined();
			expect(ctx.nl.listLinks().map((l) => l.name)).toEqual(['lo']);
		});

		it('creates a veth whose peer lands in another netns', async () => {
			ctx.nl.addLink({kind: 'veth', name: 'host0', peer: {name: 'eth0', netns: ctx.b}});
			const peer = ctx.nlb.getLink('eth0');
			expect(peer.kind).toBe('veth');
			expect(peer.linkNetnsId).toBeTypeOf('number');
			expect(ctx.nl.findLink('eth0')).toBeUndefined();
			if (harness.ipJson) {
				const links = (await harness.ipJson(ctx.b, ['link', 'show', 'dev', 'eth0'])) as {ifname: string}[];
				expect(links.map((l) => l.ifname)).toEqual(['eth0']);
			}
		});

		it('sets up/down, name, mtu and mac in place', async () => {
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}});
			const before = ctx.nl.getLink('va');
			ctx.nl.setLink('va', {up: true, name: 'renamed', mtu: 1300, mac: '02:11:22:33:44:55'});
			const after = ctx.nl.getLink(before.index);
			expect(after).toMatchObject({name: 'renamed', up: true, mtu: 1300, mac: '02:11:22:33:44:55'});
			ctx.nl.setLink(before.index, {up: false});
			expect(ctx.nl.getLink('renamed').up).toBe(false);
			if (harness.ipJson) {
				const [link] = (await harness.ipJson(ctx.a, ['link', 'show', 'dev', 'renamed'])) as {
					mtu: number;
					address: string;
				}[];
				expect(link).toMatchObject({mtu: 1300, address: '02:11:22:33:44:55'});
			}
		});

		it('enslaves to a bridge and releases (master / nomaster), filtering links by master', () => {
			ctx.nl.addLink({kind: 'bridge', name: 'br0', up: true});
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}, mtu: 1450});
			const br = ctx.nl.getLink('br0');
			ctx.nl.setLink('va', {master: 'br0', up: true});
			expect(ctx.nl.getLink('va').masterIndex).toBe(br.index);
			expect(ctx.nl.listLinks({master: 'br0'}).map((l) => l.name)).toEqual(['va']);
			expect(ctx.nl.listLinks({kind: 'bridge'}).map((l) => l.name)).toEqual(['br0']);
			expect(ctx.nl.getLink('br0').mtu).toBe(1450);
			ctx.nl.setLink('va', {master: null});
			expect(ctx.nl.getLink('va').masterIndex).toBeUndefined();
			expect(ctx.nl.listLinks({master: br.index})).toEqual([]);
		});

		it('refuses a master that cannot have ports with EOPNOTSUPP', () => {
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}});
			const err = netlinkError(() => ctx.nl.setLink('va', {master: 'vb'}));
			expect(err.errnoName).toBe('EOPNOTSUPP');
			expect(err.notSupported).toBe(true);
		});

		it('creates a macvlan in bridge mode on a parent', () => {
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}});
			ctx.nl.addLink({kind: 'macvlan', name: 'mv0', parent: 'va', mode: 'bridge'});
			const mv = ctx.nl.getLink('mv0');
			expect(mv).toMatchObject({
				kind: 'macvlan',
				macvlan: {mode: 'bridge'},
				parentIndex: ctx.nl.getLink('va').index,
			});
		});

		it('creates a macvlan straight into another netns while its parent stays here (IFLA_NET_NS_FD)', () => {
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}});
			ctx.nl.addLink({kind: 'macvlan', name: 'mv0', parent: 'va', mode: 'private', netns: ctx.b});
			expect(ctx.nl.findLink('mv0')).toBeUndefined();
			const mv = ctx.nlb.getLink('mv0');
			expect(mv).toMatchObject({
				kind: 'macvlan',
				macvlan: {mode: 'private'},
				parentIndex: ctx.nl.getLink('va').index,
			});
			expect(mv.linkNetnsId).toBeTypeOf('number');
			ctx.nl.deleteLink('va');
			expect(ctx.nlb.findLink('mv0')).toBeUndefined();
		});

		it('moves a link to another netns: it arrives down and without its addresses', () => {
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}, up: true});
			ctx.nl.addAddress('va', '10.20.0.1/24');
			ctx.nl.setLink('va', {netns: ctx.b});
			expect(ctx.nl.findLink('va')).toBeUndefined();
			const moved = ctx.nlb.getLink('va');
			expect(moved.up).toBe(false);
			expect(ctx.nlb.listAddresses({link: 'va'})).toEqual([]);
			expect(ctx.nl.listAddresses({family: 4}).map((a) => a.cidr)).not.toContain('10.20.0.1/24');
		});

		it('reports an absent link as LinkNotFoundError (ENODEV) on get, set and delete', () => {
			expect(ctx.nl.findLink('nope0')).toBeUndefined();
			expect(ctx.nl.findLink(99999)).toBeUndefined();
			for (const fn of [
				() => ctx.nl.getLink('nope0'),
				() => ctx.nl.setLink('nope0', {up: true}),
				() => ctx.nl.deleteLink(99999),
			]) {
				const err = thrown(fn);
				expect(err).toBeInstanceOf(LinkNotFoundError);
				expect((err as LinkNotFoundError).notFound).toBe(true);
			}
		});

		it('refuses a duplicate link name with EEXIST', () => {
			ctx.nl.addLink({kind: 'bridge', name: 'br0'});
			const err = netlinkError(() => ctx.nl.addLink({kind: 'bridge', name: 'br0'}));
			expect(err).toMatchObject({errnoName: 'EEXIST', exists: true});
			expect(err.message).toContain('failed to add link "br0"');
		});
	});

	describe('addresses', () => {
		it('adds IPv4 and IPv6 addresses, lists them per link and family, and deletes them', async () => {
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}});
			ctx.nl.addAddress('va', '10.30.0.2/24');
			ctx.nl.addAddress('va', 'fd00:30:0::2/64', {nodad: true});
			const v4 = ctx.nl.listAddresses({link: 'va', family: 4});
			expect(v4).toHaveLength(1);
			expect(v4[0]).toMatchObject({
				address: '10.30.0.2',
				prefixLen: 24,
				cidr: '10.30.0.2/24',
				scope: 'universe',
			});
			const v6 = ctx.nl.listAddresses({link: 'va', family: 6});
			expect(v6.map((a) => a.cidr)).toEqual(['fd00:30::2/64']);
			expect(v6[0]).toMatchObject({nodad: true, permanent: true});
			if (harness.ipJson) {
				const [link] = (await harness.ipJson(ctx.a, ['addr', 'show', 'dev', 'va'])) as {
					addr_info: {local: string; prefixlen: number}[];
				}[];
				expect(link?.addr_info.map((a) => `${a.local}/${a.prefixlen}`).sort()).toEqual([
					'10.30.0.2/24',
					'fd00:30::2/64',
				]);
			}
			ctx.nl.deleteAddress('va', '10.30.0.2/24');
			ctx.nl.deleteAddress('va', 'fd00:30::2/64');
			expect(ctx.nl.listAddresses({link: 'va'})).toEqual([]);
		});

		it('installs the connected routes of an address on an up link, none with noprefixroute', async () => {
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}, up: true});
			ctx.nl.setLink('vb', {up: true});
			await untilCarrier(ctx.nl, 'va', 'vb');
			const va = ctx.nl.getLink('va').index;
			ctx.nl.addAddress('va', '10.31.0.2/24');
			ctx.nl.addAddress('va', 'fd00:31::2/64', {nodad: true});
			ctx.nl.addAddress('va', '10.32.0.2/24', {noprefixroute: true});
			const main4 = ctx.nl.listRoutes({family: 4, oif: 'va'});
			expect(main4).toEqual([
				expect.objectContaining({
					dst: '10.31.0.0/24',
					scope: 'link',
					protocol: 2,
					prefsrc: '10.31.0.2',
					oif: va,
				}),
			]);
			await eventually(() => {
				const main6 = ctx.nl.listRoutes({family: 6, oif: 'va'}).map((r) => `${r.dst} ${r.metric}`);
				expect(main6).toContain('fd00:31::/64 256');
				const local = ctx.nl.listRoutes({table: 255, oif: va, type: 'local'}).map((r) => r.dst);
				expect(local.filter((dst) => !dst.startsWith('fe80:')).sort()).toEqual([
					'10.31.0.2/32',
					'10.32.0.2/32',
					'fd00:31::2/128',
				]);
			});
		});

		it('refuses a duplicate address with EEXIST and the kernel text', () => {
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}});
			ctx.nl.addAddress('va', '10.33.0.2/24');
			ctx.nl.addAddress('va', 'fd00:33::2/64', {nodad: true});
			const v4 = netlinkError(() => ctx.nl.addAddress('va', '10.33.0.2/24'));
			expect(v4).toMatchObject({errnoName: 'EEXIST', exists: true, extack: 'ipv4: Address already assigned'});
			expect(v4.message).toBe(
				'failed to add address 10.33.0.2/24 to link "va": file already exists (EEXIST): ipv4: Address already assigned',
			);
			const v6 = netlinkError(() => ctx.nl.addAddress('va', 'fd00:33::2/64'));
			expect(v6).toMatchObject({errnoName: 'EEXIST', extack: 'ipv6: address already assigned'});
			ctx.nl.addAddress('va', '10.33.0.2/24', {replace: true});
		});

		it('reports ENODEV with the kernel text for an address on an absent ifindex', () => {
			const v4 = netlinkError(() => ctx.nl.addAddress(99999, '10.34.0.2/24'));
			expect(v4).toBeInstanceOf(LinkNotFoundError);
			expect(v4).toMatchObject({errnoName: 'ENODEV', notFound: true, extack: 'ipv4: Device not found'});
			const v6 = netlinkError(() => ctx.nl.addAddress(99999, 'fd00:34::2/64'));
			expect(v6).toMatchObject({errnoName: 'ENODEV', extack: 'ipv6: Unable to find the interface'});
		});

		it('reports deleting an absent address as not found (EADDRNOTAVAIL)', () => {
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}});
			const err = netlinkError(() => ctx.nl.deleteAddress('va', '10.35.0.9/24'));
			expect(err).toMatchObject({
				errnoName: 'EADDRNOTAVAIL',
				notFound: true,
				extack: 'ipv4: Address not found',
			});
		});

		it('drops IPv6 addresses and static routes when the link goes down, keeping v6 with keep_addr_on_down', async () => {
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}, up: true});
			ctx.nl.setLink('vb', {up: true});
			await untilCarrier(ctx.nl, 'va', 'vb');
			ctx.nl.addAddress('va', '10.36.0.2/24');
			ctx.nl.addAddress('va', 'fd00:36::2/64', {nodad: true});
			ctx.nl.addRoute({dst: '10.37.0.0/16', gateway: '10.36.0.1'});
			ctx.nl.addRoute({dst: 'fd00:37::/64', gateway: 'fd00:36::1'});
			ctx.nl.setLink('va', {up: false});
			expect(ctx.nl.listAddresses({link: 'va'}).map((a) => a.cidr)).toEqual(['10.36.0.2/24']);
			expect(ctx.nl.listRoutes({oif: 'va'})).toEqual([]);
			ctx.nl.writeSysctl('net.ipv6.conf.va.keep_addr_on_down', '1');
			ctx.nl.setLink('va', {up: true});
			ctx.nl.addAddress('va', 'fd00:36::2/64', {nodad: true});
			ctx.nl.setLink('va', {up: false});
			const kept = ctx.nl.listAddresses({link: 'va', family: 6}).map((a) => a.cidr);
			expect(kept).toEqual(['fd00:36::2/64']);
		});
	});

	describe('routes', () => {
		const setup = async (): Promise<number> => {
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}, up: true});
			ctx.nl.setLink('vb', {up: true});
			await untilCarrier(ctx.nl, 'va', 'vb');
			ctx.nl.addAddress('va', '10.40.0.2/24');
			ctx.nl.addAddress('va', 'fd00:40::2/64', {nodad: true});
			return ctx.nl.getLink('va').index;
		};

		it('adds routes with table, metric and gateway, and lists them through kernel-side filters', async () => {
			const va = await setup();
			ctx.nl.addRoute({dst: '10.41.0.0/16', gateway: '10.40.0.1', table: 1000, metric: 7});
			ctx.nl.addRoute({dst: '10.42.0.0/16', gateway: '10.40.0.1'});
			ctx.nl.addRoute({dst: 'fd00:41::/64', gateway: 'fd00:40::1', table: 1000});
			const t1000 = ctx.nl.listRoutes({table: 1000});
			expect(t1000.map(routeKey).sort()).toEqual([
				`1000 unicast 10.41.0.0/16 via 10.40.0.1 dev ${va}`,
				`1000 unicast fd00:41::/64 via fd00:40::1 dev ${va}`,
			]);
			expect(t1000.find((r) => r.family === 4)).toMatchObject({metric: 7, protocol: 3, scope: 'universe'});
			expect(ctx.nl.listRoutes({table: 1000, family: 6}).map((r) => r.dst)).toEqual(['fd00:41::/64']);
			expect(
				ctx.nl
					.listRoutes({family: 4})
					.map((r) => r.dst)
					.sort(),
			).toEqual(['10.40.0.0/24', '10.42.0.0/16']);
			expect(ctx.nl.listRoutes({table: 'all', dst: '10.41.0.0/16'}).map((r) => r.table)).toEqual([1000]);
			expect(ctx.nl.listRoutes({table: 4242})).toEqual([]);
			expect(ctx.nl.listRoutes({table: 4242, family: 4})).toEqual([]);
			if (harness.ipJson) {
				const routes = (await harness.ipJson(ctx.a, ['route', 'show', 'table', '1000'])) as {
					dst: string;
					gateway: string;
				}[];
				expect(routes).toEqual([expect.objectContaining({dst: '10.41.0.0/16', gateway: '10.40.0.1'})]);
			}
		});

		it('replaces a route in place and deletes it; a missing route is ESRCH, a duplicate EEXIST', async () => {
			await setup();
			ctx.nl.addLink({kind: 'veth', name: 'vc', peer: {name: 'vd'}, up: true});
			ctx.nl.addAddress('vc', '10.43.0.2/24');
			ctx.nl.addRoute({dst: '10.44.0.0/16', gateway: '10.40.0.1', table: 1001});
			expect(
				netlinkError(() => ctx.nl.addRoute({dst: '10.44.0.0/16', gateway: '10.40.0.1', table: 1001})),
			).toMatchObject({
				errnoName: 'EEXIST',
			});
			ctx.nl.replaceRoute({dst: '10.44.0.0/16', gateway: '10.43.0.1', table: 1001});
			const routes = ctx.nl.listRoutes({table: 1001});
			expect(routes.map((r) => r.gateway)).toEqual(['10.43.0.1']);
			expect(routes[0]?.oif).toBe(ctx.nl.getLink('vc').index);
			ctx.nl.replaceRoute({dst: '10.45.0.0/16', oif: 'vc', scope: 'link', table: 1001});
			expect(ctx.nl.listRoutes({table: 1001, dst: '10.45.0.0/16'})[0]).toMatchObject({
				scope: 'link',
				gateway: undefined,
			});
			ctx.nl.deleteRoute({dst: '10.44.0.0/16', table: 1001});
			ctx.nl.deleteRoute({dst: '10.45.0.0/16', table: 1001});
			expect(ctx.nl.listRoutes({table: 1001})).toEqual([]);
			const missing = netlinkError(() => ctx.nl.deleteRoute({dst: '10.44.0.0/16', table: 1001}));
			expect(missing).toMatchObject({errnoName: 'ESRCH', notFound: true});
		});

		it('adds onlink, blackhole and unreachable routes', async () => {
			await setup();
			ctx.nl.addRoute({dst: '10.46.0.0/16', gateway: '192.0.2.1', oif: 'va', onlink: true});
			ctx.nl.addRoute({dst: '10.47.0.0/16', type: 'blackhole'});
			ctx.nl.addRoute({dst: 'fd00:47::/64', type: 'unreachable'});
			expect(ctx.nl.listRoutes({dst: '10.46.0.0/16'})[0]).toMatchObject({onlink: true, gateway: '192.0.2.1'});
			expect(ctx.nl.listRoutes({type: 'blackhole'}).map((r) => r.dst)).toEqual(['10.47.0.0/16']);
			expect(ctx.nl.listRoutes({family: 6, type: 'unreachable'}).map((r) => r.dst)).toEqual(['fd00:47::/64']);
		});

		it('looks up the route to an address through rules and longest prefix (fibmatch)', async () => {
			const va = await setup();
			ctx.nl.addRoute({dst: '10.51.0.0/16', gateway: '10.40.0.1'});
			ctx.nl.addRoute({dst: '10.51.7.0/24', gateway: '10.40.0.3', metric: 20});
			ctx.nl.addRoute({dst: '10.52.0.0/16', gateway: '10.40.0.4', table: 1003});
			ctx.nl.addRule({family: 4, priority: 100, dst: '10.52.0.0/16', table: 1003});
			ctx.nl.addRoute({dst: 'fd00:51::/64', gateway: 'fd00:40::1'});
			expect(ctx.nl.getRoute('10.51.9.9')).toMatchObject({
				dst: '10.51.0.0/16',
				gateway: '10.40.0.1',
				oif: va,
				table: 254,
			});
			expect(ctx.nl.getRoute('10.51.7.7')).toMatchObject({
				dst: '10.51.7.0/24',
				gateway: '10.40.0.3',
				metric: 20,
			});
			expect(ctx.nl.getRoute('10.52.1.1')).toMatchObject({
				dst: '10.52.0.0/16',
				gateway: '10.40.0.4',
				table: 1003,
			});
			expect(ctx.nl.getRoute('10.40.0.9')).toMatchObject({
				dst: '10.40.0.0/24',
				scope: 'link',
				gateway: undefined,
			});
			expect(ctx.nl.getRoute('10.40.0.2')).toMatchObject({dst: '10.40.0.2/32', type: 'local', table: 255});
			expect(ctx.nl.getRoute('fd00:51::1')).toMatchObject({
				dst: 'fd00:51::/64',
				gateway: 'fd00:40::1',
				family: 6,
			});
			expect(ctx.nl.getRoute('192.0.2.9')).toBeUndefined();
			expect(ctx.nl.getRoute('2001:db8::9')).toBeUndefined();
			ctx.nl.addRoute({dst: '0.0.0.0/0', gateway: '10.40.0.1'});
			expect(ctx.nl.getRoute('192.0.2.9')).toMatchObject({dst: '0.0.0.0/0', gateway: '10.40.0.1'});
		});

		it('rejects host bits and unreachable gateways with the kernel text', async () => {
			await setup();
			const bits = netlinkError(() => ctx.nl.addRoute({dst: '10.48.0.1/16', oif: 'va'}));
			expect(bits).toMatchObject({errnoName: 'EINVAL', extack: 'Invalid prefix for given prefix length'});
			const gw = netlinkError(() => ctx.nl.addRoute({dst: '10.49.0.0/16', gateway: '192.0.2.1'}));
			expect(gw).toMatchObject({errnoName: 'ENETUNREACH', extack: 'Nexthop has invalid gateway'});
		});
	});

	describe('rules', () => {
		it('adds, lists and deletes rules; the kernel picks the priority below the first one', () => {
			const before = ctx.nl.listRules({family: 4}).map((r) => r.priority);
			expect(before).toEqual([0, 32766, 32767]);
			ctx.nl.addRule({family: 4, priority: 100, table: 1000, src: '10.50.0.0/24'});
			ctx.nl.addRule({family: 4, table: 1001});
			ctx.nl.addRule({family: 6, priority: 200, table: 1002, dst: 'fd00:50::/64'});
			const v4 = ctx.nl.listRules({family: 4});
			expect(v4.map((r) => [r.priority, r.table])).toEqual([
				[0, 255],
				[99, 1001],
				[100, 1000],
				[32766, 254],
				[32767, 253],
			]);
			expect(v4.find((r) => r.priority === 100)).toMatchObject({action: 'lookup', src: '10.50.0.0/24'});
			expect(ctx.nl.listRules({family: 6}).find((r) => r.priority === 200)?.dst).toBe('fd00:50::/64');
			const dup = netlinkError(() =>
				ctx.nl.addRule({family: 4, priority: 100, table: 1000, src: '10.50.0.0/24'}),
			);
			expect(dup).toMatchObject({errnoName: 'EEXIST', exists: true});
			ctx.nl.deleteRule({family: 4, priority: 100});
			ctx.nl.deleteRule({family: 4, table: 1001});
			ctx.nl.deleteRule({family: 6, priority: 200});
			expect(ctx.nl.listRules({family: 4}).map((r) => r.priority)).toEqual([0, 32766, 32767]);
			expect(netlinkError(() => ctx.nl.deleteRule({family: 4, priority: 100}))).toMatchObject({
				errnoName: 'ENOENT',
				notFound: true,
			});
		});
	});

	describe('sysctl', () => {
		it('reads and writes per-netns and per-link sysctls', () => {
			ctx.nl.addLink({kind: 'veth', name: 'va', peer: {name: 'vb'}});
			ctx.nlb.writeSysctl('net/ipv4/ip_forward', '0');
			ctx.nl.writeSysctl('net.ipv4.ip_forward', '1');
			expect(ctx.nl.readSysctl('net.ipv4.ip_forward')).toBe('1');
			expect(ctx.nlb.readSysctl('net/ipv4/ip_forward')).toBe('0');
			expect(ctx.nl.readSysctl('net.ipv6.conf.va.keep_addr_on_down')).toBe('0');
			ctx.nl.writeSysctl('net/ipv6/conf/va/keep_addr_on_down', '1');
			expect(ctx.nl.readSysctl('net.ipv6.conf.va.keep_addr_on_down')).toBe('1');
		});

		it('reports a sysctl of an absent link as not found, and rejects keys outside net/', () => {
			const err = netlinkError(() => ctx.nl.readSysctl('net.ipv6.conf.nope0.keep_addr_on_down'));
			expect(err).toMatchObject({errnoName: 'ENOENT', notFound: true});
			const outside = thrown(() => ctx.nl.readSysctl('kernel.hostname'));
			expect(isCniError(outside) && outside.code).toBe(7);
			expect(isCniError(thrown(() => ctx.nl.writeSysctl('net/../kernel/hostname', 'x')))).toBe(true);
		});
	});
}

/** A kernel (or model) without vrf: the request fails with EOPNOTSUPP "Unknown device type". */
function noVrfTests(ctx: Ctx): void {
	it('refuses an unknown device kind with EOPNOTSUPP and the kernel text', () => {
		const err = netlinkError(() => ctx.nl.addLink({kind: 'vrf', name: 'blue', table: 10}));
		expect(err).toMatchObject({errnoName: 'EOPNOTSUPP', notSupported: true, extack: 'Unknown device type'});
		expect(err.message).toBe(
			'failed to add link "blue": operation not supported (EOPNOTSUPP): Unknown device type',
		);
	});
}

function l3Tests(ctx: Ctx): void {
	describe('vrf, vlan, dummy', () => {
		const addressedDummy = (): number => {
			ctx.nl.addLink({kind: 'dummy', name: 'd0', up: true});
			ctx.nl.addAddress('d0', '10.60.0.2/24');
			ctx.nl.addAddress('d0', 'fd00:60::2/64', {nodad: true});
			ctx.nl.addRoute({dst: '10.61.0.0/16', gateway: '10.60.0.1'});
			return ctx.nl.getLink('d0').index;
		};

		it('creates a dummy link', () => {
			ctx.nl.addLink({kind: 'dummy', name: 'd0', mtu: 9000});
			expect(ctx.nl.getLink('d0')).toMatchObject({kind: 'dummy', mtu: 9000, up: false});
		});

		it('creates a VRF with its table and the l3mdev rules', () => {
			ctx.nl.addLink({kind: 'vrf', name: 'blue', table: 10, up: true});
			expect(ctx.nl.getLink('blue')).toMatchObject({kind: 'vrf', vrf: {table: 10}, up: true});
			expect(ctx.nl.listLinks({kind: 'vrf'}).map((l) => l.vrf?.table)).toEqual([10]);
			for (const family of [4, 6] as const) {
				const l3mdev = ctx.nl.listRules({family}).filter((r) => r.l3mdev);
				expect(l3mdev).toEqual([expect.objectContaining({priority: 1000, action: 'lookup'})]);
			}
		});

		it('moves the connected routes of an enslaved interface into the VRF table, and back on release', () => {
			const d0 = addressedDummy();
			ctx.nl.addLink({kind: 'vrf', name: 'blue', table: 10, up: true});
			ctx.nl.setLink('d0', {master: 'blue'});
			expect(ctx.nl.getLink('d0')).toMatchObject({masterIndex: ctx.nl.getLink('blue').index, up: true});
			expect(ctx.nl.listRoutes({table: 10, family: 4, oif: d0, type: 'unicast'})).toEqual([
				expect.objectContaining({dst: '10.60.0.0/24', scope: 'link', protocol: 2}),
			]);
			expect(ctx.nl.listRoutes({table: 10, type: 'local', oif: d0}).map((r) => r.dst)).toContain(
				'10.60.0.2/32',
			);
			// The main table lost both the connected route and the static route through d0.
			expect(ctx.nl.listRoutes({family: 4, oif: d0})).toEqual([]);
			expect(ctx.nl.listLinks({master: 'blue'}).map((l) => l.name)).toEqual(['d0']);
			// A lookup through the VRF port goes through the l3mdev rule into the VRF table.
			expect(ctx.nl.getRoute('10.60.0.9', {oif: 'd0'})).toMatchObject({dst: '10.60.0.0/24', table: 10});
			expect(ctx.nl.getRoute('10.60.0.9')).toBeUndefined();
			ctx.nl.setLink('d0', {master: null});
			expect(ctx.nl.listRoutes({family: 4, oif: d0}).map((r) => r.dst)).toEqual(['10.60.0.0/24']);
			expect(ctx.nl.listRoutes({table: 10, family: 4, oif: d0, type: 'unicast'})).toEqual([]);
		});

		it('loses the global IPv6 address on enslave without keep_addr_on_down, keeps it with', async () => {
			addressedDummy();
			ctx.nl.addLink({kind: 'vrf', name: 'blue', table: 10, up: true});
			ctx.nl.setLink('d0', {master: 'blue'});
			const globals = (): string[] =>
				ctx.nl
					.listAddresses({link: 'd0', family: 6})
					.filter((a) => a.scope === 'universe')
					.map((a) => a.cidr);
			expect(globals()).toEqual([]);
			expect(ctx.nl.listAddresses({link: 'd0', family: 4}).map((a) => a.cidr)).toEqual(['10.60.0.2/24']);
			ctx.nl.setLink('d0', {master: null});
			ctx.nl.writeSysctl('net.ipv6.conf.d0.keep_addr_on_down', '1');
			ctx.nl.addAddress('d0', 'fd00:60::2/64', {nodad: true});
			ctx.nl.setLink('d0', {master: 'blue'});
			expect(globals()).toEqual(['fd00:60::2/64']);
			await eventually(() =>
				expect(ctx.nl.listRoutes({table: 10, family: 6, dst: 'fd00:60::/64'})).toHaveLength(1),
			);
		});

		it('puts the local /128 route of an IPv6 address re-added after enslaving into the VRF table', async () => {
			const d0 = addressedDummy();
			ctx.nl.addLink({kind: 'vrf', name: 'blue', table: 10, up: true});
			ctx.nl.setLink('d0', {master: 'blue'});
			ctx.nl.addAddress('d0', 'fd00:60::2/64', {nodad: true});
			await eventually(() =>
				expect(ctx.nl.listRoutes({table: 10, oif: d0, dst: 'fd00:60::2/128'})).toEqual([
					expect.objectContaining({type: 'local', family: 6}),
				]),
			);
			expect(ctx.nl.listRoutes({table: 255, family: 6, dst: 'fd00:60::2/128'})).toEqual([]);
		});

		it('allows two VRFs with the same table', () => {
			ctx.nl.addLink({kind: 'vrf', name: 'blue', table: 10});
			ctx.nl.addLink({kind: 'vrf', name: 'red', table: 10});
			expect(ctx.nl.listLinks({kind: 'vrf'}).map((l) => [l.name, l.vrf?.table])).toEqual([
				['blue', 10],
				['red', 10],
			]);
		});

		it('releases the ports of a deleted VRF', () => {
			addressedDummy();
			ctx.nl.addLink({kind: 'vrf', name: 'blue', table: 10, up: true});
			ctx.nl.setLink('d0', {master: 'blue'});
			ctx.nl.deleteLink('blue');
			expect(ctx.nl.getLink('d0').masterIndex).toBeUndefined();
		});

		it('creates a vlan on a parent in the same netns', () => {
			ctx.nl.addLink({kind: 'dummy', name: 'd0', mtu: 1600});
			ctx.nl.addLink({kind: 'vlan', name: 'd0.100', parent: 'd0', id: 100});
			const vlan = ctx.nl.getLink('d0.100');
			expect(vlan).toMatchObject({kind: 'vlan', vlan: {id: 100, protocol: '802.1Q'}, mtu: 1600});
			expect(vlan.parentIndex).toBe(ctx.nl.getLink('d0').index);
			expect(vlan.mac).toBe(ctx.nl.getLink('d0').mac);
			const dup = netlinkError(() => ctx.nl.addLink({kind: 'vlan', name: 'other', parent: 'd0', id: 100}));
			expect(dup).toMatchObject({errnoName: 'EEXIST'});
			const big = netlinkError(() =>
				ctx.nl.addLink({kind: 'vlan', name: 'big', parent: 'd0', id: 101, mtu: 1601}),
			);
			expect(big).toMatchObject({errnoName: 'EINVAL'});
			ctx.nl.addLink({kind: 'vlan', name: 'small', parent: 'd0', id: 102, mtu: 1500});
			expect(ctx.nl.getLink('small').mtu).toBe(1500);
		});

		it('creates a vlan from the host straight into another netns (IFLA_NET_NS_FD)', () => {
			ctx.nl.addLink({kind: 'dummy', name: 'eth9'});
			ctx.nl.addLink({kind: 'vlan', name: 'tmp0', parent: 'eth9', id: 42, netns: ctx.b});
			expect(ctx.nl.findLink('tmp0')).toBeUndefined();
			const vlan = ctx.nlb.getLink('tmp0');
			expect(vlan).toMatchObject({kind: 'vlan', vlan: {id: 42}, parentIndex: ctx.nl.getLink('eth9').index});
			expect(vlan.linkNetnsId).toBeTypeOf('number');
			// A vlan cannot come up while its lower device is down.
			expect(netlinkError(() => ctx.nlb.setLink('tmp0', {up: true}))).toMatchObject({errnoName: 'ENETDOWN'});
			// Bringing the lower device up brings its vlans up (the kernel's NETDEV_UP handling for vlans).
			ctx.nl.setLink('eth9', {up: true});
			expect(ctx.nlb.getLink('tmp0').up).toBe(true);
			// An up link cannot be renamed before Linux 6.2 (the test bed's 6.1, and the model).
			expect(netlinkError(() => ctx.nlb.setLink('tmp0', {name: 'net1'}))).toMatchObject({errnoName: 'EBUSY'});
			ctx.nlb.setLink('tmp0', {up: false});
			ctx.nlb.setLink('tmp0', {name: 'net1', up: true});
			expect(ctx.nlb.getLink('net1').up).toBe(true);
			ctx.nl.setLink('eth9', {up: false});
			expect(ctx.nlb.getLink('net1').up).toBe(false);
			ctx.nl.deleteLink('eth9');
			expect(ctx.nlb.findLink('net1')).toBeUndefined();
		});

		it('refuses a vlan on an absent parent with ENODEV', () => {
			const err = netlinkError(() => ctx.nl.addLink({kind: 'vlan', name: 'v0', parent: 99999, id: 5}));
			expect(err).toMatchObject({errnoName: 'ENODEV', notFound: true, extack: '8021q: link does not exist'});
			expect(ctx.nl.findLink('a-name-too-long-for-linux')).toBeUndefined();
		});
	});
}
