/**
 * The Netlink interface: everything Plexus does to a network namespace's links, addresses,
 * routes, rules and sysctls, as typed synchronous calls (each one is a few microseconds of
 * rtnetlink). Two implementations: the kernel one (`openNetlink` in ./rtnl-netlink.ts, over the
 * native socket) and the in-memory model (./model.ts) for dry runs and unit tests. A shared
 * contract suite (./testing/contract.ts) keeps them in agreement.
 *
 * Conventions:
 * - a handle is bound to one netns (a path such as `/var/run/netns/x` or `/proc/PID/ns/net`,
 *   or the caller's own netns when absent) for its whole life; `close()` releases it;
 * - links are referred to by name or ifindex (`LinkRef`), resolved inside the handle's netns;
 * - addresses and prefixes are strings: `10.0.0.1`, `10.0.0.0/24`, `fd00::1/64`;
 * - failures throw NetlinkError (errno name + kernel ext-ack text) or its subclasses,
 *   see ./errors.ts.
 */

/** A network namespace, named by a path (`/var/run/netns/x`, `/proc/1234/ns/net`). */
export type NetnsPath = string;

/** 4 for AF_INET, 6 for AF_INET6. */
export type IpFamily = 4 | 6;

/** A link by name (`eth0`) or ifindex (`2`), resolved in the handle's netns. */
export type LinkRef = string | number;

/** IFLA_MACVLAN_MODE values, by name. */
export const MACVLAN_MODES = ['private', 'vepa', 'bridge', 'passthru', 'source'] as const;
export type MacvlanMode = (typeof MACVLAN_MODES)[number];

/** Route scopes (rtm_scope), by name. */
export const ROUTE_SCOPES = ['universe', 'site', 'link', 'host', 'nowhere'] as const;
export type RouteScope = (typeof ROUTE_SCOPES)[number];

/** Route types (rtm_type), by name. */
export const ROUTE_TYPES = [
	'unspec',
	'unicast',
	'local',
	'broadcast',
	'anycast',
	'multicast',
	'blackhole',
	'unreachable',
	'prohibit',
	'throw',
	'nat',
	'xresolve',
] as const;
export type RouteType = (typeof ROUTE_TYPES)[number];

/** Well-known routing tables. */
export const RT_TABLE = {unspec: 0, compat: 252, default: 253, main: 254, local: 255} as const;

/** Well-known route protocols (rtm_protocol). */
export const RT_PROTO = {unspec: 0, redirect: 1, kernel: 2, boot: 3, static: 4, ra: 9, dhcp: 16} as const;

/** A network device as the kernel reports it (RTM_NEWLINK). */
export interface Link {
	readonly index: number;
	readonly name: string;
	/** IFLA_INFO_KIND (`veth`, `bridge`, `macvlan`, `vlan`, `vrf`, `dummy`, ...); undefined for loopback and physical devices. */
	readonly kind: string | undefined;
	readonly mtu: number;
	/** Lowercase colon-separated hardware address; undefined when the device has none. */
	readonly mac: string | undefined;
	/** Administratively up (IFF_UP). */
	readonly up: boolean;
	/** Raw ifi_flags (IFF_*). */
	readonly flags: number;
	/** IFLA_OPERSTATE by name (`up`, `down`, `unknown`, `lowerlayerdown`, ...). */
	readonly operState: string;
	/** ifindex of the master (bridge, VRF), IFLA_MASTER; undefined when it has none. */
	readonly masterIndex: number | undefined;
	/** IFLA_LINK: the lower device (vlan/macvlan parent) or the veth peer; may be an index in another netns. */
	readonly parentIndex: number | undefined;
	/** IFLA_LINK_NETNSID: set when `parentIndex` refers to another netns. */
	readonly linkNetnsId: number | undefined;
	/** kind `vrf`: its routing table. */
	readonly vrf?: {readonly table: number};
	/** kind `vlan`: its VLAN id and protocol. */
	readonly vlan?: {readonly id: number; readonly protocol: '802.1Q' | '802.1ad'};
	/** kind `macvlan`: its mode. */
	readonly macvlan?: {readonly mode: MacvlanMode};
}

/** Attributes every new link may carry. */
interface LinkSpecBase {
	readonly name: string;
	readonly mtu?: number;
	readonly mac?: string;
	/** Bring the link up as it is created. */
	readonly up?: boolean;
	/** Create the link directly inside this netns (IFLA_NET_NS_FD), e.g. a vlan whose parent stays here. */
	readonly netns?: NetnsPath;
}

/** What `addLink` creates. */
export type LinkSpec = LinkSpecBase &
	(
		| {
				readonly kind: 'veth';
				readonly peer: {readonly name: string; readonly netns?: NetnsPath; readonly mac?: string};
		  }
		| {readonly kind: 'bridge'}
		| {readonly kind: 'dummy'}
		| {readonly kind: 'vrf'; readonly table: number}
		| {readonly kind: 'macvlan'; readonly parent: LinkRef; readonly mode: MacvlanMode}
		| {
				readonly kind: 'vlan';
				readonly parent: LinkRef;
				readonly id: number;
				readonly protocol?: '802.1Q' | '802.1ad';
		  }
	);

/** Changes `setLink` applies in one request; absent keys are left alone. */
export interface LinkChanges {
	readonly up?: boolean;
	readonly name?: string;
	readonly mtu?: number;
	readonly mac?: string;
	/** Enslave to this link (bridge, VRF); `null` releases it ("nomaster"). */
	readonly master?: LinkRef | null;
	/** Move the link into this netns. */
	readonly netns?: NetnsPath;
}

/** An interface address (RTM_NEWADDR). */
export interface Address {
	readonly family: IpFamily;
	/** ifindex of the link it sits on. */
	readonly index: number;
	/** The address itself (IFA_LOCAL for v4, IFA_ADDRESS for v6): `10.0.0.1`, `fd00::1`. */
	readonly address: string;
	readonly prefixLen: number;
	/** `address/prefixLen`. */
	readonly cidr: string;
	/** IFA_ADDRESS when it differs from the local address (point-to-point peer). */
	readonly peer: string | undefined;
	readonly broadcast: string | undefined;
	readonly label: string | undefined;
	readonly scope: RouteScope;
	/** IFA_F_* (IFA_FLAGS when present, else ifa_flags). */
	readonly flags: number;
	readonly permanent: boolean;
	readonly tentative: boolean;
	readonly nodad: boolean;
	readonly noprefixroute: boolean;
}

/** Options for `addAddress`. */
export interface AddressOptions {
	/** IFA_F_NODAD: skip IPv6 duplicate address detection. */
	readonly nodad?: boolean;
	/** IFA_F_NOPREFIXROUTE: do not install the connected prefix route. */
	readonly noprefixroute?: boolean;
	readonly peer?: string;
	readonly broadcast?: string;
	readonly label?: string;
	readonly scope?: RouteScope;
	/** Replace an existing identical address instead of failing with EEXIST. */
	readonly replace?: boolean;
}

/** One next hop of a multipath route. */
export interface NextHop {
	readonly gateway: string | undefined;
	readonly oif: number | undefined;
	readonly weight: number;
	readonly onlink: boolean;
}

/** A route (RTM_NEWROUTE). */
export interface Route {
	readonly family: IpFamily;
	/** Destination prefix, always with a length: `0.0.0.0/0` for the IPv4 default. */
	readonly dst: string;
	readonly table: number;
	readonly type: RouteType;
	readonly scope: RouteScope;
	readonly protocol: number;
	readonly gateway: string | undefined;
	readonly oif: number | undefined;
	readonly prefsrc: string | undefined;
	/** RTA_PRIORITY. */
	readonly metric: number | undefined;
	readonly onlink: boolean;
	/** RTA_METRICS RTAX_MTU, when set. */
	readonly mtu: number | undefined;
	/** RTA_METRICS RTAX_ADVMSS, when set. */
	readonly advmss: number | undefined;
	/** RTA_MULTIPATH next hops; empty for a single-path route. */
	readonly nexthops: readonly NextHop[];
}

/** What `addRoute`/`replaceRoute`/`deleteRoute` act on. */
export interface RouteSpec {
	/** Destination prefix (`10.1.0.0/16`, `::/0`); a bare address means a host route. */
	readonly dst: string;
	readonly gateway?: string;
	readonly oif?: LinkRef;
	/** Default: main (254). */
	readonly table?: number;
	/** Default: universe, or host for type `local` (as vishvananda/netlink); delete matches any scope unless set. */
	readonly scope?: RouteScope;
	/** Default: unicast; delete matches any type unless set. */
	readonly type?: RouteType;
	readonly metric?: number;
	readonly onlink?: boolean;
	readonly prefsrc?: string;
	/** Default: boot (3) on add; delete matches any protocol unless set. */
	readonly protocol?: number;
	readonly mtu?: number;
	readonly advmss?: number;
}

/** Kernel-side filters for `listRoutes` (NETLINK_GET_STRICT_CHK). */
export interface RouteFilter {
	readonly family?: IpFamily;
	/** A table id or `'all'`. Default: main (254), as `ip route` and vishvananda's RouteList. */
	readonly table?: number | 'all';
	readonly oif?: LinkRef;
	/** Keep only routes whose destination prefix equals this (filtered after the dump). */
	readonly dst?: string;
	readonly type?: RouteType;
	readonly protocol?: number;
}

/** Rule actions (fib_rule_hdr.action), by name. */
export const RULE_ACTIONS = ['lookup', 'goto', 'nop', 'blackhole', 'unreachable', 'prohibit'] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];

/** A policy routing rule (RTM_NEWRULE). */
export interface Rule {
	readonly family: IpFamily;
	readonly priority: number;
	readonly action: RuleAction;
	/** The table for `lookup` (0 with `l3mdev`). */
	readonly table: number;
	readonly src: string | undefined;
	readonly dst: string | undefined;
	readonly iif: string | undefined;
	readonly oif: string | undefined;
	readonly fwmark: number | undefined;
	readonly fwmask: number | undefined;
	/** FRA_L3MDEV: look up the table of the VRF the packet belongs to (`lookup [l3mdev-table]`). */
	readonly l3mdev: boolean;
	readonly invert: boolean;
	readonly protocol: number;
}

/** What `addRule`/`deleteRule` act on. */
export interface RuleSpec {
	readonly family: IpFamily;
	/** Default on add: the kernel picks one below the previous rule's. Delete matches any unless set. */
	readonly priority?: number;
	/** Default: lookup. */
	readonly action?: RuleAction;
	readonly table?: number;
	readonly src?: string;
	readonly dst?: string;
	readonly iif?: string;
	readonly oif?: string;
	readonly fwmark?: number;
	readonly fwmask?: number;
	readonly l3mdev?: boolean;
	readonly invert?: boolean;
}

/**
 * A handle on one network namespace. Every method is synchronous and throws a NetlinkError
 * (see ./errors.ts) when the kernel refuses.
 */
export interface Netlink {
	/** The netns this handle acts in; undefined for the caller's own. */
	readonly netns: NetnsPath | undefined;
	/** Releases the socket; further calls fail. Idempotent. */
	close(): void;

	/** All links, or those matching the kernel-side filter (master ifindex, IFLA_INFO_KIND). */
	listLinks(filter?: {readonly master?: LinkRef; readonly kind?: string}): Link[];
	/** The link by name or index; throws LinkNotFoundError when absent. */
	getLink(ref: LinkRef): Link;
	/** The link by name or index, or undefined when absent. */
	findLink(ref: LinkRef): Link | undefined;
	/** Creates a link; throws NetlinkError (`exists` for EEXIST, `notSupported` for an unknown kind). */
	addLink(spec: LinkSpec): void;
	/** Applies changes in one RTM_NEWLINK; throws LinkNotFoundError when the link is absent. */
	setLink(ref: LinkRef, changes: LinkChanges): void;
	/** Deletes a link (and, for veth, its peer); throws LinkNotFoundError when absent. */
	deleteLink(ref: LinkRef): void;

	/** Addresses, optionally of one link and/or one family. */
	listAddresses(filter?: {readonly link?: LinkRef; readonly family?: IpFamily}): Address[];
	/** Adds `cidr` (`10.0.0.2/24`) to the link; EEXIST when it is already there (unless `replace`). */
	addAddress(link: LinkRef, cidr: string, options?: AddressOptions): void;
	/** Removes `cidr` from the link; a NetlinkError with `notFound` when it is not there. */
	deleteAddress(link: LinkRef, cidr: string): void;

	/** Routes matching the filter; by default the main table of both families. */
	listRoutes(filter?: RouteFilter): Route[];
	/**
	 * The route the kernel would use to reach `address` (policy rules, then longest prefix, as
	 * `ip route get fibmatch`): the matching table entry itself, or undefined when the address is
	 * unreachable. `oif` restricts the lookup to routes through that link.
	 */
	getRoute(address: string, options?: {readonly oif?: LinkRef}): Route | undefined;
	/** Adds a route (NLM_F_CREATE|NLM_F_EXCL); EEXIST when an equal one exists. */
	addRoute(route: RouteSpec): void;
	/** Adds or replaces a route (NLM_F_CREATE|NLM_F_REPLACE). */
	replaceRoute(route: RouteSpec): void;
	/** Deletes the first route matching the spec; ESRCH (`notFound`) when none does. */
	deleteRoute(route: RouteSpec): void;

	/** Policy rules, optionally of one family. */
	listRules(filter?: {readonly family?: IpFamily}): Rule[];
	addRule(rule: RuleSpec): void;
	/** Deletes the first rule matching the spec; ENOENT (`notFound`) when none does. */
	deleteRule(rule: RuleSpec): void;

	/**
	 * Reads a sysctl of this netns, without the trailing newline. `key` is a dotted name
	 * (`net.ipv6.conf.all.keep_addr_on_down`) or a slash path under /proc/sys
	 * (`net/ipv6/conf/eth0.100/keep_addr_on_down`, needed when a segment contains a dot);
	 * only `net/` keys are allowed.
	 */
	readSysctl(key: string): string;
	/** Writes a sysctl of this netns (same key forms as readSysctl). */
	writeSysctl(key: string, value: string): void;
}

/** Opens a Netlink handle on a netns (the caller's own when absent); throws NetnsNotFoundError. */
export type OpenNetlink = (netns?: NetnsPath) => Netlink;
