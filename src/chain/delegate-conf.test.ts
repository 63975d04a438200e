import {describe, expect, test} from 'vitest';
import {
	buildDelegateConf,
	buildGcConf,
	buildStatusConf,
	filterRuntimeConfig,
	marshalLikeGo,
} from './delegate-conf.ts';

describe('marshalLikeGo', () => {
	test('sorts keys by bytes at every level and escapes like Go', () => {
		expect(marshalLikeGo({b: 1, a: {z: [true, null], B: 'x<y>&z'}, ä: 0, Z: 1.5})).toBe(
			'{"Z":1.5,"a":{"B":"x\\u003cy\\u003e\\u0026z","z":[true,null]},"b":1,"ä":0}',
		);
	});
	test('numbers in Go float64 text (encoding/json strips the leading zero of an exponent)', () => {
		expect(marshalLikeGo([1e21, 1.5e-7, 1e-7, 1e-6, 1e20, 100, 0.5, -2.5e-10])).toBe(
			'[1e+21,1.5e-7,1e-7,0.000001,100000000000000000000,100,0.5,-2.5e-10]',
		);
		expect(marshalLikeGo(JSON.parse('[-0, 0]'))).toBe('[-0,0]');
	});
	test('U+2028/U+2029 are escaped', () => {
		expect(marshalLikeGo('a\u2028b\u2029')).toBe('"a\\u2028b\\u2029"');
	});
});

describe('buildDelegateConf', () => {
	const plugin = {
		type: 'tuning',
		name: 'own',
		cniVersion: '0.3.1',
		capabilities: {mac: true, ips: true, aliases: false},
		sysctl: {'a.b': '1'},
	};
	test('injects name/cniVersion over the plugin values and keeps every other field', () => {
		const {config} = buildDelegateConf({name: 'net', cniVersion: '1.0.0', plugin});
		expect(config).toEqual({...plugin, name: 'net', cniVersion: '1.0.0'});
		expect(plugin.name).toBe('own'); // the original object is not modified
	});
	test('runtimeConfig: only declared true capabilities with an argument', () => {
		expect(filterRuntimeConfig(plugin, {mac: 'm', aliases: ['a'], bandwidth: {}})).toEqual({mac: 'm'});
		expect(filterRuntimeConfig({type: 'x'}, {mac: 'm'})).toEqual({});
		const {stdin} = buildDelegateConf({
			name: 'n',
			cniVersion: '1.0.0',
			plugin,
			capabilityArgs: {ips: ['10.0.0.1/24'], x: 1},
		});
		expect(Buffer.from(stdin).toString()).toBe(
			'{"capabilities":{"aliases":false,"ips":true,"mac":true},"cniVersion":"1.0.0","name":"n","runtimeConfig":{"ips":["10.0.0.1/24"]},"sysctl":{"a.b":"1"},"type":"tuning"}',
		);
	});
	test('prevResult only when given', () => {
		const prev = {cniVersion: '1.0.0', ips: [{address: '10.0.0.2/24'}]};
		expect(
			buildDelegateConf({name: 'n', cniVersion: '1.0.0', plugin, prevResult: prev}).config['prevResult'],
		).toBe(prev);
		expect(buildDelegateConf({name: 'n', cniVersion: '1.0.0', plugin}).config).not.toHaveProperty(
			'prevResult',
		);
	});
});

test('STATUS and GC configs', () => {
	const plugin = {type: 'x', capabilities: {mac: true}};
	expect(buildStatusConf('n', '1.1.0', plugin).config).toEqual({
		type: 'x',
		capabilities: {mac: true},
		name: 'n',
		cniVersion: '1.1.0',
	});
	const gc = buildGcConf('n', '1.1.0', plugin, [{containerID: 'c', ifname: 'eth0'}]).config;
	expect(gc['cni.dev/valid-attachments']).toEqual([{containerID: 'c', ifname: 'eth0'}]);
	expect(gc['cni.dev/attachments']).toEqual([{containerID: 'c', ifname: 'eth0'}]);
	expect(buildGcConf('n', '1.1.0', plugin, undefined).config).not.toHaveProperty('cni.dev/attachments');
});
