/**
 * Config parsing shared by the built-in delegates: Go-style key matching and the mapping of schema
 * failures (src/cni/schema, zod's issues and messages) to CNI error code 7.
 */
import {CniError, CniErrorCode} from '../../src/cni/errors.ts';
import {z} from '../../src/cni/schema/index.ts';

/**
 * Renames keys of `raw` that match one of `keys` case-insensitively to their canonical spelling.
 *
 * The reference plugins decode config with Go's encoding/json, which matches object keys to struct
 * tags case-insensitively (an exact match wins; among variants the one decoded last wins). Their own
 * tests send `"vrfName"` for the tag `vrfname`, and users copy such configs. Plexus accepts the same
 * spellings on purpose so that a config working with the reference binary works here too.
 * Keys that match nothing are kept as they are (CNI configs may carry extra keys).
 */
export function foldKeys(raw: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
	const canonical = new Map(keys.map((key) => [key.toLowerCase(), key]));
	const folded: Record<string, unknown> = {};
	const exact = new Set<string>();
	for (const [key, value] of Object.entries(raw)) {
		const target = canonical.get(key.toLowerCase());
		if (target === undefined) {
			folded[key] = value;
		} else if (key === target) {
			folded[target] = value;
			exact.add(target);
		} else if (!exact.has(target)) {
			folded[target] = value;
		}
	}
	// An exact spelling appearing after a variant must still win over it.
	for (const target of exact) folded[target] = raw[target];
	return folded;
}

/**
 * Validates `raw` against `schema`. A failure is a CNI code-7 error whose message carries every issue
 * text (so the reference plugins' strings stay matchable) and whose details are the issues' pretty form (zod's `prettifyError`).
 */
export function parseConfig<Schema extends z.ZodType>(
	pluginType: string,
	schema: Schema,
	raw: unknown,
): z.infer<Schema> {
	const parsed = schema.safeParse(raw);
	if (parsed.success) return parsed.data;
	const texts = parsed.error.issues.map((issue) =>
		issue.path.length === 0 ? issue.message : `${issue.path.join('.')}: ${issue.message}`,
	);
	throw new CniError(CniErrorCode.invalidConfig, `invalid ${pluginType} config: ${texts.join('; ')}`, {
		details: z.prettifyError(parsed.error),
	});
}
