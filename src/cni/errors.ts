/**
 * The CNI error model: the spec's codes and one error class that carries them.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#error
 */

/** Well-known CNI error codes (SPEC.md "Error"). 0-99 are reserved; plugins use 100+. */
export const CniErrorCode = {
	incompatibleVersion: 1,
	unsupportedField: 2,
	unknownContainer: 3,
	invalidEnv: 4,
	ioFailure: 5,
	decodeFailure: 6,
	invalidConfig: 7,
	invalidNetns: 8,
	tryAgainLater: 11,
	notAvailable: 50,
	limitedConnectivity: 51,
	internal: 999,
} as const;

export type WellKnownCniErrorCode = (typeof CniErrorCode)[keyof typeof CniErrorCode];

/** Any code a CNI error may carry: a well-known one or a plugin-specific one (≥ 100). */
export type CniErrorCodeValue = number;

/** The JSON shape of a CNI error on the wire. */
export interface CniErrorJson {
	cniVersion: string;
	code: number;
	msg: string;
	details?: string;
}

/**
 * A failure with a CNI error code. Every error a user can hit is one of these;
 * the entry point renders it as the spec's error JSON and a non-zero exit.
 *
 * @example
 * throw new CniError(CniErrorCode.invalidConfig, 'invalid vlan config', {details: '"vlanId" must be ≤ 4094'});
 */
export class CniError extends Error {
	override name = 'CniError' as const;
	readonly code: CniErrorCodeValue;
	readonly details: string | undefined;

	constructor(
		code: CniErrorCodeValue,
		msg: string,
		options: {details?: string | undefined; cause?: unknown} = {},
	) {
		super(msg, options.cause === undefined ? undefined : {cause: options.cause});
		this.code = code;
		this.details = options.details;
	}

	/** The wire form, for the given cniVersion. */
	toJson(cniVersion: string): CniErrorJson {
		const json: CniErrorJson = {cniVersion, code: this.code, msg: this.message};
		if (this.details !== undefined && this.details !== '') json.details = this.details;
		return json;
	}
}

/** True for a CniError from any copy of this module (cross-realm safe, like execa's isExecaError). */
export function isCniError(value: unknown): value is CniError {
	return value instanceof Error && value.name === 'CniError' && typeof (value as CniError).code === 'number';
}

/**
 * Turns any thrown value into a CniError. A CniError passes unchanged ("don't wrap Error in Error");
 * anything else becomes code 999 with its text, keeping it as `cause`.
 */
export function toCniError(value: unknown): CniError {
	if (isCniError(value)) return value;
	const msg = value instanceof Error ? value.message : String(value);
	return new CniError(CniErrorCode.internal, msg, {cause: value});
}
