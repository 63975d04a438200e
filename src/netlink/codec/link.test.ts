import {describe, expect, it} from 'vitest';
import {concat, strAttr, u32Attr} from './attrs.ts';
import {IFF_UP, IFLA, NLM_F, RTM} from './constants.ts';
import {bytes, hex} from './hex.ts';
import {
	decodeLink,
	encodeIfinfomsg,
	encodeLinkBody,
	macvlanData,
	vethData,
	vlanData,
	vrfData,
} from './link.ts';
import {encodeMessage} from './nlmsg.ts';

const IFINFOMSG_ZERO = '00 00 0000 00000000 00000000 00000000';

// Fixtures written from include/uapi/linux/{netlink,rtnetlink,if_link}.h: little-endian u16 len,
// u16 type, payload padded to 4 bytes.
describe('link codec (golden bytes)', () => {
	it('frames a GETLINK request: nlmsghdr + ifinfomsg', () => {
		const msg = encodeMessage(RTM.getLink, NLM_F.request | NLM_F.ack, 1, [encodeIfinfomsg()]);
		expect(hex(msg)).toBe(hex(bytes(`20000000 1200 0500 01000000 00000000 | ${IFINFOMSG_ZERO}`)));
	});

	it('encodes IFLA_IFNAME with its NUL and padding, IFLA_MASTER=10 and IFLA_LINK=5', () => {
		expect(hex(strAttr(IFLA.ifname, 'eth0'))).toBe(hex(bytes('0900 0300 65746830 00 000000')));
		expect(hex(u32Attr(IFLA.master, 10))).toBe(hex(bytes('0800 0a00 0a000000')));
		expect(hex(encodeLinkBody({index: 3, master: 10, link: 5}))).toBe(
			hex(bytes('00 00 0000 03000000 00000000 00000000 | 0800 0500 05000000 | 0800 0a00 0a000000')),
		);
	});

	it('encodes a vrf: IFLA_INFO_KIND "vrf" + IFLA_INFO_DATA{IFLA_VRF_TABLE=1}', () => {
		const body = encodeLinkBody({name: 'blue', info: {kind: 'vrf', data: vrfData(1)}});
		expect(hex(body)).toBe(
			hex(
				bytes(
					`${IFINFOMSG_ZERO} | 0900 0300 626c7565 00 000000 | 1800 1200 | 0800 0100 767266 00 | 0c00 0200 0800 0100 01000000`,
				),
			),
		);
	});

	it('encodes a vlan: IFLA_LINK, kind "vlan", IFLA_VLAN_ID=1, IFLA_VLAN_PROTOCOL 802.1Q (big-endian)', () => {
		const body = encodeLinkBody({name: 'v', link: 5, info: {kind: 'vlan', data: vlanData(1)}});
		expect(hex(body)).toBe(
			hex(
				bytes(
					`${IFINFOMSG_ZERO} | 0600 0300 76 00 0000 | 0800 0500 05000000 | 2400 1200 | 0900 0100 766c616e 00 000000 | 1400 0200 0600 0100 0100 0000 0600 0500 8100 0000`,
				),
			),
		);
		expect(hex(vlanData(4094, '802.1ad')[1]!)).toBe(hex(bytes('0600 0500 88a8 0000')));
	});

	it('encodes a macvlan with IFLA_MACVLAN_MODE=bridge (4), created into the netns of fd 28', () => {
		const body = encodeLinkBody({
			name: 'm',
			link: 2,
			netnsFd: 28,
			info: {kind: 'macvlan', data: macvlanData('bridge')},
		});
		expect(hex(body)).toBe(
			hex(
				bytes(
					`${IFINFOMSG_ZERO} | 0600 0300 6d 00 0000 | 0800 0500 02000000 | 0800 1c00 1c000000 | 1c00 1200 | 0c00 0100 6d6163766c616e 00 | 0c00 0200 0800 0100 04000000`,
				),
			),
		);
	});

	it('encodes a veth peer as a nested ifinfomsg + attributes under VETH_INFO_PEER', () => {
		const [peer] = vethData({name: 'p'});
		expect(hex(peer!)).toBe(hex(bytes(`1c00 0100 | ${IFINFOMSG_ZERO} | 0600 0300 70 00 0000`)));
	});

	it('encodes up/down as ifi_flags/ifi_change IFF_UP, and a MAC as 6 bytes', () => {
		expect(hex(encodeLinkBody({index: 4, up: true}))).toBe(
			hex(bytes('00 00 0000 04000000 01000000 01000000')),
		);
		expect(hex(encodeLinkBody({index: 4, up: false}))).toBe(
			hex(bytes('00 00 0000 04000000 00000000 01000000')),
		);
		expect(hex(encodeLinkBody({index: 4, mac: '02:AB:cd:00:00:01'}))).toBe(
			hex(bytes('00 00 0000 04000000 00000000 00000000 | 0a00 0100 02abcd000001 0000')),
		);
		expect(() => encodeLinkBody({mac: '02:ab'})).toThrow(/invalid MAC address/);
	});

	it('decodes an RTM_NEWLINK of a vrf, a vlan in another netns and a macvlan', () => {
		const vrf = decodeLink(
			concat([
				bytes('00 00 0100 07000000 01000000 00000000'),
				strAttr(IFLA.ifname, 'blue'),
				u32Attr(IFLA.mtu, 65575),
				bytes('0500 1000 06 000000'), // IFLA_OPERSTATE up
				bytes('0a00 0100 02a1b2c3d4e5 0000'),
				bytes('1800 1200 0800 0100 767266 00 0c00 0200 0800 0100 0a000000'),
			]),
		);
		expect(vrf).toMatchObject({
			index: 7,
			name: 'blue',
			kind: 'vrf',
			vrf: {table: 10},
			up: true,
			flags: IFF_UP,
		});
		expect(vrf).toMatchObject({
			mtu: 65575,
			operState: 'up',
			mac: '02:a1:b2:c3:d4:e5',
			masterIndex: undefined,
		});
		const vlan = decodeLink(
			concat([
				bytes('00 00 0100 02000000 00000000 00000000'),
				strAttr(IFLA.ifname, 'net1'),
				u32Attr(IFLA.link, 2),
				u32Attr(IFLA.linkNetnsid, 0),
				u32Attr(IFLA.master, 9),
				bytes('2400 1200 0900 0100 766c616e 00 000000 1400 0200 0600 0100 2a00 0000 0600 0500 8100 0000'),
			]),
		);
		expect(vlan).toMatchObject({
			kind: 'vlan',
			vlan: {id: 42, protocol: '802.1Q'},
			parentIndex: 2,
			linkNetnsId: 0,
		});
		expect(vlan.masterIndex).toBe(9);
		const macvlan = decodeLink(
			concat([
				bytes(IFINFOMSG_ZERO),
				bytes('1c00 1200 0c00 0100 6d6163766c616e 00 0c00 0200 0800 0100 01000000'),
			]),
		);
		expect(macvlan.macvlan).toEqual({mode: 'private'});
	});
});
