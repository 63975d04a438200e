/**
 * The model's state: namespaces holding links, addresses, static routes, rules and sysctls, with
 * the defaults of a fresh netns, and small constructors shared by the model's other files.
 */
import {formatAddress} from '../codec/ip.ts';
import {formatMac, parseMac} from '../codec/link.ts';
import {
	type Address,
	type IpFamily,
	type LinkRef,
	type MacvlanMode,
	type Netlink,
	type NetnsPath,
	type Route,
	RT_PROTO,
	RT_TABLE,
	type Rule,
} from '../netlink.ts';

export const EBUSY = 16;
export const ENETDOWN = 100;
export const ENETUNREACH = 101;
export const EHOSTUNREACH = 113;
export const EACCES = 13;
export const ELOOP = 40;
export const ERANGE = 34;
export const IFF_UP = 0x1;
export const IFF_BROADCAST = 0x2;
export const IFF_LOOPBACK = 0x8;
export const IFF_RUNNING = 0x40;
export const IFF_MULTICAST = 0x1000;
export const IFF_LOWER_UP = 0x10000;
export const IFA_F_NODAD = 0x02;
export const IFA_F_PERMANENT = 0x80;
export const IFA_F_NOPREFIXROUTE = 0x200;
export const IFNAMSIZ = 16;

/** Every device kind the model can create; pass a subset to mimic a kernel without some. */
export const MODEL_KINDS = ['veth', 'bridge', 'dummy', 'vrf', 'macvlan', 'vlan'] as const;

/** IPv4 and IPv6 per-interface sysctls the model knows, with a fresh netns's defaults. */
export const CONF_DEFAULTS: Record<IpFamily, Record<string, string>> = {
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
export const GLOBAL_SYSCTL_DEFAULTS: Record<string, string> = {
	'net/ipv4/ip_forward': '0',
	'net/ipv4/ip_nonlocal_bind': '0',
	'net/ipv4/tcp_l3mdev_accept': '0',
	'net/ipv4/udp_l3mdev_accept': '0',
	'net/ipv6/ip_nonlocal_bind': '0',
	'net/core/somaxconn': '4096',
};

export interface LinkState {
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

export interface AddrState {
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

export type MutableRoute = {-readonly [K in keyof Route]: Route[K]};

export class Namespace {
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

export function tryRead(from: Netlink, key: string): string | undefined {
	try {
		return from.readSysctl(key);
	} catch {
		return undefined;
	}
}

export let macCounter = 0;
export function randomMac(): string {
	macCounter = (macCounter + 1) & 0xffffff;
	const bytes = [0x02, 0x5a, (macCounter >> 16) & 0xff, (macCounter >> 8) & 0xff, macCounter & 0xff, 0x01];
	bytes[5] = Math.floor(Math.random() * 256);
	return formatMac(Uint8Array.from(bytes));
}

export function eui64LinkLocal(mac: string): string {
	const m = parseMac(mac);
	const bytes = new Uint8Array(16);
	bytes[0] = 0xfe;
	bytes[1] = 0x80;
	bytes.set([m[0]! ^ 0x02, m[1]!, m[2]!, 0xff, 0xfe, m[3]!, m[4]!, m[5]!], 8);
	return formatAddress(bytes);
}

export function describe(ref: LinkRef): string {
	return typeof ref === 'number' ? `#${ref}` : JSON.stringify(ref);
}

export function route(init: Partial<MutableRoute> & Pick<Route, 'family' | 'dst' | 'table'>): Route {
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

/** What a handle needs from the model that owns it. */
export interface ModelKernel {
	readonly kinds: ReadonlySet<string>;
	ns(path: NetnsPath | undefined): Namespace;
	allNamespaces(): Iterable<Namespace>;
}
