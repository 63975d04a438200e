/**
 * Secrets out of logged delegate configs. The rule: any object key whose name, ignoring case,
 * contains "password", "passwd", "secret", "token", "credential" or "private", or ends in "key"
 * (`key`, `apiKey`, `publicKey`: a key is logged as little as a secret) or in "keydata"/"certdata"
 * (kubeconfig-style key material) has its value replaced by "<redacted>", at any depth, in
 * arrays too. A config that is not JSON is not logged at all.
 */

const SECRET_KEY = /password|passwd|secret|token|credential|private|key$|keydata$|certdata$/i;

/** The replacement of every secret value. */
export const REDACTED = '<redacted>';

/** `value` with every secret-named key's value replaced. */
export function redactValue(value: unknown): unknown {
	if (Array.isArray(value)) return value.map(redactValue);
	if (typeof value !== 'object' || value === null) return value;
	const out: Record<string, unknown> = {};
	for (const [key, inner] of Object.entries(value)) {
		out[key] = SECRET_KEY.test(key) ? REDACTED : redactValue(inner);
	}
	return out;
}

/** A delegate's stdin as a redacted JSON value, or a note saying it was not JSON. */
export function redactStdin(stdin: Uint8Array): unknown {
	try {
		return redactValue(JSON.parse(Buffer.from(stdin).toString('utf8')));
	} catch {
		return `<${stdin.length} bytes, not JSON: not logged>`;
	}
}
