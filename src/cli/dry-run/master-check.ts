/**
 * The master link a delegate needs on the node (macvlan, ipvlan, vlan without
 * `linkInContainer`), checked against the node's links when dry-run runs on the node
 * (`--check-host`). The error is the one each plugin's ADD fails with when the link is missing:
 * the reference macvlan's bare netlink text, ipvlan's and the vlan built-in's lookup message.
 */
import {CniError, CniErrorCode} from '../../cni/errors.ts';

const MISSING_MASTER: Readonly<Record<string, (master: string) => CniError>> = {
	macvlan: () => new CniError(CniErrorCode.internal, 'Link not found'),
	ipvlan: (master) =>
		new CniError(CniErrorCode.internal, `failed to lookup master "${master}": Link not found`),
	vlan: (master) =>
		new CniError(CniErrorCode.invalidConfig, `failed to lookup master "${master}": link not found`),
};

/**
 * ADD's error when the plugin of `type` with config `stdin` names a master link the node lacks;
 * undefined when it names none, looks it up in the container, or the node has it.
 */
export function missingMaster(
	type: string,
	stdin: string,
	hostLinks: ReadonlySet<string>,
): CniError | undefined {
	const error = MISSING_MASTER[type];
	if (error === undefined) return undefined;
	const config = JSON.parse(stdin) as Record<string, unknown>;
	const master = config['master'];
	if (typeof master !== 'string' || master === '' || config['linkInContainer'] === true) return undefined;
	return hostLinks.has(master) ? undefined : error(master);
}
