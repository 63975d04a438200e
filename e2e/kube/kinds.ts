/**
 * The resource kinds the test API server serves, declared as data: adding a kind is one entry in
 * `KINDS`. Each kind gets the REST paths kube-apiserver gives it (`/api/v1/...` for the core group,
 * `/apis/<group>/<version>/...` otherwise; namespaced or cluster-scoped), list, watch and the
 * field selectors the real server accepts for it (`metadata.name` and, when namespaced,
 * `metadata.namespace` always).
 */

/** One resource kind, e.g. pods or network-attachment-definitions. */
export interface ResourceKind {
	/** The plural used in the REST path and in Status details ("pods"). */
	readonly plural: string;
	/** `<group>/<version>`, or `v1` for the core group. */
	readonly apiVersion: string;
	readonly kind: string;
	/** The API group; '' for the core group. */
	readonly group: string;
	/** Cluster-scoped kinds (ResourceSlice) set this to false; namespaced when absent. */
	readonly namespaced?: boolean;
	/** Field selector labels beyond metadata.name/metadata.namespace, as the real server supports. */
	readonly fields?: readonly string[];
	/** Subresources served with PUT/PATCH (`status` replaces status only). */
	readonly subresources?: readonly 'status'[];
}

export const PODS: ResourceKind = {
	plural: 'pods',
	apiVersion: 'v1',
	kind: 'Pod',
	group: '',
	fields: ['spec.nodeName', 'spec.restartPolicy', 'spec.schedulerName', 'status.phase', 'status.podIP'],
	subresources: ['status'],
};
export const NADS: ResourceKind = {
	plural: 'network-attachment-definitions',
	apiVersion: 'k8s.cni.cncf.io/v1',
	kind: 'NetworkAttachmentDefinition',
	group: 'k8s.cni.cncf.io',
};
export const EVENTS: ResourceKind = {
	plural: 'events',
	apiVersion: 'v1',
	kind: 'Event',
	group: '',
	fields: ['involvedObject.kind', 'involvedObject.name', 'involvedObject.uid', 'reason', 'type'],
};
export const EVENTS_V1: ResourceKind = {
	plural: 'events',
	apiVersion: 'events.k8s.io/v1',
	kind: 'Event',
	group: 'events.k8s.io',
	fields: ['regarding.kind', 'regarding.name', 'regarding.uid', 'reason', 'type'],
};
/** DRA claims (resource.k8s.io/v1, Kubernetes 1.34). */
export const RESOURCE_CLAIMS: ResourceKind = {
	plural: 'resourceclaims',
	apiVersion: 'resource.k8s.io/v1',
	kind: 'ResourceClaim',
	group: 'resource.k8s.io',
	subresources: ['status'],
};
/** DRA slices: cluster-scoped, selectable by node, driver and pool as kube-apiserver allows. */
export const RESOURCE_SLICES: ResourceKind = {
	plural: 'resourceslices',
	apiVersion: 'resource.k8s.io/v1',
	kind: 'ResourceSlice',
	group: 'resource.k8s.io',
	namespaced: false,
	fields: ['spec.nodeName', 'spec.driver', 'spec.pool.name'],
};

/** Every kind the server serves. */
export const KINDS: readonly ResourceKind[] = [
	PODS,
	NADS,
	EVENTS,
	EVENTS_V1,
	RESOURCE_CLAIMS,
	RESOURCE_SLICES,
];

/** A request path resolved to a kind: the namespace (undefined = all namespaces), name and subresource. */
export interface Route {
	kind: ResourceKind;
	namespace: string | undefined;
	name: string | undefined;
	subresource: 'status' | undefined;
}

/** `/api/v1` or `/apis/<group>/<version>`: the prefix of every path of `kind`. */
export function groupVersionPath(kind: ResourceKind): string {
	return kind.group === '' ? `/api/${kind.apiVersion}` : `/apis/${kind.apiVersion}`;
}

/** ".<group>" or "", as kube-apiserver qualifies resource names in messages. */
export function groupSuffix(kind: ResourceKind): string {
	return kind.group === '' ? '' : `.${kind.group}`;
}

/** Whether objects of `kind` live in a namespace. */
export function isNamespaced(kind: ResourceKind): boolean {
	return kind.namespaced !== false;
}

/** Resolves a request path against `kinds`; undefined when no kind serves it. */
export function routeOf(path: string, kinds: readonly ResourceKind[] = KINDS): Route | undefined {
	for (const kind of kinds) {
		const prefix = groupVersionPath(kind);
		if (!path.startsWith(`${prefix}/`)) continue;
		const parts = path
			.slice(prefix.length + 1)
			.split('/')
			.map(decodeURIComponent);
		let namespace: string | undefined;
		if (parts[0] === 'namespaces' && isNamespaced(kind) && parts.length >= 3) {
			namespace = parts[1];
			parts.splice(0, 2);
		}
		if (parts[0] !== kind.plural || parts.length > 3) continue;
		const subresource = parts[2];
		if (subresource !== undefined && !(kind.subresources ?? []).includes(subresource as 'status')) continue;
		return {kind, namespace, name: parts[1], subresource: subresource as 'status' | undefined};
	}
	return undefined;
}
