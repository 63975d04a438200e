/**
 * A small CRI v1 client (runtime.v1.RuntimeService) over containerd's unix socket, for tests that
 * drive the runtime as kubelet does. There is no crictl on the test machines; this speaks gRPC
 * with @grpc/grpc-js over ./cri.proto (only the calls and fields the tests use).
 *
 * Field names are camelCase (proto-loader's default), enums are their names as strings, int64s
 * are strings. A failed call rejects with a `CriError` whose message is containerd's, e.g. the
 * CNI plugin's error text for a failed RunPodSandbox.
 *
 * @example
 * const cri = new CriClient(containerd.address);
 * const id = await cri.runPodSandbox({metadata: {name: 'p', namespace: 'ns', uid: 'u1'}});
 * await cri.stopPodSandbox(id);
 * await cri.removePodSandbox(id);
 * cri.close();
 */
import {fileURLToPath} from 'node:url';
import {
	type CallOptions,
	type Client,
	credentials,
	status as grpcStatus,
	loadPackageDefinition,
	Metadata,
	type ServiceClientConstructor,
	type ServiceError,
} from '@grpc/grpc-js';
import {loadSync} from '@grpc/proto-loader';

const PROTO = fileURLToPath(new URL('./cri.proto', import.meta.url));

/** Default deadline of one call: CNI ADD with several delegates (one-shot Node starts) takes seconds. */
const DEFAULT_DEADLINE_MS = 120_000;

export type NamespaceMode = 'POD' | 'CONTAINER' | 'NODE' | 'TARGET';

export interface NamespaceOption {
	network?: NamespaceMode;
	pid?: NamespaceMode;
	ipc?: NamespaceMode;
	targetId?: string;
}

export interface PortMapping {
	protocol?: 'TCP' | 'UDP' | 'SCTP';
	containerPort: number;
	hostPort: number;
	hostIp?: string;
}

export interface PodSandboxMetadata {
	name: string;
	uid: string;
	namespace: string;
	attempt?: number;
}

/** What kubelet sends in RunPodSandbox (the fields the tests use). */
export interface PodSandboxConfig {
	metadata: PodSandboxMetadata;
	hostname?: string;
	logDirectory?: string;
	portMappings?: PortMapping[];
	labels?: Record<string, string>;
	annotations?: Record<string, string>;
	linux?: {
		cgroupParent?: string;
		securityContext?: {namespaceOptions?: NamespaceOption; privileged?: boolean};
		sysctls?: Record<string, string>;
	};
}

export type PodSandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY';

export interface PodSandboxStatus {
	id: string;
	metadata: PodSandboxMetadata;
	state: PodSandboxState;
	createdAt: string;
	network: {ip: string; additionalIps: {ip: string}[]} | null;
	labels: Record<string, string>;
	annotations: Record<string, string>;
}

export interface PodSandboxStatusResponse {
	status: PodSandboxStatus;
	/** With `verbose`: containerd's JSON under the key "info". */
	info: Record<string, string>;
}

export interface PodSandbox {
	id: string;
	metadata: PodSandboxMetadata;
	state: PodSandboxState;
	labels: Record<string, string>;
	annotations: Record<string, string>;
}

export interface Mount {
	containerPath: string;
	hostPath: string;
	readonly?: boolean;
	propagation?: 'PROPAGATION_PRIVATE' | 'PROPAGATION_HOST_TO_CONTAINER' | 'PROPAGATION_BIDIRECTIONAL';
}

/** What kubelet sends in CreateContainer (the fields the tests use). */
export interface ContainerConfig {
	metadata: {name: string; attempt?: number};
	image: {image: string};
	command?: string[];
	args?: string[];
	workingDir?: string;
	envs?: {key: string; value: string}[];
	mounts?: Mount[];
	labels?: Record<string, string>;
	annotations?: Record<string, string>;
	logPath?: string;
	linux?: {
		securityContext?: {
			capabilities?: {addCapabilities?: string[]; dropCapabilities?: string[]};
			privileged?: boolean;
			namespaceOptions?: NamespaceOption;
			runAsUser?: {value: number};
			readonlyRootfs?: boolean;
		};
	};
}

export type ContainerState =
	| 'CONTAINER_CREATED'
	| 'CONTAINER_RUNNING'
	| 'CONTAINER_EXITED'
	| 'CONTAINER_UNKNOWN';

export interface ContainerStatus {
	id: string;
	metadata: {name: string; attempt: number};
	state: ContainerState;
	createdAt: string;
	startedAt: string;
	finishedAt: string;
	exitCode: number;
	reason: string;
	message: string;
	logPath: string;
}

export interface Container {
	id: string;
	podSandboxId: string;
	metadata: {name: string; attempt: number};
	state: ContainerState;
	labels: Record<string, string>;
}

/** One condition of the runtime's Status. */
export interface RuntimeCondition {
	type: string;
	status: boolean;
	reason: string;
	message: string;
}

/** A failed CRI call: the gRPC status code and containerd's message. */
export class CriError extends Error {
	override name = 'CriError' as const;
	/** The gRPC status code (2 UNKNOWN for most runtime errors, 5 NOT_FOUND, 4 DEADLINE_EXCEEDED). */
	readonly code: number;
	readonly method: string;

	constructor(method: string, error: ServiceError) {
		super(`${method}: ${error.details || error.message}`, {cause: error});
		this.code = error.code;
		this.method = method;
	}
}

type Callback = (error: ServiceError | null, response: unknown) => void;
type UnaryMethod = (request: unknown, metadata: Metadata, options: CallOptions, callback: Callback) => void;

let serviceConstructor: ServiceClientConstructor | undefined;

/** Loads cri.proto once per process. */
function runtimeService(): ServiceClientConstructor {
	if (serviceConstructor === undefined) {
		const definition = loadSync(PROTO, {longs: String, enums: String, defaults: true, oneofs: true});
		const loaded = loadPackageDefinition(definition) as unknown as {
			runtime: {v1: {RuntimeService: ServiceClientConstructor}};
		};
		serviceConstructor = loaded.runtime.v1.RuntimeService;
	}
	return serviceConstructor;
}

/** The CRI RuntimeService of one runtime socket. */
export class CriClient {
	readonly #client: Client;
	readonly #deadlineMs: number;

	/** `address`: the runtime's unix socket path. */
	constructor(address: string, deadlineMs = DEFAULT_DEADLINE_MS) {
		const Service = runtimeService();
		this.#client = new Service(`unix://${address}`, credentials.createInsecure());
		this.#deadlineMs = deadlineMs;
	}

	/** One unary call; rejects with a CriError. */
	#call<T>(method: string, request: unknown): Promise<T> {
		const fn = (this.#client as unknown as Record<string, UnaryMethod>)[method];
		if (fn === undefined) throw new Error(`cri.proto has no method ${method}`);
		return new Promise((resolve, reject) => {
			fn.call(
				this.#client,
				request,
				new Metadata(),
				{deadline: Date.now() + this.#deadlineMs},
				(error, response) => (error === null ? resolve(response as T) : reject(new CriError(method, error))),
			);
		});
	}

	/** The runtime's name and versions; also the readiness probe of the CRI plugin. */
	version(): Promise<{
		version: string;
		runtimeName: string;
		runtimeVersion: string;
		runtimeApiVersion: string;
	}> {
		return this.#call('Version', {version: 'v1'});
	}

	/** The runtime's conditions (RuntimeReady, NetworkReady: false until a CNI conf is loaded). */
	async status(): Promise<RuntimeCondition[]> {
		const response = await this.#call<{status: {conditions: RuntimeCondition[]} | null}>('Status', {});
		return response.status?.conditions ?? [];
	}

	/** Creates and starts a sandbox (the runtime runs CNI ADD); returns its ID. */
	async runPodSandbox(config: PodSandboxConfig, runtimeHandler = ''): Promise<string> {
		const response = await this.#call<{podSandboxId: string}>('RunPodSandbox', {config, runtimeHandler});
		return response.podSandboxId;
	}

	/** Stops a sandbox (containerd 1.6 runs CNI DEL on every call). */
	async stopPodSandbox(id: string): Promise<void> {
		await this.#call('StopPodSandbox', {podSandboxId: id});
	}

	/** Removes a sandbox (containerd 1.6 runs CNI DEL again if its netns is still there). */
	async removePodSandbox(id: string): Promise<void> {
		await this.#call('RemovePodSandbox', {podSandboxId: id});
	}

	/** A sandbox's status; `verbose` adds containerd's info JSON (see `sandboxInfo`). */
	podSandboxStatus(id: string, verbose = false): Promise<PodSandboxStatusResponse> {
		return this.#call('PodSandboxStatus', {podSandboxId: id, verbose});
	}

	/** Every sandbox the runtime knows, optionally only those with `labels`. */
	async listPodSandbox(labels: Record<string, string> = {}): Promise<PodSandbox[]> {
		const response = await this.#call<{items: PodSandbox[]}>('ListPodSandbox', {
			filter: {labelSelector: labels},
		});
		return response.items;
	}

	/** Creates a container in a sandbox; returns its ID. */
	async createContainer(
		podSandboxId: string,
		config: ContainerConfig,
		sandboxConfig: PodSandboxConfig,
	): Promise<string> {
		const response = await this.#call<{containerId: string}>('CreateContainer', {
			podSandboxId,
			config,
			sandboxConfig,
		});
		return response.containerId;
	}

	async startContainer(id: string): Promise<void> {
		await this.#call('StartContainer', {containerId: id});
	}

	/** Stops a container: SIGTERM, then SIGKILL after `timeoutSeconds`. */
	async stopContainer(id: string, timeoutSeconds = 0): Promise<void> {
		await this.#call('StopContainer', {containerId: id, timeout: String(timeoutSeconds)});
	}

	async removeContainer(id: string): Promise<void> {
		await this.#call('RemoveContainer', {containerId: id});
	}

	async containerStatus(
		id: string,
		verbose = false,
	): Promise<{status: ContainerStatus; info: Record<string, string>}> {
		return this.#call('ContainerStatus', {containerId: id, verbose});
	}

	/** Containers, optionally of one sandbox. */
	async listContainers(podSandboxId = ''): Promise<Container[]> {
		const response = await this.#call<{containers: Container[]}>('ListContainers', {filter: {podSandboxId}});
		return response.containers;
	}

	close(): void {
		this.#client.close();
	}
}

/** containerd's verbose sandbox info (the keys the tests read). */
export interface SandboxInfo {
	pid: number;
	runtimeSpec?: {linux?: {namespaces?: {type: string; path?: string}[]}};
}

/** Parses the verbose "info" JSON of a PodSandboxStatus answer. */
export function sandboxInfo(response: PodSandboxStatusResponse): SandboxInfo {
	const info = response.info['info'];
	if (info === undefined) throw new Error('PodSandboxStatus answer has no "info": ask with verbose');
	return JSON.parse(info) as SandboxInfo;
}

/** The network namespace path of a sandbox, from its verbose status (as kubelet's tools read it). */
export async function sandboxNetnsPath(cri: CriClient, id: string): Promise<string> {
	const info = sandboxInfo(await cri.podSandboxStatus(id, true));
	const path = info.runtimeSpec?.linux?.namespaces?.find((ns) => ns.type === 'network')?.path;
	if (path === undefined || path === '') throw new Error(`sandbox ${id} has no network namespace path`);
	return path;
}

/** True when `error` is a CriError for a missing object (gRPC NOT_FOUND). */
export function isNotFound(error: unknown): boolean {
	return error instanceof CriError && error.code === grpcStatus.NOT_FOUND;
}
