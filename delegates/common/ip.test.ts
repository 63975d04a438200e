import {describe, expect, it} from 'vitest';
import {
	canonicalAddress,
	canonicalCidr,
	canonicalPrefix,
	isDefaultPrefix,
	isLinkLocal,
	sameAddress,
} from './ip.ts';

describe('ip text helpers', () => {
	it.each([
		['fd00:0:0::1', 'fd00::1'],
		['FD00::A', 'fd00::a'],
		['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
		['::', '::'],
		// IPv4-mapped addresses as the kernel (inet_ntop) prints them, so CHECK compares like with like.
		['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
		['::ffff:a00:1', '::ffff:10.0.0.1'],
		['10.0.0.1', '10.0.0.1'],
	])('canonicalAddress(%s) = %s', (input, expected) => {
		expect(canonicalAddress(input)).toBe(expected);
	});

	it('clears host bits of a prefix and adds a host length to a bare address', () => {
		expect(canonicalPrefix('10.1.2.3/24')).toBe('10.1.2.0/24');
		expect(canonicalPrefix('1111:dddd::1/80')).toBe('1111:dddd::/80');
		expect(canonicalPrefix('10.0.0.7')).toBe('10.0.0.7/32');
		expect(canonicalPrefix('::/0')).toBe('::/0');
		expect(canonicalCidr('fd00:0::2/64')).toBe('fd00::2/64');
	});

	it('rejects what is not an address or a prefix with code 7', () => {
		expect(() => canonicalPrefix('10.0.0.0/33')).toThrow(expect.objectContaining({code: 7}));
		expect(() => canonicalAddress('nope')).toThrow(expect.objectContaining({code: 7}));
		expect(() => canonicalAddress('nope')).toThrow('invalid IP address "nope"');
		expect(() => canonicalCidr('10.0.0.1/x')).toThrow('invalid prefix "10.0.0.1/x"');
	});

	it('classifies defaults and link-local prefixes', () => {
		expect(isDefaultPrefix('0.0.0.0/0')).toBe(true);
		expect(isDefaultPrefix('::/0')).toBe(true);
		expect(isDefaultPrefix('10.0.0.0/8')).toBe(false);
		expect(isLinkLocal('fe80::/64')).toBe(true);
		expect(isLinkLocal('fd00::/64')).toBe(false);
		expect(isLinkLocal('169.254.0.0/16')).toBe(false);
		expect(sameAddress('fd00::1', 'fd00:0::1')).toBe(true);
		expect(sameAddress(undefined, '10.0.0.1')).toBe(false);
	});
});
