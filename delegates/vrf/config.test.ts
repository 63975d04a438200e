import {describe, expect, it} from 'vitest';
import {parseVrfConfig, VRF_NAME_REQUIRED, VRF_TABLE_MAX} from './config.ts';

describe('vrf config', () => {
	it('reads vrfname and table; table defaults to 0 (pick one)', () => {
		expect(parseVrfConfig({cniVersion: '1.0.0', vrfname: 'blue'})).toMatchObject({vrfname: 'blue', table: 0});
		expect(parseVrfConfig({cniVersion: '1.0.0', vrfname: 'blue', table: 42}).table).toBe(42);
	});

	it('accepts "vrfName" as the reference tests send it (Go matches keys case-insensitively)', () => {
		expect(parseVrfConfig({cniVersion: '0.4.0', vrfName: 'red'}).vrfname).toBe('red');
	});

	it.each([{}, {vrfname: ''}])('refuses a missing or empty vrfname with the reference text: %j', (extra) => {
		expect(() => parseVrfConfig({cniVersion: '1.0.0', ...extra})).toThrow(
			expect.objectContaining({code: 7, message: expect.stringContaining(VRF_NAME_REQUIRED)}),
		);
	});

	it.each([-1, VRF_TABLE_MAX + 1, 1.5])('refuses table %s', (table) => {
		expect(() => parseVrfConfig({cniVersion: '1.0.0', vrfname: 'x', table})).toThrow(
			expect.objectContaining({code: 7, message: expect.stringContaining(`between 0 and ${VRF_TABLE_MAX}`)}),
		);
	});
});
