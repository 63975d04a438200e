/**
 * The Kubernetes keys kubelet's runtime puts in CNI_ARGS (`K8S_POD_NAMESPACE`, `K8S_POD_NAME`,
 * `K8S_POD_INFRA_CONTAINER_ID`, `K8S_POD_UID`), read from the parsed pairs.
 * @see https://github.com/containernetworking/cni/blob/3f51e8803ebbdba0ebeed735b42137e4c7302403/CONVENTIONS.md
 */

/** The pod an invocation is for. `uid` is '' when the runtime did not send one. */
export interface PodRef {
	namespace: string;
	name: string;
	infraContainerId: string;
	uid: string;
}

/**
 * `namespace/name`: how Plexus names a pod or a NAD in messages, logs, traces and network-status.
 *
 * @example
 * qualifiedName({namespace: 'default', name: 'web-0'}) // "default/web-0"
 */
export function qualifiedName(ref: {readonly namespace: string; readonly name: string}): string {
	return `${ref.namespace}/${ref.name}`;
}

/**
 * The pod named by CNI_ARGS, or undefined when the invocation is not for a Kubernetes pod (no
 * namespace or name), in which case annotations cannot apply.
 *
 * @example
 * podRefFromArgs([['K8S_POD_NAMESPACE', 'default'], ['K8S_POD_NAME', 'web-0']])
 */
export function podRefFromArgs(pairs: readonly (readonly [string, string])[]): PodRef | undefined {
	const get = (key: string) => pairs.findLast(([k]) => k === key)?.[1] ?? '';
	const namespace = get('K8S_POD_NAMESPACE');
	const name = get('K8S_POD_NAME');
	if (namespace === '' || name === '') return undefined;
	return {namespace, name, infraContainerId: get('K8S_POD_INFRA_CONTAINER_ID'), uid: get('K8S_POD_UID')};
}

/**
 * The CNI_ARGS pairs delegates get: the runtime's own, with `IgnoreUnknown=true` first so that
 * plugins which do not know the K8S_* keys accept them (what Multus sends).
 */
export function delegateArgs(pairs: readonly (readonly [string, string])[]): [string, string][] {
	const out: [string, string][] = pairs.map(([k, v]) => [k, v]);
	if (!out.some(([k]) => k === 'IgnoreUnknown')) out.unshift(['IgnoreUnknown', 'true']);
	return out;
}
