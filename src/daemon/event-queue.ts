/**
 * Kubernetes events off the critical path, as client-go's event broadcaster keeps them: the daemon
 * queues them (bounded; a full queue drops the new event and counts it) and sends them once no
 * CNI request is running, so an ADD's result never waits on an event POST. An event older than
 * `maxDelayMs` is sent even while requests keep coming, so a busy node still reports.
 * @see https://github.com/kubernetes/client-go/blob/master/tools/record/event.go (maxQueuedEvents)
 */
import {log} from '../log.ts';

/** client-go's broadcaster holds up to 1000 events; one node's daemon needs far fewer. */
export const EVENT_QUEUE_CAPACITY = 256;
/** The longest an event waits for an idle moment, in milliseconds. */
export const EVENT_MAX_DELAY_MS = 1000;

/** What the queue did, for metrics and tests. */
export interface EventQueueStats {
	queued: number;
	sent: number;
	failed: number;
	dropped: number;
}

const totals: EventQueueStats = {queued: 0, sent: 0, failed: 0, dropped: 0};

/** The counts of every queue of this process (read by the metrics at scrape time). */
export function eventQueueTotals(): Readonly<EventQueueStats> {
	return totals;
}

/** A bounded queue of event sends, drained when no request holds it busy. */
export class EventQueue {
	readonly stats: EventQueueStats = {queued: 0, sent: 0, failed: 0, dropped: 0};
	readonly #capacity: number;
	readonly #maxDelayMs: number;
	readonly #pending: {send: () => Promise<void>; at: number}[] = [];
	#busy = 0;
	#draining: Promise<void> | undefined;
	#timer: NodeJS.Timeout | undefined;

	constructor(options: {capacity?: number; maxDelayMs?: number} = {}) {
		this.#capacity = options.capacity ?? EVENT_QUEUE_CAPACITY;
		this.#maxDelayMs = options.maxDelayMs ?? EVENT_MAX_DELAY_MS;
	}

	/** Queues `send`; false (and counted as dropped) when the queue is full. */
	push(send: () => Promise<void>): boolean {
		if (this.#pending.length >= this.#capacity) {
			this.stats.dropped++;
			totals.dropped++;
			log('debug', 'kubernetes event dropped: the event queue is full', {capacity: this.#capacity});
			return false;
		}
		this.#pending.push({send, at: performance.now()});
		this.stats.queued++;
		totals.queued++;
		this.#schedule();
		return true;
	}

	/** Runs `fn` as a request: events wait until no request is running (or their delay is up). */
	async during<T>(fn: () => Promise<T>): Promise<T> {
		this.#busy++;
		try {
			return await fn();
		} finally {
			this.#busy--;
			this.#schedule();
		}
	}

	#schedule(): void {
		if (this.#pending.length === 0 || this.#draining !== undefined) return;
		if (this.#busy === 0) {
			// After the current turn: the request's result is written before any event goes out.
			this.#draining = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
			return;
		}
		if (this.#timer === undefined) {
			this.#timer = setTimeout(() => {
				this.#timer = undefined;
				this.#draining ??= this.#drain();
			}, this.#maxDelayMs);
			this.#timer.unref();
		}
	}

	async #drain(): Promise<void> {
		clearTimeout(this.#timer);
		this.#timer = undefined;
		try {
			for (let next = this.#pending.shift(); next !== undefined; next = this.#pending.shift()) {
				try {
					await next.send();
					this.stats.sent++;
					totals.sent++;
				} catch (error) {
					this.stats.failed++;
					totals.failed++;
					log('warning', 'failed to send a kubernetes event', {
						error: error instanceof Error ? error.message : String(error),
					});
				}
				const head = this.#pending[0];
				if (this.#busy > 0 && head !== undefined && performance.now() - head.at < this.#maxDelayMs) break;
			}
		} finally {
			this.#draining = undefined;
			this.#schedule();
		}
	}

	/** Sends what is queued now (daemon shutdown), waiting for it. */
	async flush(): Promise<void> {
		await this.#draining;
		if (this.#pending.length > 0) {
			this.#draining = this.#drain();
			await this.#draining;
		}
	}
}
