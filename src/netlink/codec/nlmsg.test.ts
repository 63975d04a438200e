import {describe, expect, it} from 'vitest';
import {NLM_F, NLMSG} from './constants.ts';
import {bytes, hex} from './hex.ts';
import {canonicalPrefix, formatAddress, parseAddress, parsePrefix, prefixContains} from './ip.ts';
import {decodeDone, decodeError, splitMessages} from './nlmsg.ts';

const text = (s: string): string => hex(new TextEncoder().encode(s));

describe('nlmsghdr framing and errors (golden bytes)', () => {
	it('splits a datagram holding two aligned messages', () => {
		const datagram = bytes(
			'14000000 1000 0200 05000000 00000000 aabbccdd | 14000000 0300 0200 05000000 00000000 00000000',
		);
		const messages = splitMessages(datagram);
		expect(messages.map((m) => [m.type, m.flags, m.seq, m.payload.length])).toEqual([
			[16, NLM_F.multi, 5, 4],
			[NLMSG.done, NLM_F.multi, 5, 4],
		]);
		expect(() => splitMessages(bytes('40000000 1000 0000 01000000 00000000'))).toThrow(/malformed/);
	});

	it('decodes an NLMSG_ERROR with ext-ack text after a capped echo (errno 95, "Unknown device type")', () => {
		const echoed = '24000000 1000 0506 09000000 00000000';
		const message = splitMessages(
			bytes(
				`3c000000 0200 0003 09000000 00000000 | a1ffffff | ${echoed} | 1800 0100 ${text('Unknown device type')} 00`,
			),
		)[0]!;
		expect(decodeError(message)).toEqual({errno: 95, extack: 'Unknown device type', offset: undefined});
	});

	it('decodes an uncapped error echoing the whole request, with NLMSGERR_ATTR_OFFS', () => {
		const request = '18000000 1400 0500 0a000000 00000000 02180000 02000000';
		const message = splitMessages(
			bytes(
				`40000000 0200 0002 0a000000 00000000 | efffffff | ${request} | 0800 0200 10000000 | 0c00 0100 ${text('ipv4')} 00 000000`,
			),
		)[0]!;
		expect(decodeError(message)).toEqual({errno: 17, extack: 'ipv4', offset: 16});
	});

	it('decodes an ACK (errno 0) and a DONE with a negative status', () => {
		const ack = splitMessages(
			bytes('24000000 0200 0001 03000000 00000000 00000000 10000000 1000 0500 03000000 00000000'),
		)[0]!;
		expect(decodeError(ack).errno).toBe(0);
		const done = splitMessages(
			bytes(`20000000 0300 0202 03000000 00000000 feffffff | 0c00 0100 ${text('nope')} 00 000000`),
		)[0]!;
		expect(decodeDone(done)).toEqual({errno: 2, extack: 'nope', offset: undefined});
	});
});

describe('IP text (inet_ntop canonical form)', () => {
	it.each([
		['fd00:0:0::1', 'fd00::1'],
		['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
		['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
		['::', '::'],
		['::1', '::1'],
		['::ffff:10.1.2.3', '::ffff:10.1.2.3'],
		['FE80::A:B', 'fe80::a:b'],
		['10.0.0.1', '10.0.0.1'],
	])('%s → %s', (input, canonical) => {
		expect(formatAddress(parseAddress(input).bytes)).toBe(canonical);
	});

	it('parses prefixes, host prefixes and containment', () => {
		expect(canonicalPrefix('fd00:0::/64')).toBe('fd00::/64');
		expect(canonicalPrefix('10.0.0.1')).toBe('10.0.0.1/32');
		expect(() => parsePrefix('10.0.0.0/33')).toThrow(/prefix length/);
		expect(() => parseAddress('10.0.0')).toThrow(/invalid IP address/);
		expect(prefixContains(parsePrefix('10.40.0.0/24'), parseAddress('10.40.0.1').bytes)).toBe(true);
		expect(prefixContains(parsePrefix('10.40.0.0/24'), parseAddress('10.41.0.1').bytes)).toBe(false);
	});
});
