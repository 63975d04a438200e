import {describe, expect, test} from 'vitest';
import {BUILTIN_TYPES} from '../../delegates/builtin-types.ts';
import {CHAIN_USAGE, disabledBuiltins} from './chain.ts';

describe('disabledBuiltins', () => {
	test('none by default; a list, or "all", from the option or else PLEXUS_DISABLE_BUILTINS', () => {
		expect(disabledBuiltins(undefined, {})).toEqual([]);
		expect(disabledBuiltins('vlan, vrf', {})).toEqual(['vlan', 'vrf']);
		expect(disabledBuiltins('all', {})).toEqual([...BUILTIN_TYPES]);
		expect(disabledBuiltins(undefined, {PLEXUS_DISABLE_BUILTINS: 'route-override'})).toEqual([
			'route-override',
		]);
		expect(disabledBuiltins('', {PLEXUS_DISABLE_BUILTINS: 'all'})).toEqual([]);
	});

	test('an unknown type is refused, naming it and the built-ins', () => {
		expect(() => disabledBuiltins('vlna', {})).toThrow(
			'invalid --disable-builtins: "vlna" is not a built-in delegate, expected "all" or some of vrf, vlan, route-override',
		);
	});

	test('the help names the option and the variable', () => {
		expect(CHAIN_USAGE).toContain('--disable-builtins <types>');
		expect(CHAIN_USAGE).toContain('PLEXUS_DISABLE_BUILTINS');
	});
});
