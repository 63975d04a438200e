import {describe, expect, it} from 'vitest';
import {BuiltinPluginExec} from '../chain/builtin-exec.ts';
import type {ExecRequest, PluginExec} from '../chain/plugin-exec.ts';
import {CniError} from '../cni/errors.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import type {DelegateSample} from '../daemon/metrics.ts';
import {timedExec} from './timed-exec.ts';

const request = (stdin: unknown, pluginPath = '/opt/cni/bin/macvlan', command = 'ADD'): ExecRequest => ({
	pluginPath,
	stdin: new Uint8Array(Buffer.from(JSON.stringify(stdin))),
	env: {
		CNI_COMMAND: command,
		CNI_IFNAME: 'net1',
		CNI_CONTAINERID: 'c1',
		CNI_NETNS: '/run/netns/x',
		CNI_PATH: '/opt/cni/bin',
	},
});

describe('timedExec', () => {
	it('reports each run with the network name from the conf and the binary name', async () => {
		const samples: DelegateSample[] = [];
		const inner: PluginExec = {
			find: async (type) => `/opt/cni/bin/${type}`,
			exec: async () => new Uint8Array(Buffer.from('{}')),
		};
		const timed = timedExec(inner, (s) => samples.push(s));
		expect(await timed.find('macvlan', ['/opt/cni/bin'])).toBe('/opt/cni/bin/macvlan');
		await timed.exec(request({name: 'ns1/net-a', type: 'macvlan'}));
		expect(samples).toEqual([
			{
				nad: 'ns1/net-a',
				plugin: 'macvlan',
				command: 'ADD',
				ifname: 'net1',
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
		const timed = timedExec(inner, () => undefined, {timeoutMs: 1500});
		await timed.exec(request({name: 'n'}));
		await timed.exec({...request({name: 'n'}), timeoutMs: 10});
		expect(seen).toEqual([1500, 10]);
	});

	it('reports a failure with its CNI code and rethrows it unchanged', async () => {
		const samples: DelegateSample[] = [];
		const failure = new CniError(11, 'busy');
		const inner: PluginExec = {find: async () => '', exec: async () => Promise.reject(failure)};
		const timed = timedExec(inner, (s) => samples.push(s), {nad: 'fixed'});
		await expect(timed.exec(request('not an object'))).rejects.toBe(failure);
		expect(samples).toMatchObject([{nad: 'fixed', plugin: 'macvlan', errorCode: 11, error: 'busy'}]);
	});

	it('times every verb of a built-in behind the same seam, by network name and type', async () => {
		const samples: DelegateSample[] = [];
		const failure = new CniError(7, 'bad');
		const builtin: CniPlugin = {
			type: 'route-override',
			supportedVersions: ['1.1.0'],
			add: async () => ({cniVersion: '1.1.0'}),
			del: async () => Promise.reject(failure),
			check: async () => undefined,
			status: async () => undefined,
		};
		const binaries: PluginExec = {
			find: async () => Promise.reject(new Error('no binaries here')),
			exec: async () => Promise.reject(new Error('no binaries here')),
		};
		const timed = timedExec(new BuiltinPluginExec(binaries, new Map([['route-override', builtin]])), (s) =>
			samples.push(s),
		);
		const path = await timed.find('route-override', ['/opt/cni/bin']);
		const conf = {cniVersion: '1.1.0', name: 'sip-net', type: 'route-override'};
		expect(JSON.parse(Buffer.from(await timed.exec(request(conf, path))).toString())).toEqual({
			cniVersion: '1.1.0',
		});
		await expect(timed.exec(request(conf, path, 'DEL'))).rejects.toBe(failure);
		await timed.exec(request(conf, path, 'STATUS'));
		expect(samples.map((s) => [s.nad, s.plugin, s.command, s.errorCode])).toEqual([
			['sip-net', 'route-override', 'ADD', undefined],
			['sip-net', 'route-override', 'DEL', 7],
			['sip-net', 'route-override', 'STATUS', undefined],
		]);
	});
});
