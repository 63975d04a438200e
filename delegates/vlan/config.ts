/**
 * The vlan delegate's config: `master`, `vlanId`, `mtu`, `linkInContainer`, `ipam`, `dns`, as in
 * containernetworking/plugins plugins/main/vlan (NetConf), plus the chained empty-master mode of the
 * unmerged containernetworking/plugins PR #993.
 */
import {CniError, CniErrorCode} from '../../src/cni/errors.ts';
import {z} from '../../src/cni/schema/index.ts';
import {foldKeys, parseConfig} from '../common/config.ts';

/** Highest VLAN id accepted (802.1Q: 4095 is reserved). The check and its message both use it. */
export const VLAN_ID_MAX = 4094;

/** Longest interface name the kernel accepts (IFNAMSIZ - 1). */
export const IFNAME_MAX = 15;

/** The reference's message for a missing master outside chained mode (people match on it). */
export const MASTER_REQUIRED =
	'"master" field is required. It specifies the host interface name to create the VLAN for';

/** The VLAN id error, built from {@link VLAN_ID_MAX} (the reference's text says 4095 but checks 4094). */
export function invalidVlanIdMessage(vlanId: unknown): string {
	return `invalid VLAN ID ${String(vlanId)} (must be between 0 and ${VLAN_ID_MAX} inclusive)`;
}

/** The reference's MTU error text, compared verbatim by its tests. */
export function invalidMtuMessage(mtu: number, masterMtu: number): string {
	return `invalid MTU ${mtu}, must be [0, master MTU(${masterMtu})]`;
}

const KEYS = [
	'cniVersion',
	'name',
	'type',
	'master',
	'vlanId',
	'mtu',
	'linkInContainer',
	'ipam',
	'dns',
	'prevResult',
] as const;

const dnsSchema = z.looseObject({
	nameservers: z.array(z.string()).optional(),
	domain: z.string().optional(),
	search: z.array(z.string()).optional(),
	options: z.array(z.string()).optional(),
});

export const vlanConfigSchema = z.looseObject({
	cniVersion: z.string(),
	name: z.string().optional(),
	type: z.string().optional(),
	master: z.string().default(''),
	vlanId: z
		.unknown()
		.optional()
		.transform((value, ctx) => {
			const id = value ?? 0;
			if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > VLAN_ID_MAX) {
				ctx.addIssue({code: 'custom', message: invalidVlanIdMessage(id)});
				return z.NEVER;
			}
			return id;
		}),
	mtu: z.number().int({error: '"mtu" must be an integer'}).default(0),
	linkInContainer: z.boolean().default(false),
	ipam: z.looseObject({type: z.string().default('')}).default({type: ''}),
	dns: dnsSchema.optional(),
	prevResult: z.record(z.string(), z.unknown()).optional(),
});

export type VlanConfig = z.infer<typeof vlanConfigSchema>;

/** Parses a vlan config. Kernel-dependent checks (master exists, MTU ≤ master MTU) come later. */
export function parseVlanConfig(raw: Record<string, unknown>): VlanConfig {
	return parseConfig('vlan', vlanConfigSchema, foldKeys(raw, KEYS));
}

/** Where the VLAN's parent lives and what the new link is called, for one request. */
export interface VlanTarget {
	/** The parent link's name. */
	master: string;
	/** True when the parent is looked up inside CNI_NETNS. */
	masterInContainer: boolean;
	/** The final name of the VLAN link inside CNI_NETNS. */
	ifname: string;
	/** True in chained empty-master mode (the parent is CNI_IFNAME, the link `<CNI_IFNAME>.<vlanId>`). */
	chained: boolean;
}

/**
 * Resolves master and link name. With `linkInContainer: true` and no `master` the delegate runs in
 * chained mode: the previous plugin's interface `CNI_IFNAME` is the parent and the VLAN is named
 * `<CNI_IFNAME>.<vlanId>`. PR #993 also demanded a prevResult; Plexus requires it on ADD only
 * (`requirePrevResult`), so DEL and CHECK find the same link without one. A chained name over
 * {@link IFNAME_MAX} is an error unless `checkName` is false (DEL: such a link never existed).
 */
export function resolveVlanTarget(
	config: VlanConfig,
	ifname: string,
	requirePrevResult: boolean,
	checkName = true,
): VlanTarget {
	if (config.master !== '') {
		return {master: config.master, masterInContainer: config.linkInContainer, ifname, chained: false};
	}
	if (!config.linkInContainer || (requirePrevResult && config.prevResult === undefined)) {
		throw invalidConfig(MASTER_REQUIRED);
	}
	const name = `${ifname}.${config.vlanId}`;
	if (checkName && name.length > IFNAME_MAX) {
		const room = IFNAME_MAX - `.${config.vlanId}`.length;
		throw invalidConfig(
			`vlan interface name "${name}" is ${name.length} characters, over the kernel's limit of ${IFNAME_MAX}: ` +
				`in chained mode (no "master") the name is <CNI_IFNAME>.<vlanId>, so use an interface name of at most ${room} characters for vlanId ${config.vlanId}`,
		);
	}
	return {master: ifname, masterInContainer: true, ifname: name, chained: true};
}

/** A config problem found after parsing (code 7, like a schema failure). */
function invalidConfig(message: string): CniError {
	return new CniError(CniErrorCode.invalidConfig, message);
}
