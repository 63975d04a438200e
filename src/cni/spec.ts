/**
 * Schemas for the CNI wire objects (SPEC.md "Network configuration format", "Result types",
 * "Error", "Version"), on src/cni/schema (zod's API and messages without zod's start-up cost).
 * Objects are `z.looseObject`: unknown keys are kept, because a plugin's own fields are part of
 * the config and a delegate must receive them untouched.
 */
import {z} from './schema/index.ts';

/** DNS block shared by configs and every result version. */
export const DnsSchema = z.looseObject({
	nameservers: z.array(z.string()).optional(),
	domain: z.string().optional(),
	search: z.array(z.string()).optional(),
	options: z.array(z.string()).optional(),
});

/** libcni reads booleans of a conflist as JSON booleans or the strings "true"/"false" (any case). */
const LenientBool = z.union([
	z.boolean(),
	z
		.string()
		.refine((s) => ['true', 'false'].includes(s.toLowerCase()), {message: 'expected "true" or "false"'}),
]);

/** One plugin's configuration (a conflist entry, or a deprecated single `.conf`). */
export const PluginConfSchema = z.looseObject({
	cniVersion: z.string().optional(),
	name: z.string().optional(),
	type: z.string().min(1, 'missing "type"'),
	capabilities: z.record(z.string(), z.boolean()).optional(),
	ipam: z.looseObject({type: z.string().optional()}).optional(),
	dns: DnsSchema.optional(),
	args: z.record(z.string(), z.unknown()).optional(),
	runtimeConfig: z.record(z.string(), z.unknown()).optional(),
	prevResult: z.record(z.string(), z.unknown()).optional(),
});
export type PluginConf = z.infer<typeof PluginConfSchema>;

/** A network configuration list (`.conflist`, the only format since 1.0.0). */
export const ConfListSchema = z.looseObject({
	cniVersion: z.string().optional(),
	cniVersions: z.array(z.string()).optional(),
	name: z.string(),
	disableCheck: LenientBool.optional(),
	disableGC: LenientBool.optional(),
	loadOnlyInlinedPlugins: LenientBool.optional(),
	plugins: z.array(z.record(z.string(), z.unknown())).optional(),
});
export type ConfList = z.infer<typeof ConfListSchema>;

const InterfaceSchema = z.looseObject({
	name: z.string(),
	mac: z.string().optional(),
	mtu: z.number().int().optional(),
	sandbox: z.string().optional(),
	socketPath: z.string().optional(),
	pciID: z.string().optional(),
});

const RouteSchema = z.looseObject({
	dst: z.string(),
	gw: z.string().optional(),
	mtu: z.number().int().optional(),
	advmss: z.number().int().optional(),
	priority: z.number().int().optional(),
	table: z.number().int().optional(),
	scope: z.number().int().optional(),
});

/** Result of 1.0.0 and 1.1.0. */
export const Result100Schema = z.looseObject({
	cniVersion: z.string(),
	interfaces: z.array(InterfaceSchema).optional(),
	ips: z
		.array(
			z.looseObject({
				interface: z.number().int().nonnegative().optional(),
				address: z.string(),
				gateway: z.string().optional(),
			}),
		)
		.optional(),
	routes: z.array(RouteSchema).optional(),
	dns: DnsSchema.optional(),
});

/** Result of 0.3.0, 0.3.1 and 0.4.0: like 1.0.0 plus `ips[].version`. */
export const Result040Schema = Result100Schema.extend({
	ips: z
		.array(
			z.looseObject({
				version: z.enum(['4', '6']),
				interface: z.number().int().nonnegative().optional(),
				address: z.string(),
				gateway: z.string().optional(),
			}),
		)
		.optional(),
});

const Ip020Schema = z.looseObject({
	ip: z.string(),
	gateway: z.string().optional(),
	routes: z.array(z.looseObject({dst: z.string(), gw: z.string().optional()})).optional(),
});

/** Result of 0.1.0 and 0.2.0. */
export const Result020Schema = z.looseObject({
	cniVersion: z.string(),
	ip4: Ip020Schema.optional(),
	ip6: Ip020Schema.optional(),
	dns: DnsSchema.optional(),
});

/** The error object a plugin prints (stdout, non-zero exit). */
export const ErrorSchema = z.looseObject({
	cniVersion: z.string().optional(),
	code: z.number().int().nonnegative(),
	msg: z.string(),
	details: z.string().optional(),
});

/** The VERSION reply. */
export const VersionReplySchema = z.looseObject({
	cniVersion: z.string(),
	supportedVersions: z.array(z.string()),
});

/** One entry of GC's `cni.dev/valid-attachments`. */
export const GcAttachmentSchema = z.object({containerID: z.string(), ifname: z.string()});
export type GcAttachment = z.infer<typeof GcAttachmentSchema>;

/** Formats schema issues as one line naming each offending path, for a CniError message. */
export function describeIssues(error: z.ZodError): string {
	return error.issues
		.map((issue) => `${issue.path.length > 0 ? `"${issue.path.join('.')}"` : 'value'}: ${issue.message}`)
		.join('; ');
}
