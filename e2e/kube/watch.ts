/**
 * One watch response, as kube-apiserver streams it: HTTP 200 with chunked, newline-delimited JSON
 * events (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR). It starts with the current objects as ADDED
 * when no resourceVersion (or "0") is given, or replays the store's history after the given one;
 * a resourceVersion older than the history gets one ERROR event with a 410 "Expired" Status and the
 * end of the stream, as the real watch cache answers. Selectors filter events the way the real
 * server does: an object that stops matching arrives as DELETED, one that starts as ADDED.
 * `timeoutSeconds` ends the stream (after a last bookmark when asked for, as the real server does).
 */
import type {ServerResponse} from 'node:http';
import type {ResourceKind} from './kinds.ts';
import type {Selector} from './selectors.ts';
import {statusObject} from './status.ts';
import type {KubeObject, ObjectStore, StoreEvent} from './store.ts';

/** What a watch asks for, parsed from its query. */
export interface WatchQuery {
	kind: ResourceKind;
	/** undefined: all namespaces (or a cluster-scoped kind). */
	namespace: string | undefined;
	fields: Selector;
	labels: Selector;
	/** The `resourceVersion` parameter; undefined or "0" start from the current state. */
	resourceVersion: string | undefined;
	allowWatchBookmarks: boolean;
	/** `sendInitialEvents=true`: current state as ADDED, then a bookmark marking its end. */
	sendInitialEvents: boolean;
	timeoutSeconds: number | undefined;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** An open watch stream; `close()` ends it from the server side. */
export class WatchStream {
	readonly query: WatchQuery;
	#res: ServerResponse;
	#store: ObjectStore;
	#unsubscribe: (() => void) | undefined;
	#timers: NodeJS.Timeout[] = [];
	#closed = false;
	#onClose: () => void;

	constructor(res: ServerResponse, store: ObjectStore, query: WatchQuery, onClose: () => void) {
		this.#res = res;
		this.#store = store;
		this.query = query;
		this.#onClose = onClose;
		res.on('close', () => this.#finish());
	}

	/** Sends the headers and the initial events, then follows the store. */
	start(bookmarkIntervalMs: number | undefined): void {
		this.#res.writeHead(200, {'content-type': 'application/json', 'cache-control': 'no-cache, private'});
		this.#res.flushHeaders();
		const {resourceVersion, sendInitialEvents} = this.query;
		if (
			resourceVersion === undefined ||
			resourceVersion === '' ||
			resourceVersion === '0' ||
			sendInitialEvents
		) {
			for (const object of this.#store.list(this.query.kind, this.query.namespace)) {
				if (this.#matches(object)) this.#send('ADDED', object);
			}
			if (sendInitialEvents && this.query.allowWatchBookmarks) {
				this.#send('BOOKMARK', this.#bookmarkObject({'k8s.io/initial-events-end': 'true'}));
			}
		} else {
			const from = Number(resourceVersion);
			const events = Number.isInteger(from) ? this.#store.eventsSince(from) : undefined;
			if (events === undefined) {
				const message = Number.isInteger(from)
					? `too old resource version: ${from} (${this.#store.oldestResourceVersion + 1})`
					: `invalid resource version: ${resourceVersion}`;
				this.#send('ERROR', statusObject(410, message, 'Expired'));
				this.close();
				return;
			}
			for (const event of events) this.#deliver(event);
		}
		this.#unsubscribe = this.#store.subscribe((event) => this.#deliver(event));
		if (this.query.timeoutSeconds !== undefined) {
			this.#timer(this.query.timeoutSeconds * 1000, () => {
				this.bookmark();
				this.close();
			});
		}
		if (bookmarkIntervalMs !== undefined) this.#every(bookmarkIntervalMs, () => this.bookmark());
	}

	/** Sends a BOOKMARK at the store's current resourceVersion, when the client asked for bookmarks. */
	bookmark(): void {
		if (this.query.allowWatchBookmarks) this.#send('BOOKMARK', this.#bookmarkObject());
	}

	/** Ends the stream cleanly (the client sees the response end, as on a server-side timeout). */
	close(): void {
		if (!this.#closed) this.#res.end();
		this.#finish();
	}

	#finish(): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#unsubscribe?.();
		for (const timer of this.#timers) clearTimeout(timer);
		this.#onClose();
	}

	#timer(ms: number, action: () => void): void {
		this.#timers.push(setTimeout(action, ms).unref());
	}

	#every(ms: number, action: () => void): void {
		this.#timers.push(setInterval(action, ms).unref());
	}

	#matches(object: KubeObject): boolean {
		const {namespace, fields, labels} = this.query;
		if (namespace !== undefined && object.metadata.namespace !== namespace) return false;
		return fields(object) && labels(object);
	}

	#deliver(event: StoreEvent): void {
		if (event.kind !== this.query.kind) return;
		const now = event.type !== 'DELETED' && this.#matches(event.object);
		const before = event.previous !== undefined && this.#matches(event.previous);
		if (event.type === 'DELETED') {
			if (before) this.#send('DELETED', event.object);
		} else if (now && before) this.#send('MODIFIED', event.object);
		else if (now) this.#send('ADDED', event.object);
		else if (before) this.#send('DELETED', event.object);
	}

	#bookmarkObject(annotations?: Record<string, string>): object {
		const metadata: Record<string, unknown> = {resourceVersion: this.#store.resourceVersion};
		if (annotations !== undefined) metadata['annotations'] = annotations;
		return {kind: this.query.kind.kind, apiVersion: this.query.kind.apiVersion, metadata};
	}

	#send(type: EventType, object: object): void {
		if (this.#closed || this.#res.writableEnded) return;
		this.#res.write(`${JSON.stringify({type, object})}\n`);
	}
}
