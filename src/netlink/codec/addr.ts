/** Addresses: struct ifaddrmsg (8 bytes) + IFA_* attributes. */
import type {Address, AddressOptions, IpFamily} from '../netlink.ts';
import {attr, concat, parseAttrs, reader, readStr, readU32, Struct, strAttr, u32Attr} from './attrs.ts';
import {AF_INET, AF_INET6, AF_UNSPEC, IFA, IFA_F} from './constants.ts';
import {formatAddress, parseAddress, parsePrefix} from './ip.ts';
import {scopeFromNumber, scopeToNumber} from './route.ts';

export const IFADDRMSG_LEN = 8;

export function familyNumber(family: IpFamily | undefined): number {
	return family === 4 ? AF_INET : family === 6 ? AF_INET6 : AF_UNSPEC;
}

/** The body of an RTM_NEWADDR/RTM_DELADDR request: the address, its link and the AddressOptions. */
export interface AddressMessage extends Omit<AddressOptions, 'replace'> {
	readonly index: number;
	/** `10.0.0.2/24`. */
	readonly cidr: string;
}

export function encodeAddressBody(msg: AddressMessage): Uint8Array {
	const prefix = parsePrefix(msg.cidr);
	let flags = 0;
	if (msg.nodad === true) flags |= IFA_F.nodad;
	if (msg.noprefixroute === true) flags |= IFA_F.noprefixroute;
	const header = new Struct(IFADDRMSG_LEN)
		.u8(0, familyNumber(prefix.family))
		.u8(1, prefix.length)
		.u8(2, flags & 0xff)
		.u8(3, scopeToNumber(msg.scope ?? 'universe'))
		.u32(4, msg.index).bytes;
	const parts = [header, attr(IFA.local, prefix.bytes)];
	const peer = msg.peer === undefined ? prefix.bytes : parseAddress(msg.peer).bytes;
	parts.push(attr(IFA.address, peer));
	if (msg.broadcast !== undefined) parts.push(attr(IFA.broadcast, parseAddress(msg.broadcast).bytes));
	if (msg.label !== undefined) parts.push(strAttr(IFA.label, msg.label));
	if (flags > 0xff) parts.push(u32Attr(IFA.flags, flags));
	return concat(parts);
}

/** The body of an RTM_GETADDR dump, filtered by the kernel to one family and/or link (strict check). */
export function encodeAddressQuery(family: IpFamily | undefined, index: number | undefined): Uint8Array {
	return new Struct(IFADDRMSG_LEN).u8(0, familyNumber(family)).u32(4, index ?? 0).bytes;
}

/** Decodes an RTM_NEWADDR payload. Returns undefined for families other than IPv4/IPv6. */
export function decodeAddress(payload: Uint8Array): Address | undefined {
	const view = reader(payload);
	const familyNum = view.getUint8(0);
	if (familyNum !== AF_INET && familyNum !== AF_INET6) return undefined;
	const prefixLen = view.getUint8(1);
	const attrs = parseAttrs(payload, IFADDRMSG_LEN);
	const flags = readU32(attrs.get(IFA.flags)) ?? view.getUint8(2);
	const localBytes = attrs.get(IFA.local);
	const addressBytes = attrs.get(IFA.address);
	const mine = localBytes ?? addressBytes;
	const address = mine === undefined ? '' : formatAddress(mine);
	const peerText =
		localBytes !== undefined && addressBytes !== undefined ? formatAddress(addressBytes) : undefined;
	const broadcast = attrs.get(IFA.broadcast);
	return {
		family: familyNum === AF_INET ? 4 : 6,
		index: view.getUint32(4, true),
		address,
		prefixLen,
		cidr: `${address}/${prefixLen}`,
		peer: peerText === address ? undefined : peerText,
		broadcast: broadcast === undefined ? undefined : formatAddress(broadcast),
		label: readStr(attrs.get(IFA.label)),
		scope: scopeFromNumber(view.getUint8(3)),
		flags,
		permanent: (flags & IFA_F.permanent) !== 0,
		tentative: (flags & IFA_F.tentative) !== 0,
		nodad: (flags & IFA_F.nodad) !== 0,
		noprefixroute: (flags & IFA_F.noprefixroute) !== 0,
	};
}
