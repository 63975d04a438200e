/**
 * A small seeded PRNG (mulberry32) and the choices the fuzz generators make with it. Every draw
 * comes from the seed, so a seed and a case index reproduce an input exactly.
 */

/** Mixes a run seed and a case index into the seed of that case (splitmix32-style). */
export function caseSeed(seed: number, index: number): number {
	let z = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
	z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
	z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
	return (z ^ (z >>> 16)) >>> 0;
}

/** Seeded random choices. */
export class Rng {
	#state: number;

	constructor(seed: number) {
		this.#state = seed >>> 0;
	}

	/** A float in [0, 1). */
	next(): number {
		this.#state = (this.#state + 0x6d2b79f5) >>> 0;
		let t = this.#state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	}

	/** An integer in [0, n). */
	int(n: number): number {
		return Math.floor(this.next() * n);
	}

	/** True with probability p. */
	chance(p: number): boolean {
		return this.next() < p;
	}

	/** One element of a non-empty list. */
	pick<T>(items: readonly T[]): T {
		const item = items[this.int(items.length)];
		if (item === undefined) throw new Error('pick from an empty list');
		return item;
	}

	/** One of weighted alternatives: [weight, make] pairs. */
	weighted<T>(choices: readonly (readonly [number, () => T])[]): T {
		const total = choices.reduce((sum, [w]) => sum + w, 0);
		let roll = this.next() * total;
		for (const [w, make] of choices) {
			roll -= w;
			if (roll < 0) return make();
		}
		const last = choices.at(-1);
		if (last === undefined) throw new Error('weighted choice from an empty list');
		return last[1]();
	}
}
