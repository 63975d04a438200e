import {describe, expect, test} from 'vitest';
import {CniError, CniErrorCode, isCniError, toCniError} from './errors.ts';

describe('CniError', () => {
	test('renders the spec wire form, omitting empty details', () => {
		const err = new CniError(CniErrorCode.invalidConfig, 'invalid vlan config');
		expect(err.toJson('1.1.0')).toEqual({cniVersion: '1.1.0', code: 7, msg: 'invalid vlan config'});
		const withDetails = new CniError(CniErrorCode.decodeFailure, 'bad json', {details: 'at byte 3'});
		expect(withDetails.toJson('0.4.0')).toEqual({
			cniVersion: '0.4.0',
			code: 6,
			msg: 'bad json',
			details: 'at byte 3',
		});
	});

	test('toCniError passes a CniError through unchanged', () => {
		const err = new CniError(CniErrorCode.tryAgainLater, 'busy');
		expect(toCniError(err)).toBe(err);
	});

	test('toCniError turns anything else into code 999 and keeps the cause', () => {
		const cause = new Error('boom');
		const err = toCniError(cause);
		expect(err).toMatchObject({code: 999, message: 'boom'});
		expect(err.cause).toBe(cause);
		expect(toCniError('text')).toMatchObject({code: 999, message: 'text'});
	});

	test('isCniError recognises the class by name and code', () => {
		expect(isCniError(new CniError(1, 'x'))).toBe(true);
		expect(isCniError(new Error('x'))).toBe(false);
		expect(isCniError({name: 'CniError', code: 1})).toBe(false);
	});
});
