import {describe, expect, it} from 'vitest';
import {decodeAddress, encodeAddressBody} from './addr.ts';
import {bytes, hex} from './hex.ts';
import {decodeRule, encodeRuleBody} from './rule.ts';

// ifaddrmsg: family, prefixlen, flags, scope, u32 index (linux/if_addr.h);
// fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action, u32 flags (linux/fib_rules.h).
describe('address codec (golden bytes)', () => {
	it('encodes 10.0.0.2/24 on ifindex 2 with IFA_LOCAL and IFA_ADDRESS', () => {
		expect(hex(encodeAddressBody({index: 2, cidr: '10.0.0.2/24'}))).toBe(
			hex(bytes('02 18 00 00 02000000 | 0800 0200 0a000002 | 0800 0100 0a000002')),
		);
	});

	it('puts nodad in ifa_flags and the 32-bit flags (noprefixroute) in IFA_FLAGS', () => {
		const body = encodeAddressBody({index: 3, cidr: 'fd00::2/64', nodad: true, noprefixroute: true});
		const v6 = 'fd000000000000000000000000000002';
		expect(hex(body)).toBe(
			hex(bytes(`0a 40 02 00 03000000 | 1400 0200 ${v6} | 1400 0100 ${v6} | 0800 0800 02020000`)),
		);
	});

	it('decodes an RTM_NEWADDR with IFA_FLAGS taking precedence over ifa_flags', () => {
		const a = decodeAddress(
			bytes('0a 40 80 00 05000000 | 1400 0100 fd000000000000000000000000000002 | 0800 0800 c2020000'),
		);
		expect(a).toEqual({
			family: 6,
			index: 5,
			address: 'fd00::2',
			prefixLen: 64,
			cidr: 'fd00::2/64',
			peer: undefined,
			broadcast: undefined,
			label: undefined,
			scope: 'universe',
			flags: 0x2c2,
			permanent: true,
			tentative: true,
			nodad: true,
			noprefixroute: true,
		});
		expect(decodeAddress(bytes('11 00 00 00 01000000'))).toBeUndefined();
	});
});

describe('rule codec (golden bytes)', () => {
	it('encodes the VRF rule "pref 1000 l3mdev" (FRA_PRIORITY, FRA_L3MDEV u8)', () => {
		expect(hex(encodeRuleBody({family: 4, priority: 1000, l3mdev: true}))).toBe(
			hex(bytes('02 00 00 00 00 00 00 01 00000000 | 0800 0600 e8030000 | 0500 1300 01 000000')),
		);
	});

	it('encodes "from 10.50.0.0/24 lookup 1000 pref 100" and a delete that matches any action', () => {
		expect(hex(encodeRuleBody({family: 4, priority: 100, table: 1000, src: '10.50.0.0/24'}))).toBe(
			hex(
				bytes(
					'02 00 18 00 00 00 00 01 00000000 | 0800 0600 64000000 | 0800 0f00 e8030000 | 0800 0200 0a320000',
				),
			),
		);
		expect(hex(encodeRuleBody({family: 6, priority: 5}, true))).toBe(
			hex(bytes('0a 00 00 00 00 00 00 00 00000000 | 0800 0600 05000000')),
		);
	});

	it('decodes a rule and refuses a prefix of the other family', () => {
		const rule = decodeRule(
			bytes(
				'02 00 18 00 fe 00 00 01 02000000 | 0800 0600 64000000 | 0800 0200 0a320000 | 0500 1500 02 000000',
			),
		);
		expect(rule).toMatchObject({
			family: 4,
			priority: 100,
			table: 254,
			src: '10.50.0.0/24',
			invert: true,
			protocol: 2,
		});
		expect(() => encodeRuleBody({family: 6, src: '10.0.0.0/8'})).toThrow(/not IPv6/);
	});
});
