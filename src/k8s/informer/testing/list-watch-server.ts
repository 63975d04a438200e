/**
 * A tiny list/watch API server for reflector tests: objects of one collection in memory with a
 * resourceVersion counter, watch streams that get every change (and bookmarks on demand), a
 * compaction point below which a watch answers 410 Gone, and down/up to stand in for a restart.
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import type {AddressInfo, Socket} from 'node:net';

/** A stored object. */
export interface TestObject {
	metadata: {namespace: string; name: string; uid: string; resourceVersion: string};
	spec?: unknown;
}

/** One request as seen, with its query. */
export interface SeenRequest {
	path: string;
	query: Record<string, string>;
}

export class ListWatchServer {
	readonly requests: SeenRequest[] = [];
	readonly objects = new Map<string, TestObject>();
	/** The next this-many watches answer 410 Gone (a compacted history). */
	goneNext = 0;
	/** Answer every watch with an ERROR 410 event instead of a 410 status. */
	goneAsEvent = false;
	#rv = 1;
	#port = 0;
	#server: Server | undefined;
	readonly #watchers = new Set<ServerResponse>();
	readonly #sockets = new Set<Socket>();

	/** The base URL (the port stays the same across down/up). */
	get url(): string {
		return `http://127.0.0.1:${this.#port}`;
	}

	/** Open watch streams right now. */
	get watching(): number {
		return this.#watchers.size;
	}

	/** Watch requests seen so far. */
	get watches(): SeenRequest[] {
		return this.requests.filter((r) => r.query['watch'] === 'true');
	}

	async up(): Promise<void> {
		const server = createServer((req, res) => this.#handle(req, res));
		server.on('connection', (socket) => {
			this.#sockets.add(socket);
			socket.on('close', () => this.#sockets.delete(socket));
		});
		await new Promise<void>((resolve) => server.listen(this.#port, '127.0.0.1', resolve));
		this.#port = (server.address() as AddressInfo).port;
		this.#server = server;
	}

	/** Stops listening and cuts every connection (an API server restart). */
	async down(): Promise<void> {
		for (const w of this.#watchers) w.destroy();
		this.#watchers.clear();
		for (const s of this.#sockets) s.destroy();
		await new Promise<void>((resolve) =>
			this.#server === undefined ? resolve() : this.#server.close(() => resolve()),
		);
		this.#server = undefined;
	}

	/** Adds or replaces an object; watchers get ADDED or MODIFIED. */
	put(namespace: string, name: string, uid: string, spec?: unknown): TestObject {
		const key = `${namespace}/${name}`;
		const type = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
		const object: TestObject = {metadata: {namespace, name, uid, resourceVersion: String(++this.#rv)}, spec};
		this.objects.set(key, object);
		this.#send({type, object});
		return object;
	}

	/** Removes an object; watchers get DELETED. */
	remove(namespace: string, name: string): void {
		const object = this.objects.get(`${namespace}/${name}`);
		if (object === undefined) return;
		this.objects.delete(`${namespace}/${name}`);
		this.#send({
			type: 'DELETED',
			object: {...object, metadata: {...object.metadata, resourceVersion: String(++this.#rv)}},
		});
	}

	/** Sends a BOOKMARK at a new resourceVersion; returns it. */
	bookmark(): string {
		const rv = String(++this.#rv);
		this.#send({type: 'BOOKMARK', object: {metadata: {resourceVersion: rv}}});
		return rv;
	}

	/** Ends every watch stream normally (as when its timeoutSeconds ran out). */
	endWatches(): void {
		for (const w of this.#watchers) w.end();
		this.#watchers.clear();
	}

	/** Raw text to every watcher (malformed lines). */
	raw(text: string): void {
		for (const w of this.#watchers) w.write(text);
	}

	#send(event: unknown): void {
		for (const w of this.#watchers) w.write(`${JSON.stringify(event)}\n`);
	}

	#handle(req: IncomingMessage, res: ServerResponse): void {
		const url = new URL(req.url ?? '/', 'http://x');
		const query = Object.fromEntries(url.searchParams);
		this.requests.push({path: url.pathname, query});
		if (query['watch'] === 'true') {
			const gone = this.goneNext > 0;
			if (gone) this.goneNext--;
			if (gone && !this.goneAsEvent) {
				res.writeHead(410, {'content-type': 'application/json'});
				res.end(
					JSON.stringify({kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version'}),
				);
				return;
			}
			res.writeHead(200, {'content-type': 'application/json'});
			if (gone) {
				res.end(
					`${JSON.stringify({type: 'ERROR', object: {kind: 'Status', code: 410, message: 'too old resource version'}})}\n`,
				);
				return;
			}
			res.flushHeaders();
			this.#watchers.add(res);
			res.on('close', () => this.#watchers.delete(res));
			return;
		}
		res.writeHead(200, {'content-type': 'application/json'});
		res.end(
			JSON.stringify({
				kind: 'List',
				metadata: {resourceVersion: String(this.#rv)},
				items: [...this.objects.values()],
			}),
		);
	}
}
