/**
 * The zod-shaped surface (`z.looseObject`, `z.string`, `z.infer`...): the factories and types the
 * CNI, conf and delegate schemas use, under zod v4's names, so those files read as zod code.
 */
import type {Shape} from './compound.ts';
import {ArraySchema, ObjectSchema, RecordSchema, UnionSchema} from './compound.ts';
import {BooleanSchema, EnumSchema, NumberSchema, StringSchema, UnknownSchema} from './scalars.ts';
import type {Params, Schema} from './schema.ts';

export type {Issue, SchemaError as ZodError} from './issues.ts';
export {prettifyError} from './issues.ts';
export type {Infer as infer, Infer as output, SafeParseResult, Schema as ZodType} from './schema.ts';

/** An object keeping the keys its shape lacks (a CNI config must pass a plugin's own keys on). */
export function looseObject<S extends Shape>(shape: S, params?: Params): ObjectSchema<S, 'loose'> {
	return new ObjectSchema(shape, 'loose', params);
}

/** An object refusing the keys its shape lacks (one unrecognized_keys issue naming them). */
export function strictObject<S extends Shape>(shape: S, params?: Params): ObjectSchema<S, 'strict'> {
	return new ObjectSchema(shape, 'strict', params);
}

/** An object dropping the keys its shape lacks. */
export function object<S extends Shape>(shape: S, params?: Params): ObjectSchema<S, 'strip'> {
	return new ObjectSchema(shape, 'strip', params);
}

/** A string. */
export function string(params?: Params): StringSchema {
	return new StringSchema(params);
}

/** A finite number. */
export function number(params?: Params): NumberSchema {
	return new NumberSchema(params);
}

/** A boolean. */
export function boolean(params?: Params): BooleanSchema {
	return new BooleanSchema(params);
}

/** Any value. */
export function unknown(): UnknownSchema {
	return new UnknownSchema();
}

/** An array of `element`. */
export function array<E extends Schema>(element: E, params?: Params): ArraySchema<E> {
	return new ArraySchema(element, params);
}

/** An object used as a map from string keys to `value`. */
export function record<V extends Schema>(key: StringSchema, value: V, params?: Params): RecordSchema<V> {
	return new RecordSchema(key, value, params);
}

/** The first of `options` that accepts the value. */
export function union<const T extends readonly Schema[]>(options: T, params?: Params): UnionSchema<T> {
	return new UnionSchema(options, params);
}

/** One of the given strings (zod's `z.enum`). */
function enumOf<const T extends readonly string[]>(values: T, params?: Params): EnumSchema<T[number]> {
	return new EnumSchema<T[number]>(values, params);
}

export {enumOf as enum};

/** Returned from a transform after `ctx.addIssue`: the parse has failed, the value is never used. */
export const NEVER = Object.freeze({status: 'aborted'}) as never;
