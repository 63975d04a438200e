/**
 * The API-server implementation of `DraPort`: GET the pod, GET a ResourceClaim
 * (`resource.k8s.io/v1`), LIST ResourceSlices with the field selectors
 * `spec.nodeName=<node>,spec.driver=<driver>`, each through the kube client's GET (its bounds,
 * retries and tracing), mapped to the shapes `dra.ts` works on. RBAC: get pods, get
 * resourceclaims, list resourceslices (conf/deploy/rbac.yaml; the daemon also watches them,
 * src/daemon/slice-cache.ts).
 */
import {
	type Claim,
	DRA_DEVICE_ID_ATTRIBUTE,
	DRA_RESOURCE_NAME_ATTRIBUTE,
	type DraPod,
	type DraPort,
	type Slice,
} from './dra.ts';

const enc = encodeURIComponent;

/** A device attribute as resource.k8s.io/v1 serialises it (one typed member set). */
interface DeviceAttribute {
	string?: string;
	int?: number;
}

interface V1Pod {
	spec?: {nodeName?: string};
	status?: {
		resourceClaimStatuses?: {name: string; resourceClaimName?: string}[];
		extendedResourceClaimStatus?: {
			resourceClaimName: string;
			requestMappings: {containerName: string; resourceName: string; requestName: string}[];
		};
	};
}

interface V1Claim {
	status?: {
		allocation?: {devices?: {results?: {request: string; driver: string; pool: string; device: string}[]}};
	};
}

/** A ResourceSlice as served (the fields Plexus reads). */
export interface V1Slice {
	spec: {
		driver: string;
		pool: {name: string; generation: number};
		devices?: {name: string; attributes?: Record<string, DeviceAttribute>}[];
	};
}

interface V1SliceList {
	items?: V1Slice[];
}

/** The collection path of ResourceSlices (cluster-scoped). */
export const SLICES_PATH = '/apis/resource.k8s.io/v1/resourceslices';

/** The `string` member of a device attribute (int-typed IDs are not device IDs). */
function stringAttribute(attributes: Record<string, DeviceAttribute> | undefined, name: string) {
	const value = attributes?.[name]?.string;
	return typeof value !== 'string' || value === '' ? undefined : value;
}

/** A served ResourceSlice reduced to what dra.ts reads (the daemon's slice cache converts with it too). */
export function toSlice(s: V1Slice): Slice {
	return {
		driver: s.spec.driver,
		pool: s.spec.pool.name,
		generation: s.spec.pool.generation,
		devices: (s.spec.devices ?? []).map((d) => ({
			name: d.name,
			deviceId: stringAttribute(d.attributes, DRA_DEVICE_ID_ATTRIBUTE),
			resourceName: stringAttribute(d.attributes, DRA_RESOURCE_NAME_ATTRIBUTE),
		})),
	};
}

/** One GET of a JSON object through the caller's client; undefined on 404, `what` names it in errors. */
export type JsonGet = <T>(
	what: string,
	path: string,
	query?: Record<string, string>,
) => Promise<T | undefined>;

/** Reads DRA objects from the API server through `get` (the kube client's bounded, traced GET). */
export class RestDraPort implements DraPort {
	readonly #get: JsonGet;

	constructor(get: JsonGet) {
		this.#get = get;
	}

	async getPod(namespace: string, name: string): Promise<DraPod | undefined> {
		const pod = await this.#get<V1Pod>(
			`get pod "${namespace}/${name}"`,
			`/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`,
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
		const claim = await this.#get<V1Claim>(
			`get resourceclaim "${namespace}/${name}"`,
			`/apis/resource.k8s.io/v1/namespaces/${enc(namespace)}/resourceclaims/${enc(name)}`,
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
		const list = await this.#get<V1SliceList>(`list resourceslices (${fieldSelector})`, SLICES_PATH, {
			fieldSelector,
		});
		return (list?.items ?? []).map(toSlice);
	}
}
