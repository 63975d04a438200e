/**
 * The schemas made of schemas: objects (unknown keys kept, refused or stripped), arrays, string-keyed
 * records and unions, walking the input in zod v4's order so the issues come out in its order.
 */
import {aborted, finalizeIssue, type Payload, prefixIssues, type RawIssue} from './issues.ts';
import type {StringSchema} from './scalars.ts';
import {type Params, type Presence, Schema} from './schema.ts';

/** The fields of an object schema. */
export type Shape = {readonly [key: string]: Schema};

/** What an object does with keys its shape lacks: keep (loose), refuse (strict), drop (strip). */
export type ObjectMode = 'loose' | 'strict' | 'strip';

type Flatten<T> = {[K in keyof T]: T[K]} & {};

type OptionalKeys<S extends Shape> = {
	[K in keyof S]: S[K] extends Schema<unknown, true> ? K : never;
}[keyof S];

/** The parsed type of an object schema, as zod infers it. */
export type ObjectOutput<S extends Shape, M extends ObjectMode> = Flatten<
	{-readonly [K in Exclude<keyof S, OptionalKeys<S>>]: S[K]['_output']} & {
		-readonly [K in OptionalKeys<S>]?: S[K]['_output'];
	} & (M extends 'loose' ? {[key: string]: unknown} : unknown)
>;

/** `A` with the keys of `B` replaced or added (zod's `.extend`). */
export type Extend<A extends Shape, B extends Shape> = Flatten<{[K in Exclude<keyof A, keyof B>]: A[K]} & B>;

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** zod's isPlainObject: an object whose prototype looks like Object.prototype. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
	if (!isObject(value)) return false;
	const ctor = (value as {constructor?: unknown}).constructor;
	if (ctor === undefined || typeof ctor !== 'function') return true;
	const proto: unknown = ctor.prototype;
	return isObject(proto) && Object.hasOwn(proto, 'isPrototypeOf');
}

/** Files one key's result into the object being built (zod's handlePropertyResult). */
function addProperty(
	result: Payload,
	final: Payload,
	key: string,
	input: Record<string, unknown>,
	optin: Presence,
	optout: 'optional' | undefined,
): void {
	const present = key in input;
	const optionalOut = optout === 'optional';
	if (!present && optionalOut && optin === 'optional') return;
	if (result.issues.length > 0) {
		if (optin !== undefined && optionalOut && !present) return;
		final.issues.push(...prefixIssues(key, result.issues));
	}
	const out = final.value as Record<string, unknown>;
	if (!present && optin === undefined) {
		if (result.issues.length === 0) {
			final.issues.push({code: 'invalid_type', expected: 'nonoptional', input: undefined, path: [key]});
		}
		return;
	}
	if (result.value !== undefined) out[key] = result.value;
	else if (present || (optin === 'defaulted' && !optionalOut)) out[key] = undefined;
}

/** `z.looseObject`, `z.strictObject`, `z.object`. */
export class ObjectSchema<S extends Shape, M extends ObjectMode> extends Schema<ObjectOutput<S, M>, false> {
	readonly shape: S;
	readonly mode: M;
	readonly keys: readonly string[];
	readonly keySet: ReadonlySet<string>;

	constructor(shape: S, mode: M, params?: Params) {
		super(params);
		this.shape = shape;
		this.mode = mode;
		this.keys = Object.keys(shape);
		this.keySet = new Set(this.keys);
	}

	/** The same kind of object with `extension`'s keys added or replacing these. */
	extend<E extends Shape>(extension: E): ObjectSchema<Extend<S, E>, M> {
		const params = this.error === undefined ? undefined : {error: this.error};
		return new ObjectSchema({...this.shape, ...extension} as Extend<S, E>, this.mode, params);
	}

	protected parseType(payload: Payload): Payload {
		const input = payload.value;
		if (!isObject(input)) {
			payload.issues.push({expected: 'object', code: 'invalid_type', input, inst: this});
			return payload;
		}
		payload.value = {};
		for (const key of this.keys) {
			if (key === '__proto__') continue;
			const field = this.shape[key] as Schema;
			const result = field.run({value: input[key], issues: []});
			addProperty(result, payload, key, input, field.optin, field.optout);
		}
		if (this.mode !== 'strip') this.unknownKeys(input, payload);
		return payload;
	}

	/** Keeps (loose) or reports (strict) the keys the shape lacks, in the input's order. */
	private unknownKeys(input: Record<string, unknown>, payload: Payload): void {
		const unrecognized: string[] = [];
		for (const key in input) {
			if (this.keySet.has(key)) continue;
			if (this.mode === 'strict') unrecognized.push(key);
			else if (key !== '__proto__')
				addProperty({value: input[key], issues: []}, payload, key, input, undefined, undefined);
		}
		if (unrecognized.length > 0) {
			payload.issues.push({code: 'unrecognized_keys', keys: unrecognized, input, inst: this, continue: true});
		}
	}
}

/** `z.array(element)`. */
export class ArraySchema<E extends Schema> extends Schema<E['_output'][], false> {
	readonly element: E;

	constructor(element: E, params?: Params) {
		super(params);
		this.element = element;
	}

	protected parseType(payload: Payload): Payload {
		const input = payload.value;
		if (!Array.isArray(input)) {
			payload.issues.push({expected: 'array', code: 'invalid_type', input, inst: this});
			return payload;
		}
		const out: unknown[] = new Array(input.length);
		payload.value = out;
		for (let i = 0; i < input.length; i++) {
			const result = this.element.run({value: input[i], issues: []});
			if (result.issues.length > 0) payload.issues.push(...prefixIssues(i, result.issues));
			out[i] = result.value;
		}
		return payload;
	}
}

/**
 * `z.record(z.string(), value)`. Keys are the input's own enumerable string keys (JSON has no
 * others); zod's retry of a failed numeric key as a number cannot change a string key's result.
 */
export class RecordSchema<V extends Schema> extends Schema<Record<string, V['_output']>, false> {
	readonly keyType: StringSchema;
	readonly valueType: V;

	constructor(keyType: StringSchema, valueType: V, params?: Params) {
		super(params);
		this.keyType = keyType;
		this.valueType = valueType;
	}

	protected parseType(payload: Payload): Payload {
		const input = payload.value;
		if (!isPlainObject(input)) {
			payload.issues.push({expected: 'record', code: 'invalid_type', input, inst: this});
			return payload;
		}
		const out: Record<string, unknown> = {};
		payload.value = out;
		for (const key of Object.keys(input)) {
			if (key === '__proto__') continue;
			const keyResult = this.keyType.run({value: key, issues: []});
			if (keyResult.issues.length > 0) {
				const issues = keyResult.issues.map(finalizeIssue);
				payload.issues.push({
					code: 'invalid_key',
					origin: 'record',
					issues,
					input: key,
					path: [key],
					inst: this,
				});
				continue;
			}
			const outKey = keyResult.value as string;
			if (outKey === '__proto__') continue;
			const result = this.valueType.run({value: input[key], issues: []});
			if (result.issues.length > 0) payload.issues.push(...prefixIssues(key, result.issues));
			out[outKey] = result.value;
		}
		return payload;
	}
}

/** `z.union([...])`: the first option that passes; else its issues or one invalid_union issue. */
export class UnionSchema<T extends readonly Schema[]> extends Schema<T[number]['_output'], false> {
	readonly options: T;

	constructor(options: T, params?: Params) {
		super(params);
		this.options = options;
	}

	override get optin(): Presence {
		if (this.options.some((o) => o.optin === 'defaulted')) return 'defaulted';
		return this.options.some((o) => o.optin !== undefined) ? 'optional' : undefined;
	}

	override get optout(): 'optional' | undefined {
		return this.options.some((o) => o.optout === 'optional') ? 'optional' : undefined;
	}

	protected parseType(payload: Payload): Payload {
		if (this.options.length === 1) return (this.options[0] as Schema).run(payload);
		const results: Payload[] = [];
		for (const option of this.options) {
			const result = option.run({value: payload.value, issues: []});
			if (result.issues.length === 0) return result;
			results.push(result);
		}
		const open = results.filter((r) => !aborted(r));
		if (open.length === 1) {
			const only = open[0] as Payload;
			payload.value = only.value;
			return only;
		}
		const errors = results.map((r) => r.issues.map(finalizeIssue));
		const issue: RawIssue = {code: 'invalid_union', input: payload.value, inst: this, errors};
		payload.issues.push(issue);
		return payload;
	}
}
