/**
 * Bounded concurrency with a bounded wait queue: back-pressure for the daemon. A burst beyond
 * `maxConcurrent + maxQueued` is refused at once with CNI error 11 ("try again later"), which the
 * runtime retries, instead of piling up work until the daemon runs out of memory (Multus #1346).
 */
import {CniError, CniErrorCode} from '../cni/errors.ts';

export interface QueueLimits {
	/** Tasks running at once (≥ 1). */
	maxConcurrent: number;
	/** Tasks waiting for a slot (≥ 0); one more is refused with code 11. */
	maxQueued: number;
	/** How long a task may wait for a slot before it is refused with code 11 (0 = no limit). */
	maxWaitMs: number;
}

export const DEFAULT_QUEUE_LIMITS: QueueLimits = {maxConcurrent: 16, maxQueued: 256, maxWaitMs: 60_000};

interface Waiter {
	start: () => void;
	reject: (error: CniError) => void;
	timer: NodeJS.Timeout | undefined;
}

/** Validates limits, naming the wrong one. */
function checkLimits(limits: QueueLimits): void {
	const wrong = (name: string, value: number, min: number) =>
		new TypeError(`expected queue limit "${name}" to be an integer ≥ ${min}, got ${value}`);
	if (!Number.isInteger(limits.maxConcurrent) || limits.maxConcurrent < 1) {
		throw wrong('maxConcurrent', limits.maxConcurrent, 1);
	}
	if (!Number.isInteger(limits.maxQueued) || limits.maxQueued < 0)
		throw wrong('maxQueued', limits.maxQueued, 0);
	if (!Number.isInteger(limits.maxWaitMs) || limits.maxWaitMs < 0)
		throw wrong('maxWaitMs', limits.maxWaitMs, 0);
}

/** A FIFO work queue with a concurrency cap. */
export class WorkQueue {
	readonly limits: QueueLimits;
	#running = 0;
	#closed: string | undefined;
	readonly #waiting: Waiter[] = [];
	readonly #idle: (() => void)[] = [];

	constructor(limits: Partial<QueueLimits> = {}) {
		this.limits = {...DEFAULT_QUEUE_LIMITS, ...limits};
		checkLimits(this.limits);
	}

	/** Tasks running now. */
	get inFlight(): number {
		return this.#running;
	}

	/** Tasks waiting for a slot. */
	get queued(): number {
		return this.#waiting.length;
	}

	/**
	 * Runs `task` when a slot is free. Rejects with CniError 11 when the queue is full, the wait
	 * exceeded `maxWaitMs`, or the queue was closed; otherwise settles as the task does.
	 */
	async run<T>(task: () => Promise<T>): Promise<T> {
		if (this.#closed !== undefined) {
			throw new CniError(CniErrorCode.tryAgainLater, `plexus daemon is ${this.#closed}, try again later`);
		}
		if (this.#running >= this.limits.maxConcurrent) {
			if (this.#waiting.length >= this.limits.maxQueued) {
				throw this.#refusal(
					`queue full (${this.#running} running, ${this.#waiting.length} waiting, limit ${this.limits.maxQueued})`,
				);
			}
			await new Promise<void>((resolve, reject) => {
				const waiter: Waiter = {start: resolve, reject, timer: undefined};
				if (this.limits.maxWaitMs > 0) {
					waiter.timer = setTimeout(() => {
						this.#remove(waiter);
						reject(this.#refusal(`waited ${this.limits.maxWaitMs} ms for a free slot`));
					}, this.limits.maxWaitMs);
				}
				this.#waiting.push(waiter);
			});
		} else {
			this.#running++;
		}
		try {
			return await task();
		} finally {
			this.#release();
		}
	}

	/** Refuses new tasks from now on (code 11 with `reason`); queued and running ones still finish. */
	close(reason = 'shutting down'): void {
		this.#closed = reason;
	}

	/** Resolves when nothing runs and nothing waits. */
	async idle(): Promise<void> {
		if (this.#running === 0 && this.#waiting.length === 0) return;
		await new Promise<void>((resolve) => this.#idle.push(resolve));
	}

	/** Hands the freed slot to the oldest waiter, or frees it. */
	#release(): void {
		const next = this.#waiting.shift();
		if (next !== undefined) {
			if (next.timer !== undefined) clearTimeout(next.timer);
			next.start();
			return;
		}
		this.#running--;
		if (this.#running === 0) {
			for (const resolve of this.#idle.splice(0)) resolve();
		}
	}

	#remove(waiter: Waiter): void {
		const index = this.#waiting.indexOf(waiter);
		if (index !== -1) this.#waiting.splice(index, 1);
	}

	#refusal(why: string): CniError {
		return new CniError(CniErrorCode.tryAgainLater, `plexus daemon is busy, try again later: ${why}`);
	}
}
