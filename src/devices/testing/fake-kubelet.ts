/**
 * A fake kubelet PodResources endpoint: a real gRPC server (@grpc/grpc-js, the same .proto as the
 * client) on a unix socket, scriptable per test: the pods it knows, `Get` refused the way old
 * kubelets refuse it, a failing call, a reply slower than the client's deadline. Every request is
 * recorded as data.
 */
import type * as Grpc from '@grpc/grpc-js';
import {loadPodResourcesService, type PodResourcesMessage} from '../pod-resources.ts';

/** How `Get` behaves: answer, UNIMPLEMENTED (old kubelet), or kubelet's "method disabled" error. */
export type GetMode = 'answer' | 'unimplemented' | 'disabled';

/** One received call. */
export interface FakeKubeletCall {
	method: 'Get' | 'List';
	request: Record<string, unknown>;
}

export class FakeKubelet {
	/** The pods (and their containers' devices) the fake kubelet reports. */
	pods: PodResourcesMessage[] = [];
	getMode: GetMode = 'answer';
	/** When set, calls of that method (or both) fail with this gRPC status code and details. */
	failure: {method: 'Get' | 'List' | 'both'; code: number; details: string} | undefined;
	/** Delay before each reply, in ms (a reply slower than the client's deadline). */
	delayMs = 0;
	readonly calls: FakeKubeletCall[] = [];
	#server: Grpc.Server | undefined;
	readonly #timers = new Set<NodeJS.Timeout>();

	/** Serves on `socket` (a path) until stop(). */
	async start(socket: string): Promise<void> {
		const {grpc, Client} = await loadPodResourcesService();
		const server = new grpc.Server();
		server.addService(Client.service, {
			Get: (call: Grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: Grpc.sendUnaryData<unknown>) =>
				this.#answer(grpc, 'Get', call.request, cb),
			List: (call: Grpc.ServerUnaryCall<Record<string, unknown>, unknown>, cb: Grpc.sendUnaryData<unknown>) =>
				this.#answer(grpc, 'List', call.request, cb),
		});
		await new Promise<void>((resolve, reject) =>
			server.bindAsync(`unix:${socket}`, grpc.ServerCredentials.createInsecure(), (error) =>
				error === null ? resolve() : reject(error),
			),
		);
		this.#server = server;
	}

	/** Stops the server at once (pending slow replies are dropped). */
	async stop(): Promise<void> {
		for (const timer of this.#timers) clearTimeout(timer);
		this.#timers.clear();
		this.#server?.forceShutdown();
		this.#server = undefined;
	}

	#answer(
		grpc: typeof Grpc,
		method: 'Get' | 'List',
		request: Record<string, unknown>,
		cb: Grpc.sendUnaryData<unknown>,
	): void {
		this.calls.push({method, request: {...request}});
		const reply = (): void => {
			const failure = this.failure;
			if (failure !== undefined && (failure.method === method || failure.method === 'both')) {
				cb({code: failure.code, details: failure.details});
			} else if (method === 'List') {
				cb(null, {podResources: this.pods});
			} else if (this.getMode === 'unimplemented') {
				cb({
					code: grpc.status.UNIMPLEMENTED,
					details: 'unknown method Get for service v1.PodResourcesLister',
				});
			} else if (this.getMode === 'disabled') {
				cb({code: grpc.status.UNKNOWN, details: 'PodResources API Get method disabled'});
			} else {
				const pod = this.pods.find(
					(p) => p.name === request['podName'] && p.namespace === request['podNamespace'],
				);
				if (pod === undefined) {
					cb({
						code: grpc.status.UNKNOWN,
						details: `pod ${String(request['podName'])} in namespace ${String(request['podNamespace'])} not found`,
					});
				} else cb(null, {podResources: pod});
			}
		};
		if (this.delayMs === 0) {
			reply();
			return;
		}
		const timer = setTimeout(() => {
			this.#timers.delete(timer);
			reply();
		}, this.delayMs);
		this.#timers.add(timer);
	}
}
