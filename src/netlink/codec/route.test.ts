import {describe, expect, it} from 'vitest';
import {concat, u32Attr} from './attrs.ts';
import {RTA} from './constants.ts';
import {bytes, hex} from './hex.ts';
import {decodeRoute, encodeRouteBody, encodeRouteLookup, encodeRouteQuery} from './route.ts';

// rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, u32 flags (linux/rtnetlink.h).
describe('route codec (golden bytes)', () => {
	it('encodes 10.98.0.0/24 via 10.99.0.1 table 1000 (RTA_TABLE, rtm_table unspec above 255)', () => {
		const body = encodeRouteBody({dst: '10.98.0.0/24', gateway: '10.99.0.1', table: 1000});
		expect(hex(body)).toBe(
			hex(
				bytes(
					'02 18 00 00 00 03 00 01 00000000 | 0800 0100 0a620000 | 0800 0f00 e8030000 | 0800 0500 0a630001',
				),
			),
		);
	});

	it('encodes an IPv6 default route in main with oif, metric, onlink and RTA_METRICS mtu', () => {
		const body = encodeRouteBody({
			dst: '::/0',
			gateway: 'fe80::1',
			oif: 3,
			metric: 100,
			onlink: true,
			mtu: 1400,
		});
		expect(hex(body)).toBe(
			hex(
				bytes(
					'0a 00 00 00 fe 03 00 01 04000000 | 0800 0f00 fe000000 | 1400 0500 fe800000000000000000000000000001 | 0800 0400 03000000 | 0800 0600 64000000 | 0c00 0800 0800 0200 78050000',
				),
			),
		);
	});

	it('sends "match anything" scope/type/protocol on delete, as iproute2 does', () => {
		expect(hex(encodeRouteBody({dst: '10.1.0.0/16'}, true).subarray(0, 12))).toBe(
			hex(bytes('02 10 00 00 fe 00 ff 00 00000000')),
		);
		expect(hex(encodeRouteBody({dst: '10.1.0.1/32', type: 'local'}).subarray(0, 12))).toBe(
			hex(bytes('02 20 00 00 fe 03 fe 02 00000000')),
		);
	});

	it('encodes a strict-check dump filter on table and oif', () => {
		expect(hex(encodeRouteQuery({family: 4, table: 1000, oif: 7}))).toBe(
			hex(bytes('02 00 00 00 00 00 00 00 00000000 | 0800 0f00 e8030000 | 0800 0400 07000000')),
		);
	});

	it('encodes a fibmatch lookup (IPv4 also asks for the lookup table; IPv6 refuses that flag)', () => {
		expect(hex(encodeRouteLookup('10.52.1.1', 3))).toBe(
			hex(bytes('02 20 00 00 00 00 00 00 00300000 | 0800 0100 0a340101 | 0800 0400 03000000')),
		);
		expect(hex(encodeRouteLookup('fd00::1').subarray(0, 12))).toBe(
			hex(bytes('0a 80 00 00 00 00 00 00 00200000')),
		);
	});

	it('decodes a kernel route with RTA_TABLE, RTA_PREFSRC and RTA_MULTIPATH next hops', () => {
		const route = decodeRoute(
			concat([
				bytes('02 18 00 00 0a 02 fd 01 00000000'),
				bytes('0800 0100 0a3c0000'),
				u32Attr(RTA.table, 10),
				u32Attr(RTA.oif, 4),
				bytes('0800 0700 0a3c0002'),
				bytes('1c00 0900 | 1000 04 00 05000000 0800 0500 0a3c0001 | 0800 00 01 06000000'),
			]),
		);
		expect(route).toEqual({
			family: 4,
			dst: '10.60.0.0/24',
			table: 10,
			type: 'unicast',
			scope: 'link',
			protocol: 2,
			gateway: undefined,
			oif: 4,
			prefsrc: '10.60.0.2',
			metric: undefined,
			onlink: false,
			mtu: undefined,
			advmss: undefined,
			nexthops: [
				{gateway: '10.60.0.1', oif: 5, weight: 1, onlink: true},
				{gateway: undefined, oif: 6, weight: 2, onlink: false},
			],
		});
	});

	it('round-trips what it encodes', () => {
		const body = encodeRouteBody({
			dst: 'fd00:41::/64',
			gateway: 'fd00:40::1',
			table: 1000,
			metric: 5,
			advmss: 1300,
		});
		expect(decodeRoute(body)).toMatchObject({
			family: 6,
			dst: 'fd00:41::/64',
			gateway: 'fd00:40::1',
			table: 1000,
			metric: 5,
			advmss: 1300,
			protocol: 3,
		});
	});
});
