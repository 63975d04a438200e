/**
 * The API-server implementation of `DraPort` with @kubernetes/client-node: GET the pod, GET a
 * ResourceClaim (`resource.k8s.io/v1`), LIST ResourceSlices with the field selectors
 * `spec.nodeName=<node>,spec.driver=<driver>`. Loaded on the first call; every request is aborted
 * after `requestTimeoutMs`. RBAC: get pods, get resourceclaims, list resourceslices
 * (conf/deploy/rbac.yaml).
 */
import type * as ClientNode from '@kubernetes/client-node';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {KubeApiError, type KubeClientOptions} from '../k8s/client.ts';
import {makeApiClient} from '../k8s/user-agent.ts';
import {tracedApiCall} from '../observe/context.ts';
import {
	type Claim,
	DRA_DEVICE_ID_ATTRIBUTE,
	DRA_RESOURCE_NAME_ATTRIBUTE,
	type DraPod,
	type DraPort,
	type Slice,
} from './dra.ts';

type K8s = typeof ClientNode;

interface Apis {
	k8s: K8s;
	core: ClientNode.CoreV1Api;
	resource: ClientNode.ResourceV1Api;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 4000;

/** The `string` member of a device attribute (int-typed IDs are not device IDs). */
function stringAttribute(attributes: Record<string, ClientNode.V1DeviceAttribute> | undefined, name: string) {
	const value = attributes?.[name]?.string;
	return value === undefined || value === '' ? undefined : value;
}

/** Reads DRA objects from the API server the kubeconfig names (in-cluster when empty). */
export class RestDraPort implements DraPort {
	readonly #options: KubeClientOptions;
	#apis: Promise<Apis> | undefined;

	constructor(options: KubeClientOptions = {}) {
		this.#options = options;
	}

	#load(): Promise<Apis> {
		this.#apis ??= (async () => {
			const k8s = await import('@kubernetes/client-node');
			const kc = new k8s.KubeConfig();
			const file = this.#options.kubeconfig;
			try {
				if (file !== undefined && file !== '') kc.loadFromFile(file);
				else kc.loadFromCluster();
			} catch (error) {
				throw new CniError(
					CniErrorCode.invalidConfig,
					`failed to load kubeconfig "${file ?? 'in-cluster'}": ${(error as Error).message}`,
					{cause: error},
				);
			}
			const timeoutMs = this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
			const timeout: ClientNode.ObservableMiddleware = {
				pre: (context) => {
					context.setSignal(AbortSignal.timeout(timeoutMs));
					return new k8s.Observable(Promise.resolve(context));
				},
				post: (context) => new k8s.Observable(Promise.resolve(context)),
			};
			return {
				k8s,
				core: makeApiClient(k8s, kc, k8s.CoreV1Api, [timeout]),
				resource: makeApiClient(k8s, kc, k8s.ResourceV1Api, [timeout]),
			};
		})();
		return this.#apis;
	}

	// One call; 404 is undefined, any other failure a KubeApiError naming the call.
	#call<T>(what: string, run: (apis: Apis) => Promise<T>): Promise<T | undefined> {
		return tracedApiCall(what, async () => {
			const apis = await this.#load();
			try {
				return await run(apis);
			} catch (error) {
				const status = error instanceof apis.k8s.ApiException ? error.code : undefined;
				if (status === 404) return undefined;
				throw new KubeApiError(what, status, error);
			}
		});
	}

	async getPod(namespace: string, name: string): Promise<DraPod | undefined> {
		const pod = await this.#call(`get pod "${namespace}/${name}"`, ({core}) =>
			core.readNamespacedPod({namespace, name}),
		);
		if (pod === undefined) return undefined;
		const extended = pod.status?.extendedResourceClaimStatus;
		return {
			nodeName: pod.spec?.nodeName,
			claims: (pod.status?.resourceClaimStatuses ?? []).map((c) => ({
				name: c.name,
				resourceClaimName: c.resourceClaimName,
			})),
			extended:
				extended === undefined
					? undefined
					: {
							resourceClaimName: extended.resourceClaimName,
							requestMappings: extended.requestMappings.map((m) => ({
								containerName: m.containerName,
								resourceName: m.resourceName,
								requestName: m.requestName,
							})),
						},
		};
	}

	async getClaim(namespace: string, name: string): Promise<Claim | undefined> {
		const claim = await this.#call(`get resourceclaim "${namespace}/${name}"`, ({resource}) =>
			resource.readNamespacedResourceClaim({namespace, name}),
		);
		if (claim === undefined) return undefined;
		const results = claim.status?.allocation?.devices?.results;
		return {
			results: results?.map((r) => ({request: r.request, driver: r.driver, pool: r.pool, device: r.device})),
		};
	}

	async listSlices(nodeName: string | undefined, driver: string): Promise<Slice[]> {
		const fieldSelector =
			nodeName === undefined || nodeName === ''
				? `spec.driver=${driver}`
				: `spec.nodeName=${nodeName},spec.driver=${driver}`;
		const list = await this.#call(`list resourceslices (${fieldSelector})`, ({resource}) =>
			resource.listResourceSlice({fieldSelector}),
		);
		return (list?.items ?? []).map((s) => ({
			driver: s.spec.driver,
			pool: s.spec.pool.name,
			generation: s.spec.pool.generation,
			devices: (s.spec.devices ?? []).map((d) => ({
				name: d.name,
				deviceId: stringAttribute(d.attributes, DRA_DEVICE_ID_ATTRIBUTE),
				resourceName: stringAttribute(d.attributes, DRA_RESOURCE_NAME_ATTRIBUTE),
			})),
		}));
	}
}
