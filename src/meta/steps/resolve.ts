/**
 * Step 1 of ADD: read the pod from the API and resolve its attachments (../resolve/). `plexus
 * dry-run` plans from the same resolution.
 */
import {CniError, CniErrorCode} from '../../cni/errors.ts';
import type {KubeClient, Pod} from '../../k8s/client.ts';
import {log} from '../../log.ts';
import {type Invocation, isStaticPod, postEvent} from '../invocation.ts';
import type {Attachment, ResolveContext} from '../resolve/attachment.ts';

/**
 * Reads the pod for ADD: undefined when there is no API or it is gone.
 *
 * @throws CniError code 11 (try again later) when the API's pod is a re-created one.
 */
export async function readPodForAdd(inv: Invocation, kube: KubeClient | undefined): Promise<Pod | undefined> {
	const ref = inv.podRef;
	if (kube === undefined || ref === undefined) return undefined;
	const pod = await kube.getPod(ref.namespace, ref.name);
	if (pod === undefined) {
		log('warning', 'pod not found in the API; attaching only the networks of the plexus conf', {
			pod: inv.pod,
		});
	} else if (ref.uid !== '' && pod.uid !== ref.uid && !isStaticPod(pod)) {
		throw new CniError(
			CniErrorCode.tryAgainLater,
			`failed to add ${inv.pod}: the runtime asks for pod UID "${ref.uid}" but the API has UID "${pod.uid}" (the pod was re-created)`,
		);
	}
	return pod;
}

/**
 * Resolves the pod's attachments as ADD does: a missing NAD is a Warning event `NoNetworkFound`
 * on the pod, then the failure. With `onUnresolvable` (dry-run), every unresolvable annotation
 * element is reported there and skipped instead.
 */
export function resolveForAdd(
	inv: Invocation,
	kube: KubeClient | undefined,
	pod: Pod | undefined,
	onUnresolvable?: ResolveContext['onUnresolvable'],
): Promise<Attachment[]> {
	return inv.resolve(
		pod,
		kube,
		(_nad, message) => postEvent(kube, pod, 'Warning', 'NoNetworkFound', message),
		onUnresolvable,
	);
}
