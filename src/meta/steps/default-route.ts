/**
 * Step 4 of ADD: the pod's `default-route` element, applied in its netns once every attachment
 * is up (../default-route.ts), through the Netlink port.
 */
import type {AttachmentOutcome} from '../../k8s/network-status.ts';
import type {Invocation} from '../invocation.ts';
import type {MetaPorts} from '../ports.ts';
import type {Attachment} from '../resolve/attachment.ts';

/**
 * Moves the default route to the attachment that asked for it, if one did; a failure is handed
 * to `fail` (the rollback), whose error is thrown.
 */
export async function applyDefaultRoute(
	inv: Invocation,
	ports: Pick<MetaPorts, 'netlink'>,
	attachments: readonly Attachment[],
	outcomes: AttachmentOutcome[],
	fail: (a: Attachment, message: string, error: unknown) => Promise<Error>,
): Promise<void> {
	const chosen = attachments.findIndex((a) => a.defaultRoute !== undefined);
	if (chosen === -1) return;
	const a = attachments[chosen]!;
	try {
		await inv.moveDefaultRoute(chosen, attachments, outcomes, await ports.netlink());
	} catch (error) {
		throw await fail(
			a,
			`failed to move the default route of ${inv.pod} to interface "${a.ifname}" (network "${a.network}")`,
			error,
		);
	}
}
