/**
 * Step 3 of ADD: run each attachment as its own network list, in order, with its device
 * information prepared before and read after (device-info spec), and an `AddedInterface` event
 * once it is up.
 */
import type {CniResult} from '../../cni/result.ts';
import type {KubeClient, Pod} from '../../k8s/client.ts';
import type {AttachmentOutcome} from '../../k8s/network-status.ts';
import type {PodCacheEntry} from '../cache.ts';
import type {Invocation} from '../invocation.ts';
import type {MetaPorts} from '../ports.ts';
import type {Attachment} from '../resolve/attachment.ts';
import {inAttachmentOf} from '../scope.ts';
import {announceAttachment} from './network-status.ts';
import {progressOf} from './persist.ts';

/** Runs attachment `i` (device information around it) and returns its network-status outcome. */
export async function runAttachment(
	inv: Invocation,
	ports: Pick<MetaPorts, 'files'>,
	entry: PodCacheEntry,
	i: number,
	a: Attachment,
): Promise<AttachmentOutcome & {result: CniResult}> {
	await ports.files.prepare(a);
	const result: CniResult = await inAttachmentOf(inv, a, () =>
		inv.executor.addNetworkList(a.list, inv.runtimeConf(a), progressOf(inv.cache, entry, i)),
	);
	return {
		name: a.network,
		ifname: a.ifname,
		isClusterNetwork: a.isClusterNetwork,
		result,
		defaultRoute: a.defaultRoute,
		deviceInfo: await ports.files.read(a.capabilityArgs),
	};
}

/** Where the pod's events go, and the posts still in flight (never failing: postEvent logs). */
export interface PodTarget {
	kube: KubeClient | undefined;
	pod: Pod | undefined;
	events: Promise<void>[];
}

/**
 * Runs every attachment in order; the first failure is handed to `fail` (the rollback), whose
 * error is thrown. Each attachment's event is posted without waiting for it (`target.events`,
 * one per attachment, so bounded), once the next delegate binary has started: the next
 * attachment waits neither for the API server nor for the post's own work (`startDeferred`
 * starts what is left).
 */
export async function runAttachments(
	inv: Invocation,
	ports: Pick<MetaPorts, 'files'>,
	entry: PodCacheEntry,
	attachments: readonly Attachment[],
	target: PodTarget,
	fail: (a: Attachment, error: unknown) => Promise<Error>,
): Promise<AttachmentOutcome[]> {
	const outcomes: AttachmentOutcome[] = [];
	for (const [i, a] of attachments.entries()) {
		let outcome: AttachmentOutcome & {result: CniResult};
		try {
			outcome = await runAttachment(inv, ports, entry, i, a);
		} catch (error) {
			throw await fail(a, error);
		}
		outcomes.push(outcome);
		if (a.auxiliary !== true)
			target.events.push(
				inv.duringNextDelegate(() => announceAttachment(target.kube, target.pod, a, outcome.result)),
			);
	}
	return outcomes;
}
