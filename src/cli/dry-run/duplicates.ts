/**
 * Static addresses that two attachments of one pod would both configure. ADD does not refuse
 * them (the kernel takes the same address on two links), but in one routing domain they make
 * replies leave by the wrong interface. Attachments in different VRFs (a `vrf` plugin in the
 * chain, by `vrfname`) are separate domains, as in seed 000's blue and red networks.
 */
import {isJsonObject} from '../../cni/json.ts';
import type {AttachmentPlan, Finding} from './types.ts';

/** The static IPAM addresses (without prefix length) and the VRF of one attachment's chain. */
function addressesOf(attachment: AttachmentPlan): {vrf: string; addresses: string[]} {
	let vrf = '';
	const addresses: string[] = [];
	for (const plugin of attachment.plugins) {
		const config = JSON.parse(plugin.stdin) as Record<string, unknown>;
		if (plugin.type === 'vrf') {
			const name = Object.entries(config).find(([k]) => k.toLowerCase() === 'vrfname')?.[1];
			if (typeof name === 'string') vrf = name;
		}
		const ipam = config['ipam'];
		if (!isJsonObject(ipam) || ipam['type'] !== 'static' || !Array.isArray(ipam['addresses'])) continue;
		for (const a of ipam['addresses'])
			if (isJsonObject(a) && typeof a['address'] === 'string')
				addresses.push(a['address'].split('/')[0] ?? '');
	}
	return {vrf, addresses};
}

/** A warning per address two attachments in one routing domain would both have. */
export function duplicateAddresses(attachments: readonly AttachmentPlan[]): Finding[] {
	const seen = new Map<string, AttachmentPlan>();
	const findings: Finding[] = [];
	for (const attachment of attachments) {
		const {vrf, addresses} = addressesOf(attachment);
		for (const address of new Set(addresses)) {
			const key = `${vrf}\u0000${address.toLowerCase()}`;
			const first = seen.get(key);
			if (first === undefined) {
				seen.set(key, attachment);
				continue;
			}
			const domain = vrf === '' ? 'the main routing table' : `VRF "${vrf}"`;
			findings.push({
				severity: 'warning',
				message: `address ${address} is configured on both "${first.ifname}" (${first.network}) and "${attachment.ifname}" (${attachment.network}), in ${domain}`,
				network: attachment.network,
			});
		}
	}
	return findings;
}
