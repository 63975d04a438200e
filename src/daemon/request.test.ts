import {describe, expect, it} from 'vitest';
import {applyInterfaceAttributes, parseThickRequest, requestEnv} from './request.ts';

const encode = (value: unknown) => new Uint8Array(Buffer.from(JSON.stringify(value)));
const conf = '{"cniVersion":"1.0.0","name":"n","type":"plexus"}';

describe('parseThickRequest', () => {
	it('decodes Multus api.Request: env map and base64 config bytes, kept exact', () => {
		const request = parseThickRequest(
			encode({env: {CNI_COMMAND: 'ADD', HOME: '/root'}, config: Buffer.from(conf).toString('base64')}),
		);
		expect(request.env).toEqual({CNI_COMMAND: 'ADD', HOME: '/root'});
		expect(Buffer.from(request.config).toString()).toBe(conf);
		expect(request.interfaceAttributes).toBeUndefined();
	});

	it('decodes interfaceAttributes of a /delegate request', () => {
		const request = parseThickRequest(
			encode({
				env: {CNI_COMMAND: 'ADD'},
				config: '',
				interfaceAttributes: {ips: ['10.1.1.2/24'], mac: '02:00:00:00:00:01', 'cni-args': {foo: 'bar'}},
			}),
		);
		expect(request.interfaceAttributes).toEqual({
			ips: ['10.1.1.2/24'],
			mac: '02:00:00:00:00:01',
			cniArgs: {foo: 'bar'},
		});
	});

	it.each([
		['not json', new Uint8Array(Buffer.from('{')), 'failed to decode daemon request: '],
		['an array', encode([]), 'expected a JSON object'],
		[
			'a non-string env value',
			encode({env: {CNI_COMMAND: 1}}),
			'"env.CNI_COMMAND" must be a string, got number',
		],
		['config not base64', encode({env: {}, config: 'a b'}), '"config" must be the base64 of the CNI config'],
		['config as an object', encode({env: {}, config: {}}), '"config" must be the base64'],
		['bad ips', encode({config: '', interfaceAttributes: {ips: [1]}}), '"interfaceAttributes.ips" must be'],
	])('fails with code 6 on %s', (_name, body, message) => {
		expect(() => parseThickRequest(body)).toThrow(expect.objectContaining({code: 6}));
		expect(() => parseThickRequest(body)).toThrow(message);
	});
});

describe('requestEnv', () => {
	it("keeps the runtime's CNI_PATH and CNI_ARGS and drops the shim's other variables", () => {
		const env = requestEnv(
			{
				env: {
					CNI_COMMAND: 'ADD',
					CNI_PATH: '/runtime/bin',
					CNI_ARGS: 'K8S_POD_NAME=p;K8S_POD_NAMESPACE=ns;EXTRA=1',
					SHIM_ONLY: 'x',
				},
				config: new Uint8Array(),
			},
			{PATH: '/usr/bin', CNI_NETNS: '/stale/from/daemon'},
			['/opt/cni/bin'],
		);
		expect(env).toEqual({
			PATH: '/usr/bin',
			CNI_COMMAND: 'ADD',
			CNI_PATH: '/runtime/bin',
			CNI_ARGS: 'K8S_POD_NAME=p;K8S_POD_NAMESPACE=ns;EXTRA=1',
		});
	});

	it('uses the daemon default CNI_PATH when the request has none', () => {
		const env = requestEnv({env: {CNI_COMMAND: 'DEL'}, config: new Uint8Array()}, {}, ['/opt/cni/bin', '/x']);
		expect(env['CNI_PATH']).toBe('/opt/cni/bin:/x');
	});
});

describe('applyInterfaceAttributes', () => {
	it('puts ips and mac in runtimeConfig and cni-args in args.cni', () => {
		const out = applyInterfaceAttributes(
			encode({cniVersion: '1.0.0', type: 'macvlan', runtimeConfig: {bandwidth: {}}, args: {cni: {a: 1}}}),
			{ips: ['10.0.0.5/24'], mac: '02:00:00:00:00:05', cniArgs: {b: 2}},
		);
		expect(JSON.parse(Buffer.from(out).toString())).toEqual({
			cniVersion: '1.0.0',
			type: 'macvlan',
			runtimeConfig: {bandwidth: {}, ips: ['10.0.0.5/24'], mac: '02:00:00:00:00:05'},
			args: {cni: {a: 1, b: 2}},
		});
	});

	it('returns the exact bytes when there is nothing to apply', () => {
		const bytes = new Uint8Array(Buffer.from(' {"type":"x"} '));
		expect(applyInterfaceAttributes(bytes, {})).toBe(bytes);
	});
});
