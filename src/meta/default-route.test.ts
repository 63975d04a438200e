import {describe, expect, test} from 'vitest';
import type {CniResult} from '../cni/result.ts';
import {defaultGateways, familiesOf, rewriteDefaultRoutes} from './default-route.ts';

const result: CniResult = {
	cniVersion: '1.0.0',
	interfaces: [{name: 'eth0', sandbox: '/var/run/netns/p'}],
	ips: [
		{interface: 0, address: '10.0.0.2/24', gateway: '10.0.0.1'},
		{interface: 0, address: '10.0.1.2/24', gateway: '10.0.1.1'},
		{interface: 0, address: 'fd00::2/64', gateway: 'fd00::1'},
	],
	routes: [
		{dst: '0.0.0.0/0', gw: '10.0.0.1'},
		{dst: '::/0', gw: 'fd00::1'},
		{dst: '10.96.0.0/12', gw: '10.0.0.1'},
	],
};

describe('defaultGateways', () => {
	test('the requested gateways win', () => {
		expect(defaultGateways(['192.168.1.1'], result)).toEqual(['192.168.1.1']);
	});

	test('an empty request keeps the result gateways, one per family', () => {
		expect(defaultGateways([], result)).toEqual(['10.0.0.1', 'fd00::1']);
	});
});

describe('rewriteDefaultRoutes', () => {
	test('drops the default routes of the moved families only', () => {
		expect(
			(rewriteDefaultRoutes(result, familiesOf(['192.168.1.1']), undefined) as {routes: unknown[]}).routes,
		).toEqual([
			{dst: '::/0', gw: 'fd00::1'},
			{dst: '10.96.0.0/12', gw: '10.0.0.1'},
		]);
	});

	test('replaces them on the chosen attachment and keeps the result version', () => {
		const old: CniResult = {
			cniVersion: '0.4.0',
			interfaces: [{name: 'net1', sandbox: '/p'}],
			ips: [{version: '4', interface: 0, address: '192.168.1.5/24'}],
			routes: [{dst: '0.0.0.0/0', gw: '192.168.1.254'}],
			dns: {},
		};
		expect(rewriteDefaultRoutes(old, familiesOf(['192.168.1.1']), ['192.168.1.1'])).toEqual({
			cniVersion: '0.4.0',
			interfaces: [{name: 'net1', sandbox: '/p'}],
			ips: [{version: '4', interface: 0, address: '192.168.1.5/24'}],
			routes: [{dst: '0.0.0.0/0', gw: '192.168.1.1'}],
			dns: {},
		});
	});
});
