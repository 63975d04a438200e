/**
 * A reflector, after client-go's (tools/cache/reflector.go): list a resource, then watch it from
 * the list's resourceVersion and keep a local store of the objects current. As client-go does:
 * - watches ask for bookmarks (`allowWatchBookmarks=true`) and a server-side timeout drawn from
 *   [5, 10) minutes (minWatchTimeout × (1 + rand)), so a quiet node re-opens each watch at most
 *   ~12 times an hour instead of every 30 s (client-node's ListWatch);
 * - a watch that ends normally is re-opened from the last resourceVersion seen (event or bookmark);
 * - `410 Gone` (the resourceVersion is too old: an HTTP 410 or an ERROR event) re-lists at once;
 * - any other failure (API server restarting, connection refused) retries with backoff
 *   (800 ms doubling to 30 s), keeping the store, which goes on serving reads meanwhile.
 * A DELETED event removes an object only if the stored one has the same UID, so a pod deleted and
 * re-created under its name is never replaced by, or lost to, its predecessor.
 */
import {log} from '../../log.ts';
import type {ApiObject} from '../client.ts';
import type {RestClient} from '../rest/http.ts';

/** client-go's minWatchTimeout: a watch lasts between this and twice this. */
export const MIN_WATCH_TIMEOUT_S = 300;
/** First retry pause after a failed list or watch, doubled up to BACKOFF_MAX_MS. */
export const BACKOFF_INITIAL_MS = 800;
export const BACKOFF_MAX_MS = 30_000;
/** A watch that ends sooner than this without any event counts as failed (backoff). */
const SHORT_WATCH_MS = 1000;
/** How long past its timeoutSeconds a silent watch is given before it is cut (a dead connection). */
const WATCH_GRACE_MS = 30_000;

/** What a reflector counts, for tests, metrics and the bench. */
export interface ReflectorStats {
	lists: number;
	watches: number;
	bookmarks: number;
	events: number;
	/** Lists forced by 410 Gone. */
	gone: number;
	failures: number;
}

/** What to reflect and how. */
export interface ReflectorOptions {
	/** The collection path, e.g. `/api/v1/pods`. */
	path: string;
	fieldSelector?: string | undefined;
	/** Returns [0, 1); randomises the watch timeout (tests pin it). */
	random?: () => number;
	/** A watch ending sooner than this without events backs off (default 1 s; tests pass 0). */
	shortWatchMs?: number;
	/** Called after each list or watch event (informer health). */
	onActivity?: (() => void) | undefined;
	/** Called with true after a list succeeded, false when list or watch failed. */
	onSynced?: ((synced: boolean) => void) | undefined;
}

/** The 410 Gone of a watch or list: the resourceVersion asked for is no longer available. */
class GoneError extends Error {
	override name = 'GoneError' as const;
}

/** The store key of an object: `namespace/name`. */
export function objectKey(object: ApiObject): string {
	return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}

/** Drops what no reader needs and would only take memory (client-go's informers do the same). */
function trim(object: ApiObject): ApiObject {
	if (object.metadata !== undefined && 'managedFields' in object.metadata) {
		const {managedFields: _, ...metadata} = object.metadata as Record<string, unknown>;
		return {...object, metadata};
	}
	return object;
}

/** A list + watch loop over one collection, with its store. */
export class Reflector {
	readonly store = new Map<string, ApiObject>();
	readonly stats: ReflectorStats = {lists: 0, watches: 0, bookmarks: 0, events: 0, gone: 0, failures: 0};
	readonly #rest: RestClient;
	readonly #options: ReflectorOptions;
	readonly #stop = new AbortController();
	#resourceVersion = '';
	#synced = false;
	#loop: Promise<void> | undefined;

	constructor(rest: RestClient, options: ReflectorOptions) {
		this.#rest = rest;
		this.#options = options;
	}

	/** True once a list succeeded and no failure happened since. */
	get synced(): boolean {
		return this.#synced;
	}

	/** The resourceVersion the next watch starts from. */
	get resourceVersion(): string {
		return this.#resourceVersion;
	}

	/** Starts the loop; resolves after the first list attempt, whether it succeeded or not. */
	start(): Promise<void> {
		let firstAttempt!: () => void;
		const attempted = new Promise<void>((resolve) => {
			firstAttempt = resolve;
		});
		this.#loop ??= this.#run(firstAttempt);
		return attempted;
	}

	/** Stops the loop and waits for it to end. */
	async stop(): Promise<void> {
		this.#stop.abort();
		await this.#loop;
	}

	#setSynced(synced: boolean): void {
		this.#synced = synced;
		this.#options.onSynced?.(synced);
	}

	async #run(firstAttempt: () => void): Promise<void> {
		let needList = true;
		let backoffMs = BACKOFF_INITIAL_MS;
		// A 410 right after a fresh list would re-list in a loop: from the second one on, back off.
		let goneInARow = 0;
		const signal = this.#stop.signal;
		while (!signal.aborted) {
			try {
				if (needList) {
					try {
						await this.#list(signal);
					} finally {
						firstAttempt();
					}
					needList = false;
					backoffMs = BACKOFF_INITIAL_MS;
				}
				const opened = performance.now();
				const eventsBefore = this.stats.events + this.stats.bookmarks;
				await this.#watch(signal);
				// client-go's "very short watch": ended at once with nothing in it, so back off
				// rather than re-open it in a tight loop.
				if (
					performance.now() - opened < (this.#options.shortWatchMs ?? SHORT_WATCH_MS) &&
					this.stats.events + this.stats.bookmarks === eventsBefore
				) {
					throw new Error('the watch ended at once without any event');
				}
				backoffMs = BACKOFF_INITIAL_MS;
				goneInARow = 0;
			} catch (error) {
				if (signal.aborted) break;
				if (error instanceof GoneError || (error as {status?: unknown}).status === 410) {
					this.stats.gone++;
					needList = true;
					if (goneInARow++ === 0) continue;
				}
				this.stats.failures++;
				this.#setSynced(false);
				log('warning', 'informer list or watch failed; retrying (reads fall back to the API meanwhile)', {
					path: this.#options.path,
					error: error instanceof Error ? error.message : String(error),
					retryMs: backoffMs,
				});
				await sleep(backoffMs, signal);
				backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
			}
		}
	}

	async #list(signal: AbortSignal): Promise<void> {
		this.stats.lists++;
		const list = await this.#rest.json<{metadata?: {resourceVersion?: string}; items?: ApiObject[]}>({
			method: 'GET',
			path: this.#options.path,
			query: {fieldSelector: this.#options.fieldSelector},
			signal,
		});
		const fresh = new Map<string, ApiObject>();
		for (const item of list.items ?? []) fresh.set(objectKey(item), trim(item));
		this.store.clear();
		for (const [key, item] of fresh) this.store.set(key, item);
		this.#resourceVersion = list.metadata?.resourceVersion ?? '';
		this.#setSynced(true);
		this.#options.onActivity?.();
	}

	async #watch(signal: AbortSignal): Promise<void> {
		this.stats.watches++;
		const timeoutSeconds = Math.floor(MIN_WATCH_TIMEOUT_S * (1 + (this.#options.random ?? Math.random)()));
		const cut = AbortSignal.timeout(timeoutSeconds * 1000 + WATCH_GRACE_MS);
		await this.#rest.watch(
			{
				method: 'GET',
				path: this.#options.path,
				query: {
					watch: 'true',
					allowWatchBookmarks: 'true',
					resourceVersion: this.#resourceVersion === '' ? undefined : this.#resourceVersion,
					timeoutSeconds,
					fieldSelector: this.#options.fieldSelector,
				},
				signal: AbortSignal.any([signal, cut]),
			},
			(event) => this.#apply(event),
			() => {
				// Watching again after a failure: the store is current once more.
				if (!this.#synced) this.#setSynced(true);
			},
		);
	}

	/** Applies one watch event to the store. */
	#apply(event: unknown): void {
		const {type, object} = (event ?? {}) as {type?: unknown; object?: unknown};
		if (type === 'ERROR') {
			const status = (object ?? {}) as {code?: unknown; message?: unknown};
			if (status.code === 410) throw new GoneError(String(status.message ?? 'resourceVersion too old'));
			throw new Error(`watch error: ${String(status.message ?? JSON.stringify(object))}`);
		}
		if (typeof object !== 'object' || object === null || typeof (object as ApiObject).metadata !== 'object') {
			log('warning', 'ignoring a malformed watch event', {path: this.#options.path, type: String(type)});
			return;
		}
		const item = object as ApiObject;
		const resourceVersion = item.metadata?.resourceVersion;
		if (typeof resourceVersion === 'string' && resourceVersion !== '')
			this.#resourceVersion = resourceVersion;
		this.#options.onActivity?.();
		if (type === 'BOOKMARK') {
			this.stats.bookmarks++;
			return;
		}
		this.stats.events++;
		const key = objectKey(item);
		if (type === 'ADDED' || type === 'MODIFIED') {
			this.store.set(key, trim(item));
		} else if (type === 'DELETED') {
			const held = this.store.get(key);
			if (held !== undefined && held.metadata?.uid === item.metadata?.uid) this.store.delete(key);
		}
	}
}

/** Waits `ms`, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
	return new Promise((resolve) => {
		const timer = setTimeout(done, ms);
		function done() {
			clearTimeout(timer);
			signal.removeEventListener('abort', done);
			resolve();
		}
		signal.addEventListener('abort', done, {once: true});
	});
}
