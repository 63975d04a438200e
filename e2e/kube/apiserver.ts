/**
 * A small Kubernetes API server for tests. No kube-apiserver can be installed on the test machines,
 * so this serves the real REST paths and JSON shapes Plexus uses, over plain HTTP on 127.0.0.1:
 * pods and pods/status (GET/LIST/POST/PUT/PATCH/DELETE), NetworkAttachmentDefinitions
 * (k8s.cni.cncf.io/v1), and events (core v1 and events.k8s.io/v1). Writes carry resourceVersion
 * and uid preconditions (409 Conflict), errors are `Status` objects, and tests can inject faults
 * (status codes per path, latency, the whole server down) and assert on the request log.
 *
 * Production code talks to it only through @kubernetes/client-node with a kubeconfig
 * (see `writeKubeconfig`), exactly as it would talk to a real cluster.
 */
import {chmod, writeFile} from 'node:fs/promises';
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import type {AddressInfo, Socket} from 'node:net';
import {join} from 'node:path';
import {type KubeObject, ObjectStore, type ResourceKind, StoreError} from './store.ts';

export const PODS: ResourceKind = {plural: 'pods', apiVersion: 'v1', kind: 'Pod', group: ''};
export const NADS: ResourceKind = {
	plural: 'network-attachment-definitions',
	apiVersion: 'k8s.cni.cncf.io/v1',
	kind: 'NetworkAttachmentDefinition',
	group: 'k8s.cni.cncf.io',
};
export const EVENTS: ResourceKind = {plural: 'events', apiVersion: 'v1', kind: 'Event', group: ''};
export const EVENTS_V1: ResourceKind = {
	plural: 'events',
	apiVersion: 'events.k8s.io/v1',
	kind: 'Event',
	group: 'events.k8s.io',
};

/** One request as the server saw it, for assertions. */
export interface RequestRecord {
	method: string;
	/** The path without the query string. */
	path: string;
	query: Record<string, string>;
	contentType: string | undefined;
	authorization: string | undefined;
	/** The request's User-Agent header. */
	userAgent: string | undefined;
	body: unknown;
	/** The HTTP status the server answered with. */
	status: number;
}

/** A fault: requests matching `method` (any when absent) and `path` answer `status` instead. */
export interface Fault {
	method?: string;
	path: string | RegExp;
	status: number;
	/** How many matching requests fail; unlimited when absent. */
	times?: number;
	message?: string;
}

const ROUTES: {pattern: RegExp; kind: ResourceKind}[] = [
	{pattern: /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?pods(?:\/([^/]+)(?:\/(status))?)?$/, kind: PODS},
	{
		pattern:
			/^\/apis\/k8s\.cni\.cncf\.io\/v1\/(?:namespaces\/([^/]+)\/)?network-attachment-definitions(?:\/([^/]+))?$/,
		kind: NADS,
	},
	{pattern: /^\/api\/v1\/(?:namespaces\/([^/]+)\/)?events(?:\/([^/]+))?$/, kind: EVENTS},
	{pattern: /^\/apis\/events\.k8s\.io\/v1\/(?:namespaces\/([^/]+)\/)?events(?:\/([^/]+))?$/, kind: EVENTS_V1},
];

const REASONS: Record<number, string> = {
	400: 'BadRequest',
	401: 'Unauthorized',
	403: 'Forbidden',
	404: 'NotFound',
	405: 'MethodNotAllowed',
	409: 'Conflict',
	415: 'UnsupportedMediaType',
	422: 'Invalid',
	429: 'TooManyRequests',
	500: 'InternalError',
	503: 'ServiceUnavailable',
	504: 'Timeout',
};

/** The `Status` object kube-apiserver answers errors with. */
export function statusObject(code: number, message: string, reason = REASONS[code] ?? 'Unknown'): object {
	return {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code};
}

/**
 * The test API server. `start()` listens on a random port of 127.0.0.1.
 *
 * @example
 * const api = await TestApiServer.start();
 * api.createPod({metadata: {name: 'p', namespace: 'default'}});
 * const kubeconfig = await api.writeKubeconfig(dir);
 */
export class TestApiServer {
	readonly store = new ObjectStore();
	/** Every request served, in order. */
	readonly requests: RequestRecord[] = [];
	/** Extra delay before every answer, in milliseconds. */
	latencyMs = 0;
	/** When set, requests must carry `Authorization: Bearer <token>` or get 401. */
	token: string | undefined = 'plexus-test-token';
	#faults: Fault[] = [];
	#server: Server;
	#sockets = new Set<Socket>();
	#port = 0;

	private constructor() {
		this.#server = this.#makeServer();
	}

	/** Starts a server on 127.0.0.1 with a random free port. */
	static async start(): Promise<TestApiServer> {
		const api = new TestApiServer();
		await api.#listen(0);
		return api;
	}

	get port(): number {
		return this.#port;
	}

	get url(): string {
		return `http://127.0.0.1:${this.#port}`;
	}

	/** Makes matching requests fail with `fault.status` (a Status body) until `times` runs out. */
	inject(fault: Fault): void {
		this.#faults.push({...fault});
	}

	clearFaults(): void {
		this.#faults = [];
	}

	/** Stops listening and drops open connections: clients now see ECONNREFUSED. */
	async down(): Promise<void> {
		if (!this.#server.listening) return;
		const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
		for (const socket of this.#sockets) socket.destroy();
		await closed;
	}

	/** Listens again on the same port after `down()`. */
	async up(): Promise<void> {
		if (this.#server.listening) return;
		this.#server = this.#makeServer();
		await this.#listen(this.#port);
	}

	async close(): Promise<void> {
		await this.down();
	}

	/** Requests whose method and path match, for assertions. */
	requestsTo(method: string, path: string | RegExp): RequestRecord[] {
		return this.requests.filter(
			(r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)),
		);
	}

	createPod(pod: {
		metadata: {name: string; namespace?: string; [key: string]: unknown};
		[key: string]: unknown;
	}): KubeObject {
		const namespace = pod.metadata.namespace ?? 'default';
		return this.store.create(PODS, namespace, {
			spec: {containers: [{name: 'c', image: 'pause'}]},
			status: {},
			...pod,
		});
	}

	getPod(namespace: string, name: string): KubeObject | undefined {
		return this.store.get(PODS, namespace, name);
	}

	deletePod(namespace: string, name: string): void {
		this.store.delete(PODS, namespace, name);
	}

	/** Creates a NAD; `config` undefined means an empty spec (resolved from confDir). */
	createNad(
		namespace: string,
		name: string,
		config: string | undefined,
		annotations?: Record<string, string>,
	): KubeObject {
		const metadata: Record<string, unknown> = {name};
		if (annotations !== undefined) metadata['annotations'] = annotations;
		return this.store.create(NADS, namespace, {metadata, spec: config === undefined ? {} : {config}});
	}

	deleteNad(namespace: string, name: string): void {
		this.store.delete(NADS, namespace, name);
	}

	/** Events stored through either events API, oldest first. */
	events(namespace?: string): KubeObject[] {
		return [...this.store.list(EVENTS, namespace), ...this.store.list(EVENTS_V1, namespace)].sort(
			(a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion),
		);
	}

	/**
	 * Writes a kubeconfig (mode 0600) pointing at this server with the bearer token, and returns its path.
	 */
	async writeKubeconfig(dir: string, fileName = 'kubeconfig'): Promise<string> {
		const path = join(dir, fileName);
		const config = {
			apiVersion: 'v1',
			kind: 'Config',
			// client-node refuses plain http unless TLS verification is off; the server is loopback-only.
			clusters: [{name: 'plexus-test', cluster: {server: this.url, 'insecure-skip-tls-verify': true}}],
			users: [{name: 'plexus', user: this.token === undefined ? {} : {token: this.token}}],
			contexts: [{name: 'plexus-test', context: {cluster: 'plexus-test', user: 'plexus'}}],
			'current-context': 'plexus-test',
		};
		await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, {mode: 0o600});
		await chmod(path, 0o600);
		return path;
	}

	#makeServer(): Server {
		const server = createServer((req, res) => {
			this.#handle(req, res).catch((error: unknown) => {
				this.#send(res, 500, statusObject(500, String(error)));
			});
		});
		server.keepAliveTimeout = 1000;
		server.on('connection', (socket) => {
			this.#sockets.add(socket);
			socket.on('close', () => this.#sockets.delete(socket));
		});
		return server;
	}

	async #listen(port: number): Promise<void> {
		await new Promise<void>((resolve, reject) => {
			this.#server.once('error', reject);
			this.#server.listen(port, '127.0.0.1', () => {
				this.#server.off('error', reject);
				resolve();
			});
		});
		this.#port = (this.#server.address() as AddressInfo).port;
	}

	#send(res: ServerResponse, status: number, body: unknown): void {
		if (res.headersSent) return;
		const text = JSON.stringify(body);
		res.writeHead(status, {'content-type': 'application/json', 'content-length': Buffer.byteLength(text)});
		res.end(text);
	}

	async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const url = new URL(req.url ?? '/', 'http://127.0.0.1');
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		const text = Buffer.concat(chunks).toString('utf8');
		const method = req.method ?? 'GET';
		const contentType = req.headers['content-type']?.split(';')[0]?.trim();
		const record: RequestRecord = {
			method,
			path: url.pathname,
			query: Object.fromEntries(url.searchParams),
			contentType,
			authorization: req.headers.authorization,
			userAgent: req.headers['user-agent'],
			body: undefined,
			status: 0,
		};
		this.requests.push(record);
		const answer = (status: number, body: unknown): void => {
			record.status = status;
			this.#send(res, status, body);
		};
		if (this.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
		if (text !== '') {
			try {
				record.body = JSON.parse(text);
			} catch {
				answer(400, statusObject(400, `the request body is not valid JSON: ${text.slice(0, 80)}`));
				return;
			}
		}
		const fault = this.#faults.find(
			(f) =>
				(f.method === undefined || f.method === method) &&
				(typeof f.path === 'string' ? f.path === url.pathname : f.path.test(url.pathname)) &&
				(f.times === undefined || f.times > 0),
		);
		if (fault !== undefined) {
			if (fault.times !== undefined) fault.times -= 1;
			answer(fault.status, statusObject(fault.status, fault.message ?? `injected fault ${fault.status}`));
			return;
		}
		if (this.token !== undefined && req.headers.authorization !== `Bearer ${this.token}`) {
			answer(401, statusObject(401, 'Unauthorized'));
			return;
		}
		try {
			const [status, body] = this.#route(method, url.pathname, contentType, record.body);
			answer(status, body);
		} catch (error) {
			if (error instanceof StoreError)
				answer(error.code, statusObject(error.code, error.message, error.reason));
			else throw error;
		}
	}

	#route(method: string, path: string, contentType: string | undefined, body: unknown): [number, unknown] {
		if (method === 'GET' && path === '/version') {
			return [200, {major: '1', minor: '34', gitVersion: 'v1.34.0-plexus-test', platform: 'linux/amd64'}];
		}
		for (const {pattern, kind} of ROUTES) {
			const match = pattern.exec(path);
			if (match === null) continue;
			const namespace = match[1] === undefined ? undefined : decodeURIComponent(match[1]);
			const name = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
			const subresource = match[3] === 'status' ? ('status' as const) : undefined;
			return this.#serve(kind, method, namespace, name, subresource, contentType, body);
		}
		return [404, statusObject(404, 'the server could not find the requested resource')];
	}

	#serve(
		kind: ResourceKind,
		method: string,
		namespace: string | undefined,
		name: string | undefined,
		subresource: 'status' | undefined,
		contentType: string | undefined,
		body: unknown,
	): [number, unknown] {
		const object =
			typeof body === 'object' && body !== null && !Array.isArray(body)
				? (body as Record<string, unknown>)
				: undefined;
		if (name === undefined) {
			if (method === 'GET') {
				return [
					200,
					{
						apiVersion: kind.apiVersion,
						kind: `${kind.kind}List`,
						metadata: {resourceVersion: this.store.resourceVersion},
						items: this.store.list(kind, namespace),
					},
				];
			}
			if (method === 'POST' && namespace !== undefined) {
				if (object === undefined) return [400, statusObject(400, 'the request body must be a JSON object')];
				const meta = object['metadata'] as Record<string, unknown> | undefined;
				if (meta?.['namespace'] !== undefined && meta['namespace'] !== namespace) {
					return [
						400,
						statusObject(
							400,
							'the namespace of the provided object does not match the namespace sent on the request',
						),
					];
				}
				return [201, this.store.create(kind, namespace, object)];
			}
			return [405, statusObject(405, `method ${method} not allowed on a collection`)];
		}
		if (namespace === undefined)
			return [404, statusObject(404, 'the server could not find the requested resource')];
		switch (method) {
			case 'GET': {
				const found = this.store.get(kind, namespace, name);
				if (found === undefined)
					throw new StoreError(
						404,
						'NotFound',
						`${kind.plural}${kind.group === '' ? '' : `.${kind.group}`} "${name}" not found`,
					);
				return [200, found];
			}
			case 'PUT':
				if (object === undefined) return [400, statusObject(400, 'the request body must be a JSON object')];
				return [200, this.store.replace(kind, namespace, name, object, subresource)];
			case 'PATCH':
				return [200, this.store.patch(kind, namespace, name, contentType ?? '', body, subresource)];
			case 'DELETE':
				this.store.delete(kind, namespace, name);
				return [
					200,
					{
						kind: 'Status',
						apiVersion: 'v1',
						metadata: {},
						status: 'Success',
						details: {name, kind: kind.plural},
					},
				];
			default:
				return [405, statusObject(405, `method ${method} not allowed`)];
		}
	}
}
