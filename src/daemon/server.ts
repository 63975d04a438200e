/**
 * The Plexus daemon: HTTP/1.1 on a unix socket, wire-compatible with Multus's thick plugin so a
 * multus-shim works against it as well as plexus-shim.
 *
 * - `POST /cni`      `{env, config}` → 200 `{"Result": …}` (ADD) or 200 and no body; 400 + CNI error JSON;
 *                    503 when it carries `Plexus-Require-Ready: 1` and the daemon is not ready (plexus-shim
 *                    sends it instead of asking GET /readyz first; multus-shim does not, and is served as before)
 * - `POST /delegate` one delegate for a running pod, with `interfaceAttributes` (hot-plug)
 * - `GET|POST /healthz` 200 while the process serves; `GET|POST /readyz` 200, or 500 once shutting down
 * - `GET /trace?pod=<namespace>/<name>` the pod's recent operations (`plexus trace`), JSON
 * - anything else 404; a non-POST to /cni or /delegate 405
 *
 * Every CNI request runs through a bounded WorkQueue (full → code 11) and the injected CniPlugin
 * via src/cni/dispatch.ts, so the daemon and the one-shot binary share the exact same semantics.
 * @see https://github.com/k8snetworkplumbingwg/multus-cni/blob/master/docs/thick-plugin.md
 */
import {chmodSync, lstatSync, mkdirSync, readdirSync, statSync, unlinkSync} from 'node:fs';
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import {connect} from 'node:net';
import {basename, dirname} from 'node:path';
import {performance} from 'node:perf_hooks';
import {setTimeout as sleep} from 'node:timers/promises';
import {dispatch} from '../cni/dispatch.ts';
import {CniError, CniErrorCode, toCniError} from '../cni/errors.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import {CURRENT_VERSION, sniffVersion} from '../cni/versions.ts';
import {log} from '../log.ts';
import type {TraceStore} from '../observe/trace.ts';
import {traced} from '../observe/traced.ts';
import {DaemonMetrics} from './metrics.ts';
import {type QueueLimits, WorkQueue} from './queue.ts';
import {applyInterfaceAttributes, parseThickRequest, requestEnv} from './request.ts';

/** The socket Multus's layout would suggest for Plexus (dir 0700, socket 0600). */
export const DEFAULT_SOCKET_PATH = '/run/plexus/plexus.sock';

/** The largest request body accepted (configs with big prevResults stay far below). */
export const MAX_BODY_BYTES = 16 << 20;

/** The request header (value "1") asking for 503 instead of a run while the daemon is not ready. */
export const REQUIRE_READY_HEADER = 'plexus-require-ready';

export interface DaemonOptions {
	/** Where to listen; the directory is created 0700, the socket chmod 0600. */
	socketPath: string;
	/** The meta-plugin: what POST /cni runs. */
	plugin: CniPlugin;
	/** What POST /delegate runs (a single delegate conf); without it /delegate answers code 50. */
	delegatePlugin?: CniPlugin | undefined;
	limits?: Partial<QueueLimits> | undefined;
	/** CNI_PATH for requests that carry none (the hot-plug controller's). */
	defaultCniPath?: readonly string[] | undefined;
	/** The environment plugins run with, before the request's CNI_* (default: process.env). */
	env?: Readonly<Record<string, string | undefined>> | undefined;
	/** Extra readiness, e.g. "informer caches synced" (default: always ready). */
	isReady?: (() => boolean) | undefined;
	/** Metrics to record into (default: a fresh set over this daemon's queue). */
	metrics?: DaemonMetrics | undefined;
	/** Where CNI operations are recorded for GET /trace (default: none kept, /trace answers 404). */
	traces?: TraceStore | undefined;
}

export interface ShutdownOptions {
	/** How long /readyz answers 500 while requests are still accepted, so shims notice (default 0). */
	graceMs?: number;
	/** How long in-flight and queued requests may take to finish before connections are cut (default 30 s). */
	drainTimeoutMs?: number;
}

/** Reads a request body up to `limit` bytes (413 beyond). */
async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
	const chunks: Buffer[] = [];
	let size = 0;
	for await (const chunk of req as AsyncIterable<Buffer>) {
		size += chunk.length;
		if (size > limit) {
			throw new CniError(CniErrorCode.ioFailure, `failed to read daemon request: larger than ${limit} bytes`);
		}
		chunks.push(chunk);
	}
	return new Uint8Array(Buffer.concat(chunks));
}

/** Removes a stale socket left by a dead daemon; refuses to touch a live one or a non-socket. */
async function clearStaleSocket(path: string): Promise<void> {
	let isSocket: boolean;
	try {
		isSocket = lstatSync(path).isSocket();
	} catch {
		return;
	}
	if (!isSocket) throw new Error(`failed to listen on "${path}": exists and is not a socket`);
	const alive = await new Promise<boolean>((resolve) => {
		const probe = connect(path);
		probe.once('connect', () => {
			probe.destroy();
			resolve(true);
		});
		probe.once('error', () => resolve(false));
	});
	if (alive) throw new Error(`failed to listen on "${path}": another daemon is serving it`);
	unlinkSync(path);
}

/**
 * Makes the socket's directory 0700: created so, or tightened when it holds nothing but the socket
 * (a hostPath the kubelet created 0755). A directory holding anything else (say /run or /tmp) is
 * shared: its mode is left alone, with a warning, as chmod-ing it would break the host.
 */
function prepareSocketDir(socketPath: string): void {
	const dir = dirname(socketPath);
	mkdirSync(dir, {recursive: true, mode: 0o700});
	const entries = readdirSync(dir).filter((name) => name !== basename(socketPath));
	if (entries.length === 0) {
		chmodSync(dir, 0o700);
		return;
	}
	const mode = statSync(dir).mode & 0o777;
	if (mode !== 0o700) {
		log('warning', 'socket directory is shared and not 0700; left as it is (the socket itself is 0600)', {
			dir,
			mode: mode.toString(8),
		});
	}
}

/** A running daemon. Create with `Daemon.start`. */
export class Daemon {
	readonly socketPath: string;
	readonly queue: WorkQueue;
	readonly metrics: DaemonMetrics;
	readonly #options: DaemonOptions;
	readonly #server: Server;
	#draining = false;
	#closed: Promise<void> | undefined;

	private constructor(options: DaemonOptions) {
		this.#options = options;
		this.socketPath = options.socketPath;
		this.queue = new WorkQueue(options.limits);
		this.metrics =
			options.metrics ??
			new DaemonMetrics({inFlight: () => this.queue.inFlight, queued: () => this.queue.queued});
		this.#server = createServer((req, res) => {
			this.#route(req, res).catch((err: unknown) => {
				log('error', 'daemon request handler failed', {error: String(err)});
				if (!res.headersSent) res.writeHead(500);
				res.end();
			});
		});
	}

	/** Creates the socket directory (0700), clears a stale socket, listens, and chmods the socket 0600. */
	static async start(options: DaemonOptions): Promise<Daemon> {
		const daemon = new Daemon(options);
		prepareSocketDir(options.socketPath);
		await clearStaleSocket(options.socketPath);
		// The socket is bound 0600 (umask 0177), so not even a moment exists in which others could connect.
		const umask = process.umask(0o177);
		try {
			await new Promise<void>((resolve, reject) => {
				daemon.#server.once('error', reject);
				daemon.#server.listen(options.socketPath, () => {
					daemon.#server.off('error', reject);
					resolve();
				});
			});
		} finally {
			process.umask(umask);
		}
		chmodSync(options.socketPath, 0o600);
		log('info', 'plexus daemon listening', {
			socket: options.socketPath,
			maxConcurrent: daemon.queue.limits.maxConcurrent,
			maxQueued: daemon.queue.limits.maxQueued,
		});
		return daemon;
	}

	/** What /readyz reports: not shutting down and the injected readiness holds. */
	get ready(): boolean {
		return !this.#draining && (this.#options.isReady?.() ?? true);
	}

	/**
	 * Graceful stop: /readyz fails at once; after `graceMs` new requests are refused (code 11) and the
	 * socket is closed; in-flight and queued requests finish (up to `drainTimeoutMs`); then every
	 * connection is closed. Idempotent.
	 */
	shutdown(options: ShutdownOptions = {}): Promise<void> {
		this.#closed ??= this.#shutdown(options);
		return this.#closed;
	}

	async #shutdown({graceMs = 0, drainTimeoutMs = 30_000}: ShutdownOptions): Promise<void> {
		this.#draining = true;
		log('info', 'plexus daemon shutting down', {
			inFlight: this.queue.inFlight,
			queued: this.queue.queued,
			graceMs,
		});
		if (graceMs > 0) await sleep(graceMs);
		this.queue.close();
		const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
		const drained = await Promise.race([
			this.queue.idle().then(() => true),
			sleep(drainTimeoutMs, undefined, {ref: false}).then(() => false),
		]);
		if (!drained) {
			log('warning', 'plexus daemon drain timed out', {
				inFlight: this.queue.inFlight,
				queued: this.queue.queued,
				drainTimeoutMs,
			});
		}
		this.#server.closeAllConnections();
		await closed;
		log('info', 'plexus daemon stopped', {drained});
	}

	async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
		const path = (req.url ?? '/').split('?')[0] ?? '/';
		const method = req.method ?? 'GET';
		res.setHeader('connection', 'close');
		let status: number;
		switch (path) {
			case '/cni':
			case '/delegate':
				status =
					method === 'POST'
						? await this.#serveCni(req, res, path)
						: this.#reply(res, 405, 'method not allowed\n');
				break;
			case '/trace':
				status =
					method === 'GET' ? this.#serveTrace(req, res) : this.#reply(res, 405, 'method not allowed\n');
				break;
			case '/healthz':
			case '/readyz': {
				if (method !== 'GET' && method !== 'POST') {
					status = this.#reply(res, 405, 'method not allowed\n');
				} else if (path === '/healthz' || this.ready) {
					status = this.#reply(res, 200, '');
				} else {
					status = this.#reply(res, 500, 'shutting down or not ready\n');
				}
				break;
			}
			default:
				status = this.#reply(res, 404, 'not found\n');
		}
		const handler = ['/cni', '/delegate', '/healthz', '/readyz', '/trace'].includes(path) ? path : 'NotFound';
		this.metrics.httpRequests.inc({handler, method, code: String(status)});
	}

	/** GET /trace?pod=<namespace>/<name>: the pod's remembered operations, oldest first. */
	#serveTrace(req: IncomingMessage, res: ServerResponse): number {
		const traces = this.#options.traces;
		if (traces === undefined) return this.#reply(res, 404, 'this daemon keeps no traces\n');
		const pod = new URL(req.url ?? '/', 'http://daemon').searchParams.get('pod') ?? '';
		const [namespace, name, ...rest] = pod.split('/');
		if (namespace === undefined || namespace === '' || name === undefined || name === '' || rest.length > 0) {
			return this.#reply(res, 400, `expected ?pod=<namespace>/<name>, got "${pod}"\n`);
		}
		const body = JSON.stringify({capacity: traces.capacity, operations: traces.forPod(namespace, name)});
		return this.#reply(res, 200, body, 'application/json');
	}

	#reply(res: ServerResponse, status: number, body: string, type = 'text/plain'): number {
		res.writeHead(status, {'content-type': type, 'content-length': Buffer.byteLength(body)});
		res.end(body);
		return status;
	}

	/** One CNI request: decode, queue, dispatch, answer in Multus's shapes. */
	async #serveCni(req: IncomingMessage, res: ServerResponse, path: string): Promise<number> {
		if (req.headers[REQUIRE_READY_HEADER] === '1' && !this.ready) {
			// Read the body first: the shim sends all of it before it reads the answer.
			await readBody(req, MAX_BODY_BYTES).catch(() => undefined);
			return this.#reply(res, 503, 'not ready: wait for GET /readyz\n');
		}
		const started = performance.now();
		let command = 'UNKNOWN';
		let cniVersion: string = CURRENT_VERSION;
		let error: CniError | undefined;
		let body = '';
		let containerId = '';
		let ifname = '';
		try {
			const request = parseThickRequest(await readBody(req, MAX_BODY_BYTES));
			command = request.env['CNI_COMMAND'] ?? 'UNKNOWN';
			containerId = request.env['CNI_CONTAINERID'] ?? '';
			ifname = request.env['CNI_IFNAME'] ?? '';
			cniVersion = sniffVersion(request.config) ?? CURRENT_VERSION;
			let plugin = this.#options.plugin;
			let stdin = request.config;
			if (path === '/delegate') {
				if (this.#options.delegatePlugin === undefined) {
					throw new CniError(
						CniErrorCode.notAvailable,
						'failed to run delegate request: this daemon has no delegate runner configured',
					);
				}
				plugin = this.#options.delegatePlugin;
				if (request.interfaceAttributes !== undefined) {
					stdin = applyInterfaceAttributes(stdin, request.interfaceAttributes);
				}
			}
			const env = requestEnv(request, this.#options.env ?? process.env, this.#options.defaultCniPath ?? []);
			const outcome = await traced(this.#options.traces, env, () =>
				this.queue.run(() => dispatch(plugin, {getenv: (name) => env[name], stdin, env})),
			);
			if (outcome.ok) {
				body = outcome.stdout === '' ? '' : `{"Result":${outcome.stdout}}`;
			} else {
				error = outcome.error;
				cniVersion = outcome.cniVersion;
			}
		} catch (err) {
			error = toCniError(err);
		}
		const seconds = (performance.now() - started) / 1000;
		this.metrics.observeRequest(command, seconds, error?.code);
		const fields = {command, containerId, ifname, path, durationMs: Math.round(seconds * 1e4) / 10};
		if (error !== undefined) {
			log('error', 'cni request failed', {...fields, code: error.code, error: error.message});
			return this.#reply(res, 400, JSON.stringify(error.toJson(cniVersion)), 'application/json');
		}
		log('info', 'cni request done', fields);
		return this.#reply(res, 200, body, 'application/json');
	}
}
