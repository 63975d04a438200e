/**
 * One operation at a time per container (multi-net spec v1.3 §7.3: no parallel attachment
 * operations for one pod). Runtimes already serialise the calls of one sandbox; the daemon serves
 * every pod from one plugin instance, so a retried ADD overlapping its DEL must still queue here
 * rather than interleave delegate runs and cache writes.
 */
export class PerKeySerializer {
	/** The promise the next caller for a key waits on; it settles when the current holder is done. */
	readonly #tails = new Map<string, Promise<void>>();

	/** Keys with an operation running or queued (for tests and metrics). */
	get busy(): number {
		return this.#tails.size;
	}

	/** Runs `fn` once every earlier call for `key` has finished, whatever their outcome. */
	async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
		const previous = this.#tails.get(key) ?? Promise.resolve();
		let release: () => void = () => undefined;
		const done = new Promise<void>((resolve) => {
			release = resolve;
		});
		const tail = previous.then(() => done);
		this.#tails.set(key, tail);
		try {
			await previous;
			return await fn();
		} finally {
			release();
			// The last in line clears the key, so the map does not grow with every pod ever seen.
			if (this.#tails.get(key) === tail) this.#tails.delete(key);
		}
	}
}
