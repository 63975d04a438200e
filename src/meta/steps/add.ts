/**
 * ADD of the meta-plugin, as named steps: resolve (./resolve.ts) → persist the attachment cache
 * (./persist.ts) → run each attachment (./run-attachments.ts) → default route
 * (./default-route.ts) → device info (with each attachment) → network-status and events
 * (./network-status.ts). A failure after the cache is written rolls everything back first.
 */
import {CniError, CniErrorCode, toCniError} from '../../cni/errors.ts';
import {convertResult} from '../../cni/result.ts';
import type {AttachmentOutcome} from '../../k8s/network-status.ts';
import {log} from '../../log.ts';
import type {PodCacheEntry} from '../cache.ts';
import type {Invocation} from '../invocation.ts';
import {requireNetns} from '../netns-guard.ts';
import type {MetaPorts} from '../ports.ts';
import type {Attachment} from '../resolve/attachment.ts';
import {applyDefaultRoute} from './default-route.ts';
import {publishNetworkStatus} from './network-status.ts';
import {persistAttachments} from './persist.ts';
import {readPodForAdd, resolveForAdd} from './resolve.ts';
import {runAttachments} from './run-attachments.ts';

/** A failed ADD, after its rollback: ADD's error, with the rollback's own failures apart. */
export class RolledBackError extends CniError {
	/** What undoing the attachments failed on (also in `details`). */
	readonly rollbackErrors: readonly CniError[];
	/** The network (attachment) that failed. */
	readonly network: string;

	constructor(message: string, cause: CniError, rollbackErrors: readonly CniError[], network: string) {
		const failed = rollbackErrors.map((e) => e.message).join('; ');
		super(cause.code, message, {
			details: failed === '' ? cause.details : `rollback failed: ${failed}`,
			cause,
		});
		this.rollbackErrors = rollbackErrors;
		this.network = network;
	}
}

/** What a successful ADD did: the attachments, and what each returned (network-status order). */
export interface AddRun {
	attachments: Attachment[];
	outcomes: AttachmentOutcome[];
}

/**
 * Undoes what ran of `entry` and returns the error ADD reports: `msg: cause` plus the rollback's
 * failures; `a` is the attachment that failed.
 */
export async function rollback(
	inv: Invocation,
	entry: PodCacheEntry,
	a: Attachment,
	msg: string,
	error: unknown,
): Promise<RolledBackError> {
	const cause = toCniError(error);
	const undone = await inv.undo(entry.attachments);
	const failed = undone.errors.map((e) => e.message).join('; ');
	try {
		await inv.settle(entry, undone, `rollback of a failed ADD (${cause.message}): ${failed}`);
	} catch (settleError) {
		log('error', 'failed to record the rollback in the plexus cache', {
			error: toCniError(settleError).message,
		});
	}
	return new RolledBackError(`${msg}: ${cause.message}`, cause, undone.errors, a.network);
}

/**
 * Runs the pod's ADD through every step.
 *
 * @throws CniError code 8 for a CNI_NETNS that is no netns, code 50 when not ready, resolution's
 * code 7, or a RolledBackError when a delegate or `default-route` failed (everything undone).
 */
export async function addPod(inv: Invocation, ports: MetaPorts): Promise<AddRun> {
	requireNetns(inv.request.netns, 'ADD', ports.probeNetns);
	await ports.ready(inv.conf, true);
	const kube = ports.kube(inv.conf, inv.request.env, 'ADD');
	const podRead = readPodForAdd(inv, kube);
	inv.readClusterNetwork(kube);
	const pod = await podRead;
	const attachments = await resolveForAdd(inv, kube, pod);
	inv.warmBuiltins(attachments);
	const entry = await persistAttachments(inv, attachments, pod?.uid);
	const fail = (a: Attachment, msg: string, error: unknown) => rollback(inv, entry, a, msg, error);
	// The attachments' events are in flight while the next ones run (each starts once the next
	// delegate has); ADD answers once all of them and the network-status write (sent before the
	// last ones) are done, or after the rollback.
	const events: Promise<void>[] = [];
	try {
		const outcomes = await runAttachments(inv, ports, entry, attachments, {kube, pod, events}, (a, error) =>
			fail(a, inv.addFailure(a), error),
		);
		await applyDefaultRoute(inv, ports, attachments, outcomes, fail);
		const written = publishNetworkStatus(inv, kube, pod, attachments, outcomes);
		inv.startDeferred();
		await Promise.all([written, ...events]);
		return {attachments, outcomes};
	} finally {
		inv.startDeferred();
		await Promise.all(events);
	}
}

/**
 * The ADD's answer to the runtime: the cluster network's result in the conf's cniVersion.
 *
 * @throws CniError code 999 when the cluster network produced none.
 */
export function clusterResult(inv: Invocation, run: AddRun): Record<string, unknown> {
	const cluster = run.outcomes.find((o) => o.isClusterNetwork)?.result;
	if (cluster === undefined)
		throw new CniError(CniErrorCode.internal, 'the cluster network produced no result');
	return convertResult(cluster, inv.conf.cniVersion) as unknown as Record<string, unknown>;
}
