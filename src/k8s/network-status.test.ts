import {describe, expect, test} from 'vitest';
import type {CniResult} from '../cni/result.ts';
import {formatNetworkStatus, networkStatusEntry} from './network-status.ts';

const bridgeResult: CniResult = {
	cniVersion: '1.0.0',
	interfaces: [
		{name: 'cni0', mac: '0a:00:00:00:00:01'},
		{name: 'veth1', mac: '0a:00:00:00:00:02'},
		{name: 'eth0', mac: '0a:58:0a:83:02:19', sandbox: '/var/run/netns/p'},
	],
	ips: [
		{interface: 2, address: '10.131.2.25/23', gateway: '10.131.2.1'},
		{interface: 0, address: '10.131.2.1/23'},
	],
	routes: [{dst: '0.0.0.0/0', gw: '10.131.2.1'}],
	dns: {nameservers: ['10.96.0.10'], search: ['svc.cluster.local']},
};

describe('networkStatusEntry', () => {
	test('the cluster network: sandbox interface, its IPs only, default true, dns', () => {
		expect(
			networkStatusEntry({name: 'cbr0', ifname: 'eth0', isClusterNetwork: true, result: bridgeResult}),
		).toEqual({
			name: 'cbr0',
			interface: 'eth0',
			ips: ['10.131.2.25'],
			mac: '0a:58:0a:83:02:19',
			default: true,
			dns: {nameservers: ['10.96.0.10'], search: ['svc.cluster.local']},
		});
	});

	test('a secondary network has default false and its default-route gateways', () => {
		const result: CniResult = {
			cniVersion: '0.3.1',
			interfaces: [{name: 'net1', mac: 'c6:b4:b5:74:11:88', sandbox: '/proc/1/ns/net'}],
			ips: [{version: '4', interface: 0, address: '192.168.100.10/24', gateway: '192.168.100.1'}],
			dns: {},
		};
		expect(
			networkStatusEntry({
				name: 'ns1/a',
				ifname: 'net1',
				isClusterNetwork: false,
				result,
				defaultRoute: ['192.168.100.1'],
			}),
		).toEqual({
			name: 'ns1/a',
			interface: 'net1',
			ips: ['192.168.100.10'],
			mac: 'c6:b4:b5:74:11:88',
			default: false,
			dns: {},
			'default-route': ['192.168.100.1'],
		});
	});

	test('without sandbox interfaces the IPs not tied to an interface are used (Calico style)', () => {
		const result: CniResult = {
			cniVersion: '1.0.0',
			interfaces: [{name: 'cali1'}],
			ips: [{address: '10.0.0.5/32'}, {interface: 0, address: '10.9.9.9/32'}],
		};
		expect(
			networkStatusEntry({name: 'k8s-pod-network', ifname: 'eth0', isClusterNetwork: true, result}),
		).toEqual({
			name: 'k8s-pod-network',
			interface: 'eth0',
			ips: ['10.0.0.5'],
			default: true,
			dns: {},
		});
	});

	test('a result with no interfaces still gets an entry (spec §5.1)', () => {
		expect(
			networkStatusEntry({
				name: 'ns1/empty',
				ifname: 'net2',
				isClusterNetwork: false,
				result: {cniVersion: '1.0.0'},
			}),
		).toEqual({
			name: 'ns1/empty',
			interface: 'net2',
			default: false,
			dns: {},
		});
		expect(
			networkStatusEntry({name: 'ns1/none', ifname: 'net3', isClusterNetwork: false, result: undefined}),
		).toEqual({
			name: 'ns1/none',
			interface: 'net3',
			default: false,
			dns: {},
		});
	});

	test('0.2.0 results are read through the conversion table', () => {
		const result: CniResult = {cniVersion: '0.2.0', ip4: {ip: '10.1.0.2/16', gateway: '10.1.0.1'}, dns: {}};
		expect(networkStatusEntry({name: 'old', ifname: 'eth0', isClusterNetwork: true, result})).toMatchObject({
			interface: 'eth0',
			ips: ['10.1.0.2'],
			default: true,
		});
	});

	test('device-info is passed through', () => {
		const deviceInfo = {type: 'pci', version: '1.1.0', pci: {'pci-address': '0000:18:02.5'}};
		expect(
			networkStatusEntry({
				name: 'ns1/sriov',
				ifname: 'net1',
				isClusterNetwork: false,
				result: undefined,
				deviceInfo,
			})['device-info'],
		).toEqual(deviceInfo);
	});
});

describe('formatNetworkStatus', () => {
	test('is a JSON list in attachment order', () => {
		const text = formatNetworkStatus([
			{name: 'cbr0', ifname: 'eth0', isClusterNetwork: true, result: bridgeResult},
			{name: 'ns1/a', ifname: 'net1', isClusterNetwork: false, result: undefined},
		]);
		expect((JSON.parse(text) as {name: string; default: boolean}[]).map((e) => [e.name, e.default])).toEqual([
			['cbr0', true],
			['ns1/a', false],
		]);
	});
});
