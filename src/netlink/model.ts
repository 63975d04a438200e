/**
 * An in-memory kernel behind the Netlink interface: several network namespaces with links,
 * addresses, routes, rules and sysctls, for dry-run simulation and fast delegate unit tests. It
 * models the kernel behaviour delegates depend on, and the shared contract suite (./contract.ts)
 * runs against both this model and the real kernel to keep it honest:
 * - connected/local/broadcast routes derive from addresses on up links, in the VRF table of the
 *   link's master when it has one (so enslaving moves them);
 * - enslaving to (or releasing from) a VRF cycles an up link down and up, which flushes the link's
 *   static routes and, without keep_addr_on_down, its IPv6 addresses;
 * - deleting a veth end deletes its peer, deleting a lower device deletes its vlans/macvlans,
 *   deleting a master releases its ports; moving a link to another netns drops its addresses;
 * - the first VRF of a netns adds the l3mdev rules (priority 1000), as the vrf driver does;
 * - failures are NetlinkErrors with the kernel's errno and ext-ack text for the same mistake.
 * Not modelled: DAD timing (addresses are never tentative), neighbours, multipath, carrier.
 * This file is longer than the house limit because the behaviours above interlock; splitting
 * them would spread one state machine over several files.
 */
import {
	canonicalAddress,
	canonicalPrefix,
	formatAddress,
	networkOf,
	type Prefix,
	parseAddress,
	parsePrefix,
	prefixContains,
} from './codec/ip.ts';
import {formatMac, parseMac} from './codec/link.ts';
import {
	EADDRNOTAVAIL,
	EEXIST,
	EINVAL,
	ENODEV,
	ENOENT,
	EOPNOTSUPP,
	ESRCH,
	LinkNotFoundError,
	NetlinkError,
	NetnsNotFoundError,
} from './errors.ts';
import {
	type Address,
	type AddressOptions,
	type IpFamily,
	type Link,
	type LinkChanges,
	type LinkRef,
	type LinkSpec,
	type MacvlanMode,
	type Netlink,
	type NetnsPath,
	type OpenNetlink,
	type Route,
	type RouteFilter,
	type RouteSpec,
	RT_PROTO,
	RT_TABLE,
	type Rule,
	type RuleSpec,
} from './netlink.ts';
import {sysctlName, sysctlPath} from './sysctl.ts';

const EBUSY = 16;
const ENETDOWN = 100;
const ENETUNREACH = 101;
const EHOSTUNREACH = 113;
const EACCES = 13;
const ELOOP = 40;
const ERANGE = 34;
const IFF_UP = 0x1;
const IFF_BROADCAST = 0x2;
const IFF_LOOPBACK = 0x8;
const IFF_RUNNING = 0x40;
const IFF_MULTICAST = 0x1000;
const IFF_LOWER_UP = 0x10000;
const IFA_F_NODAD = 0x02;
const IFA_F_PERMANENT = 0x80;
const IFA_F_NOPREFIXROUTE = 0x200;
const IFNAMSIZ = 16;

/** Every device kind the model can create; pass a subset to mimic a kernel without some. */
export const MODEL_KINDS = ['veth', 'bridge', 'dummy', 'vrf', 'macvlan', 'vlan'] as const;

/** IPv4 and IPv6 per-interface sysctls the model knows, with a fresh netns's defaults. */
const CONF_DEFAULTS: Record<IpFamily, Record<string, string>> = {
	4: {forwarding: '0', rp_filter: '0', arp_notify: '0', arp_ignore: '0', proxy_arp: '0', accept_local: '0'},
	6: {
		keep_addr_on_down: '0',
		disable_ipv6: '0',
		forwarding: '0',
		accept_dad: '1',
		accept_ra: '1',
		autoconf: '1',
		addr_gen_mode: '0',
	},
};
const GLOBAL_SYSCTL_DEFAULTS: Record<string, string> = {
	'net/ipv4/ip_forward': '0',
	'net/ipv4/ip_nonlocal_bind': '0',
	'net/ipv4/tcp_l3mdev_accept': '0',
	'net/ipv4/udp_l3mdev_accept': '0',
	'net/ipv6/ip_nonlocal_bind': '0',
	'net/core/somaxconn': '4096',
};

interface LinkState {
	index: number;
	name: string;
	kind: string | undefined;
	mtu: number;
	mac: string | undefined;
	/** A bridge takes its lowest port's MAC until one is set explicitly. */
	macSet: boolean;
	mtuSet: boolean;
	up: boolean;
	/** IPv6 configured the link (link-local address, fe80::/64, ff00::/8): once up with carrier. */
	v6ready: boolean;
	master: number | undefined;
	/** The lower device of a vlan/macvlan (in `parentNs`), or the veth peer. */
	parent: {ns: Namespace; index: number} | undefined;
	vrfTable?: number;
	vlan?: {id: number; protocol: '802.1Q' | '802.1ad'};
	macvlanMode?: MacvlanMode;
	conf: Record<IpFamily, Map<string, string>>;
}

interface AddrState {
	index: number;
	family: IpFamily;
	address: string;
	prefixLen: number;
	flags: number;
	scope: Address['scope'];
	peer: string | undefined;
	broadcast: string | undefined;
	label: string | undefined;
	/** IPv6: its local /128 route is installed (on add; dropped while a kept address's link is down). */
	localRoute?: boolean;
}

type MutableRoute = {-readonly [K in keyof Route]: Route[K]};

class Namespace {
	readonly path: NetnsPath | undefined;
	readonly links = new Map<number, LinkState>();
	readonly addrs: AddrState[] = [];
	/** Routes added by requests (kernel-made routes are derived, see derivedRoutes). */
	routes: Route[] = [];
	rules: Rule[] = [];
	readonly conf: Record<IpFamily, {all: Map<string, string>; default: Map<string, string>}>;
	readonly sysctls = new Map(Object.entries(GLOBAL_SYSCTL_DEFAULTS));
	nextIndex = 1;
	/** IFLA_LINK_NETNSID values this netns assigned to others. */
	readonly netnsIds = new Map<Namespace, number>();

	/** Every namespace of the model this one belongs to (for effects that cross namespaces). */
	readonly world: () => Iterable<Namespace>;

	constructor(path: NetnsPath | undefined, world: () => Iterable<Namespace>) {
		this.path = path;
		this.world = world;
		const defaults = (family: IpFamily): Map<string, string> =>
			new Map(Object.entries(CONF_DEFAULTS[family]));
		this.conf = {4: {all: defaults(4), default: defaults(4)}, 6: {all: defaults(6), default: defaults(6)}};
		for (const family of [4, 6] as const) {
			const base = {family, priority: 0, action: 'lookup' as const, src: undefined, dst: undefined};
			const rest = {
				iif: undefined,
				oif: undefined,
				fwmark: undefined,
				fwmask: undefined,
				l3mdev: false,
				invert: false,
			};
			const kernel = RT_PROTO.kernel;
			this.rules.push({...base, ...rest, table: RT_TABLE.local, protocol: kernel});
			this.rules.push({...base, ...rest, priority: 32766, table: RT_TABLE.main, protocol: kernel});
			if (family === 4)
				this.rules.push({...base, ...rest, priority: 32767, table: RT_TABLE.default, protocol: kernel});
		}
		this.addLinkState({name: 'lo', kind: undefined, mtu: 65536, mac: '00:00:00:00:00:00', up: false});
	}

	allocIndex(preferred?: number): number {
		if (preferred !== undefined && !this.links.has(preferred)) return preferred;
		while (this.links.has(this.nextIndex)) this.nextIndex++;
		return this.nextIndex++;
	}

	addLinkState(
		init: Pick<LinkState, 'name' | 'kind' | 'mtu' | 'mac' | 'up'> & Partial<LinkState>,
	): LinkState {
		const conf = {4: new Map(this.conf[4].default), 6: new Map(this.conf[6].default)};
		const link: LinkState = {
			macSet: init.mac !== undefined,
			mtuSet: false,
			v6ready: false,
			master: undefined,
			parent: undefined,
			conf,
			...init,
			index: this.allocIndex(init.index),
		};
		this.links.set(link.index, link);
		return link;
	}

	byName(name: string): LinkState | undefined {
		for (const link of this.links.values()) if (link.name === name) return link;
		return undefined;
	}

	netnsIdOf(other: Namespace): number {
		let id = this.netnsIds.get(other);
		if (id === undefined) {
			id = this.netnsIds.size;
			this.netnsIds.set(other, id);
		}
		return id;
	}
}

function tryRead(from: Netlink, key: string): string | undefined {
	try {
		return from.readSysctl(key);
	} catch {
		return undefined;
	}
}

let macCounter = 0;
function randomMac(): string {
	macCounter = (macCounter + 1) & 0xffffff;
	const bytes = [0x02, 0x5a, (macCounter >> 16) & 0xff, (macCounter >> 8) & 0xff, macCounter & 0xff, 0x01];
	bytes[5] = Math.floor(Math.random() * 256);
	return formatMac(Uint8Array.from(bytes));
}

function eui64LinkLocal(mac: string): string {
	const m = parseMac(mac);
	const bytes = new Uint8Array(16);
	bytes[0] = 0xfe;
	bytes[1] = 0x80;
	bytes.set([m[0]! ^ 0x02, m[1]!, m[2]!, 0xff, 0xfe, m[3]!, m[4]!, m[5]!], 8);
	return formatAddress(bytes);
}

function describe(ref: LinkRef): string {
	return typeof ref === 'number' ? `#${ref}` : JSON.stringify(ref);
}

function route(init: Partial<MutableRoute> & Pick<Route, 'family' | 'dst' | 'table'>): Route {
	return {
		type: 'unicast',
		scope: 'universe',
		protocol: RT_PROTO.boot,
		gateway: undefined,
		oif: undefined,
		prefsrc: undefined,
		metric: undefined,
		onlink: false,
		mtu: undefined,
		advmss: undefined,
		nexthops: [],
		...init,
	};
}

/**
 * The model kernel: namespaces by path (the caller's own netns is `undefined`), opened like the
 * real thing. `open` has the OpenNetlink shape, so it can be handed to delegates directly.
 *
 * @example
 * const kernel = new NetlinkModel();
 * kernel.addNetns('/var/run/netns/pod');
 * const nl = kernel.open('/var/run/netns/pod');
 */
export class NetlinkModel {
	private readonly namespaces = new Map<NetnsPath | undefined, Namespace>();
	readonly kinds: ReadonlySet<string>;

	constructor(options: {readonly kinds?: readonly string[]} = {}) {
		this.kinds = new Set(options.kinds ?? MODEL_KINDS);
		this.namespaces.set(undefined, new Namespace(undefined, () => this.namespaces.values()));
	}

	/** Creates a netns at `path` (with a down `lo`), as `ip netns add` does. */
	addNetns(path: NetnsPath): void {
		if (this.namespaces.has(path))
			throw new Error(`netns ${JSON.stringify(path)} already exists in the model`);
		this.namespaces.set(path, new Namespace(path, () => this.namespaces.values()));
	}

	/** Removes a netns: its veth ends take their peers along, as when the last reference goes away. */
	deleteNetns(path: NetnsPath): void {
		const ns = this.namespaces.get(path);
		if (ns === undefined) throw new NetnsNotFoundError(path);
		for (const link of [...ns.links.values()]) if (ns.links.has(link.index)) removeLink(this, ns, link);
		this.namespaces.delete(path);
		settle(this.namespaces.values());
	}

	hasNetns(path: NetnsPath): boolean {
		return this.namespaces.has(path);
	}

	/**
	 * Copies a netns's state from another Netlink (e.g. the kernel) into the model at `path`, for a
	 * dry run against reality: links (lower devices and masters inside that netns), addresses,
	 * routes that the kernel did not make itself (those the model derives), and rules. Peers and
	 * lower devices in other namespaces are not followed. Replaces any netns already at `path`.
	 */
	load(path: NetnsPath | undefined, from: Netlink): void {
		const ns = new Namespace(path, () => this.namespaces.values());
		ns.links.clear();
		const links = from.listLinks().sort((a, b) => a.index - b.index);
		for (const l of links) {
			const state = ns.addLinkState({
				index: l.index,
				name: l.name,
				kind: l.kind,
				mtu: l.mtu,
				mac: l.mac,
				up: l.up,
			});
			// A bridge follows its ports' MAC and MTU unless they were set by hand, which a dump cannot tell.
			state.macSet = l.kind !== 'bridge';
			state.mtuSet = l.kind !== 'bridge';
			if (l.vrf !== undefined) state.vrfTable = l.vrf.table;
			if (l.vlan !== undefined) state.vlan = {...l.vlan};
			if (l.macvlan !== undefined) state.macvlanMode = l.macvlan.mode;
			for (const family of [4, 6] as const) {
				for (const key of state.conf[family].keys()) {
					const value = tryRead(from, `net/ipv${family}/conf/${l.name}/${key}`);
					if (value !== undefined) state.conf[family].set(key, value);
				}
			}
		}
		for (const l of links) {
			const state = ns.links.get(l.index)!;
			state.master = l.masterIndex;
			if (l.parentIndex !== undefined && l.linkNetnsId === undefined && ns.links.has(l.parentIndex)) {
				state.parent = {ns, index: l.parentIndex};
			}
		}
		for (const family of [4, 6] as const) {
			for (const key of ['all', 'default'] as const) {
				for (const leaf of ns.conf[family][key].keys()) {
					const value = tryRead(from, `net/ipv${family}/conf/${key}/${leaf}`);
					if (value !== undefined) ns.conf[family][key].set(leaf, value);
				}
			}
		}
		for (const key of ns.sysctls.keys()) {
			const value = tryRead(from, key);
			if (value !== undefined) ns.sysctls.set(key, value);
		}
		for (const a of from.listAddresses()) {
			ns.addrs.push({
				index: a.index,
				family: a.family,
				address: a.address,
				prefixLen: a.prefixLen,
				flags: a.flags & ~0x40, // not tentative: the model has no DAD
				scope: a.scope,
				peer: a.peer,
				broadcast: a.broadcast,
				label: a.label,
			});
		}
		for (const link of ns.links.values()) {
			link.v6ready = link.up && ns.addrs.some((a) => a.index === link.index && a.address.startsWith('fe80:'));
		}
		ns.routes = from.listRoutes({table: 'all'}).filter((r) => r.protocol !== RT_PROTO.kernel);
		ns.rules = from.listRules();
		ns.nextIndex = Math.max(0, ...links.map((l) => l.index)) + 1;
		this.namespaces.set(path, ns);
	}

	/** Opens a handle on a netns (the model's own root netns when absent); NetnsNotFoundError if unknown. */
	readonly open: OpenNetlink = (netns?: NetnsPath): Netlink => new ModelNetlink(this, this.ns(netns), netns);

	/** @internal */
	ns(path: NetnsPath | undefined): Namespace {
		const ns = this.namespaces.get(path);
		if (ns === undefined) throw new NetnsNotFoundError(path ?? '');
		return ns;
	}

	/** @internal */
	allNamespaces(): Iterable<Namespace> {
		return this.namespaces.values();
	}
}

// ---- kernel behaviours shared by several requests -----------------------------------------------

/** The table a link's routes go to: its VRF's, else main (and local for local/broadcast routes). */
function tablesOf(ns: Namespace, link: LinkState): {main: number; local: number} {
	const master = link.master === undefined ? undefined : ns.links.get(link.master);
	if (master?.vrfTable !== undefined) return {main: master.vrfTable, local: master.vrfTable};
	return {main: RT_TABLE.main, local: RT_TABLE.local};
}

function ipv6Enabled(ns: Namespace, link: LinkState): boolean {
	return link.conf[6].get('disable_ipv6') !== '1' && ns.conf[6].all.get('disable_ipv6') !== '1';
}

/** The routes the kernel maintains by itself for the current addresses and link states. */
function derivedRoutes(ns: Namespace): Route[] {
	const out: Route[] = [];
	const kernel = RT_PROTO.kernel;
	for (const addr of ns.addrs) {
		const link = ns.links.get(addr.index);
		if (link === undefined) continue;
		const t = tablesOf(ns, link);
		const loopback = link.name === 'lo' && link.kind === undefined;
		const prefix = parsePrefix(`${addr.address}/${addr.prefixLen}`);
		const net = `${formatAddress(networkOf(prefix))}/${addr.prefixLen}`;
		const oif = link.index;
		if (addr.family === 4) {
			const src = addr.address;
			out.push(
				route({
					family: 4,
					dst: `${src}/32`,
					table: t.local,
					type: 'local',
					scope: 'host',
					protocol: kernel,
					prefsrc: src,
					oif,
				}),
			);
			if (!link.up) continue;
			if ((addr.flags & IFA_F_NOPREFIXROUTE) === 0 && addr.prefixLen < 32) {
				const type = loopback ? 'local' : 'unicast';
				const scope = loopback ? 'host' : 'link';
				out.push(
					route({
						family: 4,
						dst: net,
						table: loopback ? t.local : t.main,
						type,
						scope,
						protocol: kernel,
						prefsrc: src,
						oif,
					}),
				);
			}
			if (addr.prefixLen < 31) {
				const bcast = new Uint8Array(networkOf(prefix));
				for (let bit = addr.prefixLen; bit < 32; bit++) bcast[bit >> 3]! |= 0x80 >> (bit & 7);
				const dst = `${formatAddress(bcast)}/32`;
				out.push(
					route({
						family: 4,
						dst,
						table: t.local,
						type: 'broadcast',
						scope: 'link',
						protocol: kernel,
						prefsrc: src,
						oif,
					}),
				);
			}
		} else {
			if (addr.localRoute === false) continue;
			out.push(
				route({
					family: 6,
					dst: `${addr.address}/128`,
					table: t.local,
					type: 'local',
					protocol: kernel,
					metric: 0,
					oif,
				}),
			);
			const linkLocal = addr.address.startsWith('fe80:');
			if (link.up && !linkLocal && (addr.flags & IFA_F_NOPREFIXROUTE) === 0 && addr.prefixLen < 128) {
				out.push(route({family: 6, dst: net, table: t.main, protocol: kernel, metric: 256, oif}));
			}
		}
	}
	for (const link of ns.links.values()) {
		if (!link.v6ready || link.kind === 'vrf' || link.mac === undefined || link.name === 'lo') continue;
		if (!ipv6Enabled(ns, link)) continue;
		const t = tablesOf(ns, link);
		const oif = link.index;
		out.push(route({family: 6, dst: 'fe80::/64', table: t.main, protocol: kernel, metric: 256, oif}));
		out.push(
			route({
				family: 6,
				dst: 'ff00::/8',
				table: t.local,
				type: 'multicast',
				protocol: kernel,
				metric: 256,
				oif,
			}),
		);
	}
	return out;
}

/** The vlans stacked on `lower`, in any netns. */
function vlansOn(ns: Namespace, lower: LinkState, all: Iterable<Namespace>): [Namespace, LinkState][] {
	const out: [Namespace, LinkState][] = [];
	for (const other of all) {
		for (const l of other.links.values()) {
			if (l.kind === 'vlan' && l.parent?.ns === ns && l.parent.index === lower.index) out.push([other, l]);
		}
	}
	return out;
}

/** Link goes down: static routes through it are flushed, IPv6 addresses go unless kept; its vlans follow. */
function linkDown(ns: Namespace, link: LinkState): void {
	if (!link.up) return;
	link.up = false;
	link.v6ready = false;
	for (const [vns, vlan] of vlansOn(ns, link, ns.world())) linkDown(vns, vlan);
	ns.routes = ns.routes.filter((r) => r.oif !== link.index);
	const keep =
		Number(ns.conf[6].all.get('keep_addr_on_down') ?? '0') ||
		Number(link.conf[6].get('keep_addr_on_down') ?? '0');
	for (let i = ns.addrs.length - 1; i >= 0; i--) {
		const a = ns.addrs[i]!;
		if (a.index !== link.index || a.family !== 6) continue;
		if (keep > 0 && (a.flags & IFA_F_PERMANENT) !== 0 && !a.address.startsWith('fe80:')) {
			a.localRoute = false;
			continue;
		}
		ns.addrs.splice(i, 1);
	}
}

/** Link comes up: IPv6 gets its EUI-64 link-local address; its vlans come up too. */
function linkUp(ns: Namespace, link: LinkState): void {
	if (link.up) return;
	link.up = true;
	for (const [vns, vlan] of vlansOn(ns, link, ns.world())) linkUp(vns, vlan);
	for (const a of ns.addrs) if (a.index === link.index && a.family === 6) a.localRoute = true;
	if (link.name === 'lo' && link.kind === undefined) {
		addAddrState(ns, link, '127.0.0.1/8', 'host', 0);
		addAddrState(ns, link, '::1/128', 'host', 0);
	}
}

/** Whether an up link has carrier: a veth when its peer is up, a vlan/macvlan with its lower, a bridge with a port (or none). */
function carrier(ns: Namespace, link: LinkState, depth = 0): boolean {
	if (!link.up || depth > 8) return false;
	const parent = link.parent === undefined ? undefined : link.parent.ns.links.get(link.parent.index);
	if (link.kind === 'veth') return parent?.up === true;
	if (link.kind === 'vlan' || link.kind === 'macvlan') {
		return parent !== undefined && link.parent !== undefined && carrier(link.parent.ns, parent, depth + 1);
	}
	if (link.kind === 'bridge') {
		// A bridge without ports has carrier (operstate "unknown"); with ports, when one of them has.
		const ports = [...ns.links.values()].filter((p) => p.master === link.index);
		return ports.length === 0 || ports.some((p) => carrier(ns, p, depth + 1));
	}
	return true;
}

/**
 * After every change: links that are up with carrier get IPv6 configured (addrconf waits for
 * carrier): the EUI-64 link-local address, and with it the fe80::/64 and ff00::/8 routes.
 */
function settle(world: Iterable<Namespace>): void {
	for (const ns of world) {
		for (const link of ns.links.values()) {
			if (link.v6ready || link.name === 'lo' || !carrier(ns, link)) continue;
			link.v6ready = true;
			if (link.mac === undefined || link.kind === 'vrf' || !ipv6Enabled(ns, link)) continue;
			const ll = eui64LinkLocal(link.mac);
			if (!ns.addrs.some((a) => a.index === link.index && a.address === ll)) {
				addAddrState(ns, link, `${ll}/64`, 'link', 0);
			}
		}
	}
}

function addAddrState(
	ns: Namespace,
	link: LinkState,
	cidr: string,
	scope: Address['scope'],
	flags: number,
): void {
	const p = parsePrefix(cidr);
	const address = formatAddress(p.bytes);
	if (ns.addrs.some((a) => a.index === link.index && a.address === address)) return;
	ns.addrs.push({
		index: link.index,
		family: p.family,
		address,
		prefixLen: p.length,
		flags: flags | IFA_F_PERMANENT,
		scope,
		peer: undefined,
		broadcast: undefined,
		label: p.family === 4 ? link.name : undefined,
	});
}

/** IFLA_MASTER: release from the old master, attach to the new one (VRFs cycle an up link). */
function setMaster(ns: Namespace, link: LinkState, master: LinkState | undefined, operation: string): void {
	if (master !== undefined) {
		if (master.kind !== 'bridge' && master.kind !== 'vrf') throw new NetlinkError(operation, EOPNOTSUPP);
		if (master.index === link.index)
			throw new NetlinkError(operation, master.kind === 'bridge' ? ELOOP : EINVAL);
		if (master.kind === 'vrf' && link.kind === 'vrf') {
			throw new NetlinkError(operation, EINVAL, 'Can not enslave an L3 master device to a VRF');
		}
	}
	if (link.master === master?.index) return;
	const old = link.master === undefined ? undefined : ns.links.get(link.master);
	const cycles = link.up && (old?.kind === 'vrf' || master?.kind === 'vrf');
	if (cycles) linkDown(ns, link);
	link.master = master?.index;
	if (cycles) linkUp(ns, link);
	for (const bridge of [old, master]) if (bridge?.kind === 'bridge') adjustBridge(ns, bridge);
}

/** A bridge follows its ports: smallest MTU, lowest MAC (unless set explicitly). */
function adjustBridge(ns: Namespace, bridge: LinkState): void {
	const ports = [...ns.links.values()].filter((l) => l.master === bridge.index);
	if (ports.length === 0) return;
	if (!bridge.mtuSet) bridge.mtu = Math.min(...ports.map((p) => p.mtu));
	if (!bridge.macSet) {
		const macs = ports.map((p) => p.mac).filter((m): m is string => m !== undefined);
		if (macs.length > 0) bridge.mac = macs.sort()[0];
	}
}

/** Unregisters a link: peers, upper devices and ports follow, as the kernel does. */
function removeLink(model: NetlinkModel, ns: Namespace, link: LinkState): void {
	if (!ns.links.has(link.index)) return;
	detach(ns, link);
	ns.links.delete(link.index);
	for (const other of model.allNamespaces()) {
		for (const l of [...other.links.values()]) {
			if (l.parent?.ns !== ns || l.parent.index !== link.index) continue;
			if (l.kind === 'veth' || l.kind === 'vlan' || l.kind === 'macvlan') removeLink(model, other, l);
		}
	}
}

/** What leaving a netns (deletion or a move) does inside it: addresses, routes, ports, master. */
function detach(ns: Namespace, link: LinkState): void {
	if (link.master !== undefined) setMaster(ns, link, undefined, 'release link');
	for (const port of ns.links.values())
		if (port.master === link.index) setMaster(ns, port, undefined, 'release port');
	linkDown(ns, link);
	for (let i = ns.addrs.length - 1; i >= 0; i--) if (ns.addrs[i]!.index === link.index) ns.addrs.splice(i, 1);
	ns.routes = ns.routes.filter((r) => r.oif !== link.index);
}

function sameRouteKey(a: Route, b: Route): boolean {
	const metric = (r: Route): number => r.metric ?? (r.family === 6 ? 1024 : 0);
	return a.family === b.family && a.table === b.table && a.dst === b.dst && metric(a) === metric(b);
}

function hasPorts(ns: Namespace, link: LinkState): boolean {
	return [...ns.links.values()].some((p) => p.master === link.index);
}

function toLink(ns: Namespace, link: LinkState): Link {
	const parent = link.parent;
	const crossNs = parent !== undefined && parent.ns !== ns;
	let flags = link.up ? IFF_UP : 0;
	flags |= link.name === 'lo' && link.kind === undefined ? IFF_LOOPBACK : IFF_BROADCAST | IFF_MULTICAST;
	const hasCarrier = carrier(ns, link);
	if (hasCarrier) flags |= IFF_RUNNING | IFF_LOWER_UP;
	const out: {-readonly [K in keyof Link]: Link[K]} = {
		index: link.index,
		name: link.name,
		kind: link.kind,
		mtu: link.mtu,
		mac: link.mac,
		up: link.up,
		flags,
		operState:
			link.kind === undefined || (link.kind === 'bridge' && hasCarrier && !hasPorts(ns, link))
				? 'unknown'
				: hasCarrier
					? 'up'
					: link.up
						? 'lowerlayerdown'
						: 'down',
		masterIndex: link.master,
		parentIndex: parent?.index,
		linkNetnsId: crossNs ? ns.netnsIdOf(parent.ns) : undefined,
	};
	if (link.vrfTable !== undefined) out.vrf = {table: link.vrfTable};
	if (link.vlan !== undefined) out.vlan = {...link.vlan};
	if (link.macvlanMode !== undefined) out.macvlan = {mode: link.macvlanMode};
	return out;
}

function toAddress(a: AddrState): Address {
	return {
		family: a.family,
		index: a.index,
		address: a.address,
		prefixLen: a.prefixLen,
		cidr: `${a.address}/${a.prefixLen}`,
		peer: a.peer,
		broadcast: a.broadcast,
		label: a.label,
		scope: a.scope,
		flags: a.flags,
		permanent: (a.flags & IFA_F_PERMANENT) !== 0,
		tentative: false,
		nodad: (a.flags & IFA_F_NODAD) !== 0,
		noprefixroute: (a.flags & IFA_F_NOPREFIXROUTE) !== 0,
	};
}

/** vlan_dev_open: a vlan cannot come up on a down lower device. */
function checkLowerUp(link: LinkState, operation: string): void {
	if (link.kind !== 'vlan' || link.parent === undefined) return;
	if (link.parent.ns.links.get(link.parent.index)?.up !== true) throw new NetlinkError(operation, ENETDOWN);
}

function checkName(name: string, operation: string): void {
	if (name.length >= IFNAMSIZ)
		throw new NetlinkError(operation, ERANGE, 'Attribute failed policy validation');
	if (name === '' || name === '.' || name === '..' || /[/:\s]/.test(name))
		throw new NetlinkError(operation, EINVAL);
}

// ---- the handle -------------------------------------------------------------------------------

class ModelNetlink implements Netlink {
	readonly netns: NetnsPath | undefined;
	private readonly model: NetlinkModel;
	private readonly space: Namespace;
	private closed = false;

	constructor(model: NetlinkModel, space: Namespace, netns: NetnsPath | undefined) {
		this.model = model;
		this.space = space;
		this.netns = netns;
	}

	close(): void {
		this.closed = true;
	}

	/** The namespace, checking the handle is open (like a kernel socket, it outlives the removal of its netns). */
	private ns(operation: string): Namespace {
		if (this.closed) throw new Error(`failed to ${operation}: the netlink handle is closed`);
		return this.space;
	}

	private link(ns: Namespace, ref: LinkRef, operation?: string): LinkState {
		const link = typeof ref === 'number' ? ns.links.get(ref) : ns.byName(ref);
		if (link === undefined) throw new LinkNotFoundError(ref, operation);
		return link;
	}

	// ---- links -------------------------------------------------------------------------------

	listLinks(filter: {readonly master?: LinkRef; readonly kind?: string} = {}): Link[] {
		const ns = this.ns('list links');
		const master = filter.master === undefined ? undefined : this.link(ns, filter.master, 'list links').index;
		return [...ns.links.values()]
			.filter(
				(l) =>
					(master === undefined || l.master === master) &&
					(filter.kind === undefined || l.kind === filter.kind),
			)
			.sort((a, b) => a.index - b.index)
			.map((l) => toLink(ns, l));
	}

	findLink(ref: LinkRef): Link | undefined {
		const ns = this.ns(`find link ${describe(ref)}`);
		const link = typeof ref === 'number' ? ns.links.get(ref) : ns.byName(ref);
		return link === undefined ? undefined : toLink(ns, link);
	}

	getLink(ref: LinkRef): Link {
		const link = this.findLink(ref);
		if (link === undefined) throw new LinkNotFoundError(ref);
		return link;
	}

	addLink(spec: LinkSpec): void {
		try {
			this.addLinkNow(spec);
		} finally {
			settle(this.model.allNamespaces());
		}
	}

	setLink(ref: LinkRef, changes: LinkChanges): void {
		try {
			this.setLinkNow(ref, changes);
		} finally {
			settle(this.model.allNamespaces());
		}
	}

	deleteLink(ref: LinkRef): void {
		try {
			this.deleteLinkNow(ref);
		} finally {
			settle(this.model.allNamespaces());
		}
	}

	private addLinkNow(spec: LinkSpec): void {
		const operation = `add link ${JSON.stringify(spec.name)}`;
		const here = this.ns(operation);
		if (!this.model.kinds.has(spec.kind))
			throw new NetlinkError(operation, EOPNOTSUPP, 'Unknown device type');
		const target = spec.netns === undefined ? here : this.model.ns(spec.netns);
		checkName(spec.name, operation);
		if (target.byName(spec.name) !== undefined) throw new NetlinkError(operation, EEXIST);
		if (spec.mac !== undefined) parseMac(spec.mac);
		let parent: LinkState | undefined;
		if (spec.kind === 'vlan' || spec.kind === 'macvlan') {
			const p = typeof spec.parent === 'number' ? here.links.get(spec.parent) : here.byName(spec.parent);
			if (p === undefined) {
				if (typeof spec.parent === 'string') throw new LinkNotFoundError(spec.parent, operation);
				throw new NetlinkError(
					operation,
					ENODEV,
					spec.kind === 'vlan' ? '8021q: link does not exist' : undefined,
				);
			}
			parent = p;
			if (spec.kind === 'vlan' && (spec.id < 0 || spec.id > 4094)) throw new NetlinkError(operation, ERANGE);
			if (spec.kind === 'vlan') {
				const twin = [...this.allUppers(here, p)].find((l) => l.kind === 'vlan' && l.vlan?.id === spec.id);
				if (twin !== undefined) throw new NetlinkError(operation, EEXIST);
			}
			if (spec.mtu !== undefined && spec.mtu > p.mtu) throw new NetlinkError(operation, EINVAL);
		}
		let peerNs: Namespace | undefined;
		if (spec.kind === 'veth') {
			peerNs = spec.peer.netns === undefined ? here : this.model.ns(spec.peer.netns);
			checkName(spec.peer.name, operation);
			const clash =
				peerNs.byName(spec.peer.name) !== undefined || (peerNs === target && spec.peer.name === spec.name);
			if (clash) throw new NetlinkError(operation, EEXIST);
		}
		const link = target.addLinkState({
			name: spec.name,
			kind: spec.kind,
			mtu: spec.mtu ?? parent?.mtu ?? (spec.kind === 'vrf' ? 65575 : 1500),
			mac: spec.mac ?? (spec.kind === 'vlan' && parent !== undefined ? parent.mac : randomMac()),
			up: false,
		});
		if (spec.mtu !== undefined) link.mtuSet = true;
		if (parent !== undefined) link.parent = {ns: here, index: parent.index};
		if (spec.kind === 'vrf') {
			link.vrfTable = spec.table;
			this.addL3mdevRules(target);
		}
		if (spec.kind === 'vlan') link.vlan = {id: spec.id, protocol: spec.protocol ?? '802.1Q'};
		if (spec.kind === 'macvlan') link.macvlanMode = spec.mode;
		if (spec.kind === 'veth' && peerNs !== undefined) {
			const peer = peerNs.addLinkState({
				name: spec.peer.name,
				kind: 'veth',
				mtu: link.mtu,
				mac: spec.peer.mac ?? randomMac(),
				up: false,
			});
			peer.parent = {ns: target, index: link.index};
			link.parent = {ns: peerNs, index: peer.index};
		}
		if (spec.up === true) {
			try {
				checkLowerUp(link, operation);
			} catch (err) {
				removeLink(this.model, target, link); // the kernel unwinds a creation whose open fails
				throw err;
			}
			linkUp(target, link);
		}
	}

	private *allUppers(ns: Namespace, lower: LinkState): Iterable<LinkState> {
		for (const other of this.model.allNamespaces()) {
			for (const l of other.links.values())
				if (l.parent?.ns === ns && l.parent.index === lower.index) yield l;
		}
	}

	private addL3mdevRules(ns: Namespace): void {
		for (const family of [4, 6] as const) {
			if (ns.rules.some((r) => r.family === family && r.l3mdev)) continue;
			ns.rules.push({
				family,
				priority: 1000,
				action: 'lookup',
				table: 0,
				src: undefined,
				dst: undefined,
				iif: undefined,
				oif: undefined,
				fwmark: undefined,
				fwmask: undefined,
				l3mdev: true,
				invert: false,
				protocol: RT_PROTO.kernel,
			});
			ns.rules.sort((a, b) => a.priority - b.priority);
		}
	}

	private setLinkNow(ref: LinkRef, changes: LinkChanges): void {
		const operation = `set link ${describe(ref)}`;
		let ns = this.ns(operation);
		const link = this.link(ns, ref, operation);
		if (changes.netns !== undefined) {
			const target = this.model.ns(changes.netns);
			if (target !== ns) {
				const name = changes.name ?? link.name;
				if (target.byName(name) !== undefined) throw new NetlinkError(operation, EEXIST);
				detach(ns, link);
				ns.links.delete(link.index);
				const oldIndex = link.index;
				link.index = target.allocIndex(link.index);
				target.links.set(link.index, link);
				this.repointUppers(ns, oldIndex, target, link);
				ns = target;
			}
		}
		if (changes.name !== undefined && changes.name !== link.name) {
			checkName(changes.name, operation);
			if (link.up) throw new NetlinkError(operation, EBUSY);
			if (ns.byName(changes.name) !== undefined) throw new NetlinkError(operation, EEXIST);
			link.name = changes.name;
			for (const a of ns.addrs) if (a.index === link.index && a.family === 4) a.label = changes.name;
		}
		if (changes.mac !== undefined) {
			link.mac = formatMac(parseMac(changes.mac));
			link.macSet = true;
		}
		if (changes.mtu !== undefined) {
			const lower =
				link.parent === undefined || link.kind === 'veth'
					? undefined
					: link.parent.ns.links.get(link.parent.index);
			if (changes.mtu < 68 || (lower !== undefined && changes.mtu > lower.mtu))
				throw new NetlinkError(operation, EINVAL);
			link.mtu = changes.mtu;
			link.mtuSet = true;
			if (link.master !== undefined) {
				const master = ns.links.get(link.master);
				if (master?.kind === 'bridge') adjustBridge(ns, master);
			}
		}
		if (changes.up === true) {
			checkLowerUp(link, operation);
			linkUp(ns, link);
		}
		if (changes.up === false) linkDown(ns, link);
		if (changes.master !== undefined) {
			let master: LinkState | undefined;
			if (changes.master !== null) {
				master =
					typeof changes.master === 'number' ? ns.links.get(changes.master) : ns.byName(changes.master);
				if (master === undefined) {
					if (typeof changes.master === 'string') throw new LinkNotFoundError(changes.master, operation);
					throw new NetlinkError(operation, EINVAL);
				}
			}
			setMaster(ns, link, master, operation);
		}
	}

	/** A link moved from `from` to `to`: links whose parent/peer it is follow the new index. */
	private repointUppers(from: Namespace, oldIndex: number, to: Namespace, moved: LinkState): void {
		for (const other of this.model.allNamespaces()) {
			for (const l of other.links.values()) {
				if (l !== moved && l.parent?.ns === from && l.parent.index === oldIndex) {
					l.parent = {ns: to, index: moved.index};
				}
			}
		}
	}

	private deleteLinkNow(ref: LinkRef): void {
		const operation = `delete link ${describe(ref)}`;
		const ns = this.ns(operation);
		removeLink(this.model, ns, this.link(ns, ref, operation));
	}

	// ---- addresses ---------------------------------------------------------------------------

	listAddresses(filter: {readonly link?: LinkRef; readonly family?: IpFamily} = {}): Address[] {
		const ns = this.ns('list addresses');
		const index = filter.link === undefined ? undefined : this.link(ns, filter.link, 'list addresses').index;
		const rank = (a: AddrState): number => a.family * 1e6 + a.index;
		return ns.addrs
			.filter(
				(a) =>
					(index === undefined || a.index === index) &&
					(filter.family === undefined || a.family === filter.family),
			)
			.sort((a, b) => rank(a) - rank(b))
			.map(toAddress);
	}

	addAddress(ref: LinkRef, cidr: string, options: AddressOptions = {}): void {
		const operation = `add address ${cidr} to link ${describe(ref)}`;
		const ns = this.ns(operation);
		const p = parsePrefix(cidr);
		const link = typeof ref === 'number' ? ns.links.get(ref) : ns.byName(ref);
		if (link === undefined) {
			throw new LinkNotFoundError(
				ref,
				operation,
				p.family === 4 ? 'ipv4: Device not found' : 'ipv6: Unable to find the interface',
			);
		}
		const address = formatAddress(p.bytes);
		const existing = ns.addrs.find(
			(a) => a.index === link.index && a.family === p.family && a.address === address,
		);
		if (existing !== undefined && options.replace !== true) {
			throw new NetlinkError(
				operation,
				EEXIST,
				p.family === 4 ? 'ipv4: Address already assigned' : 'ipv6: address already assigned',
			);
		}
		if (p.family === 6 && !ipv6Enabled(ns, link))
			throw new NetlinkError(operation, EACCES, 'IPv6 is disabled on this device');
		let flags = IFA_F_PERMANENT;
		if (options.nodad === true) flags |= IFA_F_NODAD;
		if (options.noprefixroute === true) flags |= IFA_F_NOPREFIXROUTE;
		const linkLocal = p.family === 6 && address.startsWith('fe80:');
		const state: AddrState = {
			index: link.index,
			family: p.family,
			address,
			prefixLen: p.length,
			flags,
			scope:
				options.scope ??
				(linkLocal ? 'link' : p.family === 4 && address.startsWith('127.') ? 'host' : 'universe'),
			peer: options.peer === undefined ? undefined : canonicalAddress(options.peer),
			broadcast: options.broadcast === undefined ? undefined : canonicalAddress(options.broadcast),
			label: p.family === 4 ? (options.label ?? link.name) : undefined,
		};
		if (existing !== undefined) ns.addrs.splice(ns.addrs.indexOf(existing), 1, state);
		else ns.addrs.push(state);
	}

	deleteAddress(ref: LinkRef, cidr: string): void {
		const operation = `delete address ${cidr} from link ${describe(ref)}`;
		const ns = this.ns(operation);
		const p = parsePrefix(cidr);
		const link = typeof ref === 'number' ? ns.links.get(ref) : ns.byName(ref);
		if (link === undefined) {
			throw new LinkNotFoundError(
				ref,
				operation,
				p.family === 4 ? 'ipv4: Device not found' : 'ipv6: Unable to find the interface',
			);
		}
		const address = formatAddress(p.bytes);
		const i = ns.addrs.findIndex(
			(a) =>
				a.index === link.index && a.family === p.family && a.address === address && a.prefixLen === p.length,
		);
		if (i < 0) {
			throw new NetlinkError(
				operation,
				EADDRNOTAVAIL,
				p.family === 4 ? 'ipv4: Address not found' : 'ipv6: address not found',
			);
		}
		const [gone] = ns.addrs.splice(i, 1);
		if (gone?.family === 4) ns.routes = ns.routes.filter((r) => r.prefsrc !== gone.address);
	}

	// ---- routes ------------------------------------------------------------------------------

	private allRoutes(ns: Namespace): Route[] {
		return [...derivedRoutes(ns), ...ns.routes];
	}

	listRoutes(filter: RouteFilter = {}): Route[] {
		const ns = this.ns('list routes');
		const table = filter.table === 'all' ? undefined : (filter.table ?? RT_TABLE.main);
		const oif = filter.oif === undefined ? undefined : this.link(ns, filter.oif, 'list routes').index;
		const dst = filter.dst === undefined ? undefined : canonicalPrefix(filter.dst);
		return this.allRoutes(ns).filter(
			(r) =>
				(filter.family === undefined || r.family === filter.family) &&
				(table === undefined || r.table === table) &&
				(oif === undefined || r.oif === oif) &&
				(dst === undefined || r.dst === dst) &&
				(filter.type === undefined || r.type === filter.type) &&
				(filter.protocol === undefined || r.protocol === filter.protocol),
		);
	}

	getRoute(address: string, options: {readonly oif?: LinkRef} = {}): Route | undefined {
		const operation = `look up route to ${address}`;
		const ns = this.ns(operation);
		const target = parseAddress(address);
		const oif = options.oif === undefined ? undefined : this.link(ns, options.oif, operation).index;
		const routes = this.allRoutes(ns).filter((r) => r.family === target.family);
		const oifLink = oif === undefined ? undefined : ns.links.get(oif);
		const vrf =
			oifLink?.kind === 'vrf'
				? oifLink
				: oifLink?.master === undefined
					? undefined
					: ns.links.get(oifLink.master);
		const rules = ns.rules.filter((r) => r.family === target.family).sort((a, b) => a.priority - b.priority);
		for (const rule of rules) {
			if (rule.invert || rule.src !== undefined || rule.iif !== undefined || rule.fwmark !== undefined)
				continue;
			if (rule.oif !== undefined && rule.oif !== oifLink?.name) continue;
			if (rule.dst !== undefined && !prefixContains(parsePrefix(rule.dst), target.bytes)) continue;
			if (rule.action === 'nop' || rule.action === 'goto') continue;
			if (rule.action !== 'lookup') return undefined;
			const table = rule.l3mdev ? vrf?.vrfTable : rule.table;
			if (table === undefined) continue;
			const candidates = routes
				.filter(
					(r) =>
						r.table === table &&
						r.type !== 'multicast' &&
						(oif === undefined || r.oif === undefined || r.oif === oif),
				)
				.filter((r) => prefixContains(parsePrefix(r.dst), target.bytes))
				.sort(
					(a, b) =>
						parsePrefix(b.dst).length - parsePrefix(a.dst).length || (a.metric ?? 0) - (b.metric ?? 0),
				);
			const best = candidates[0];
			if (best === undefined || best.type === 'throw') continue;
			if (best.type === 'unreachable' || best.type === 'prohibit' || best.type === 'blackhole')
				return undefined;
			return best;
		}
		return undefined;
	}

	/** Validates a route request and resolves it to a record, as fib_create_info/ip6_route_info_create do. */
	private resolveRoute(ns: Namespace, spec: RouteSpec, operation: string): Route {
		const dst = parsePrefix(spec.dst);
		if (dst.family === 4 && !networkOf(dst).every((b, i) => b === dst.bytes[i])) {
			throw new NetlinkError(operation, EINVAL, 'Invalid prefix for given prefix length');
		}
		const type = spec.type ?? 'unicast';
		let oif: number | undefined;
		if (spec.oif !== undefined) {
			const link = typeof spec.oif === 'number' ? ns.links.get(spec.oif) : ns.byName(spec.oif);
			if (link === undefined) {
				if (typeof spec.oif === 'string') throw new LinkNotFoundError(spec.oif, operation);
				throw new NetlinkError(operation, ENODEV);
			}
			oif = link.index;
		}
		let gateway: string | undefined;
		if (spec.gateway !== undefined) {
			const gw = parseAddress(spec.gateway);
			if (gw.family !== dst.family)
				throw new TypeError(`gateway ${spec.gateway} is not of the family of ${spec.dst}`);
			gateway = formatAddress(gw.bytes);
			if (spec.onlink !== true && !(dst.family === 6 && gateway.startsWith('fe80:') && oif !== undefined)) {
				const via = this.connectedVia(ns, gw.bytes, oif, spec.table ?? RT_TABLE.main);
				if (via === undefined) {
					throw dst.family === 4
						? new NetlinkError(operation, ENETUNREACH, 'Nexthop has invalid gateway')
						: new NetlinkError(operation, EHOSTUNREACH, 'Nexthop has invalid gateway');
				}
				oif ??= via;
			}
			if (spec.onlink === true && oif === undefined)
				throw new NetlinkError(operation, EINVAL, 'Nexthop device required for onlink');
		}
		if ((type === 'unicast' || type === 'local') && oif === undefined && gateway === undefined) {
			throw new NetlinkError(operation, dst.family === 4 ? EINVAL : ENODEV);
		}
		const via = oif === undefined ? undefined : ns.links.get(oif);
		if (via !== undefined && !via.up && (type === 'unicast' || type === 'local')) {
			throw new NetlinkError(operation, ENETDOWN, 'Nexthop device is not up');
		}
		const table = spec.table ?? RT_TABLE.main;
		return route({
			family: dst.family,
			dst: `${formatAddress(dst.family === 6 ? networkOf(dst) : dst.bytes)}/${dst.length}`,
			table,
			type,
			scope: dst.family === 6 ? 'universe' : (spec.scope ?? (type === 'local' ? 'host' : 'universe')),
			protocol: spec.protocol ?? RT_PROTO.boot,
			gateway,
			oif,
			prefsrc: spec.prefsrc === undefined ? undefined : canonicalAddress(spec.prefsrc),
			metric: spec.metric ?? (dst.family === 6 ? 1024 : undefined),
			onlink: spec.onlink === true,
			mtu: spec.mtu,
			advmss: spec.advmss,
		});
	}

	/** The link through which `gw` is directly reachable (a link-scope route covering it). */
	private connectedVia(
		ns: Namespace,
		gw: Uint8Array,
		oif: number | undefined,
		table: number,
	): number | undefined {
		const candidates = this.allRoutes(ns).filter(
			(r) =>
				r.gateway === undefined &&
				r.oif !== undefined &&
				(r.table === table || r.table === RT_TABLE.main || r.table === RT_TABLE.local) &&
				r.type === 'unicast' &&
				(oif === undefined || r.oif === oif) &&
				prefixContains(parsePrefix(r.dst) as Prefix, gw),
		);
		return candidates[0]?.oif;
	}

	addRoute(spec: RouteSpec): void {
		const operation = `add route ${JSON.stringify(spec.dst)}${spec.table === undefined ? '' : ` in table ${spec.table}`}`;
		const ns = this.ns(operation);
		const r = this.resolveRoute(ns, spec, operation);
		if (this.allRoutes(ns).some((x) => sameRouteKey(x, r))) {
			throw new NetlinkError(operation, EEXIST);
		}
		ns.routes.push(r);
	}

	replaceRoute(spec: RouteSpec): void {
		const operation = `replace route ${JSON.stringify(spec.dst)}${spec.table === undefined ? '' : ` in table ${spec.table}`}`;
		const ns = this.ns(operation);
		const r = this.resolveRoute(ns, spec, operation);
		const i = ns.routes.findIndex((x) => sameRouteKey(x, r));
		if (i >= 0) ns.routes[i] = r;
		else ns.routes.push(r);
	}

	deleteRoute(spec: RouteSpec): void {
		const operation = `delete route ${JSON.stringify(spec.dst)}${spec.table === undefined ? '' : ` in table ${spec.table}`}`;
		const ns = this.ns(operation);
		const dst = canonicalPrefix(spec.dst);
		const table = spec.table ?? RT_TABLE.main;
		const oif = spec.oif === undefined ? undefined : this.link(ns, spec.oif, operation).index;
		const gateway = spec.gateway === undefined ? undefined : canonicalAddress(spec.gateway);
		const i = ns.routes.findIndex(
			(r) =>
				r.dst === dst &&
				r.table === table &&
				(oif === undefined || r.oif === oif) &&
				(gateway === undefined || r.gateway === gateway) &&
				(spec.metric === undefined || (r.metric ?? 0) === spec.metric) &&
				(spec.type === undefined || r.type === spec.type) &&
				(spec.scope === undefined || spec.scope === 'nowhere' || r.scope === spec.scope) &&
				(spec.protocol === undefined || r.protocol === spec.protocol),
		);
		if (i < 0) throw new NetlinkError(operation, ESRCH);
		ns.routes.splice(i, 1);
	}

	// ---- rules -------------------------------------------------------------------------------

	listRules(filter: {readonly family?: IpFamily} = {}): Rule[] {
		const ns = this.ns('list rules');
		const byFamily = (r: Rule): number => (r.family === 4 ? 0 : 1);
		return ns.rules
			.filter((r) => filter.family === undefined || r.family === filter.family)
			.sort((a, b) => byFamily(a) - byFamily(b) || a.priority - b.priority)
			.map((r) => ({...r}));
	}

	private ruleOf(spec: RuleSpec, priority: number): Rule {
		const prefix = (text: string | undefined): string | undefined => {
			if (text === undefined) return undefined;
			const p = parsePrefix(text);
			if (p.family !== spec.family) throw new TypeError(`rule prefix ${text} is not IPv${spec.family}`);
			return `${formatAddress(p.bytes)}/${p.length}`;
		};
		return {
			family: spec.family,
			priority,
			action: spec.action ?? 'lookup',
			table: spec.table ?? 0,
			src: prefix(spec.src),
			dst: prefix(spec.dst),
			iif: spec.iif,
			oif: spec.oif,
			fwmark: spec.fwmark,
			fwmask: spec.fwmark !== undefined && spec.fwmask === undefined ? 0xffffffff : spec.fwmask,
			l3mdev: spec.l3mdev === true,
			invert: spec.invert === true,
			protocol: 0,
		};
	}

	private static ruleMatches(r: Rule, spec: RuleSpec, wanted: Rule): boolean {
		return (
			r.family === spec.family &&
			(spec.priority === undefined || r.priority === spec.priority) &&
			(spec.action === undefined || r.action === spec.action) &&
			(spec.table === undefined || r.table === spec.table) &&
			(spec.src === undefined || r.src === wanted.src) &&
			(spec.dst === undefined || r.dst === wanted.dst) &&
			(spec.iif === undefined || r.iif === spec.iif) &&
			(spec.oif === undefined || r.oif === spec.oif) &&
			(spec.fwmark === undefined || r.fwmark === spec.fwmark) &&
			(spec.l3mdev === undefined || r.l3mdev === spec.l3mdev) &&
			(spec.invert === undefined || r.invert === spec.invert)
		);
	}

	addRule(spec: RuleSpec): void {
		const operation = `add rule ${JSON.stringify(spec)}`;
		const ns = this.ns(operation);
		if ((spec.action ?? 'lookup') === 'lookup' && spec.table === undefined && spec.l3mdev !== true) {
			throw new NetlinkError(operation, EINVAL, 'Invalid table');
		}
		const firstUser = ns.rules
			.filter((r) => r.family === spec.family && r.priority > 0)
			.sort((a, b) => a.priority - b.priority)[0];
		const priority = spec.priority ?? (firstUser === undefined ? 0 : firstUser.priority - 1);
		const rule = this.ruleOf(spec, priority);
		const same = (r: Rule): boolean =>
			JSON.stringify({...r, protocol: 0}) === JSON.stringify({...rule, protocol: 0});
		if (ns.rules.some(same)) throw new NetlinkError(operation, EEXIST);
		ns.rules.push(rule);
	}

	deleteRule(spec: RuleSpec): void {
		const operation = `delete rule ${JSON.stringify(spec)}`;
		const ns = this.ns(operation);
		const wanted = this.ruleOf(spec, spec.priority ?? 0);
		const candidates = ns.rules
			.map((r, i) => ({r, i}))
			.filter(({r}) => ModelNetlink.ruleMatches(r, spec, wanted))
			.sort((a, b) => a.r.priority - b.r.priority);
		const hit = candidates[0];
		if (hit === undefined) throw new NetlinkError(operation, ENOENT);
		ns.rules.splice(hit.i, 1);
	}

	// ---- sysctl ------------------------------------------------------------------------------

	/** Finds the stored value of a sysctl path; undefined when the file would not exist. */
	private sysctlSlot(ns: Namespace, path: string): {get(): string; set(v: string): void} | undefined {
		const rel = path.slice('/proc/sys/'.length);
		const conf = /^net\/ipv([46])\/conf\/([^/]+)\/([^/]+)$/.exec(rel);
		if (conf !== null) {
			const family = conf[1] === '4' ? 4 : 6;
			const [, , dev = '', leaf = ''] = conf;
			let map: Map<string, string> | undefined;
			if (dev === 'all') map = ns.conf[family].all;
			else if (dev === 'default') map = ns.conf[family].default;
			else map = ns.byName(dev)?.conf[family];
			if (map === undefined || !map.has(leaf)) return undefined;
			const store = map;
			return {get: () => store.get(leaf) ?? '', set: (v) => store.set(leaf, v)};
		}
		if (!ns.sysctls.has(rel)) return undefined;
		return {get: () => ns.sysctls.get(rel) ?? '', set: (v) => ns.sysctls.set(rel, v)};
	}

	readSysctl(key: string): string {
		const operation = `read sysctl ${JSON.stringify(sysctlName(key))}`;
		const ns = this.ns(operation);
		const slot = this.sysctlSlot(ns, sysctlPath(key));
		if (slot === undefined) throw new NetlinkError(operation, ENOENT);
		return slot.get();
	}

	writeSysctl(key: string, value: string): void {
		const operation = `write sysctl ${JSON.stringify(sysctlName(key))}`;
		const ns = this.ns(operation);
		const slot = this.sysctlSlot(ns, sysctlPath(key));
		if (slot === undefined) throw new NetlinkError(operation, ENOENT);
		const text = value.trim();
		if (!/^-?\d+$/.test(text)) throw new NetlinkError(operation, EINVAL);
		slot.set(text);
	}
}
