/**
 * The errors of the test API server: `StoreError` (what a store operation refuses, with its HTTP code
 * and reason) and the `Status` object kube-apiserver answers errors with.
 */

const REASONS: Record<number, string> = {
	400: 'BadRequest',
	401: 'Unauthorized',
	403: 'Forbidden',
	404: 'NotFound',
	405: 'MethodNotAllowed',
	409: 'Conflict',
	410: 'Expired',
	415: 'UnsupportedMediaType',
	422: 'Invalid',
	429: 'TooManyRequests',
	500: 'InternalError',
	503: 'ServiceUnavailable',
	504: 'Timeout',
};

/** What the store reports when an operation cannot happen; the server maps it to a Status object. */
export class StoreError extends Error {
	override name = 'StoreError' as const;
	readonly code: number;
	readonly reason: string;

	constructor(code: number, reason: string, message: string) {
		super(message);
		this.code = code;
		this.reason = reason;
	}
}

/** The `Status` object kube-apiserver answers errors with. */
export function statusObject(code: number, message: string, reason = REASONS[code] ?? 'Unknown'): object {
	return {kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code};
}

/** True for a JSON object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}
