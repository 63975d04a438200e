/**
 * The vrf delegate's config: `vrfname` and `table`, as in containernetworking/plugins
 * plugins/meta/vrf (VRFNetConf).
 */
import {z} from '../../src/cni/schema/index.ts';
import {foldKeys, parseConfig} from '../common/config.ts';

/** Largest routing table id the kernel accepts (RTA_TABLE / IFLA_VRF_TABLE are u32). */
export const VRF_TABLE_MAX = 0xff_ff_ff_ff;

/**
 * Table ids that are never picked automatically: default (253), main (254) and local (255).
 * The reference picks them once 252 VRFs exist; Plexus skips them.
 */
export const RESERVED_TABLES: ReadonlySet<number> = new Set([253, 254, 255]);

/** The reference's message for an empty or missing `vrfname` (people match on it). */
export const VRF_NAME_REQUIRED = 'configuration is expected to have a valid vrf name';

/** Keys matched case-insensitively, as Go's encoding/json does for the reference plugin. */
const KEYS = ['cniVersion', 'name', 'type', 'vrfname', 'table', 'prevResult'] as const;

export const vrfConfigSchema = z.looseObject({
	cniVersion: z.string(),
	name: z.string().optional(),
	type: z.string().optional(),
	vrfname: z.string({error: VRF_NAME_REQUIRED}).min(1, {error: VRF_NAME_REQUIRED}),
	table: z
		.number({error: `"table" must be an integer between 0 and ${VRF_TABLE_MAX}`})
		.int({error: `"table" must be an integer between 0 and ${VRF_TABLE_MAX}`})
		.min(0, {error: `"table" must be an integer between 0 and ${VRF_TABLE_MAX}`})
		.max(VRF_TABLE_MAX, {error: `"table" must be an integer between 0 and ${VRF_TABLE_MAX}`})
		.default(0),
	prevResult: z.record(z.string(), z.unknown()).optional(),
});

export type VrfConfig = z.infer<typeof vrfConfigSchema>;

/** Parses a vrf config (any command: the reference validates `vrfname` on DEL too). */
export function parseVrfConfig(raw: Record<string, unknown>): VrfConfig {
	return parseConfig('vrf', vrfConfigSchema, foldKeys(raw, KEYS));
}
