/**
 * Kubelet's PodResources API (`v1.PodResourcesLister`, gRPC over kubelet's unix socket): the
 * devices kubelet's device plugins allocated to each container of a pod. This is the supported
 * interface; the device-manager checkpoint file (../k8s/device-plugin.ts) is read only when the
 * socket does not exist, as Multus does (reference device-allocation §1.2).
 *
 * `Get` asks for the one pod; kubelets before 1.34 (or with `KubeletPodResourcesGet` off) refuse
 * it, with UNIMPLEMENTED or a plain "method disabled" error, and then the node-wide `List` is used.
 * Every call has a deadline: an unresponsive kubelet fails the ADD after `timeoutMs` instead of
 * hanging the sandbox (kubernetes#131776).
 *
 * @grpc/grpc-js and @grpc/proto-loader cost ~0.2 s to load, so they are imported on the first
 * call only, i.e. only when a NAD names a resource.
 * @see https://github.com/kubernetes/kubelet/blob/63b3249724f7d89a8aa48f9acb3811f193c9aa68/pkg/apis/podresources/v1/api.proto
 */
import {stat} from 'node:fs/promises';
import {fileURLToPath} from 'node:url';
import type * as Grpc from '@grpc/grpc-js';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {DEFAULT_POD_RESOURCES_SOCKET} from '../k8s/device-plugin-paths.ts';
import {log} from '../log.ts';

/** The bound of one PodResources call (Multus: 10 s; kubelet answers from memory in milliseconds). */
export const DEFAULT_POD_RESOURCES_TIMEOUT_MS = 5000;
/** Multus' receive limit: a node-wide `List` on a large node can exceed grpc's 4 MiB default. */
const MAX_RECEIVE_BYTES = 16 * 1024 * 1024;
/** The .proto beside this module (shipped in the image with src/). */
export const POD_RESOURCES_PROTO = fileURLToPath(new URL('./pod-resources.proto', import.meta.url));

/** The devices of one resource allocated to one container, in kubelet's order. */
export interface ContainerDevices {
	container: string;
	resourceName: string;
	deviceIds: string[];
}

/** The decoded `PodResources` message (proto-loader's camelCase names). */
export interface PodResourcesMessage {
	name: string;
	namespace: string;
	containers: {name: string; devices: {resourceName: string; deviceIds: string[]}[]}[];
}

/** The loaded gRPC library and the service's client constructor and definition. */
export interface PodResourcesService {
	grpc: typeof Grpc;
	Client: Grpc.ServiceClientConstructor;
}

let service: Promise<PodResourcesService> | undefined;

/** Loads @grpc/grpc-js and the PodResources service once per process. */
export function loadPodResourcesService(): Promise<PodResourcesService> {
	service ??= (async () => {
		const [grpc, loader] = await Promise.all([import('@grpc/grpc-js'), import('@grpc/proto-loader')]);
		const definition = await loader.load(POD_RESOURCES_PROTO, {defaults: true, arrays: true});
		const pkg = grpc.loadPackageDefinition(definition) as {v1: {PodResourcesLister: unknown}};
		return {grpc, Client: pkg.v1.PodResourcesLister as Grpc.ServiceClientConstructor};
	})();
	return service;
}

/** The flat, ordered rows of a pod's `PodResources` message. */
export function containerDevices(pod: PodResourcesMessage | undefined): ContainerDevices[] {
	return (pod?.containers ?? []).flatMap((c) =>
		c.devices.map((d) => ({container: c.name, resourceName: d.resourceName, deviceIds: [...d.deviceIds]})),
	);
}

type Unary = (
	request: object,
	options: Grpc.CallOptions,
	callback: (error: Grpc.ServiceError | null, response?: unknown) => void,
) => void;

function call(
	client: Grpc.Client,
	method: 'Get' | 'List',
	request: object,
	timeoutMs: number,
): Promise<unknown> {
	const fn = (client as unknown as Record<string, Unary>)[method];
	if (fn === undefined) throw new Error(`the PodResources client has no ${method} method`);
	return new Promise((resolve, reject) => {
		fn.call(client, request, {deadline: Date.now() + timeoutMs}, (error, response) =>
			error === null ? resolve(response) : reject(error),
		);
	});
}

/** True when kubelet refuses `Get` itself (too old, or its feature gate off): `List` still works. */
function getUnsupported(grpc: typeof Grpc, error: Grpc.ServiceError): boolean {
	return (
		error.code === grpc.status.UNIMPLEMENTED ||
		(error.code === grpc.status.UNKNOWN && /method disabled/i.test(error.details ?? ''))
	);
}

/** The CNI error for a failed call: "try again later" (11) for overload and outages, else 5. */
function callError(grpc: typeof Grpc, socket: string, method: string, error: unknown): CniError {
	const e = error as Partial<Grpc.ServiceError>;
	const transient =
		e.code === grpc.status.RESOURCE_EXHAUSTED ||
		e.code === grpc.status.DEADLINE_EXCEEDED ||
		e.code === grpc.status.UNAVAILABLE;
	const code = e.code === undefined ? '' : ` (${grpc.status[e.code] ?? e.code})`;
	return new CniError(
		transient ? CniErrorCode.tryAgainLater : CniErrorCode.ioFailure,
		`failed to read pod resources from kubelet socket "${socket}": ${method}${code}: ${e.details ?? (error as Error).message}`,
		{cause: error},
	);
}

/**
 * The devices kubelet allocated to the pod, container by container in kubelet's order (sidecars
 * first, as kubelet reports them); undefined when the socket does not exist (the caller then
 * reads the checkpoint file). A pod kubelet does not know has no devices.
 *
 * @throws CniError naming the socket when it exists but cannot be read or the call fails (code 11
 * for RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED and UNAVAILABLE, code 5 otherwise).
 */
export async function readPodResources(
	pod: {namespace: string; name: string},
	socket: string = DEFAULT_POD_RESOURCES_SOCKET,
	timeoutMs: number = DEFAULT_POD_RESOURCES_TIMEOUT_MS,
): Promise<ContainerDevices[] | undefined> {
	try {
		await stat(socket);
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
		throw new CniError(
			CniErrorCode.ioFailure,
			`failed to read pod resources from kubelet socket "${socket}": ${(error as Error).message}`,
			{cause: error},
		);
	}
	const {grpc, Client} = await loadPodResourcesService();
	const client = new Client(`unix:${socket}`, grpc.credentials.createInsecure(), {
		'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
	});
	try {
		try {
			const reply = (await call(
				client,
				'Get',
				{podName: pod.name, podNamespace: pod.namespace},
				timeoutMs,
			)) as {podResources?: PodResourcesMessage | null};
			return containerDevices(reply.podResources ?? undefined);
		} catch (error) {
			const e = error as Grpc.ServiceError;
			// Kubelet answers an unknown pod with a plain error (code UNKNOWN), not NOT_FOUND.
			if (e.code === grpc.status.UNKNOWN && /not found/i.test(e.details ?? '')) return [];
			if (!getUnsupported(grpc, e)) throw callError(grpc, socket, 'Get', error);
			log('debug', 'kubelet refuses PodResources Get; using List', {socket, error: e.details});
		}
		try {
			const reply = (await call(client, 'List', {}, timeoutMs)) as {podResources: PodResourcesMessage[]};
			const found = reply.podResources.find((p) => p.name === pod.name && p.namespace === pod.namespace);
			return containerDevices(found);
		} catch (error) {
			throw callError(grpc, socket, 'List', error);
		}
	} finally {
		client.close();
	}
}
