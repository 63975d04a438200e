/**
 * A small Kubernetes API server for tests. No kube-apiserver can be installed on the test machines,
 * so this serves the real REST paths and JSON shapes Plexus uses, over HTTPS on 127.0.0.1 with a
 * generated CA (`tls.ts`) and bearer-token auth (401 otherwise), for the kinds in `kinds.ts`: pods
 * and pods/status, NetworkAttachmentDefinitions, events (core v1 and events.k8s.io/v1), and DRA
 * ResourceClaims and ResourceSlices. It lists and watches as kube-apiserver does: a global
 * resourceVersion on every object and list, field and label selectors, and watch streams
 * (`watch.ts`) with bookmarks, `timeoutSeconds` and 410 for a compacted resourceVersion. Writes
 * carry resourceVersion and uid preconditions (409 Conflict), errors are `Status` objects, and
 * tests can inject faults (status codes per path, latency, the server down or restarted), compact
 * the history, end watches, and assert on the request log.
 *
 * Production code talks to it only through @kubernetes/client-node with a kubeconfig
 * (see `writeKubeconfig`), exactly as it would talk to a real cluster.
 */
import {chmod, writeFile} from 'node:fs/promises';
import {
	createServer as createHttpServer,
	type IncomingMessage,
	type Server,
	type ServerResponse,
} from 'node:http';
import {createServer as createHttpsServer} from 'node:https';
import type {AddressInfo, Socket} from 'node:net';
import {join} from 'node:path';
import {EVENTS, EVENTS_V1, NADS, PODS, type Route, routeOf} from './kinds.ts';
import {fieldSelector, labelSelector} from './selectors.ts';
import {isPlainObject, StoreError, statusObject} from './status.ts';
import {type KubeObject, ObjectStore} from './store.ts';
import {testCertificates} from './tls.ts';
import {WatchStream} from './watch.ts';

export {
	EVENTS,
	EVENTS_V1,
	KINDS,
	NADS,
	PODS,
	RESOURCE_CLAIMS,
	RESOURCE_SLICES,
	type ResourceKind,
} from './kinds.ts';
export {StoreError, statusObject} from './status.ts';
export type {KubeObject, StoreEvent} from './store.ts';

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
	/** The HTTP status the server answered with (200 for a watch, even one ended by an ERROR event). */
	status: number;
	/** True for a watch request. */
	watch: boolean;
	/** The client's port: requests with the same port came over one connection. */
	clientPort: number | undefined;
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

/** Options of `TestApiServer.start`. */
export interface ApiServerOptions {
	/** Serve HTTPS with the generated CA (default) or plain HTTP (`false`), as an `http://` cluster. */
	tls?: boolean;
	/** The bearer token requests must carry; default 'plexus-test-token'. `null`: no auth. */
	token?: string | null;
	/** Delay before every answer (for a watch: before its headers), in milliseconds. Default 0. */
	latencyMs?: number;
	/** How many change events watches can replay before 410 (`ObjectStore` historyLimit). Default 1000. */
	historyLimit?: number;
	/** Periodic bookmarks to watches that allow them, as the real server's ~1 min. Default 60000; `null`: none. */
	bookmarkIntervalMs?: number | null;
}

/** Options of `writeKubeconfig`. */
export interface KubeconfigOptions {
	/** Another token than the server's (a wrong one gets 401). */
	token?: string;
	/** Write `insecure-skip-tls-verify: true` instead of the CA (what client-node needs for http://). */
	insecureSkipTlsVerify?: boolean;
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
	readonly store: ObjectStore;
	/** Every request served, in order. */
	readonly requests: RequestRecord[] = [];
	/** Extra delay before every answer, in milliseconds. */
	latencyMs: number;
	/** When set, requests must carry `Authorization: Bearer <token>` or get 401. */
	token: string | undefined;
	/** Periodic bookmark interval for new watches; undefined: none. */
	bookmarkIntervalMs: number | undefined;
	readonly tls: boolean;
	#caCert = '';
	#cert = '';
	#key = '';
	#faults: Fault[] = [];
	#server: Server | undefined;
	#sockets = new Set<Socket>();
	#watches = new Set<WatchStream>();
	#port = 0;

	private constructor(options: ApiServerOptions) {
		this.tls = options.tls ?? true;
		this.token = options.token === null ? undefined : (options.token ?? 'plexus-test-token');
		this.latencyMs = options.latencyMs ?? 0;
		this.bookmarkIntervalMs =
			options.bookmarkIntervalMs === null ? undefined : (options.bookmarkIntervalMs ?? 60_000);
		this.store = new ObjectStore({historyLimit: options.historyLimit});
	}

	/** Starts a server on 127.0.0.1 with a random free port. */
	static async start(options: ApiServerOptions = {}): Promise<TestApiServer> {
		const api = new TestApiServer(options);
		if (api.tls) {
			const certs = await testCertificates();
			api.#caCert = certs.caCert;
			api.#cert = certs.cert;
			api.#key = certs.key;
		}
		await api.#listen(0);
		return api;
	}

	get port(): number {
		return this.#port;
	}

	/** `https://127.0.0.1:<port>` (or http:// without TLS). */
	get url(): string {
		return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.#port}`;
	}

	/** The PEM CA certificate that signed the server certificate ('' without TLS). */
	get caCert(): string {
		return this.#caCert;
	}

	/** How many watch streams are open now. */
	get openWatches(): number {
		return this.#watches.size;
	}

	/** Makes matching requests fail with `fault.status` (a Status body) until `times` runs out. */
	inject(fault: Fault): void {
		this.#faults.push({...fault});
	}

	clearFaults(): void {
		this.#faults = [];
	}

	/** Sends a BOOKMARK now to every open watch that allows bookmarks. */
	bookmark(): void {
		for (const watch of this.#watches) watch.bookmark();
	}

	/** Ends every open watch as a server-side timeout does; clients re-watch from their last resourceVersion. */
	closeWatches(): void {
		for (const watch of [...this.#watches]) watch.close();
	}

	/** Drops the event history up to `resourceVersion` (default: all): older watches get 410. */
	compact(resourceVersion?: number): void {
		this.store.compact(resourceVersion);
	}

	/** Stops listening and drops open connections and watches: clients now see ECONNREFUSED. */
	async down(): Promise<void> {
		const server = this.#server;
		if (server === undefined) return;
		this.#server = undefined;
		const closed = new Promise<void>((resolve) => server.close(() => resolve()));
		for (const watch of [...this.#watches]) watch.close();
		for (const socket of this.#sockets) socket.destroy();
		await closed;
	}

	/** Listens again on the same port after `down()`. */
	async up(): Promise<void> {
		if (this.#server !== undefined) return;
		await this.#listen(this.#port);
	}

	/**
	 * Restarts on the same port, as a kube-apiserver restart: open watches and connections drop, and
	 * the watch history is lost (watches from an older resourceVersion get 410) unless `keepHistory`;
	 * the objects stay (they live in etcd) unless `keepObjects` is false.
	 */
	async restart(options: {keepObjects?: boolean; keepHistory?: boolean} = {}): Promise<void> {
		await this.down();
		if (options.keepObjects === false) this.store.clear();
		else if (options.keepHistory !== true) this.store.compact();
		await this.up();
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

	/** Replaces a NAD's spec.config (a MODIFIED event for watchers). */
	updateNad(namespace: string, name: string, config: string): KubeObject {
		const current = this.store.get(NADS, namespace, name);
		if (current === undefined) throw new StoreError(404, 'NotFound', `NAD ${namespace}/${name} not found`);
		return this.store.replace(NADS, namespace, name, {...current, spec: {config}}, undefined);
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

	/** A kubeconfig (JSON, which is YAML) for this server: its CA and the bearer token. */
	kubeconfig(options: KubeconfigOptions = {}): string {
		const cluster: Record<string, unknown> = {server: this.url};
		if (options.insecureSkipTlsVerify === true) cluster['insecure-skip-tls-verify'] = true;
		else if (this.tls) cluster['certificate-authority-data'] = Buffer.from(this.#caCert).toString('base64');
		const token = options.token ?? this.token;
		const config = {
			apiVersion: 'v1',
			kind: 'Config',
			clusters: [{name: 'plexus-test', cluster}],
			users: [{name: 'plexus', user: token === undefined ? {} : {token}}],
			contexts: [{name: 'plexus-test', context: {cluster: 'plexus-test', user: 'plexus'}}],
			'current-context': 'plexus-test',
		};
		return `${JSON.stringify(config, null, 2)}\n`;
	}

	/** Writes `kubeconfig()` to `dir/fileName` (mode 0600) and returns its path. */
	async writeKubeconfig(
		dir: string,
		fileName = 'kubeconfig',
		options: KubeconfigOptions = {},
	): Promise<string> {
		const path = join(dir, fileName);
		await writeFile(path, this.kubeconfig(options), {mode: 0o600});
		await chmod(path, 0o600);
		return path;
	}

	async #listen(port: number): Promise<void> {
		const handler = (req: IncomingMessage, res: ServerResponse): void => {
			this.#handle(req, res).catch((error: unknown) => {
				this.#send(res, 500, statusObject(500, String(error)));
			});
		};
		const server = this.tls
			? createHttpsServer({cert: this.#cert, key: this.#key}, handler)
			: createHttpServer(handler);
		// kube-apiserver keeps an idle connection 90 s (its http.Server IdleTimeout). The old 1 s made
		// Node's agent drop every idle socket at once (it reads `Keep-Alive: timeout=1`), so each
		// request paid a new TLS handshake: 10 per one-shot ADD, and a warm daemon's every write.
		server.keepAliveTimeout = 90_000;
		server.on('connection', (socket: Socket) => {
			this.#sockets.add(socket);
			socket.on('close', () => this.#sockets.delete(socket));
		});
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(port, '127.0.0.1', () => {
				server.off('error', reject);
				resolve();
			});
		});
		this.#server = server;
		this.#port = (server.address() as AddressInfo).port;
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
		const query = Object.fromEntries(url.searchParams);
		const record: RequestRecord = {
			method,
			path: url.pathname,
			query,
			contentType: req.headers['content-type']?.split(';')[0]?.trim(),
			authorization: req.headers.authorization,
			userAgent: req.headers['user-agent'],
			body: undefined,
			status: 0,
			watch: method === 'GET' && (query['watch'] === 'true' || query['watch'] === '1'),
			clientPort: req.socket.remotePort,
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
			if (method === 'GET' && url.pathname === '/version') {
				answer(200, {major: '1', minor: '34', gitVersion: 'v1.34.0-plexus-test', platform: 'linux/amd64'});
				return;
			}
			const route = routeOf(url.pathname);
			if (route === undefined) {
				answer(404, statusObject(404, 'the server could not find the requested resource'));
				return;
			}
			if (record.watch) {
				record.status = 200;
				this.#watch(route, query, res);
				return;
			}
			const [status, body] = this.#serve(route, method, query, record.contentType, record.body);
			answer(status, body);
		} catch (error) {
			if (error instanceof StoreError)
				answer(error.code, statusObject(error.code, error.message, error.reason));
			else throw error;
		}
	}

	#watch(route: Route, query: Record<string, string>, res: ServerResponse): void {
		const fields = fieldSelector(route.kind, route.name === undefined ? query['fieldSelector'] : undefined);
		const byName =
			route.name === undefined ? fields : fieldSelector(route.kind, `metadata.name=${route.name}`);
		const timeout = query['timeoutSeconds'] === undefined ? undefined : Number(query['timeoutSeconds']);
		const watch = new WatchStream(
			res,
			this.store,
			{
				kind: route.kind,
				namespace: route.namespace,
				fields: byName,
				labels: labelSelector(query['labelSelector']),
				resourceVersion: query['resourceVersion'],
				allowWatchBookmarks: query['allowWatchBookmarks'] === 'true' || query['allowWatchBookmarks'] === '1',
				sendInitialEvents: query['sendInitialEvents'] === 'true',
				timeoutSeconds:
					timeout !== undefined && Number.isFinite(timeout) && timeout > 0 ? timeout : undefined,
			},
			() => this.#watches.delete(watch),
		);
		this.#watches.add(watch);
		watch.start(this.bookmarkIntervalMs);
	}

	#serve(
		route: Route,
		method: string,
		query: Record<string, string>,
		contentType: string | undefined,
		body: unknown,
	): [number, unknown] {
		const {kind, namespace, name, subresource} = route;
		const object = isPlainObject(body) ? body : undefined;
		if (name === undefined) {
			if (method === 'GET') return [200, this.#list(route, query)];
			if (method === 'POST' && (namespace !== undefined || kind.namespaced === false)) {
				if (object === undefined) return [400, statusObject(400, 'the request body must be a JSON object')];
				const meta = isPlainObject(object['metadata']) ? object['metadata'] : undefined;
				if (namespace !== undefined && meta?.['namespace'] !== undefined && meta['namespace'] !== namespace) {
					return [
						400,
						statusObject(
							400,
							'the namespace of the provided object does not match the namespace sent on the request',
						),
					];
				}
				return [201, this.store.create(kind, namespace ?? '', object)];
			}
			return [405, statusObject(405, `method ${method} not allowed on a collection`)];
		}
		if (namespace === undefined && kind.namespaced !== false)
			return [404, statusObject(404, 'the server could not find the requested resource')];
		const ns = namespace ?? '';
		switch (method) {
			case 'GET': {
				const found = this.store.get(kind, ns, name);
				if (found === undefined) throw new StoreError(404, 'NotFound', notFoundMessage(kind, name));
				return [200, found];
			}
			case 'PUT':
				if (object === undefined) return [400, statusObject(400, 'the request body must be a JSON object')];
				return [200, this.store.replace(kind, ns, name, object, subresource)];
			case 'PATCH':
				return [200, this.store.patch(kind, ns, name, contentType ?? '', body, subresource)];
			case 'DELETE': {
				const preconditions = isPlainObject(object?.['preconditions']) ? object['preconditions'] : {};
				this.store.delete(kind, ns, name, preconditions);
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
			}
			default:
				return [405, statusObject(405, `method ${method} not allowed`)];
		}
	}

	/**
	 * A list with the store's resourceVersion and the selectors applied. `resourceVersionMatch=Exact`
	 * with a compacted resourceVersion is 410 Expired, as kube-apiserver answers.
	 */
	#list(route: Route, query: Record<string, string>): object {
		const {kind, namespace} = route;
		const rv = query['resourceVersion'];
		if (
			query['resourceVersionMatch'] === 'Exact' &&
			rv !== undefined &&
			Number(rv) < this.store.oldestResourceVersion
		) {
			throw new StoreError(410, 'Expired', `The resourceVersion for the provided list is too old.`);
		}
		const fields = fieldSelector(kind, query['fieldSelector']);
		const labels = labelSelector(query['labelSelector']);
		return {
			apiVersion: kind.apiVersion,
			kind: `${kind.kind}List`,
			metadata: {resourceVersion: this.store.resourceVersion},
			items: this.store.list(kind, namespace).filter((o) => fields(o) && labels(o)),
		};
	}
}

function notFoundMessage(kind: {plural: string; group: string}, name: string): string {
	return `${kind.plural}${kind.group === '' ? '' : `.${kind.group}`} "${name}" not found`;
}
