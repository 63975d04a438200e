/**
 * STATUS of the meta-plugin: the cluster network's STATUS, once the readiness indicator is there.
 * The cluster network comes from the conf and confDir when they have it (no API read every 5 s:
 * see resolveConfClusterNetwork), else from its NAD.
 */
import type {Invocation} from '../invocation.ts';
import type {MetaPorts} from '../ports.ts';
import {resolveConfClusterNetwork} from '../resolve/resolve.ts';

/**
 * Runs STATUS.
 *
 * @throws CniError code 50 when not ready, or the cluster network's own STATUS failure.
 */
export async function statusOf(inv: Invocation, ports: MetaPorts): Promise<void> {
	await ports.ready(inv.conf, false);
	const cluster = await resolveConfClusterNetwork(
		inv.conf,
		ports.kube(inv.conf, inv.request.env, 'ADD'),
		true,
	);
	await inv.executor.statusNetworkList(cluster.list);
}
