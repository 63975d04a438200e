/**
 * The last step of ADD and the events along the way: the pod's network-status annotation
 * (written through the API, never fatal) and its `AddedInterface` events.
 */
import {toCniError} from '../../cni/errors.ts';
import type {CniResult} from '../../cni/result.ts';
import {NETWORK_STATUS_ANNOTATION} from '../../k8s/annotations.ts';
import type {KubeClient, Pod} from '../../k8s/client.ts';
import {type AttachmentOutcome, formatNetworkStatus} from '../../k8s/network-status.ts';
import {log} from '../../log.ts';
import {type Invocation, ipsOf, postEvent} from '../invocation.ts';
import type {Attachment} from '../resolve/attachment.ts';

/** Posts the `AddedInterface` event of an attachment that is up. */
export function announceAttachment(
	kube: KubeClient | undefined,
	pod: Pod | undefined,
	a: Attachment,
	result: CniResult,
): Promise<void> {
	return postEvent(
		kube,
		pod,
		'Normal',
		'AddedInterface',
		`Add ${a.ifname} [${ipsOf(result).join(',')}] from ${a.network}`,
	);
}

/**
 * Writes the pod's network-status (every attachment but the auxiliary chain). The attachments
 * work: a failed write is logged, it must not tear them down.
 */
export async function publishNetworkStatus(
	inv: Invocation,
	kube: KubeClient | undefined,
	pod: Pod | undefined,
	attachments: readonly Attachment[],
	outcomes: readonly AttachmentOutcome[],
): Promise<void> {
	if (kube === undefined || pod === undefined) return;
	try {
		const outcome = await kube.setPodAnnotation(
			pod.namespace,
			pod.name,
			pod.uid,
			NETWORK_STATUS_ANNOTATION,
			formatNetworkStatus(outcomes.filter((_, i) => attachments[i]?.auxiliary !== true)),
		);
		if (outcome !== 'written') log('warning', 'network-status not written', {pod: inv.pod, outcome});
	} catch (error) {
		log('error', 'failed to write network-status', {pod: inv.pod, error: toCniError(error).message});
	}
}
