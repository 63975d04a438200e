/**
 * Validation issues: their shapes (zod v4's, code by code), the English message of each (zod v4's
 * `en` locale, word for word, since users read them in CNI errors), the finalizing step that turns
 * an issue raised while parsing into the one callers see, and `prettifyError`.
 */

/** A path into the validated value: object keys and array indexes, outermost first. */
export type IssuePath = (string | number)[];

/** The code-specific fields of an issue, one variant per code these schemas can raise. */
export type IssueBody =
	| {code: 'invalid_type'; expected: string; received?: string; format?: string}
	| {code: 'too_small'; origin: string; minimum: number; inclusive: boolean; note?: string}
	| {code: 'too_big'; origin: string; maximum: number; inclusive: boolean; note?: string}
	| {code: 'invalid_value'; values: readonly unknown[]}
	| {code: 'unrecognized_keys'; keys: string[]}
	| {code: 'invalid_union'; errors: Issue[][]}
	| {code: 'invalid_key'; origin: 'record'; issues: Issue[]}
	| {code: 'custom'; params?: Record<string, unknown>};

/** A finished issue, as in `safeParse(...).error.issues`. */
export type Issue = IssueBody & {path: IssuePath; message: string};

/** Something whose custom error may name an issue: a schema (`z.string({error})`) or a check. */
export interface ErrorSource {
	readonly error: ErrorFn | undefined;
}

/** An issue while parsing: the input it is about, who raised it, and whether parsing may go on. */
export type RawIssue = IssueBody & {
	input?: unknown;
	inst?: ErrorSource | undefined;
	schema?: ErrorSource | undefined;
	path?: IssuePath;
	message?: string;
	continue?: boolean;
};

/** A custom error: a fixed text, or a function of the raw issue (undefined: the next one decides). */
export type ErrorFn = (issue: RawIssue) => string | {message: string} | undefined | null;

/** The value being parsed and the issues found so far (zod's "payload"). */
export interface Payload {
	value: unknown;
	issues: RawIssue[];
	aborted?: boolean;
}

/** True when an issue from `start` on stops the checks that follow (zod's `aborted`). */
export function aborted(payload: Payload, start = 0): boolean {
	if (payload.aborted === true) return true;
	for (let i = start; i < payload.issues.length; i++) if (payload.issues[i]?.continue !== true) return true;
	return false;
}

/** True when an issue from `start` on is explicitly fatal (`continue: false`). */
export function explicitlyAborted(payload: Payload, start = 0): boolean {
	if (payload.aborted === true) return true;
	for (let i = start; i < payload.issues.length; i++) if (payload.issues[i]?.continue === false) return true;
	return false;
}

/** Prepends `segment` to the path of each issue (in place, as zod does) and returns them. */
export function prefixIssues(segment: string | number, issues: RawIssue[]): RawIssue[] {
	for (const issue of issues) {
		issue.path ??= [];
		issue.path.unshift(segment);
	}
	return issues;
}

/** The type name zod reports for a value ("array", "null", "nan", a class name...). */
export function parsedType(data: unknown): string {
	const t = typeof data;
	if (t === 'number') return Number.isNaN(data) ? 'nan' : 'number';
	if (t !== 'object') return t;
	if (data === null) return 'null';
	if (Array.isArray(data)) return 'array';
	const obj = data as {constructor?: {name?: string}};
	if (Object.getPrototypeOf(obj) !== Object.prototype && 'constructor' in obj && obj.constructor) {
		return obj.constructor.name as string;
	}
	return 'object';
}

function typeName(type: string, input?: unknown): string {
	if (type === 'number' && typeof input === 'number' && !Number.isFinite(input)) return String(input);
	return type === 'nan' ? 'NaN' : type;
}

function stringifyPrimitive(value: unknown): string {
	if (typeof value === 'bigint') return `${value.toString()}n`;
	if (typeof value === 'string') return `"${value}"`;
	return `${value as string}`;
}

function joinValues(values: readonly unknown[], separator: string): string {
	return values.map(stringifyPrimitive).join(separator);
}

/** The units zod names for a length/size bound of each origin (others are compared "to be"). */
const SIZING: Readonly<Record<string, string>> = {
	string: 'characters',
	file: 'bytes',
	array: 'items',
	set: 'items',
	map: 'entries',
};

/** zod v4's English message for an issue without a custom error. */
export function englishMessage(issue: RawIssue): string {
	switch (issue.code) {
		case 'invalid_type':
			return `Invalid input: expected ${typeName(issue.expected)}, received ${typeName(parsedType(issue.input), issue.input)}`;
		case 'invalid_value':
			if (issue.values.length === 1) return `Invalid input: expected ${stringifyPrimitive(issue.values[0])}`;
			return `Invalid option: expected one of ${joinValues(issue.values, '|')}`;
		case 'too_big': {
			const adj = issue.inclusive ? '<=' : '<';
			const unit = SIZING[issue.origin];
			if (unit !== undefined)
				return `Too big: expected ${issue.origin} to have ${adj}${issue.maximum} ${unit}`;
			return `Too big: expected ${issue.origin} to be ${adj}${issue.maximum}`;
		}
		case 'too_small': {
			const adj = issue.inclusive ? '>=' : '>';
			const unit = SIZING[issue.origin];
			if (unit !== undefined)
				return `Too small: expected ${issue.origin} to have ${adj}${issue.minimum} ${unit}`;
			return `Too small: expected ${issue.origin} to be ${adj}${issue.minimum}`;
		}
		case 'unrecognized_keys':
			return `Unrecognized key${issue.keys.length > 1 ? 's' : ''}: ${joinValues(issue.keys, ', ')}`;
		case 'invalid_key':
			return `Invalid key in ${issue.origin}`;
		default:
			return 'Invalid input';
	}
}

function unwrap(message: string | {message: string} | undefined | null): string | undefined {
	return typeof message === 'string' ? message : (message?.message ?? undefined);
}

/** The keys of a raw issue that never reach callers. */
const INTERNAL_KEYS = new Set(['inst', 'schema', 'continue', 'input', '__proto__']);

/**
 * The issue callers see: internal fields dropped, a path, and the message (the issue's own, else
 * the raiser's custom error, else the owning schema's, else English), in zod's order of precedence.
 */
export function finalizeIssue(issue: RawIssue): Issue {
	const schemaError = issue.schema !== issue.inst ? issue.schema?.error : undefined;
	const message =
		issue.message ||
		(unwrap(issue.inst?.error?.(issue)) ?? unwrap(schemaError?.(issue)) ?? englishMessage(issue));
	const full: Record<string, unknown> = {};
	for (const key of Object.keys(issue)) {
		if (!INTERNAL_KEYS.has(key)) full[key] = (issue as Record<string, unknown>)[key];
	}
	full['path'] ??= [];
	full['message'] = message;
	return full as Issue;
}

/** The error of a failed parse (zod's ZodError): the finished issues, in the order found. */
export class SchemaError extends Error {
	readonly issues: Issue[];

	constructor(issues: Issue[]) {
		super(JSON.stringify(issues, null, 2));
		this.name = 'ZodError';
		this.issues = issues;
	}
}

function toDotPath(path: IssuePath): string {
	const segs: string[] = [];
	for (const seg of path) {
		if (typeof seg === 'number') segs.push(`[${seg}]`);
		else if (/[^\w$]/.test(seg)) segs.push(`[${JSON.stringify(seg)}]`);
		else {
			if (segs.length > 0) segs.push('.');
			segs.push(seg);
		}
	}
	return segs.join('');
}

/** zod's `prettifyError`: one "✖ message" line per issue (shortest path first), each with its path. */
export function prettifyError(error: {readonly issues: readonly Issue[]}): string {
	const lines: string[] = [];
	const issues = [...error.issues].sort((a, b) => a.path.length - b.path.length);
	for (const issue of issues) {
		lines.push(`✖ ${issue.message}`);
		if (issue.path.length > 0) lines.push(`  → at ${toDotPath(issue.path)}`);
	}
	return lines.join('\n');
}
