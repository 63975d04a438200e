/**
 * A small Kubernetes REST transport on node:http/node:https: one keep-alive agent per API server,
 * TLS verified against the kubeconfig's CA (or skipped when it says `insecure-skip-tls-verify`),
 * bearer token (a token file is re-read once a minute, as client-go does for rotating
 * service-account tokens), client certificates or basic auth, Plexus's User-Agent, a JSON body
 * per request and newline-delimited JSON for watches.
 *
 * Hand-written instead of @kubernetes/client-node because that library costs ~0.63-0.78 s to
 * import in every one-shot CNI process (see ./kubeconfig.ts); this module loads in a few ms.
 * `http://` servers are accepted as client-go accepts them, with a warning in the log.
 */
import {readFileSync, statSync} from 'node:fs';
import type {Agent as HttpAgent, IncomingMessage} from 'node:http';
import {monotonicMs} from '../../clock.ts';
import {log} from '../../log.ts';
import {userAgent} from '../../version/version.ts';
import type {ClusterAccess} from './kubeconfig.ts';

// node:http and node:https come from process.getBuiltinModule, not an ESM import: importing
// node:http as an ES module evaluates every export of its facade, and its lazy WebSocket/fetch
// getters load Node's bundled undici (~23 ms of every one-shot ADD, for nothing used here).
const http = process.getBuiltinModule('node:http');
const https = process.getBuiltinModule('node:https');
const tls = process.getBuiltinModule('node:tls');

/** How long a token file's content is reused before it is read again (client-go: 1 minute). */
const TOKEN_FILE_TTL_MS = 60_000;

/** An answer other than 2xx: the HTTP status and the API's message (from its Status body). */
export class ApiStatusError extends Error {
	override name = 'ApiStatusError' as const;
	readonly status: number;
	/** The Status object's `reason` (`Expired`, `Conflict`, …), when the body had one. */
	readonly reason: string | undefined;

	constructor(status: number, body: string) {
		const parsed = parseStatus(body);
		super(parsed.message ?? (body.trim() === '' ? `HTTP ${status}` : body.trim().slice(0, 200)));
		this.status = status;
		this.reason = parsed.reason;
	}
}

function parseStatus(body: string): {message?: string; reason?: string} {
	if (!body.startsWith('{')) return {};
	try {
		const status = JSON.parse(body) as {message?: unknown; reason?: unknown};
		return {
			...(typeof status.message === 'string' ? {message: status.message} : {}),
			...(typeof status.reason === 'string' ? {reason: status.reason} : {}),
		};
	} catch {
		return {};
	}
}

/** One request: method, path (with its query already encoded), optional JSON body. */
export interface RestRequest {
	method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
	path: string;
	query?: Readonly<Record<string, string | number | boolean | undefined>> | undefined;
	body?: unknown;
	contentType?: string | undefined;
	signal?: AbortSignal | undefined;
}

/** How a {@link RestClient} uses the process's resources. */
export interface RestOptions {
	/** The most connections at once (undefined: one per request in flight). */
	maxSockets?: number | undefined;
	/**
	 * This is the process's only TLS client (a one-shot CNI call): see {@link trustOnly}.
	 */
	soleTlsClient?: boolean | undefined;
}

/**
 * Makes `ca` the process's default and only trust (tls.setDefaultCACertificates) and says whether
 * it could. A context given its own `ca` makes Node parse its ~140 bundled root certificates
 * first (measured: the first such context 9-13 ms, 17 ms with NODE_EXTRA_CA_CERTS set; this way
 * ~3 ms, on every one-shot ADD and DEL). Either way exactly that CA is trusted: both replace
 * the bundled and the extra certificates. A CA Node cannot parse stays the context's own `ca`, so
 * it fails at the handshake as before.
 */
function trustOnly(ca: Buffer): boolean {
	try {
		tls.setDefaultCACertificates([ca]);
		return true;
	} catch {
		return false;
	}
}

/**
 * The whole body of `res` as text. Plain listeners rather than the stream's async iterator, whose
 * machinery a one-shot process would load and run cold for every request (~1 ms of an ADD's
 * profile). Rejects when the response breaks off before its end.
 */
function readBody(res: IncomingMessage): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		res.on('data', (chunk: Buffer) => chunks.push(chunk));
		res.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		res.once('error', reject);
		res.once('close', () => {
			if (!res.complete)
				reject(new Error('the API server closed the connection before the response was complete'));
		});
	});
}

/** An API server reached with one `ClusterAccess`; connections are kept alive between requests. */
export class RestClient {
	readonly access: ClusterAccess;
	readonly #agent: HttpAgent;
	readonly #https: boolean;
	#token: {value: string; readAt: number; mtimeMs: number} | undefined;

	/** The transport for `access`; see {@link RestOptions}. */
	constructor(access: ClusterAccess, options: RestOptions = {}) {
		this.access = access;
		const {maxSockets} = options;
		const limit = maxSockets === undefined ? {} : {maxSockets};
		this.#https = access.server.protocol === 'https:';
		if (this.#https) {
			const ownCa = access.ca !== undefined && !(options.soleTlsClient === true && trustOnly(access.ca));
			// One TLS context for every connection (the agent would build one per socket: loading the
			// CA and key again costs 2-9 ms each time a one-shot ADD opens parallel requests).
			const secureContext = tls.createSecureContext({
				...(ownCa ? {ca: access.ca} : {}),
				...(access.cert === undefined ? {} : {cert: access.cert}),
				...(access.key === undefined ? {} : {key: access.key}),
			});
			this.#agent = new https.Agent({
				keepAlive: true,
				...limit,
				rejectUnauthorized: !access.insecure,
				secureContext,
				...(access.serverName === undefined ? {} : {servername: access.serverName}),
			});
		} else if (access.server.protocol === 'http:') {
			this.#agent = new http.Agent({keepAlive: true, ...limit});
			log(
				'warning',
				'the kubernetes api server is reached over plain http: nothing is encrypted or verified',
				{
					server: access.server.origin,
					kubeconfig: access.source,
				},
			);
		} else {
			throw new Error(`unsupported api server scheme "${access.server.protocol}" in "${access.server.href}"`);
		}
	}

	/** The Authorization header value, if any (token file re-read after a minute or a change). */
	#authorization(): string | undefined {
		const {token, tokenFile, basic} = this.access;
		if (token !== undefined) return `Bearer ${token}`;
		if (tokenFile !== undefined) {
			const now = monotonicMs();
			if (this.#token === undefined || now - this.#token.readAt > TOKEN_FILE_TTL_MS) {
				const mtimeMs = statSync(tokenFile).mtimeMs;
				const value =
					this.#token !== undefined && this.#token.mtimeMs === mtimeMs
						? this.#token.value
						: readFileSync(tokenFile, 'utf8').trim();
				this.#token = {value, readAt: now, mtimeMs};
			}
			return `Bearer ${this.#token.value}`;
		}
		if (basic !== undefined) return `Basic ${Buffer.from(basic).toString('base64')}`;
		return undefined;
	}

	/** Sends `req` and resolves with the response once its headers arrived. */
	#send(req: RestRequest, accept: string): Promise<IncomingMessage> {
		const url = new URL(req.path, this.access.server);
		for (const [key, value] of Object.entries(req.query ?? {})) {
			if (value !== undefined) url.searchParams.set(key, String(value));
		}
		const body = req.body === undefined ? undefined : Buffer.from(JSON.stringify(req.body));
		const headers: Record<string, string> = {'user-agent': userAgent(), accept};
		const authorization = this.#authorization();
		if (authorization !== undefined) headers['authorization'] = authorization;
		if (body !== undefined) {
			headers['content-type'] = req.contentType ?? 'application/json';
			headers['content-length'] = String(body.length);
		}
		const send = this.#https ? https.request : http.request;
		return new Promise((resolve, reject) => {
			const outgoing = send(url, {
				method: req.method,
				agent: this.#agent,
				headers,
				...(req.signal === undefined ? {} : {signal: req.signal}),
			});
			outgoing.on('response', resolve);
			outgoing.on('error', reject);
			outgoing.end(body);
		});
	}

	/** One request; resolves with the status and the body text (every status, 404 included). */
	async request(req: RestRequest): Promise<{status: number; body: string}> {
		const res = await this.#send(req, 'application/json');
		return {status: res.statusCode ?? 0, body: await readBody(res)};
	}

	/** One request whose answer must be 2xx JSON; anything else throws `ApiStatusError`. */
	async json<T>(req: RestRequest): Promise<T> {
		const {status, body} = await this.request(req);
		if (status < 200 || status > 299) throw new ApiStatusError(status, body);
		return JSON.parse(body) as T;
	}

	/** A read whose 404 is undefined (the object does not exist); otherwise as `json`. */
	async optionalJson<T>(req: RestRequest): Promise<T | undefined> {
		const {status, body} = await this.request(req);
		if (status === 404) return undefined;
		if (status < 200 || status > 299) throw new ApiStatusError(status, body);
		return JSON.parse(body) as T;
	}

	/**
	 * A watch: calls `onOpen` once the server accepted it, then `onEvent` for each newline-delimited
	 * JSON line until the server ends the stream (resolves) or it breaks (rejects). A non-2xx
	 * answer rejects with `ApiStatusError`.
	 */
	async watch(req: RestRequest, onEvent: (event: unknown) => void, onOpen?: () => void): Promise<void> {
		const res = await this.#send(req, 'application/json');
		if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) {
			throw new ApiStatusError(res.statusCode ?? 0, await readBody(res));
		}
		onOpen?.();
		let pending = '';
		try {
			for await (const chunk of res) {
				pending += (chunk as Buffer).toString('utf8');
				let newline = pending.indexOf('\n');
				while (newline !== -1) {
					const line = pending.slice(0, newline).trim();
					pending = pending.slice(newline + 1);
					newline = pending.indexOf('\n');
					if (line === '') continue;
					let event: unknown;
					try {
						event = JSON.parse(line);
					} catch {
						log('warning', 'ignoring a watch line that is not JSON', {path: req.path});
						continue;
					}
					onEvent(event);
				}
			}
		} finally {
			res.destroy();
		}
	}

	/** Closes the kept-alive connections. */
	close(): void {
		this.#agent.destroy();
	}
}
