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
import {parseVlanConfig, resolveVlanTarget, vlanConfigSchema} from '../../../delegates/vlan/config.ts';
import {parseVrfConfig, vrfConfigSchema} from '../../../delegates/vrf/config.ts';
import {CniError, toCniError} from '../../cni/errors.ts';

interface BuiltinConfig {
	/** Parses the config as the built-in's ADD does, then checks what needs only CNI_IFNAME. */
	check: (raw: Record<string, unknown>, ifname: string) => void;
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
	vrf: {check: (raw) => parseVrfConfig(raw), keys: Object.keys(vrfConfigSchema.shape)},
	// vlan's ADD also resolves its master and link name first (chained mode: <CNI_IFNAME>.<vlanId>).
	vlan: {
		check: (raw, ifname) => resolveVlanTarget(parseVlanConfig(raw), ifname, true),
		keys: Object.keys(vlanConfigSchema.shape),
	},
	'route-override': {
		check: (raw) => parseRouteOverrideConfig(raw),
		keys: Object.keys(routeOverrideConfigSchema.shape),
	},
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
 * Checks the config a built-in of `type` would get on stdin for interface `ifname`. Its
 * `prevResult` is unknown before the previous plugin runs: an empty one stands in for it (the
 * built-in only needs to know there is one). `describe` is how the executor names the plugin.
 */
export function checkBuiltinConfig(
	type: string,
	stdin: string,
	describe: string,
	ifname: string,
): BuiltinCheck {
	const builtin = BUILTIN_CONFIGS[type];
	if (builtin === undefined) return {error: undefined, hints: []};
	const config = JSON.parse(stdin) as Record<string, unknown>;
	if (config['prevResult'] !== undefined) config['prevResult'] = {};
	let error: CniError | undefined;
	try {
		builtin.check(config, ifname);
	} catch (err) {
		const cause = toCniError(err);
		error = new CniError(cause.code, `plugin ${describe} failed (add): ${cause.message}`, {
			details: cause.details,
			cause,
		});
	}
	return {error, hints: misspellings(config, builtin.keys)};
}
