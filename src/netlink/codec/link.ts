/**
 * Links: struct ifinfomsg (16 bytes) + IFLA_* attributes, including IFLA_LINKINFO with the
 * per-kind data Plexus creates (veth peer, vlan, macvlan, vrf).
 */
import type {Link, MacvlanMode} from '../netlink.ts';
import {
	attr,
	be16Attr,
	concat,
	nestAttr,
	parseAttrs,
	readBe16,
	reader,
	readStr,
	readU8,
	readU32,
	Struct,
	s32Attr,
	strAttr,
	u32Attr,
} from './attrs.ts';
import {
	ETH_P_8021AD,
	ETH_P_8021Q,
	IFF_UP,
	IFLA,
	IFLA_INFO,
	IFLA_MACVLAN_MODE,
	IFLA_VLAN,
	IFLA_VRF_TABLE,
	MACVLAN_MODE_BITS,
	OPER_STATES,
	VETH_INFO_PEER,
} from './constants.ts';

export const IFINFOMSG_LEN = 16;

/** The link fields a request can carry; indices are already resolved in the socket's netns. */
export interface LinkMessage {
	/** ifi_index: the link to change (0 when creating). */
	readonly index?: number;
	/** Sets IFF_UP (true) or clears it (false) via ifi_flags/ifi_change. */
	readonly up?: boolean;
	readonly name?: string;
	readonly mtu?: number;
	readonly mac?: string;
	/** IFLA_MASTER; 0 releases the link from its master. */
	readonly master?: number;
	/** IFLA_LINK: the lower device. */
	readonly link?: number;
	/** IFLA_NET_NS_FD: create in / move to the netns behind this fd. */
	readonly netnsFd?: number;
	/** IFLA_LINKINFO: kind and encoded IFLA_INFO_DATA children. */
	readonly info?: {readonly kind: string; readonly data?: readonly Uint8Array[]};
}

/** ifinfomsg with family AF_UNSPEC. */
export function encodeIfinfomsg(index = 0, flags = 0, change = 0): Uint8Array {
	return new Struct(IFINFOMSG_LEN).s32(4, index).u32(8, flags).u32(12, change).bytes;
}

/** "aa:bb:cc:dd:ee:ff" → bytes; throws TypeError on anything else. */
export function parseMac(text: string): Uint8Array {
	if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(text))
		throw new TypeError(`invalid MAC address ${JSON.stringify(text)}`);
	return Uint8Array.from(text.split(':').map((h) => Number.parseInt(h, 16)));
}

/** Bytes → lowercase "aa:bb:...". */
export function formatMac(bytes: Uint8Array): string {
	return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(':');
}

/** The body (ifinfomsg + attributes) of an RTM_NEWLINK/RTM_SETLINK request. */
export function encodeLinkBody(msg: LinkMessage): Uint8Array {
	const flags = msg.up === true ? IFF_UP : 0;
	const change = msg.up === undefined ? 0 : IFF_UP;
	const parts = [encodeIfinfomsg(msg.index ?? 0, flags, change)];
	if (msg.name !== undefined) parts.push(strAttr(IFLA.ifname, msg.name));
	if (msg.mtu !== undefined) parts.push(u32Attr(IFLA.mtu, msg.mtu));
	if (msg.mac !== undefined) parts.push(attr(IFLA.address, parseMac(msg.mac)));
	if (msg.link !== undefined) parts.push(u32Attr(IFLA.link, msg.link));
	if (msg.master !== undefined) parts.push(u32Attr(IFLA.master, msg.master));
	if (msg.netnsFd !== undefined) parts.push(s32Attr(IFLA.netNsFd, msg.netnsFd));
	if (msg.info !== undefined) {
		const info = [strAttr(IFLA_INFO.kind, msg.info.kind)];
		if (msg.info.data !== undefined) info.push(nestAttr(IFLA_INFO.data, msg.info.data));
		parts.push(nestAttr(IFLA.linkinfo, info));
	}
	return concat(parts);
}

/** IFLA_INFO_DATA of a vrf: its table. */
export function vrfData(table: number): Uint8Array[] {
	return [u32Attr(IFLA_VRF_TABLE, table)];
}

/** IFLA_INFO_DATA of a vlan: id and protocol. */
export function vlanData(id: number, protocol: '802.1Q' | '802.1ad' = '802.1Q'): Uint8Array[] {
	const proto = protocol === '802.1ad' ? ETH_P_8021AD : ETH_P_8021Q;
	const idBytes = new Struct(2).u16(0, id).bytes;
	return [attr(IFLA_VLAN.id, idBytes), be16Attr(IFLA_VLAN.protocol, proto)];
}

/** IFLA_INFO_DATA of a macvlan: its mode. */
export function macvlanData(mode: MacvlanMode): Uint8Array[] {
	return [u32Attr(IFLA_MACVLAN_MODE, MACVLAN_MODE_BITS[mode])];
}

/** IFLA_INFO_DATA of a veth: VETH_INFO_PEER holding the peer's ifinfomsg and attributes. */
export function vethData(peer: LinkMessage): Uint8Array[] {
	return [attr(VETH_INFO_PEER, encodeLinkBody(peer))];
}

/** The ifinfomsg body of a GET (by index or, with index 0, by IFLA_IFNAME) or a filtered dump. */
export function encodeLinkQuery(options: {
	index?: number;
	name?: string;
	master?: number;
	kind?: string;
	extMask?: number;
}): Uint8Array {
	const parts = [encodeIfinfomsg(options.index ?? 0)];
	if (options.name !== undefined) parts.push(strAttr(IFLA.ifname, options.name));
	if (options.extMask !== undefined) parts.push(u32Attr(IFLA.extMask, options.extMask));
	if (options.master !== undefined) parts.push(u32Attr(IFLA.master, options.master));
	if (options.kind !== undefined)
		parts.push(nestAttr(IFLA.linkinfo, [strAttr(IFLA_INFO.kind, options.kind)]));
	return concat(parts);
}

const MACVLAN_BY_BIT = new Map<number, MacvlanMode>(
	Object.entries(MACVLAN_MODE_BITS).map(([mode, bit]) => [bit, mode as MacvlanMode]),
);

/** Decodes an RTM_NEWLINK payload into a Link record. */
export function decodeLink(payload: Uint8Array): Link {
	const view = reader(payload);
	const index = view.getInt32(4, true);
	const flags = view.getUint32(8, true);
	const attrs = parseAttrs(payload, IFINFOMSG_LEN);
	const macBytes = attrs.get(IFLA.address);
	const master = readU32(attrs.get(IFLA.master));
	const parent = readU32(attrs.get(IFLA.link));
	const operState = readU8(attrs.get(IFLA.operstate)) ?? 0;
	const infoBytes = attrs.get(IFLA.linkinfo);
	const info = infoBytes === undefined ? undefined : parseAttrs(infoBytes);
	const kind = readStr(info?.get(IFLA_INFO.kind));
	const dataBytes = info?.get(IFLA_INFO.data);
	const data = dataBytes === undefined ? undefined : parseAttrs(dataBytes);
	const link: {-readonly [K in keyof Link]: Link[K]} = {
		index,
		name: readStr(attrs.get(IFLA.ifname)) ?? '',
		kind,
		mtu: readU32(attrs.get(IFLA.mtu)) ?? 0,
		mac: macBytes === undefined || macBytes.length === 0 ? undefined : formatMac(macBytes),
		up: (flags & IFF_UP) !== 0,
		flags,
		operState: OPER_STATES[operState] ?? 'unknown',
		masterIndex: master === undefined || master === 0 ? undefined : master,
		parentIndex: parent === undefined || parent === 0 ? undefined : parent,
		linkNetnsId: readU32(attrs.get(IFLA.linkNetnsid)),
	};
	if (data !== undefined && kind === 'vrf') {
		link.vrf = {table: readU32(data.get(IFLA_VRF_TABLE)) ?? 0};
	} else if (data !== undefined && kind === 'vlan') {
		const proto = readBe16(data.get(IFLA_VLAN.protocol));
		const idBytes = data.get(IFLA_VLAN.id);
		link.vlan = {
			id: idBytes === undefined ? 0 : reader(idBytes).getUint16(0, true),
			protocol: proto === ETH_P_8021AD ? '802.1ad' : '802.1Q',
		};
	} else if (data !== undefined && kind === 'macvlan') {
		link.macvlan = {mode: MACVLAN_BY_BIT.get(readU32(data.get(IFLA_MACVLAN_MODE)) ?? 0) ?? 'vepa'};
	}
	return link;
}
