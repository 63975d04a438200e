/**
 * `plexus doctor`'s Kubernetes checks: the API server answers the reads the meta-plugin makes
 * (pods, NADs; a "not found" for a probe name proves reachability and permission), and the
 * kubeconfig's user holds every permission the plugin needs (SelfSubjectAccessReview).
 */
import {toCniError} from '../../cni/errors.ts';
import {KubeApiError, type KubeClient} from '../../k8s/client.ts';
import type {PlexusConf} from '../../meta/conf/conf.ts';
import type {Check} from './check.ts';

const PROBE_NAME = 'plexus-doctor-probe-does-not-exist';

/** Probes a read: "not found" proves both reachability and permission. */
async function probe(
	what: string,
	verb: string,
	call: () => Promise<unknown>,
	checks: Check[],
): Promise<boolean> {
	try {
		await call();
		checks.push({check: 'kubernetes', status: 'ok', detail: `may ${verb}`});
		return true;
	} catch (error) {
		const status = error instanceof KubeApiError ? error.status : undefined;
		if (status === 401) {
			checks.push({
				check: 'kubernetes',
				status: 'problem',
				detail: `the API server rejects the kubeconfig's credentials (${what})`,
				fix: 'renew the token or certificate in the kubeconfig (plexus install writes it from the service account)',
			});
		} else if (status === 403) {
			checks.push({
				check: 'kubernetes',
				status: 'problem',
				detail: `the kubeconfig's user may not ${verb}`,
				fix: 'apply conf/deploy/rbac.yaml (the plexus ClusterRole and its binding)',
			});
		} else {
			checks.push({
				check: 'kubernetes',
				status: 'problem',
				detail: `the API server is not reachable: ${toCniError(error).message}`,
				fix: 'check the server address in the kubeconfig and that the node can reach it',
			});
		}
		return false;
	}
}

/** The RBAC Plexus needs (conf/deploy/rbac.yaml), as SelfSubjectAccessReview attributes. */
export const NEEDED_ACCESS = [
	{verb: 'get', group: '', resource: 'pods', subresource: ''},
	{verb: 'update', group: '', resource: 'pods', subresource: 'status'},
	{verb: 'get', group: 'k8s.cni.cncf.io', resource: 'network-attachment-definitions', subresource: ''},
	{verb: 'list', group: 'k8s.cni.cncf.io', resource: 'network-attachment-definitions', subresource: ''},
	{verb: 'create', group: '', resource: 'events', subresource: ''},
	// DRA devices (src/devices/dra-rest.ts; the daemon watches this node's slices).
	{verb: 'get', group: 'resource.k8s.io', resource: 'resourceclaims', subresource: ''},
	{verb: 'list', group: 'resource.k8s.io', resource: 'resourceslices', subresource: ''},
	{verb: 'watch', group: 'resource.k8s.io', resource: 'resourceslices', subresource: ''},
] as const;

const accessText = (a: (typeof NEEDED_ACCESS)[number]) =>
	`${a.verb} ${a.resource}${a.subresource === '' ? '' : `/${a.subresource}`}`;

/**
 * Asks the API server what the kubeconfig's user may do (SelfSubjectAccessReview), for every
 * permission Plexus needs. Returns undefined when the server does not serve that API.
 */
async function reviewAccess(
	kubeconfig: string,
	namespace: string,
): Promise<{access: string; allowed: boolean; reason: string}[] | undefined> {
	const k8s = await import('@kubernetes/client-node');
	const kc = new k8s.KubeConfig();
	if (kubeconfig === '') kc.loadFromCluster();
	else kc.loadFromFile(kubeconfig);
	const api = kc.makeApiClient(k8s.AuthorizationV1Api);
	const out: {access: string; allowed: boolean; reason: string}[] = [];
	for (const a of NEEDED_ACCESS) {
		let review: Awaited<ReturnType<typeof api.createSelfSubjectAccessReview>>;
		try {
			review = await api.createSelfSubjectAccessReview({
				body: {
					apiVersion: 'authorization.k8s.io/v1',
					kind: 'SelfSubjectAccessReview',
					spec: {
						resourceAttributes: {
							namespace,
							verb: a.verb,
							group: a.group,
							resource: a.resource,
							...(a.subresource === '' ? {} : {subresource: a.subresource}),
						},
					},
				},
			});
		} catch (error) {
			if (error instanceof k8s.ApiException && error.code === 404) return undefined;
			throw error;
		}
		out.push({
			access: accessText(a),
			allowed: review.status?.allowed === true,
			reason: review.status?.reason ?? '',
		});
	}
	return out;
}

/** The API server checks: reachability and RBAC of every read and write the plugin makes. */
export async function checkKube(
	conf: PlexusConf,
	kube: KubeClient | undefined,
	kubeconfig: string,
	checks: Check[],
): Promise<void> {
	if (kube === undefined) {
		checks.push({
			check: 'kubernetes',
			status: 'warning',
			detail: 'no kubeconfig and no in-cluster variables: pod annotations will be ignored',
			fix: 'set "kubeconfig" in the Plexus conf (plexus install writes one)',
		});
		return;
	}
	const ns = conf.multusNamespace;
	if (!(await probe('get pods', 'get pods', () => kube.getPod(ns, PROBE_NAME), checks))) return;
	await probe(
		'get network-attachment-definitions',
		'get network-attachment-definitions',
		() => kube.getNad(ns, PROBE_NAME),
		checks,
	);
	let reviews: Awaited<ReturnType<typeof reviewAccess>>;
	try {
		reviews = await reviewAccess(kubeconfig, ns);
	} catch (error) {
		checks.push({
			check: 'kubernetes',
			status: 'warning',
			detail: `cannot review the RBAC of the kubeconfig's user: ${toCniError(error).message}`,
			fix: 'compare the ClusterRole bound to the kubeconfig user with conf/deploy/rbac.yaml',
		});
		return;
	}
	if (reviews === undefined) {
		checks.push({
			check: 'kubernetes',
			status: 'warning',
			detail:
				'update pods/status, list network-attachment-definitions and create events were not verified: the server does not serve SelfSubjectAccessReview and trying them would write',
			fix: 'compare the ClusterRole bound to the kubeconfig user with conf/deploy/rbac.yaml',
		});
		return;
	}
	for (const r of reviews) {
		checks.push(
			r.allowed
				? {check: 'kubernetes', status: 'ok', detail: `may ${r.access} (SelfSubjectAccessReview)`}
				: {
						check: 'kubernetes',
						status: 'problem',
						detail: `the kubeconfig's user may not ${r.access}${r.reason === '' ? '' : ` (${r.reason})`}`,
						fix: 'apply conf/deploy/rbac.yaml (the plexus ClusterRole and its binding)',
					},
		);
	}
}
