/**
 * A generated corpus for the zod parity test: from a valid sample, every key deleted, every value
 * (at any depth, inside arrays and records too) swapped for each of a list of wrong values, extra
 * keys added to every object, the whole input replaced by non-objects, and seeded random
 * combinations of several such changes (so the order of several issues is exercised too).
 */

/** Values swapped in at each position: wrong types, bounds of the schemas' ranges, odd objects. */
export const PROBES: readonly unknown[] = [
	undefined,
	null,
	true,
	false,
	0,
	-0,
	-1,
	1,
	1.5,
	-0.5,
	4,
	6,
	255,
	256,
	4094,
	4095,
	60_000,
	60_001,
	600_000,
	600_001,
	0xff_ff_ff_ff,
	2 ** 32,
	2 ** 53,
	-(2 ** 53),
	1e300,
	Number.NaN,
	Number.POSITIVE_INFINITY,
	Number.NEGATIVE_INFINITY,
	'',
	'x',
	'true',
	'False',
	'yes',
	'4',
	'6',
	'10.0.0.0/24',
	'10.0.0.1',
	'::/0',
	'fe80::1',
	'10.0.0.300',
	'\u{1F600}',
	[],
	[1],
	['a'],
	[''],
	[null],
	[{}],
	[{dst: '10.0.0.0/8'}],
	{},
	{a: 1},
	{type: 'x'},
	{type: 1},
	{length: 0},
	{containerID: 'c', ifname: 'i'},
	Object.create(null),
	new Date(0),
];

type Json = unknown;
type Path = (string | number)[];

function clone<T>(value: T): T {
	if (Array.isArray(value)) return value.map(clone) as T;
	if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
		const out: Record<string, unknown> = {};
		for (const [k, v] of Object.entries(value)) defineKey(out, k, clone(v));
		return out as T;
	}
	return value;
}

/** Sets an own enumerable key, `__proto__` included (as JSON.parse makes it). */
function defineKey(target: Record<string, unknown>, key: string, value: unknown): void {
	Object.defineProperty(target, key, {value, enumerable: true, configurable: true, writable: true});
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
	return (
		typeof value === 'object' &&
		value !== null &&
		(Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype)
	);
}

/** Every path to a value inside `value` (objects and arrays), outermost first, the root excluded. */
export function paths(value: Json, prefix: Path = []): Path[] {
	if (!isContainer(value)) return [];
	const out: Path[] = [];
	const entries: [string | number, unknown][] = Array.isArray(value)
		? value.map((v, i) => [i, v])
		: Object.entries(value);
	for (const [key, child] of entries) {
		out.push([...prefix, key], ...paths(child, [...prefix, key]));
	}
	return out;
}

/** Every path to an object inside `value`, the root included. */
function objectPaths(value: Json): Path[] {
	const all: Path[] = [[], ...paths(value)];
	return all.filter((p) => {
		const node = at(value, p);
		return isContainer(node) && !Array.isArray(node);
	});
}

function at(value: Json, path: Path): unknown {
	let node = value;
	for (const key of path) node = (node as Record<string | number, unknown>)[key];
	return node;
}

/** A copy of `value` with the value at `path` replaced (`remove`: the key deleted). */
export function withChange(value: Json, path: Path, replacement: unknown, remove = false): Json {
	const copy = clone(value);
	const parent = at(copy, path.slice(0, -1)) as Record<string | number, unknown>;
	const key = path[path.length - 1] as string | number;
	if (remove && !Array.isArray(parent)) delete parent[key];
	else if (typeof key === 'string') defineKey(parent, key, replacement);
	else parent[key] = replacement;
	return copy;
}

/** Keys added to every object: plain, dotted, reverse-DNS, `__proto__`, and look-alikes of real keys. */
const EXTRA_KEYS = ['extra', 'a.b', 'cni.dev/extra', '__proto__', 'Type', 'constructor'];

/** Deterministic PRNG (mulberry32), so a failing case is the same on every run. */
function random(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
	};
}

function pick<T>(items: readonly T[], next: () => number): T {
	return items[Math.floor(next() * items.length)] as T;
}

/** The inputs derived from one valid sample: one change at a time, then `combos` random combinations. */
export function corpus(sample: Json, combos = 400, seed = 14): Json[] {
	const out: Json[] = [clone(sample), null, undefined, [], [clone(sample)], 'x', 1, true];
	const all = paths(sample);
	for (const path of all) {
		if (typeof path[path.length - 1] === 'string') out.push(withChange(sample, path, undefined, true));
		for (const probe of PROBES) out.push(withChange(sample, path, probe));
	}
	for (const path of objectPaths(sample)) {
		for (const key of EXTRA_KEYS) {
			out.push(withChange(sample, [...path, key], 1));
			out.push(withChange(sample, [...path, key], {}));
		}
	}
	const next = random(seed);
	for (let i = 0; i < combos; i++) {
		let input = clone(sample);
		const changes = 2 + Math.floor(next() * 3);
		for (let c = 0; c < changes; c++) {
			const candidates = paths(input);
			if (candidates.length === 0) break;
			const path = pick(candidates, next);
			const roll = next();
			if (roll < 0.2) input = withChange(input, path, undefined, true);
			else if (roll < 0.3 && !Array.isArray(at(input, path.slice(0, -1)))) {
				input = withChange(input, [...path.slice(0, -1), pick(EXTRA_KEYS, next)], 1);
			} else input = withChange(input, path, pick(PROBES, next));
		}
		out.push(input);
	}
	return out;
}
