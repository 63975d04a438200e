import {describe, expect, it} from 'vitest';
import {REDACTED, redactStdin, redactValue} from './redact.ts';

describe('redact', () => {
	it('replaces secret-named values at any depth and keeps the rest', () => {
		const conf = {
			cniVersion: '1.0.0',
			name: 'wg',
			type: 'wireguard',
			privateKey: 'AAAA',
			peers: [{publicKey: 'BBBB', endpoint: '1.2.3.4:51820'}],
			ipam: {type: 'whereabouts', kubernetes: {token: 't', password: 'p', clientKeyData: 'k'}},
			auth: {apiKey: 'x', Secret: 'y', credentials: 'z', certData: 'c'},
			vlanId: 5,
			master: 'eth0',
		};
		expect(redactValue(conf)).toEqual({
			cniVersion: '1.0.0',
			name: 'wg',
			type: 'wireguard',
			privateKey: REDACTED,
			peers: [{publicKey: REDACTED, endpoint: '1.2.3.4:51820'}],
			ipam: {type: 'whereabouts', kubernetes: {token: REDACTED, password: REDACTED, clientKeyData: REDACTED}},
			auth: {apiKey: REDACTED, Secret: REDACTED, credentials: REDACTED, certData: REDACTED},
			vlanId: 5,
			master: 'eth0',
		});
	});

	it('does not log a stdin that is not JSON', () => {
		expect(redactStdin(new Uint8Array(Buffer.from('password=1')))).toBe('<10 bytes, not JSON: not logged>');
		expect(redactStdin(new Uint8Array(Buffer.from('{"token":"t","a":1}')))).toEqual({token: REDACTED, a: 1});
	});
});
