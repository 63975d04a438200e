import {describe, expect, it} from 'vitest';
import {foldKeys} from './config.ts';

describe('foldKeys (Go encoding/json key matching)', () => {
	it('renames case variants to the canonical key', () => {
		expect(foldKeys({vrfName: 'blue', TABLE: 3}, ['vrfname', 'table'])).toEqual({vrfname: 'blue', table: 3});
	});

	it('prefers the exact spelling, wherever it appears', () => {
		expect(foldKeys({vrfname: 'exact', VRFNAME: 'variant'}, ['vrfname'])).toEqual({vrfname: 'exact'});
		expect(foldKeys({VRFNAME: 'variant', vrfname: 'exact'}, ['vrfname'])).toEqual({vrfname: 'exact'});
	});

	it('keeps the last of several variants, as Go decodes them in order', () => {
		expect(foldKeys({VrfName: 'first', VRFNAME: 'last'}, ['vrfname'])).toEqual({vrfname: 'last'});
	});

	it('keeps unknown keys untouched', () => {
		expect(foldKeys({Custom: 1, vrfname: 'x'}, ['vrfname'])).toEqual({Custom: 1, vrfname: 'x'});
	});
});
