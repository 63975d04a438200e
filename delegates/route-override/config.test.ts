import {describe, expect, it} from 'vitest';
import {parseRouteOverrideConfig} from './config.ts';

const base = {cniVersion: '1.0.0', name: 'net', type: 'route-override'};

describe('route-override config', () => {
	it('defaults every setting to off/empty', () => {
		expect(parseRouteOverrideConfig(base)).toMatchObject({
			flushroutes: false,
			flushgateway: false,
			delroutes: [],
			addroutes: [],
			skipcheck: false,
		});
	});

	it('lets args.cni override top-level keys, key by key', () => {
		const config = parseRouteOverrideConfig({
			...base,
			flushroutes: true,
			skipcheck: true,
			args: {cni: {flushroutes: false, addroutes: [{dst: '10.9.0.0/16', gw: '10.0.0.1'}]}},
		});
		expect(config.flushroutes).toBe(false);
		expect(config.skipcheck).toBe(true);
		expect(config.addroutes).toEqual([{dst: '10.9.0.0/16', gw: '10.0.0.1'}]);
	});

	it('treats args without cni as no overrides (the reference panics)', () => {
		expect(parseRouteOverrideConfig({...base, flushgateway: true, args: {labels: []}}).flushgateway).toBe(
			true,
		);
	});

	it('keeps CNI 1.1 route fields', () => {
		const route = {
			dst: '10.9.0.0/16',
			gw: '10.0.0.1',
			mtu: 1400,
			advmss: 1360,
			priority: 10,
			table: 100,
			scope: 0,
		};
		expect(parseRouteOverrideConfig({...base, addroutes: [route]}).addroutes).toEqual([route]);
	});

	it.each([
		[{addroutes: [{dst: 'nope'}]}, 'invalid route destination "nope"'],
		[{delroutes: [{dst: '10.0.0.0/24', gw: '10.0.0'}]}, 'invalid gateway "10.0.0"'],
		[{flushroutes: 'yes'}, 'flushroutes'],
	])('refuses %j with code 7', (extra, text) => {
		expect(() => parseRouteOverrideConfig({...base, ...extra})).toThrow(
			expect.objectContaining({code: 7, message: expect.stringContaining(text)}),
		);
	});
});
