import {describe, expect, it} from 'vitest';
import type {ExecRequest, PluginExec} from '../chain/plugin-exec.ts';
import {CniError} from '../cni/errors.ts';
import {FakeKubeClient} from '../k8s/fake-client.ts';
import {parsePlexusConf} from '../meta/conf/conf.ts';
import {TimedPluginExec, timedPlugin} from './delegate.ts';
import {KubeClients} from './meta.ts';
import type {DelegateSample} from './metrics.ts';

const conf = (extra: Record<string, unknown> = {}) =>
	parsePlexusConf({cniVersion: '1.0.0', name: 'n', type: 'plexus', clusterNetwork: 'cbr0', ...extra});

describe('KubeClients', () => {
	it('keeps one client per kubeconfig and bound, DEL bounded to 2 s', () => {
		const made: {kubeconfig: string; callTimeoutMs?: number}[] = [];
		const clients = new KubeClients((options) => {
			made.push(options);
			return new FakeKubeClient();
		});
		const a = clients.get(conf({kubeconfig: '/k1'}), {}, 'ADD');
		expect(clients.get(conf({kubeconfig: '/k1'}), {}, 'ADD')).toBe(a);
		const del = clients.get(conf({kubeconfig: '/k1'}), {}, 'DEL');
		expect(del).not.toBe(a);
		clients.get(conf({kubeconfig: '/k2', apiTimeoutMs: 500}), {}, 'ADD');
		expect(made).toEqual([
			{kubeconfig: '/k1'},
			{kubeconfig: '/k1', callTimeoutMs: 2000, requestTimeoutMs: 2000},
			{kubeconfig: '/k2', callTimeoutMs: 500, requestTimeoutMs: 500},
		]);
		expect(clients.size).toBe(3);
	});

	it('has no client without a kubeconfig or the in-cluster variables', () => {
		const clients = new KubeClients(() => new FakeKubeClient());
		expect(clients.get(conf(), {}, 'ADD')).toBeUndefined();
		expect(
			clients.get(conf(), {KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443'}, 'ADD'),
		).toBeDefined();
	});
});

describe('TimedPluginExec', () => {
	const request = (stdin: unknown): ExecRequest => ({
		pluginPath: '/opt/cni/bin/macvlan',
		stdin: new Uint8Array(Buffer.from(JSON.stringify(stdin))),
		env: {CNI_COMMAND: 'ADD'},
	});

	it('reports each run with the network name from the conf and the binary name', async () => {
		const samples: DelegateSample[] = [];
		const inner: PluginExec = {
			find: async (type) => `/opt/cni/bin/${type}`,
			exec: async () => new Uint8Array(Buffer.from('{}')),
		};
		const timed = new TimedPluginExec(inner, (s) => samples.push(s));
		expect(await timed.find('macvlan', ['/opt/cni/bin'])).toBe('/opt/cni/bin/macvlan');
		await timed.exec(request({name: 'ns1/net-a', type: 'macvlan'}));
		expect(samples).toEqual([
			{
				nad: 'ns1/net-a',
				plugin: 'macvlan',
				command: 'ADD',
				ifname: undefined,
				stdin: expect.any(Uint8Array),
				seconds: expect.any(Number),
			},
		]);
	});

	it('passes its timeout to each run unless the run has its own', async () => {
		const seen: (number | undefined)[] = [];
		const inner: PluginExec = {
			find: async () => '',
			exec: async (r) => {
				seen.push(r.timeoutMs);
				return new Uint8Array();
			},
		};
		const timed = new TimedPluginExec(inner, () => undefined, {timeoutMs: 1500});
		await timed.exec(request({name: 'n'}));
		await timed.exec({...request({name: 'n'}), timeoutMs: 10});
		expect(seen).toEqual([1500, 10]);
	});

	it('reports a failure with its CNI code and rethrows it unchanged', async () => {
		const samples: DelegateSample[] = [];
		const failure = new CniError(11, 'busy');
		const inner: PluginExec = {find: async () => '', exec: async () => Promise.reject(failure)};
		const timed = new TimedPluginExec(inner, (s) => samples.push(s), {nad: 'fixed'});
		await expect(timed.exec(request('not an object'))).rejects.toBe(failure);
		expect(samples).toMatchObject([{nad: 'fixed', plugin: 'macvlan', errorCode: 11}]);
	});
});

describe('timedPlugin', () => {
	it('reports every verb of an in-process delegate by network name and type, failures with their code', async () => {
		const samples: DelegateSample[] = [];
		const failure = new CniError(7, 'bad');
		const inner = {
			type: 'route-override',
			supportedVersions: ['1.0.0'],
			add: async () => ({cniVersion: '1.0.0'}),
			del: async () => Promise.reject(failure),
			check: async () => undefined,
			status: async () => undefined,
		};
		const plugin = timedPlugin(inner, (s) => samples.push(s));
		const request = (command: 'ADD' | 'DEL' | 'STATUS') => ({
			command,
			containerId: 'c',
			netns: '',
			ifname: 'net1',
			args: '',
			path: [],
			stdin: new Uint8Array(),
			config: {name: 'sip-net', type: 'route-override'},
			env: {},
		});
		expect(await plugin.add(request('ADD'))).toEqual({cniVersion: '1.0.0'});
		await expect(plugin.del(request('DEL'))).rejects.toBe(failure);
		await plugin.status?.(request('STATUS'));
		expect(plugin.gc).toBeUndefined();
		expect(plugin.supportedVersions).toEqual(['1.0.0']);
		expect(samples.map((s) => [s.nad, s.plugin, s.command, s.errorCode])).toEqual([
			['sip-net', 'route-override', 'ADD', undefined],
			['sip-net', 'route-override', 'DEL', 7],
			['sip-net', 'route-override', 'STATUS', undefined],
		]);
	});
});
