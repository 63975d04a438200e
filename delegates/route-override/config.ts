/**
 * The route-override delegate's config: `flushroutes`, `flushgateway`, `delroutes`, `addroutes`,
 * `skipcheck`, each also under `args.cni` (the CNI "args in network config" convention), as in
 * redhat-nfvpe/cni-route-override (= openshift/route-override-cni).
 */
import {z} from '../../src/cni/schema/index.ts';
import {foldKeys, parseConfig} from '../common/config.ts';
import {canonicalPrefix, isAddress} from '../common/ip.ts';

const KEYS = [
	'cniVersion',
	'name',
	'type',
	'flushroutes',
	'flushgateway',
	'delroutes',
	'addroutes',
	'skipcheck',
	'args',
	'prevResult',
] as const;

/** The keys that `args.cni` may override. */
const OVERRIDE_KEYS = ['flushroutes', 'flushgateway', 'delroutes', 'addroutes', 'skipcheck'] as const;

/** A destination prefix (`10.0.0.0/24`, `::/0`); a bare address means a host route. */
const prefix = z.string().refine(
	(value) => {
		try {
			canonicalPrefix(value);
			return true;
		} catch {
			return false;
		}
	},
	{error: (issue) => `invalid route destination ${JSON.stringify(issue.input)}: expected an IP prefix`},
);

const address = z.string().refine(isAddress, {
	error: (issue) => `invalid gateway ${JSON.stringify(issue.input)}: expected an IP address`,
});

/** A route entry: CNI's route type, with the 1.1 fields kept. */
const routeSchema = z.looseObject({
	dst: prefix,
	gw: address.optional(),
	mtu: z.number().int().nonnegative().optional(),
	advmss: z.number().int().nonnegative().optional(),
	priority: z.number().int().nonnegative().optional(),
	table: z.number().int().nonnegative().optional(),
	scope: z.number().int().min(0).max(255).optional(),
});

export type RouteEntry = z.infer<typeof routeSchema>;

const settingsShape = {
	flushroutes: z.boolean().default(false),
	flushgateway: z.boolean().default(false),
	delroutes: z.array(routeSchema).default([]),
	addroutes: z.array(routeSchema).default([]),
	skipcheck: z.boolean().default(false),
};

export const routeOverrideConfigSchema = z.looseObject({
	cniVersion: z.string(),
	name: z.string().optional(),
	type: z.string().optional(),
	...settingsShape,
	prevResult: z.record(z.string(), z.unknown()).optional(),
});

export type RouteOverrideConfig = z.infer<typeof routeOverrideConfigSchema>;

/**
 * Parses a route-override config; keys under `args.cni` override the top-level ones. The reference
 * panics on `args` without `cni`; here that is simply "no overrides".
 */
export function parseRouteOverrideConfig(raw: Record<string, unknown>): RouteOverrideConfig {
	const folded = foldKeys(raw, KEYS);
	const merged: Record<string, unknown> = {...folded};
	const args = folded['args'];
	if (typeof args === 'object' && args !== null) {
		const cni = (args as Record<string, unknown>)['cni'];
		if (typeof cni === 'object' && cni !== null) {
			const overrides = foldKeys(cni as Record<string, unknown>, OVERRIDE_KEYS);
			for (const key of OVERRIDE_KEYS) if (key in overrides) merged[key] = overrides[key];
		}
	}
	return parseConfig('route-override', routeOverrideConfigSchema, merged);
}
