/**
 * The leaf schemas: string (with `.min`), number (with `.int`, `.min`, `.max`, `.positive`,
 * `.nonnegative`), boolean, unknown and enum, raising the same issues as zod v4's.
 */
import type {Payload, RawIssue} from './issues.ts';
import {type Check, errorOf, type Params, Schema} from './schema.ts';

function abortOf(params: Params | undefined): boolean {
	return typeof params === 'object' && params.abort === true;
}

/** The "expected X" issue of a value of the wrong type, raised by `schema` itself. */
function wrongType(payload: Payload, expected: string, schema: Schema, extra?: {received: string}): Payload {
	payload.issues.push({expected, code: 'invalid_type', input: payload.value, inst: schema, ...extra});
	return payload;
}

/** The number of code points of `text` (a surrogate pair counts once, as in zod). */
function codePointLength(text: string): number {
	let count = text.length;
	for (let i = 0; i < text.length - 1; i++) {
		if ((text.charCodeAt(i) & 0xfc00) === 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
			count--;
			i++;
		}
	}
	return count;
}

/** zod's minimum-length check; like zod's it also runs on a non-string with a `length`. */
function minLength(minimum: number, params: Params | undefined): Check {
	const abort = abortOf(params);
	const check: Check = {
		error: errorOf(params),
		when: (payload) =>
			payload.value !== undefined &&
			payload.value !== null &&
			(payload.value as {length?: unknown}).length !== undefined,
		run: (payload) => {
			const input = payload.value;
			const units = (input as {length: number}).length;
			const length =
				typeof input === 'string' && units >= minimum && units < minimum * 2 ? codePointLength(input) : units;
			if (length >= minimum) return;
			const origin = Array.isArray(input) ? 'array' : typeof input === 'string' ? 'string' : 'unknown';
			payload.issues.push({
				origin,
				code: 'too_small',
				minimum,
				inclusive: true,
				input,
				inst: check,
				continue: !abort,
			});
		},
	};
	return check;
}

/** `z.string()`. */
export class StringSchema extends Schema<string, false> {
	protected parseType(payload: Payload): Payload {
		return typeof payload.value === 'string' ? payload : wrongType(payload, 'string', this);
	}

	/** At least `minimum` characters (code points). */
	min(minimum: number, params?: Params): this {
		return this.withCheck(minLength(minimum, params));
	}
}

/** zod's `gt`/`gte` (too_small) or `lt`/`lte` (too_big) check against `bound`. */
function bound(kind: 'min' | 'max', value: number, inclusive: boolean, params: Params | undefined): Check {
	const abort = abortOf(params);
	const check: Check = {
		error: errorOf(params),
		run: (payload) => {
			const input = payload.value as number;
			if (
				kind === 'min'
					? inclusive
						? input >= value
						: input > value
					: inclusive
						? input <= value
						: input < value
			) {
				return;
			}
			const issue: RawIssue =
				kind === 'min'
					? {
							origin: 'number',
							code: 'too_small',
							minimum: value,
							input,
							inclusive,
							inst: check,
							continue: !abort,
						}
					: {
							origin: 'number',
							code: 'too_big',
							maximum: value,
							input,
							inclusive,
							inst: check,
							continue: !abort,
						};
			payload.issues.push(issue);
		},
	};
	return check;
}

const SAFE_RANGE_NOTE = 'Integers must be within the safe integer range.';

/** zod's `int()` (format "safeint"): a non-integer stops the checks; an unsafe one is out of range. */
function safeInt(params: Params | undefined): Check {
	const abort = abortOf(params);
	const check: Check = {
		error: errorOf(params),
		run: (payload) => {
			const input = payload.value as number;
			if (!Number.isInteger(input)) {
				payload.issues.push({
					expected: 'int',
					format: 'safeint',
					code: 'invalid_type',
					continue: false,
					input,
					inst: check,
				});
				return;
			}
			if (Number.isSafeInteger(input)) return;
			const common = {
				input,
				note: SAFE_RANGE_NOTE,
				inst: check,
				origin: 'int',
				inclusive: true,
				continue: !abort,
			};
			payload.issues.push(
				input > 0
					? {code: 'too_big', maximum: Number.MAX_SAFE_INTEGER, ...common}
					: {code: 'too_small', minimum: Number.MIN_SAFE_INTEGER, ...common},
			);
		},
	};
	return check;
}

/** `z.number()`: a finite number (NaN and ±Infinity are refused, as in zod). */
export class NumberSchema extends Schema<number, false> {
	protected parseType(payload: Payload): Payload {
		const input = payload.value;
		if (typeof input === 'number' && Number.isFinite(input)) return payload;
		if (typeof input !== 'number') return wrongType(payload, 'number', this);
		return wrongType(payload, 'number', this, {received: Number.isNaN(input) ? 'NaN' : String(input)});
	}

	/** A safe integer. */
	int(params?: Params): this {
		return this.withCheck(safeInt(params));
	}

	/** At least `value`. */
	min(value: number, params?: Params): this {
		return this.withCheck(bound('min', value, true, params));
	}

	/** At most `value`. */
	max(value: number, params?: Params): this {
		return this.withCheck(bound('max', value, true, params));
	}

	/** Greater than 0. */
	positive(params?: Params): this {
		return this.withCheck(bound('min', 0, false, params));
	}

	/** At least 0. */
	nonnegative(params?: Params): this {
		return this.withCheck(bound('min', 0, true, params));
	}
}

/** `z.boolean()`. */
export class BooleanSchema extends Schema<boolean, false> {
	protected parseType(payload: Payload): Payload {
		return typeof payload.value === 'boolean' ? payload : wrongType(payload, 'boolean', this);
	}
}

/** `z.unknown()`: anything, kept as is (an absent object key is still an issue, as in zod). */
export class UnknownSchema extends Schema<unknown, false> {
	protected parseType(payload: Payload): Payload {
		return payload;
	}
}

/** `z.enum([...])`: one of the given strings. */
export class EnumSchema<T extends string> extends Schema<T, false> {
	readonly options: readonly T[];
	readonly values: ReadonlySet<unknown>;

	constructor(options: readonly T[], params?: Params) {
		super(params);
		this.options = options;
		this.values = new Set(options);
	}

	protected parseType(payload: Payload): Payload {
		if (this.values.has(payload.value)) return payload;
		payload.issues.push({code: 'invalid_value', values: this.options, input: payload.value, inst: this});
		return payload;
	}
}
