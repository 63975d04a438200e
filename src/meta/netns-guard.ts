/**
 * The meta-plugin's rules for CNI_NETNS, applied before any delegate runs (issue 12):
 * - ADD and CHECK need a network namespace: a path that is missing, relative, or some other file
 *   (a regular file, a directory, /dev/null) is code 8, as the spec's "invalid network namespace",
 *   instead of reaching every delegate, which would each fail in its own way.
 * - DEL must succeed when the namespace is gone (SPEC.md "DEL": "plugins should generally complete
 *   a DEL action without error even if some resources are missing"). A path that is not a
 *   namespace any more is handed to the delegates as an empty CNI_NETNS, which the spec allows for
 *   DEL, so each still releases what lives outside the pod (IPAM reservations, host veths, caches)
 *   instead of failing on a namespace it cannot enter.
 */
import {CniError, CniErrorCode} from '../cni/errors.ts';
import type {PluginRequest} from '../cni/plugin.ts';
import {log} from '../log.ts';
import {type NetnsKind, netnsKind} from '../netlink/netns.ts';

/** Classifies a CNI_NETNS path (default: statfs on the real file system, see netnsKind). */
export type ProbeNetns = (path: string) => NetnsKind;

/**
 * Refuses an ADD or CHECK whose CNI_NETNS is not a network namespace.
 *
 * @throws CniError code 8 `invalid netns "<path>" for <verb>: <why>`.
 */
export function requireNetns(path: string, verb: 'ADD' | 'CHECK', probe: ProbeNetns = netnsKind): void {
	const found = probe(path);
	if (found.kind === 'netns') return;
	const why = found.kind === 'missing' ? 'no such file' : found.reason;
	throw new CniError(
		CniErrorCode.invalidNetns,
		`invalid netns ${JSON.stringify(path)} for ${verb}: ${why} (CNI_NETNS must name a network namespace)`,
	);
}

/** The CNI_NETNS a DEL hands its delegates: the path while it is a namespace, else '' (gone). */
export function netnsForDel(path: string, probe: ProbeNetns = netnsKind): string {
	if (path === '') return '';
	const found = probe(path);
	if (found.kind === 'netns') return path;
	log('warning', 'netns is not a network namespace (any more); deleting without it', {
		netns: path,
		why: found.kind === 'missing' ? 'no such file' : found.reason,
	});
	return '';
}

/** `request` with its CNI_NETNS as DEL uses it (see netnsForDel). */
export function delRequest(request: PluginRequest, probe?: ProbeNetns): PluginRequest {
	const netns = netnsForDel(request.netns, probe);
	return netns === request.netns ? request : {...request, netns};
}
