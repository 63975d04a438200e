import {describe, expect, test} from 'vitest';
import {convertResult, isIpv4, parseResult, RESULT_LAYOUT} from './result.ts';
import {SUPPORTED_VERSIONS} from './versions.ts';

// One attachment described in each result layout. A source layout converts to a target layout as
// EXPECTED[source][target] says, for every version of each (49 pairs).
const v100 = {
	interfaces: [
		{
			name: 'eth0',
			mac: '0a:00:00:00:00:01',
			mtu: 1400,
			sandbox: '/run/netns/a',
			socketPath: '/s.sock',
			pciID: '0000:00:01.0',
		},
	],
	ips: [
		{interface: 0, address: '10.0.0.2/24', gateway: '10.0.0.1'},
		{interface: 0, address: 'fd00::2/64', gateway: 'fd00::1'},
		{address: '10.0.1.2/24'},
	],
	routes: [
		{dst: '0.0.0.0/0', gw: '10.0.0.1', mtu: 1300, advmss: 1260, priority: 10, table: 100, scope: 0},
		{dst: '::/0', gw: 'fd00::1'},
	],
	dns: {nameservers: ['10.0.0.53'], search: ['cluster.local']},
};
const v040 = {
	interfaces: [{name: 'eth0', mac: '0a:00:00:00:00:01', sandbox: '/run/netns/a'}],
	ips: [
		{version: '4', interface: 0, address: '10.0.0.2/24', gateway: '10.0.0.1'},
		{version: '6', interface: 0, address: 'fd00::2/64', gateway: 'fd00::1'},
		{version: '4', address: '10.0.1.2/24'},
	],
	routes: v100.routes,
	dns: v100.dns,
};
const v020 = {
	ip4: {ip: '10.0.0.2/24', gateway: '10.0.0.1', routes: [{dst: '0.0.0.0/0', gw: '10.0.0.1'}]},
	ip6: {ip: 'fd00::2/64', gateway: 'fd00::1', routes: [{dst: '::/0', gw: 'fd00::1'}]},
	dns: v100.dns,
};
// 0.2.0 up-converted: no interfaces, first addresses only, routes concatenated.
const up020 = {
	ips: [
		{address: '10.0.0.2/24', gateway: '10.0.0.1'},
		{address: 'fd00::2/64', gateway: 'fd00::1'},
	],
	routes: [
		{dst: '0.0.0.0/0', gw: '10.0.0.1'},
		{dst: '::/0', gw: 'fd00::1'},
	],
	dns: v100.dns,
};
const up020as040 = {
	...up020,
	ips: [
		{version: '4', ...up020.ips[0]},
		{version: '6', ...up020.ips[1]},
	],
};
const v100from040 = {...v100, interfaces: v040.interfaces};

const SOURCE = {'020': v020, '040': v040, '100': v100} as const;
const EXPECTED = {
	'020': {'020': v020, '040': up020as040, '100': up020},
	'040': {'020': v020, '040': v040, '100': v100from040},
	'100': {'020': v020, '040': v040, '100': v100},
} as const;

const pairs = SUPPORTED_VERSIONS.flatMap((from) => SUPPORTED_VERSIONS.map((to) => [from, to] as const));

describe('convertResult', () => {
	test.each(pairs)('%s → %s', (from, to) => {
		const source = parseResult({cniVersion: from, ...SOURCE[RESULT_LAYOUT[from]]});
		const converted = convertResult(source, to);
		expect(converted).toEqual({cniVersion: to, ...EXPECTED[RESULT_LAYOUT[from]][RESULT_LAYOUT[to]]});
		// The output is itself a canonical result of the target version.
		expect(parseResult(JSON.parse(JSON.stringify(converted)))).toEqual(converted);
	});

	test.each(['0.1.0', '0.2.0'])('down to %s fails without an IP address, as libcni', (to) => {
		for (const from of ['1.1.0', '0.4.0']) {
			const noIp = parseResult({cniVersion: from, interfaces: [{name: 'eth0'}]});
			expect(() => convertResult(noIp, to)).toThrow(
				expect.objectContaining({code: 1, message: expect.stringMatching(/no valid IP addresses/)}),
			);
		}
	});

	// Current libcni (types/040 convertFrom02x) up-converts a 0.1.0/0.2.0 result without any address
	// to an empty one and copies whole routes; only the old types/current code refused it. Read-only
	// views (network-status, default-route) depend on this not failing an ADD.
	test.each(['0.1.0', '0.2.0'])(
		'up from %s without an IP address gives an empty result, as libcni',
		(from) => {
			for (const to of ['0.4.0', '1.0.0', '1.1.0']) {
				const converted = convertResult(parseResult({cniVersion: from}), to) as {
					cniVersion: string;
					ips?: unknown[];
				};
				expect(converted.cniVersion).toBe(to);
				expect(converted.ips ?? []).toEqual([]);
			}
		},
	);

	test('down to 0.2.0 drops routes of a family without an address', () => {
		const only4 = parseResult({
			cniVersion: '1.0.0',
			ips: [{address: '10.0.0.2/24'}],
			routes: [{dst: '::/0'}],
		});
		expect(convertResult(only4, '0.2.0')).toEqual({cniVersion: '0.2.0', ip4: {ip: '10.0.0.2/24'}, dns: {}});
	});

	test('an unknown target version is code 1', () => {
		expect(() => convertResult(parseResult({cniVersion: '1.0.0'}), '1.2.0')).toThrow(
			expect.objectContaining({code: 1, message: 'unsupported CNI result version "1.2.0"'}),
		);
	});
});

describe('parseResult', () => {
	test('keeps only the fields of the version, in Go field order, omitempty applied', () => {
		const parsed = parseResult({
			dns: {},
			routes: [{dst: '10.1.0.0/16', mtu: 0, table: 0, vendor: 'x'}],
			cniVersion: '1.1.0',
			interfaces: [{name: 'net1', mtu: 0, extra: true}],
			ips: [],
			unknown: 1,
		});
		expect(parsed).toEqual({
			cniVersion: '1.1.0',
			interfaces: [{name: 'net1'}],
			routes: [{dst: '10.1.0.0/16', table: 0}],
		});
		expect(Object.keys(parsed)).toEqual(['cniVersion', 'interfaces', 'routes']);
	});

	test('0.4.0 keeps an empty dns block and drops 1.1 interface fields', () => {
		expect(parseResult({cniVersion: '0.4.0', interfaces: [{name: 'a', mtu: 9000}]})).toEqual({
			cniVersion: '0.4.0',
			interfaces: [{name: 'a'}],
			dns: {},
		});
	});

	test('a result without cniVersion is read as the fallback version', () => {
		expect(parseResult({ips: [{address: '10.0.0.2/24'}]}, '1.0.0')).toEqual({
			cniVersion: '1.0.0',
			ips: [{address: '10.0.0.2/24'}],
		});
		expect(() => parseResult({})).toThrow(expect.objectContaining({code: 6}));
	});

	test('malformed results are code 6 naming the field', () => {
		expect(() => parseResult({cniVersion: '1.0.0', ips: [{gateway: '10.0.0.1'}]})).toThrow(/"ips.0.address"/);
		expect(() => parseResult('nope')).toThrow(expect.objectContaining({code: 6}));
	});
});

test('isIpv4 follows Go To4()', () => {
	expect(isIpv4('10.0.0.1/24')).toBe(true);
	expect(isIpv4('::ffff:10.0.0.1/120')).toBe(true);
	expect(isIpv4('fd00::1/64')).toBe(false);
});
