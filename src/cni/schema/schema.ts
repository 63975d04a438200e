/**
 * The schema base class (parse, checks, safeParse) and the wrappers every schema can take:
 * `.optional()`, `.default()`, `.refine()`, `.transform()`. Behaviour follows zod v4's core step by
 * step (which issue stops which check, how absence and defaults travel up to the object), because
 * callers show its issues to users and match on them.
 */
import {
	aborted,
	type ErrorFn,
	type ErrorSource,
	explicitlyAborted,
	finalizeIssue,
	type IssuePath,
	type Payload,
	type RawIssue,
	SchemaError,
} from './issues.ts';

/** A custom error as zod takes it: a text, or `{error}` (text or function), or `{message}`. */
export type Params = string | {error?: string | ErrorFn; message?: string; abort?: boolean};

/** The custom error of `params` as a function (zod's normalizeParams). */
export function errorOf(params: Params | undefined): ErrorFn | undefined {
	if (params === undefined) return undefined;
	if (typeof params === 'string') return () => params;
	if (params.message !== undefined && params.error !== undefined) {
		throw new Error('Cannot specify both `message` and `error` params');
	}
	const error = params.message ?? params.error;
	return typeof error === 'string' ? () => error : error;
}

/** A check run after a schema's type test passed (or, with `when`, whenever `when` says). */
export interface Check extends ErrorSource {
	/** Set for length bounds: run even after a stopping issue, unless one is explicitly fatal. */
	readonly when?: (payload: Payload) => boolean;
	/** Pushes the issues of `payload.value`, raised by this check. */
	readonly run: (payload: Payload) => void;
}

/** How a schema treats an absent key: accepted (`optional`), filled in (`defaulted`), or neither. */
export type Presence = 'optional' | 'defaulted' | undefined;

/** What `safeParse` returns: the parsed value, or the error with every issue. */
export type SafeParseResult<T> =
	| {success: true; data: T; error?: never}
	| {success: false; data?: never; error: SchemaError};

/** The output type of a schema (zod's `z.infer` / `z.output`). */
export type Infer<S extends Schema> = S['_output'];

/** What a transform may do besides returning the new value (zod's refinement context). */
export interface TransformContext {
	readonly value: unknown;
	readonly issues: readonly RawIssue[];
	/** Reports an issue; the parse fails. A string is a custom issue with that message. */
	addIssue(
		issue: string | {code?: 'custom'; message?: string; path?: IssuePath; input?: unknown; fatal?: boolean},
	): void;
}

/** Runs `checks` on a parsed payload the way zod's `runChecks` does. */
function runChecks(payload: Payload, checks: readonly Check[], owner: Schema): Payload {
	let isAborted = aborted(payload);
	for (const check of checks) {
		if (check.when !== undefined) {
			if (explicitlyAborted(payload) || !check.when(payload)) continue;
		} else if (isAborted) {
			continue;
		}
		const before = payload.issues.length;
		check.run(payload);
		if (payload.issues.length === before) continue;
		for (let i = before; i < payload.issues.length; i++) {
			const issue = payload.issues[i] as RawIssue;
			issue.schema ??= owner;
		}
		if (!isAborted) isAborted = aborted(payload, before);
	}
	return payload;
}

/**
 * A schema: tests a value, returns it (possibly rebuilt) with the issues found. `Out` is the
 * parsed type; `Opt` is true when an object may lack the key (`.optional()`).
 */
export abstract class Schema<Out = unknown, Opt extends boolean = boolean> implements ErrorSource {
	declare readonly _output: Out;
	declare readonly _optional: Opt;
	/** The schema's own custom error (`z.string({error})`), for the issues it and its checks raise. */
	readonly error: ErrorFn | undefined;
	protected checks: readonly Check[] = [];

	constructor(params?: Params) {
		this.error = errorOf(params);
	}

	/** How an enclosing object treats this schema's key when absent from the input. */
	get optin(): Presence {
		return undefined;
	}

	/** 'optional' when the parsed object may lack the key. */
	get optout(): 'optional' | undefined {
		return undefined;
	}

	/** The type test (and rebuild) of this schema, before its checks. */
	protected abstract parseType(payload: Payload): Payload;

	/** Parses `payload.value`, then runs the checks; returns the payload to use from here on. */
	run(payload: Payload): Payload {
		const result = this.parseType(payload);
		return this.checks.length === 0 ? result : runChecks(result, this.checks, this);
	}

	/** Parses `value`: the parsed data, or every issue found. */
	safeParse(value: unknown): SafeParseResult<this['_output']> {
		const result = this.run({value, issues: []});
		if (result.issues.length === 0) return {success: true, data: result.value as this['_output']};
		return {success: false, error: new SchemaError(result.issues.map(finalizeIssue))};
	}

	/** Parses `value` and returns the data, or throws the error with every issue. */
	parse(value: unknown): this['_output'] {
		const result = this.safeParse(value);
		if (!result.success) throw result.error;
		return result.data;
	}

	/** The same schema that also accepts undefined and an absent key. */
	optional(): OptionalSchema<Out> {
		return new OptionalSchema<Out>(this);
	}

	/** The same schema with `value` (shallow-copied per parse) for undefined and an absent key. */
	default(value: Exclude<Out, undefined>): DefaultSchema<Exclude<Out, undefined>> {
		return new DefaultSchema<Exclude<Out, undefined>>(this, value);
	}

	/** Adds a check: `fn(value)` falsy is a custom issue with the message of `params`. */
	refine(fn: (value: Out) => unknown, params?: Params): this {
		const abort = typeof params === 'object' && params.abort === true;
		const check: Check = {
			error: errorOf(params),
			run: (payload) => {
				if (fn(payload.value as Out)) return;
				payload.issues.push({code: 'custom', input: payload.value, inst: check, path: [], continue: !abort});
			},
		};
		return this.withCheck(check);
	}

	/** Pipes the parsed value through `fn`; an issue added through `ctx` fails the parse. */
	transform<T>(fn: (value: Out, ctx: TransformContext) => T): PipeSchema<T> {
		return new PipeSchema<T>(
			this,
			new TransformSchema<T>(fn as (value: unknown, ctx: TransformContext) => T),
		);
	}

	/** A copy of this schema with `check` appended (schemas are immutable, as zod's). */
	protected withCheck(check: Check): this {
		const copy = Object.assign(Object.create(Object.getPrototypeOf(this)) as this, this);
		copy.checks = [...this.checks, check];
		return copy;
	}
}

/** `.optional()`: undefined passes as is (unless the inner schema fills it in). */
export class OptionalSchema<Out> extends Schema<Out | undefined, true> {
	readonly inner: Schema;

	constructor(inner: Schema) {
		super();
		this.inner = inner;
	}

	override get optin(): Presence {
		return this.inner.optin === 'defaulted' ? 'defaulted' : 'optional';
	}

	override get optout(): 'optional' {
		return 'optional';
	}

	protected parseType(payload: Payload): Payload {
		if (payload.value !== undefined) return this.inner.run(payload);
		if (this.inner.optin !== 'defaulted') return payload;
		const result = this.inner.run({value: undefined, issues: []});
		payload.value = result.issues.length > 0 ? undefined : result.value;
		return payload;
	}
}

/** zod's shallowClone: a fresh copy of a plain object or array default per parse. */
function shallowClone<T>(value: T): T {
	if (Array.isArray(value)) return [...value] as T;
	if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
		return {...value};
	}
	return value;
}

/** `.default(value)`: undefined (or an absent key) becomes `value`, which is not validated. */
export class DefaultSchema<Out> extends Schema<Out, false> {
	readonly inner: Schema;
	readonly defaultValue: Out;

	constructor(inner: Schema, defaultValue: Out) {
		super();
		this.inner = inner;
		this.defaultValue = defaultValue;
	}

	override get optin(): Presence {
		return 'defaulted';
	}

	protected parseType(payload: Payload): Payload {
		if (payload.value === undefined) {
			payload.value = shallowClone(this.defaultValue);
			return payload;
		}
		const result = this.inner.run(payload);
		if (result.value === undefined) result.value = shallowClone(this.defaultValue);
		return result;
	}
}

/** The function step of `.transform()`. */
class TransformSchema<Out> extends Schema<Out, false> {
	readonly fn: (value: unknown, ctx: TransformContext) => Out;

	constructor(fn: (value: unknown, ctx: TransformContext) => Out) {
		super();
		this.fn = fn;
	}

	override get optin(): Presence {
		return 'optional';
	}

	protected parseType(payload: Payload): Payload {
		const ctx: TransformContext = {
			value: payload.value,
			issues: payload.issues,
			addIssue: (issue) => {
				if (typeof issue === 'string') {
					payload.issues.push({message: issue, code: 'custom', input: payload.value, inst: undefined});
					return;
				}
				// zod's order of keys: the caller's, then continue, code, input, inst when missing.
				const raw: Record<string, unknown> = {...issue};
				if (issue.fatal === true) raw['continue'] = false;
				raw['code'] ??= 'custom';
				if (!('input' in raw)) raw['input'] = payload.value;
				raw['inst'] ??= this;
				payload.issues.push(raw as RawIssue);
			},
		};
		payload.value = this.fn(payload.value, ctx);
		return payload;
	}
}

/** `.transform()`: the schema, then (when it raised no issue) the function. */
export class PipeSchema<Out> extends Schema<Out, false> {
	readonly from: Schema;
	readonly to: Schema;

	constructor(from: Schema, to: Schema) {
		super();
		this.from = from;
		this.to = to;
	}

	override get optin(): Presence {
		return this.from.optin;
	}

	override get optout(): 'optional' | undefined {
		return this.to.optout;
	}

	protected parseType(payload: Payload): Payload {
		const left = this.from.run(payload);
		if (left.issues.some((issue) => issue.code !== 'unrecognized_keys')) {
			left.aborted = true;
			return left;
		}
		return this.to.run({value: left.value, issues: left.issues});
	}
}
