/**
 * DEL of the meta-plugin: replay the persisted attachments (offline); without a usable cache, a
 * pod Multus ADDed (../../multus/legacy.ts), else the attachments resolved again from the API.
 * DEL converges: what cannot be known any more is skipped, never a reason to keep the pod.
 */
import {CniError, CniErrorCode, toCniError} from '../../cni/errors.ts';
import type {Pod} from '../../k8s/client.ts';
import {log} from '../../log.ts';
import type {PodCacheEntry} from '../cache.ts';
import {aggregate, type Invocation, isStaticPod, toCached} from '../invocation.ts';
import type {MetaPorts} from '../ports.ts';
import type {Attachment} from '../resolve/attachment.ts';

/**
 * Undoes a pod's attachments; on failure keeps only what is left (with the reason) for the
 * runtime's retry, and fails with every cause.
 */
export async function undoOrFail(inv: Invocation, entry: PodCacheEntry): Promise<void> {
	const undone = await inv.undo(entry.attachments);
	if (undone.errors.length === 0) {
		await inv.cache.remove(entry.containerId, entry.ifname);
		return;
	}
	const error = aggregate(`failed to delete ${inv.pod}`, undone.errors);
	await inv.settle(entry, undone, error.message);
	throw error;
}

/** The pod being deleted, from the API; undefined when unreadable or re-created under its name. */
async function podForDel(
	inv: Invocation,
	kube: NonNullable<ReturnType<MetaPorts['kube']>>,
): Promise<Pod | undefined> {
	const ref = inv.podRef;
	if (ref === undefined) return undefined;
	let pod: Pod | undefined;
	try {
		pod = await kube.getPod(ref.namespace, ref.name);
	} catch (error) {
		log('warning', 'cannot read the pod on DEL', {pod: inv.pod, error: toCniError(error).message});
	}
	// A pod re-created under the same name (StatefulSet) is not the one being deleted.
	if (pod !== undefined && ref.uid !== '' && pod.uid !== ref.uid && !isStaticPod(pod)) return undefined;
	return pod;
}

/**
 * DEL without a usable plexus cache: resolve the pod's networks again and undo them; a NAD
 * deleted or broken since ADD is skipped (its chain cannot be known any more), the rest undone.
 */
async function delFromApi(inv: Invocation, ports: MetaPorts, corrupt: boolean): Promise<void> {
	const {request, conf, cache} = inv;
	const kube = ports.kube(conf, request.env, 'DEL');
	const pod = kube === undefined ? undefined : await podForDel(inv, kube);
	// A corrupt record can never be used; kept, it would only outlive the pod.
	const dropCorrupt = async () => {
		if (corrupt) await cache.remove(request.containerId, request.ifname);
	};
	if (kube !== undefined && pod === undefined) {
		log(
			'warning',
			'cannot properly delete: no usable plexus cache and the pod is not readable; nothing to undo',
			{
				containerId: request.containerId,
				pod: inv.pod,
			},
		);
		return dropCorrupt();
	}
	let attachments: Attachment[];
	try {
		attachments = await inv.resolve(pod, kube, undefined, (origin, error) =>
			log('warning', 'cannot resolve a network of the pod on DEL; skipping it', {
				pod: inv.pod,
				origin,
				error: error.message,
			}),
		);
	} catch (error) {
		// Nothing recorded what ran and nothing can be resolved any more (an annotation or a
		// cluster network that ADD refused as well): failing would only keep the pod forever.
		log('warning', "cannot resolve the pod's networks on DEL and no usable plexus cache; nothing to undo", {
			pod: inv.pod,
			error: toCniError(error).message,
		});
		return dropCorrupt();
	}
	await undoOrFail(inv, inv.newEntry(attachments.map(toCached), pod?.uid));
}

/**
 * Runs the pod's DEL.
 *
 * @throws CniError code 2 for a cache of an unsupported version, or the aggregated failures of
 * undoing (what is left stays in the cache for the retry).
 */
export async function delPod(inv: Invocation, ports: MetaPorts): Promise<void> {
	const {request, cache} = inv;
	await ports.ready(inv.conf, false).catch((error: unknown) => log('warning', toCniError(error).message));
	const read = await cache.read(request.containerId, request.ifname);
	if (read.state === 'ok') return undoOrFail(inv, read.entry);
	if (read.state === 'unsupported') {
		throw new CniError(
			CniErrorCode.incompatibleVersion,
			`failed to delete ${inv.pod}: plexus cache "${cache.path(request.containerId, request.ifname)}": ${read.reason}`,
		);
	}
	// A pod Multus ADDed before the node switched to plexus (loaded only then).
	if (read.state === 'missing' && (await (await import('../../multus/legacy.ts')).delMultusEra(inv))) return;
	if (read.state === 'corrupt') {
		log('error', 'plexus cache is corrupt; falling back to the API to find the attachments', {
			file: cache.path(request.containerId, request.ifname),
			reason: read.reason,
		});
	}
	return delFromApi(inv, ports, read.state === 'corrupt');
}
