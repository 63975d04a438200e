/**
 * A built-in delegate's config checked before anything runs, with the built-in's own parser (what
 * its ADD does first, so the error is ADD's), and its unknown keys that look like a misspelled
 * known one ("vrfnmae": did you mean "vrfname"?). Keys are matched case-insensitively, as the
 * built-ins (and Go's encoding/json in the reference plugins) match them.
 */
import {
	parseRouteOverrideConfig,
	routeOverrideConfigSchema,
} from '../../../delegates/route-override/config.ts';
import {parseVlanConfig, vlanConfigSchema} from '../../../delegates/vlan/config.ts';
import {parseVrfConfig, vrfConfigSchema} from '../../../delegates/vrf/config.ts';
import {CniError, toCniError} from '../../cni/errors.ts';

interface BuiltinConfig {
	parse: (raw: Record<string, unknown>) => unknown;
	keys: readonly string[];
}

/** Keys every delegate config may carry (the spec's, and what runtimes add). */
const SPEC_KEYS = [
	'cniVersion',
	'cniVersions',
	'name',
	'type',
	'prevResult',
	'runtimeConfig',
	'capabilities',
	'args',
	'ipam',
	'dns',
];

const BUILTIN_CONFIGS: Readonly<Record<string, BuiltinConfig>> = {
	vrf: {parse: parseVrfConfig, keys: Object.keys(vrfConfigSchema.shape)},
	vlan: {parse: parseVlanConfig, keys: Object.keys(vlanConfigSchema.shape)},
	'route-override': {parse: parseRouteOverrideConfig, keys: Object.keys(routeOverrideConfigSchema.shape)},
};

/** Levenshtein distance (small strings: config keys). */
function distance(a: string, b: string): number {
	let previous = Array.from({length: b.length + 1}, (_, j) => j);
	for (let i = 1; i <= a.length; i++) {
		const current = [i];
		for (let j = 1; j <= b.length; j++) {
			const cost = a[i - 1] === b[j - 1] ? 0 : 1;
			current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
		}
		previous = current;
	}
	return previous[b.length] ?? 0;
}

/** "did you mean" hints for the config's unknown keys close to a known one. */
function misspellings(config: Record<string, unknown>, known: readonly string[]): string[] {
	const all = [...new Set([...known, ...SPEC_KEYS])];
	const lower = new Set(all.map((k) => k.toLowerCase()));
	const hints: string[] = [];
	for (const key of Object.keys(config)) {
		if (lower.has(key.toLowerCase())) continue;
		const near = all
			.map((k) => ({k, d: distance(key.toLowerCase(), k.toLowerCase())}))
			.filter(({k, d}) => d <= (k.length <= 4 ? 1 : 2))
			.sort((x, y) => x.d - y.d)[0];
		if (near !== undefined) hints.push(`unknown key "${key}": did you mean "${near.k}"?`);
	}
	return hints;
}

/** What checking one built-in's config found: ADD's error (if its parser refuses it) and hints. */
export interface BuiltinCheck {
	error: CniError | undefined;
	hints: string[];
}

/**
 * Checks the config a built-in of `type` would get on stdin (its `prevResult`, unknown before the
 * previous plugin runs, left out). `describe` is how the executor names the plugin in its errors.
 */
export function checkBuiltinConfig(type: string, stdin: string, describe: string): BuiltinCheck {
	const builtin = BUILTIN_CONFIGS[type];
	if (builtin === undefined) return {error: undefined, hints: []};
	const {prevResult: _unknownYet, ...config} = JSON.parse(stdin) as Record<string, unknown>;
	let error: CniError | undefined;
	try {
		builtin.parse(config);
	} catch (err) {
		const cause = toCniError(err);
		error = new CniError(cause.code, `plugin ${describe} failed (add): ${cause.message}`, {
			details: cause.details,
			cause,
		});
	}
	return {error, hints: misspellings(config, builtin.keys)};
}
