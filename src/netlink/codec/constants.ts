/**
 * rtnetlink numbers from the kernel's uapi headers (linux/netlink.h, linux/rtnetlink.h,
 * linux/if_link.h, linux/if_addr.h, linux/fib_rules.h). Only what Plexus encodes or decodes.
 */

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_INET6 = 10;

/** nlmsghdr size; every netlink structure is aligned to 4 bytes. */
export const NLMSG_HDRLEN = 16;

export const NLMSG = {noop: 1, error: 2, done: 3, overrun: 4} as const;

export const NLM_F = {
	request: 0x1,
	multi: 0x2,
	ack: 0x4,
	echo: 0x8,
	dumpIntr: 0x10,
	dumpFiltered: 0x20,
	// GET modifiers
	root: 0x100,
	match: 0x200,
	dump: 0x300,
	// NEW modifiers
	replace: 0x100,
	excl: 0x200,
	create: 0x400,
	append: 0x800,
	// ACK modifiers
	capped: 0x100,
	ackTlvs: 0x200,
} as const;

/** nlmsgerr extended-ack TLVs (enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR = {msg: 1, offs: 2, cookie: 3, policy: 4, missType: 5, missNest: 6} as const;

export const RTM = {
	newLink: 16,
	delLink: 17,
	getLink: 18,
	setLink: 19,
	newAddr: 20,
	delAddr: 21,
	getAddr: 22,
	newRoute: 24,
	delRoute: 25,
	getRoute: 26,
	newRule: 32,
	delRule: 33,
	getRule: 34,
} as const;

/** Attribute type bits that are flags, not part of the type. */
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export const IFF_UP = 0x1;

export const IFLA = {
	address: 1,
	broadcast: 2,
	ifname: 3,
	mtu: 4,
	link: 5,
	master: 10,
	txqlen: 13,
	operstate: 16,
	linkinfo: 18,
	netNsPid: 19,
	netNsFd: 28,
	extMask: 29,
	linkNetnsid: 37,
} as const;

export const IFLA_INFO = {kind: 1, data: 2, slaveKind: 4, slaveData: 5} as const;
export const VETH_INFO_PEER = 1;
export const IFLA_VLAN = {id: 1, protocol: 5} as const;
export const IFLA_MACVLAN_MODE = 1;
export const IFLA_VRF_TABLE = 1;

export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;

/** IFLA_EXT_MASK bit: leave the statistics out of link dumps (smaller, faster). */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

/** IFLA_MACVLAN_MODE bits, in the order of MACVLAN_MODES. */
export const MACVLAN_MODE_BITS = {private: 1, vepa: 2, bridge: 4, passthru: 8, source: 16} as const;

/** IFLA_OPERSTATE values (RFC 2863), by index. */
export const OPER_STATES = [
	'unknown',
	'notpresent',
	'down',
	'lowerlayerdown',
	'testing',
	'dormant',
	'up',
] as const;

export const IFA = {
	address: 1,
	local: 2,
	label: 3,
	broadcast: 4,
	cacheinfo: 6,
	flags: 8,
} as const;

export const IFA_F = {
	secondary: 0x01,
	nodad: 0x02,
	optimistic: 0x04,
	dadfailed: 0x08,
	deprecated: 0x20,
	tentative: 0x40,
	permanent: 0x80,
	noprefixroute: 0x200,
} as const;

export const RTA = {
	dst: 1,
	src: 2,
	iif: 3,
	oif: 4,
	gateway: 5,
	priority: 6,
	prefsrc: 7,
	metrics: 8,
	multipath: 9,
	table: 15,
} as const;

export const RTAX = {mtu: 2, advmss: 8} as const;

/** rtm_flags of a GETROUTE lookup: answer with the matching FIB entry, not a cloned result. */
export const RTM_F_FIB_MATCH = 0x2000;
/** rtm_flags of a GETROUTE lookup: report the table the entry was found in (else IPv4 says main). */
export const RTM_F_LOOKUP_TABLE = 0x1000;

export const RTNH_F_ONLINK = 0x4;

/** rtm_scope values by name. */
export const RT_SCOPE = {universe: 0, site: 200, link: 253, host: 254, nowhere: 255} as const;

export const FRA = {
	dst: 1,
	src: 2,
	iifname: 3,
	goto: 4,
	priority: 6,
	fwmark: 10,
	table: 15,
	fwmask: 16,
	oifname: 17,
	l3mdev: 19,
	protocol: 21,
} as const;

/** fib_rule_hdr.action values by name (FR_ACT_*). */
export const FR_ACT = {lookup: 1, goto: 2, nop: 3, blackhole: 6, unreachable: 7, prohibit: 8} as const;

export const FIB_RULE_INVERT = 0x2;
