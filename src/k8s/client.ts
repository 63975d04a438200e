/**
 * The Kubernetes API seam: the few calls the meta-plugin makes (read a pod, read a NAD, write the
 * network-status annotation, post an event) behind `KubeClient`, with the @kubernetes/client-node
 * implementation and a fake (./testing/fake-client.ts) for unit tests.
 *
 * client-node is heavy to load (~0.3 s), and a one-shot CNI plugin must not pay that when no API
 * call is needed (a DEL served from the cache), so it is imported on the first call only.
 * Every call is bounded: each HTTP request is aborted after `requestTimeoutMs` and a call, retries
 * included, gives up after `callTimeoutMs` (Multus polls up to 2.5 s and then hangs for its 1 min
 * client timeout; kubelet's runtime then times the whole sandbox operation out).
 */
import {randomBytes} from 'node:crypto';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {log} from '../log.ts';
import {tracedApiCall} from '../observe/context.ts';
import {makeApiClient} from './user-agent.ts';

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
	 * Sets the pod's `k8s.v1.cni.cncf.io/network-status` annotation through pods/status: GET, check the
	 * UID (when `uid` is given), PUT with the read resourceVersion, and retry on 409 Conflict.
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
		const body = (cause as {body?: unknown}).body;
		if (typeof body === 'string' && body.startsWith('{')) {
			try {
				const message = (JSON.parse(body) as {message?: unknown}).message;
				if (typeof message === 'string') return message;
			} catch {
				// fall through to the error's own message
			}
		}
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

type ClientNode = typeof import('@kubernetes/client-node');

interface Apis {
	k8s: ClientNode;
	core: InstanceType<ClientNode['CoreV1Api']>;
	custom: InstanceType<ClientNode['CustomObjectsApi']>;
}

/**
 * The @kubernetes/client-node implementation. Nothing is loaded until the first call.
 *
 * @example
 * const kube = new NodeKubeClient({kubeconfig: '/etc/cni/net.d/plexus.d/plexus.kubeconfig'});
 * const pod = await kube.getPod('default', 'web-0');
 */
export class NodeKubeClient implements KubeClient {
	readonly #options: KubeClientOptions;
	#apis: Promise<Apis> | undefined;

	constructor(options: KubeClientOptions = {}) {
		this.#options = options;
	}

	get #requestTimeoutMs(): number {
		return this.#options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
	}

	get #callTimeoutMs(): number {
		return this.#options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
	}

	// Loads client-node and builds the two API clients with a per-request abort signal.
	#load(): Promise<Apis> {
		this.#apis ??= (async () => {
			const k8s = await import('@kubernetes/client-node');
			const kc = new k8s.KubeConfig();
			try {
				if (this.#options.kubeconfig !== undefined && this.#options.kubeconfig !== '') {
					kc.loadFromFile(this.#options.kubeconfig);
				} else {
					kc.loadFromCluster();
				}
			} catch (error) {
				throw new CniError(
					CniErrorCode.invalidConfig,
					`failed to load kubeconfig "${this.#options.kubeconfig ?? 'in-cluster'}": ${causeText(error)}`,
					{cause: error},
				);
			}
			const cluster = kc.getCurrentCluster();
			if (cluster === null) {
				throw new CniError(
					CniErrorCode.invalidConfig,
					`failed to load kubeconfig "${this.#options.kubeconfig ?? 'in-cluster'}": no current cluster`,
				);
			}
			const timeoutMs = this.#requestTimeoutMs;
			const timeout = {
				pre: (context: InstanceType<ClientNode['RequestContext']>) => {
					context.setSignal(AbortSignal.timeout(timeoutMs));
					return new k8s.Observable(Promise.resolve(context));
				},
				post: (context: InstanceType<ClientNode['ResponseContext']>) =>
					new k8s.Observable(Promise.resolve(context)),
			};
			return {
				k8s,
				core: makeApiClient(k8s, kc, k8s.CoreV1Api, [timeout]),
				custom: makeApiClient(k8s, kc, k8s.CustomObjectsApi, [timeout]),
			};
		})();
		return this.#apis;
	}

	// Runs `attempt` until it succeeds, fails for good, or the call deadline passes.
	#bounded<T>(what: string, attempt: (apis: Apis) => Promise<T>, retry = true): Promise<T> {
		return tracedApiCall(what, () => this.#retrying(what, attempt, retry));
	}

	async #retrying<T>(what: string, attempt: (apis: Apis) => Promise<T>, retry: boolean): Promise<T> {
		const apis = await this.#load();
		const deadline = performance.now() + this.#callTimeoutMs;
		for (;;) {
			try {
				return await attempt(apis);
			} catch (error) {
				if (error instanceof CniError) throw error;
				const failure = new KubeApiError(what, statusOf(apis, error), error);
				const left = deadline - performance.now();
				if (!retry || !failure.transient || left < RETRY_PAUSE_MS + 50) throw failure;
				log('debug', 'retrying a kubernetes api call', {call: what, error: failure.message});
				await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
			}
		}
	}

	async getPod(namespace: string, name: string): Promise<Pod | undefined> {
		return this.#bounded(`get pod "${namespace}/${name}"`, async ({k8s, core}) => {
			try {
				const pod = await core.readNamespacedPod({namespace, name});
				return {
					name: pod.metadata?.name ?? name,
					namespace: pod.metadata?.namespace ?? namespace,
					uid: pod.metadata?.uid ?? '',
					annotations: {...(pod.metadata?.annotations ?? {})},
				};
			} catch (error) {
				if (error instanceof k8s.ApiException && error.code === 404) return undefined;
				throw error;
			}
		});
	}

	async getNad(namespace: string, name: string): Promise<Nad | undefined> {
		return this.#bounded(
			`get network-attachment-definition "${namespace}/${name}"`,
			async ({k8s, custom}) => {
				try {
					const nad = (await custom.getNamespacedCustomObject({
						group: 'k8s.cni.cncf.io',
						version: 'v1',
						plural: 'network-attachment-definitions',
						namespace,
						name,
					})) as {metadata?: {annotations?: Record<string, string>}; spec?: {config?: unknown}};
					const config = nad.spec?.config;
					return {
						name,
						namespace,
						config: typeof config === 'string' ? config : undefined,
						annotations: {...(nad.metadata?.annotations ?? {})},
					};
				} catch (error) {
					if (error instanceof k8s.ApiException && error.code === 404) return undefined;
					throw error;
				}
			},
		);
	}

	async setPodAnnotation(
		namespace: string,
		name: string,
		uid: string | undefined,
		key: string,
		value: string,
	): Promise<StatusWriteOutcome> {
		const what = `update pod "${namespace}/${name}" status`;
		for (let attempt = 1; ; attempt++) {
			const outcome = await this.#bounded(what, async ({k8s, core}) => {
				let pod: Awaited<ReturnType<typeof core.readNamespacedPod>>;
				try {
					pod = await core.readNamespacedPod({namespace, name});
				} catch (error) {
					if (error instanceof k8s.ApiException && error.code === 404) return 'pod-not-found' as const;
					throw error;
				}
				if (uid !== undefined && uid !== '' && pod.metadata?.uid !== uid) return 'uid-mismatch' as const;
				pod.metadata = {...pod.metadata, annotations: {...(pod.metadata?.annotations ?? {}), [key]: value}};
				try {
					await core.replaceNamespacedPodStatus({namespace, name, body: pod});
					return 'written' as const;
				} catch (error) {
					if (error instanceof k8s.ApiException && error.code === 409) return 'conflict' as const;
					if (error instanceof k8s.ApiException && error.code === 404) return 'pod-not-found' as const;
					throw error;
				}
			});
			if (outcome !== 'conflict') return outcome;
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
			async ({core}) => {
				const now = new Date();
				await core.createNamespacedEvent({
					namespace: event.namespace,
					body: {
						metadata: {
							name: `${event.podName}.${randomBytes(8).toString('hex')}`,
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
}

function statusOf(apis: Apis, error: unknown): number | undefined {
	return error instanceof apis.k8s.ApiException ? error.code : undefined;
}
