/**
 * The Kubernetes API seam: the few calls the meta-plugin makes (read a pod, read a NAD, write the
 * network-status annotation, post an event) behind `KubeClient`, with the REST implementation
 * (./rest/) and a fake (./testing/fake-client.ts) for unit tests.
 *
 * Not @kubernetes/client-node: importing it costs ~0.63-0.78 s per process here, which a
 * one-shot ADD and DEL paid on every call (14x the delegates' own time on ADD); ./rest/ loads in
 * a few milliseconds, and only on the first call (a DEL served from the cache loads nothing).
 * A status write PUTs the pod as last read (by `getPod`, or the daemon's watch cache through
 * `rememberPod`) with its resourceVersion, and re-reads only after a 409 Conflict.
 * Every call is bounded: each HTTP request is aborted after `requestTimeoutMs` and a call, retries
 * included, gives up after `callTimeoutMs` (Multus polls up to 2.5 s and then hangs for its 1 min
 * client timeout; kubelet's runtime then times the whole sandbox operation out).
 * At the house limit: the interface, its API shapes and the one implementation read together.
 */
import {isoNow, monotonicMs} from '../clock.ts';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import type {DraPort} from '../devices/dra.ts';
import {log} from '../log.ts';
import {tracedApiCall} from '../observe/context.ts';
import {randomHex8} from '../random-hex.ts';
import type {ApiStatusError, RestClient, RestOptions} from './rest/http.ts';

/** The pod fields the meta-plugin reads. */
export interface Pod {
	name: string;
	namespace: string;
	uid: string;
	annotations: Readonly<Record<string, string>>;
}

/** A NetworkAttachmentDefinition, reduced to what resolution needs. */
export interface Nad {
	name: string;
	namespace: string;
	/** `spec.config`; undefined or '' means "the conf in confDir with this name" (spec §3.2). */
	config: string | undefined;
	annotations: Readonly<Record<string, string>>;
}

/** An event about a pod (`AddedInterface`, `NoNetworkFound`). */
export interface PodEvent {
	namespace: string;
	podName: string;
	podUid: string;
	type: 'Normal' | 'Warning';
	reason: string;
	message: string;
}

/** What a network-status write did: written, the pod is gone, or it is another pod now. */
export type StatusWriteOutcome = 'written' | 'pod-not-found' | 'uid-mismatch';

/**
 * The Kubernetes calls of the meta-plugin. "Not found" is a value (undefined), every other failure a
 * thrown `KubeApiError`.
 */
export interface KubeClient {
	getPod(namespace: string, name: string): Promise<Pod | undefined>;
	getNad(namespace: string, name: string): Promise<Nad | undefined>;
	/**
	 * Sets the pod's `k8s.v1.cni.cncf.io/network-status` annotation through pods/status: check the
	 * UID (when `uid` is given) of the pod as last read (GET it when it was not read), PUT with that
	 * resourceVersion, and on 409 Conflict re-read and retry.
	 */
	setPodAnnotation(
		namespace: string,
		name: string,
		uid: string | undefined,
		key: string,
		value: string,
	): Promise<StatusWriteOutcome>;
	createEvent(event: PodEvent): Promise<void>;
}

/** How many times a status write retries a 409 Conflict (client-go's DefaultRetry has 5 steps). */
export const STATUS_WRITE_ATTEMPTS = 5;
/** Default per-request abort, in milliseconds. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 2000;
/** Default bound of one call including retries, in milliseconds. */
export const DEFAULT_CALL_TIMEOUT_MS = 4000;
/** Pause between retries of a transient failure, in milliseconds. */
const RETRY_PAUSE_MS = 200;

/** An API call failed for another reason than "not found". `transient` failures may be retried. */
export class KubeApiError extends CniError {
	readonly status: number | undefined;
	readonly transient: boolean;

	constructor(what: string, status: number | undefined, cause: unknown) {
		const transient = status === undefined || status === 429 || status >= 500;
		const reason =
			status === undefined
				? causeText(cause)
				: status === 401
					? 'unauthorized (401): the kubeconfig credentials were rejected (expired or rotated token?)'
					: status === 403
						? 'forbidden (403): the service account lacks RBAC for this call'
						: `HTTP ${status}: ${causeText(cause)}`;
		super(transient ? CniErrorCode.tryAgainLater : CniErrorCode.ioFailure, `failed to ${what}: ${reason}`, {
			cause,
		});
		this.status = status;
		this.transient = transient;
	}
}

function causeText(cause: unknown): string {
	if (cause instanceof Error) {
		if (cause.name === 'TimeoutError' || cause.name === 'AbortError') return 'timed out';
		const inner = (cause as {cause?: unknown}).cause;
		if (inner instanceof Error && inner.message !== '') return `${cause.message} (${inner.message})`;
		return cause.message;
	}
	return String(cause);
}

/** Where the API credentials come from (Multus' `kubeconfig` key, else in-cluster). */
export interface KubeClientOptions {
	/** A kubeconfig path; empty or undefined means in-cluster config. */
	kubeconfig?: string | undefined;
	requestTimeoutMs?: number;
	callTimeoutMs?: number;
	/**
	 * At most this many connections to the API server (default: as many as requests in flight). A
	 * one-shot process sets 1: its few requests then queue on one kept-alive connection instead of
	 * paying a new TLS handshake when two overlap (the network-status write behind the last event).
	 * Never for a client that watches: a watch holds its connection for minutes.
	 */
	maxConnections?: number;
	/**
	 * The process has no other TLS client (a one-shot CNI call): the kubeconfig's CA becomes the
	 * process's default trust, which is cheaper to set up (see RestOptions in ./rest/http.ts).
	 */
	soleTlsClient?: boolean;
}

/**
 * True when an API server is configured at all: a kubeconfig path, or the in-cluster variables.
 * Without one, Multus ignores annotations and runs only its inline delegates; so does Plexus.
 */
export function hasKubeConfig(
	kubeconfig: string | undefined,
	env: Readonly<Record<string, string | undefined>>,
): boolean {
	if (kubeconfig !== undefined && kubeconfig !== '') return true;
	return (env['KUBERNETES_SERVICE_HOST'] ?? '') !== '' && (env['KUBERNETES_SERVICE_PORT'] ?? '') !== '';
}

/** A Kubernetes object as the API sends it; only `metadata` is looked at. */
export interface ApiObject {
	metadata?: {
		name?: string;
		namespace?: string;
		uid?: string;
		resourceVersion?: string;
		annotations?: Record<string, string>;
	};
	[key: string]: unknown;
}

/** The Pod fields the meta-plugin reads, from an API object. */
export function toPod(object: ApiObject, fallback?: {namespace: string; name: string}): Pod {
	return {
		name: object.metadata?.name ?? fallback?.name ?? '',
		namespace: object.metadata?.namespace ?? fallback?.namespace ?? '',
		uid: object.metadata?.uid ?? '',
		annotations: {...(object.metadata?.annotations ?? {})},
	};
}

/** The Nad fields resolution reads, from an API object. */
export function toNad(object: ApiObject, fallback?: {namespace: string; name: string}): Nad {
	const config = (object['spec'] as {config?: unknown} | undefined)?.config;
	return {
		name: object.metadata?.name ?? fallback?.name ?? '',
		namespace: object.metadata?.namespace ?? fallback?.namespace ?? '',
		config: typeof config === 'string' ? config : undefined,
		annotations: {...(object.metadata?.annotations ?? {})},
	};
}

/** The API path of the NADs of a namespace (or of all namespaces). */
export const NAD_PATH = '/apis/k8s.cni.cncf.io/v1';

const enc = encodeURIComponent;

/**
 * Opens the REST transport for a kubeconfig path ('' or undefined: in-cluster). Loaded lazily:
 * nothing of it is imported before the first API call.
 */
export async function openRestClient(
	kubeconfig: string | undefined,
	env: Readonly<Record<string, string | undefined>> = process.env,
	rest: RestOptions = {},
): Promise<RestClient> {
	const [{loadKubeconfig, inClusterAccess}, {RestClient}] = await Promise.all([
		import('./rest/kubeconfig.ts'),
		import('./rest/http.ts'),
	]);
	try {
		const access =
			kubeconfig !== undefined && kubeconfig !== '' ? await loadKubeconfig(kubeconfig) : inClusterAccess(env);
		return new RestClient(access, rest);
	} catch (error) {
		throw new CniError(
			CniErrorCode.invalidConfig,
			`failed to load kubeconfig "${kubeconfig || 'in-cluster'}": ${causeText(error)}`,
			{cause: error},
		);
	}
}

/**
 * The REST implementation (name kept from the client-node era so callers need not change).
 * Nothing is loaded until the first call.
 *
 * @example
 * const kube = new NodeKubeClient({kubeconfig: '/etc/cni/net.d/plexus.d/plexus.kubeconfig'});
 * const pod = await kube.getPod('default', 'web-0');
 */
export class NodeKubeClient implements KubeClient {
	readonly #options: KubeClientOptions;
	#rest: Promise<RestClient> | undefined;
	/** The pods as last read (or handed over by a watch cache), for a status write without a GET. */
	readonly #lastRead = new Map<string, ApiObject>();

	constructor(options: KubeClientOptions = {}) {
		this.#options = options;
	}

	#load(): Promise<RestClient> {
		const {kubeconfig, maxConnections, soleTlsClient} = this.#options;
		this.#rest ??= openRestClient(kubeconfig, process.env, {maxSockets: maxConnections, soleTlsClient});
		return this.#rest;
	}

	// Runs `attempt` until it succeeds, fails for good, or the call deadline passes.
	#bounded<T>(what: string, attempt: (rest: RestClient, signal: AbortSignal) => Promise<T>, retry = true) {
		return tracedApiCall(what, () => this.#retrying(what, attempt, retry));
	}

	async #retrying<T>(
		what: string,
		attempt: (rest: RestClient, signal: AbortSignal) => Promise<T>,
		retry: boolean,
	): Promise<T> {
		const rest = await this.#load();
		const deadline = monotonicMs() + (this.#options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS);
		for (;;) {
			const left = deadline - monotonicMs();
			const signal = AbortSignal.timeout(
				Math.ceil(Math.max(1, Math.min(this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, left))),
			);
			try {
				return await attempt(rest, signal);
			} catch (error) {
				if (error instanceof CniError) throw error;
				const status =
					(error as Partial<ApiStatusError>).name === 'ApiStatusError'
						? (error as ApiStatusError).status
						: undefined;
				const failure = new KubeApiError(what, status, error);
				const remaining = deadline - monotonicMs();
				if (!retry || !failure.transient || remaining < RETRY_PAUSE_MS + 50) throw failure;
				log('debug', 'retrying a kubernetes api call', {call: what, error: failure.message});
				await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
			}
		}
	}

	/**
	 * DRA reads (ResourceClaims, ResourceSlices) with the same credentials and request bound. The
	 * REST side (../devices/dra-rest.ts) loads on the first read: only pods with devices need it.
	 */
	draPort(): DraPort {
		const get = <T>(what: string, path: string, query?: Record<string, string>) =>
			this.#bounded(what, (rest, signal) => rest.optionalJson<T>({method: 'GET', path, query, signal}));
		let port: Promise<DraPort> | undefined;
		const rest = () =>
			(port ??= import('../devices/dra-rest.ts').then(({RestDraPort}) => new RestDraPort(get)));
		return {
			getPod: async (namespace, name) => (await rest()).getPod(namespace, name),
			getClaim: async (namespace, name) => (await rest()).getClaim(namespace, name),
			listSlices: async (nodeName, driver) => (await rest()).listSlices(nodeName, driver),
		};
	}

	async getPod(namespace: string, name: string): Promise<Pod | undefined> {
		return this.#bounded(`get pod "${namespace}/${name}"`, async (rest, signal) => {
			const pod = await rest.optionalJson<ApiObject>({
				method: 'GET',
				path: `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`,
				signal,
			});
			if (pod === undefined) return undefined;
			this.rememberPod(pod);
			return toPod(pod, {namespace, name});
		});
	}

	/** Records `pod` as the latest known version, so a status write can PUT it without a GET. */
	rememberPod(pod: ApiObject): void {
		const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
		if (this.#lastRead.size > 1000) this.#lastRead.clear();
		this.#lastRead.set(key, pod);
	}

	async getNad(namespace: string, name: string): Promise<Nad | undefined> {
		return this.#bounded(`get network-attachment-definition "${namespace}/${name}"`, async (rest, signal) => {
			const path = `${NAD_PATH}/namespaces/${enc(namespace)}/network-attachment-definitions/${enc(name)}`;
			const nad = await rest.optionalJson<ApiObject>({method: 'GET', path, signal});
			return nad === undefined ? undefined : toNad(nad, {namespace, name});
		});
	}

	async setPodAnnotation(
		namespace: string,
		name: string,
		uid: string | undefined,
		key: string,
		value: string,
	): Promise<StatusWriteOutcome> {
		const what = `update pod "${namespace}/${name}" status`;
		const path = `/api/v1/namespaces/${enc(namespace)}/pods/${enc(name)}`;
		const cacheKey = `${namespace}/${name}`;
		let pod = this.#lastRead.get(cacheKey);
		this.#lastRead.delete(cacheKey);
		for (let attempt = 1; ; attempt++) {
			const known = pod;
			const outcome = await this.#bounded(what, async (rest, signal) => {
				let current = known ?? (await rest.optionalJson<ApiObject>({method: 'GET', path, signal}));
				// A remembered pod of another UID may be stale (re-created since): ask the API.
				if (known !== undefined && uid !== undefined && uid !== '' && known.metadata?.uid !== uid) {
					current = await rest.optionalJson<ApiObject>({method: 'GET', path, signal});
				}
				if (current === undefined) return 'pod-not-found' as const;
				if (uid !== undefined && uid !== '' && current.metadata?.uid !== uid) return 'uid-mismatch' as const;
				const body = {
					...current,
					metadata: {
						...current.metadata,
						annotations: {...(current.metadata?.annotations ?? {}), [key]: value},
					},
				};
				const {status, body: text} = await rest.request({
					method: 'PUT',
					path: `${path}/status`,
					body,
					signal,
				});
				if (status === 409) return 'conflict' as const;
				if (status === 404) return 'pod-not-found' as const;
				if (status < 200 || status > 299) {
					const {ApiStatusError} = await import('./rest/http.ts');
					throw new ApiStatusError(status, text);
				}
				this.rememberPod(JSON.parse(text) as ApiObject);
				return 'written' as const;
			});
			if (outcome !== 'conflict') return outcome;
			// A conflict: the pod changed (or is another pod now); read it again before retrying.
			pod = undefined;
			if (attempt >= STATUS_WRITE_ATTEMPTS) {
				throw new KubeApiError(
					what,
					409,
					new Error(`still conflicting after ${STATUS_WRITE_ATTEMPTS} attempts`),
				);
			}
		}
	}

	async createEvent(event: PodEvent): Promise<void> {
		await this.#bounded(
			`create event "${event.reason}" for pod "${event.namespace}/${event.podName}"`,
			async (rest, signal) => {
				const now = isoNow();
				await rest.json({
					method: 'POST',
					path: `/api/v1/namespaces/${enc(event.namespace)}/events`,
					signal,
					body: {
						apiVersion: 'v1',
						kind: 'Event',
						metadata: {
							name: `${event.podName}.${randomHex8()}${randomHex8()}`,
							namespace: event.namespace,
						},
						involvedObject: {
							apiVersion: 'v1',
							kind: 'Pod',
							name: event.podName,
							namespace: event.namespace,
							uid: event.podUid,
						},
						reason: event.reason,
						message: event.message,
						type: event.type,
						source: {component: 'plexus'},
						reportingComponent: 'plexus',
						firstTimestamp: now,
						lastTimestamp: now,
						count: 1,
					},
				});
			},
			false,
		);
	}

	/** Closes the kept-alive connections (the daemon, when a kubeconfig goes unused). */
	async close(): Promise<void> {
		if (this.#rest === undefined) return;
		(await this.#rest.catch(() => undefined))?.close();
	}
}
