/**
 * The stdin a delegate receives (libcni buildOneConfig/InjectConf): the plugin's ORIGINAL raw
 * object from the conflist, with `name` and `cniVersion` injected, `prevResult` when there is one,
 * and `runtimeConfig` holding only the capabilities the plugin declares (only when non-empty).
 * Serialised the way Go's encoding/json marshals a map (keys sorted, HTML-safe escapes), so the
 * bytes match what libcni would send.
 */
import type {CniResult} from '../cni/result.ts';
import type {GcAttachment} from '../cni/spec.ts';

/** What to inject into one plugin's config. */
export interface DelegateConfInput {
	/** The network (list) name. */
	name: string;
	/** The list's selected cniVersion. */
	cniVersion: string;
	/** The plugin object exactly as it appeared in the conflist (never a re-shaped parse). */
	plugin: Readonly<Record<string, unknown>>;
	prevResult?: CniResult | undefined;
	/** The runtime's capability arguments; filtered by the plugin's `capabilities`. */
	capabilityArgs?: Readonly<Record<string, unknown>> | undefined;
}

/** A built delegate config: the object and its exact stdin bytes. */
export interface DelegateConf {
	config: Record<string, unknown>;
	stdin: Uint8Array;
}

/** `runtimeConfig` for a plugin: the capability args whose key the plugin declares `true`. */
export function filterRuntimeConfig(
	plugin: Readonly<Record<string, unknown>>,
	capabilityArgs: Readonly<Record<string, unknown>> | undefined,
): Record<string, unknown> {
	const declared = plugin['capabilities'];
	const out: Record<string, unknown> = {};
	if (capabilityArgs === undefined || typeof declared !== 'object' || declared === null) return out;
	for (const [capability, supported] of Object.entries(declared as Record<string, unknown>)) {
		if (supported === true && Object.hasOwn(capabilityArgs, capability)) {
			out[capability] = capabilityArgs[capability];
		}
	}
	return out;
}

/** Builds the ADD/DEL/CHECK config of one plugin. */
export function buildDelegateConf(input: DelegateConfInput): DelegateConf {
	const config: Record<string, unknown> = {...input.plugin, name: input.name, cniVersion: input.cniVersion};
	if (input.prevResult !== undefined) config['prevResult'] = input.prevResult;
	const runtimeConfig = filterRuntimeConfig(input.plugin, input.capabilityArgs);
	if (Object.keys(runtimeConfig).length > 0) config['runtimeConfig'] = runtimeConfig;
	return finish(config);
}

/** Builds the STATUS config of one plugin: only `name` and `cniVersion` injected. */
export function buildStatusConf(
	name: string,
	cniVersion: string,
	plugin: Readonly<Record<string, unknown>>,
): DelegateConf {
	return finish({...plugin, name, cniVersion});
}

/**
 * Builds the GC config of one plugin. The valid attachments go under both the current key
 * `cni.dev/valid-attachments` and the pre-rename `cni.dev/attachments`, as libcni sends them;
 * with no list at all (cnitool's GC) neither key is set.
 */
export function buildGcConf(
	name: string,
	cniVersion: string,
	plugin: Readonly<Record<string, unknown>>,
	validAttachments: readonly GcAttachment[] | undefined,
): DelegateConf {
	const config: Record<string, unknown> = {...plugin, name, cniVersion};
	if (validAttachments !== undefined) {
		const list = validAttachments.map((a) => ({containerID: a.containerID, ifname: a.ifname}));
		config['cni.dev/valid-attachments'] = list;
		config['cni.dev/attachments'] = list;
	}
	return finish(config);
}

function finish(config: Record<string, unknown>): DelegateConf {
	return {config, stdin: Buffer.from(marshalLikeGo(config), 'utf8')};
}

const compareBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/**
 * Go's float64 text. encoding/json picks 'f' below 1e21 and 'e' from there (or under 1e-6), and
 * then strips an exponent's leading zero ("1e-07" → "1e-7"): the same text as ES's Number
 * toString, except that Go keeps the sign of negative zero.
 */
function formatNumber(value: number): string {
	if (!Number.isFinite(value)) throw new TypeError(`cannot marshal ${value} as JSON`);
	return Object.is(value, -0) ? '-0' : JSON.stringify(value);
}

/** JSON text as Go's json.Marshal writes a decoded map: sorted keys, `<>&` and U+2028/9 escaped. */
export function marshalLikeGo(value: unknown): string {
	if (value === null || value === undefined) return 'null';
	switch (typeof value) {
		case 'string':
			return JSON.stringify(value).replace(
				/[<>&\u2028\u2029]/g,
				(c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
			);
		case 'number':
			return formatNumber(value);
		case 'boolean':
			return value ? 'true' : 'false';
		case 'object': {
			if (Array.isArray(value)) return `[${value.map(marshalLikeGo).join(',')}]`;
			const entries = Object.entries(value as Record<string, unknown>)
				.filter(([, v]) => v !== undefined)
				.sort(([a], [b]) => compareBytes(a, b));
			return `{${entries.map(([k, v]) => `${marshalLikeGo(k)}:${marshalLikeGo(v)}`).join(',')}}`;
		}
		default:
			throw new TypeError(`cannot marshal a ${typeof value} as JSON`);
	}
}
