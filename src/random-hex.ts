/**
 * Random hex digits for names that only need to be unique, not unguessable: temporary file names,
 * journal ids, event names. Math.random rather than crypto.randomBytes, whose first call in a
 * process seeds its generator (~0.3 ms of a one-shot ADD) and each later one costs ~0.2 ms here.
 */

/** 8 hex digits: 32 random bits. */
export function randomHex8(): string {
	return Math.floor(Math.random() * 0x1_0000_0000)
		.toString(16)
		.padStart(8, '0');
}
