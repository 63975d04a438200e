import {describe, expect, test} from 'vitest';
import {
	ConfListSchema,
	describeIssues,
	ErrorSchema,
	PluginConfSchema,
	Result020Schema,
	Result040Schema,
	Result100Schema,
	VersionReplySchema,
} from './spec.ts';

describe('schemas', () => {
	test('a plugin conf keeps unknown keys', () => {
		const conf = {type: 'bridge', bridge: 'cni0', ipam: {type: 'static', addresses: []}, extra: {a: 1}};
		expect(PluginConfSchema.parse(conf)).toEqual(conf);
	});

	test('a plugin conf needs a type and boolean capabilities', () => {
		const noType = PluginConfSchema.safeParse({name: 'x'});
		expect(noType.success).toBe(false);
		if (!noType.success) expect(describeIssues(noType.error)).toMatch(/"type"/);
		const badCaps = PluginConfSchema.safeParse({type: 'x', capabilities: {mac: 'yes'}});
		expect(badCaps.success).toBe(false);
		if (!badCaps.success) expect(describeIssues(badCaps.error)).toMatch(/"capabilities.mac"/);
	});

	test('a conflist takes lenient booleans and keeps unknown keys', () => {
		const list = {
			name: 'n',
			cniVersion: '1.0.0',
			disableCheck: 'TRUE',
			disableGC: false,
			plugins: [],
			foo: 'bar',
		};
		expect(ConfListSchema.parse(list)).toEqual(list);
		expect(ConfListSchema.safeParse({...list, disableCheck: 'yes'}).success).toBe(false);
		expect(ConfListSchema.safeParse({cniVersion: '1.0.0'}).success).toBe(false);
	});

	test('results of each layout', () => {
		expect(Result100Schema.safeParse({cniVersion: '1.1.0', ips: [{address: '10.0.0.1/24'}]}).success).toBe(
			true,
		);
		expect(Result040Schema.safeParse({cniVersion: '0.4.0', ips: [{address: '10.0.0.1/24'}]}).success).toBe(
			false,
		);
		expect(
			Result040Schema.safeParse({cniVersion: '0.4.0', ips: [{version: '4', address: '10.0.0.1/24'}]}).success,
		).toBe(true);
		expect(Result020Schema.safeParse({cniVersion: '0.2.0', ip4: {ip: '10.0.0.1/24'}}).success).toBe(true);
		expect(Result100Schema.safeParse({cniVersion: '1.1.0', routes: [{gw: '10.0.0.1'}]}).success).toBe(false);
	});

	test('error and VERSION reply', () => {
		expect(ErrorSchema.parse({cniVersion: '1.0.0', code: 7, msg: 'bad', details: 'd'})).toMatchObject({
			code: 7,
		});
		expect(ErrorSchema.safeParse({msg: 'no code'}).success).toBe(false);
		expect(VersionReplySchema.parse({cniVersion: '1.0.0', supportedVersions: ['1.0.0']})).toBeTruthy();
	});
});
