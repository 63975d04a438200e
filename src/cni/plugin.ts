/**
 * The contract every CNI plugin implementation in this repo meets, whether it runs in-process
 * (a built-in delegate called by the chain executor without fork/exec) or as a standalone binary
 * (the same object behind `src/cni/dispatch.ts`). It mirrors what a plugin binary sees: the
 * CNI_* variables, the exact stdin bytes, and the process environment.
 */

/** The verbs of CNI 1.1 (SPEC.md §"Parameters"). */
export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'STATUS', 'GC', 'VERSION'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** One invocation of a plugin, as a binary would receive it. */
export interface PluginRequest {
	readonly command: CniCommand;
	/** CNI_CONTAINERID ('' when the verb does not carry one, e.g. STATUS/GC). */
	readonly containerId: string;
	/** CNI_NETNS ('' when absent, which DEL allows). */
	readonly netns: string;
	/** CNI_IFNAME ('' when the verb does not carry one). */
	readonly ifname: string;
	/** CNI_ARGS, raw `K=V;K=V` text. */
	readonly args: string;
	/** CNI_PATH split into directories. */
	readonly path: readonly string[];
	/** The exact bytes on stdin. Delegates that forward config forward these, never a re-shaped parse. */
	readonly stdin: Uint8Array;
	/** `JSON.parse(stdin)`, untouched (unknown keys kept). */
	readonly config: Record<string, unknown>;
	/** The environment the plugin runs with (the caller's env plus the CNI_* overrides, libcni style). */
	readonly env: Readonly<Record<string, string>>;
}

/**
 * A CNI plugin. `add` returns the result object in the request's cniVersion (what a binary prints);
 * the others resolve on success. Failures are thrown as CniError (see ./errors.ts).
 */
export interface CniPlugin {
	/** The `type` this plugin answers to (e.g. "vrf"). */
	readonly type: string;
	/** The versions VERSION reports; ADD/DEL/CHECK of another version fail with code 1. */
	readonly supportedVersions: readonly string[];
	add(request: PluginRequest): Promise<Record<string, unknown>>;
	del(request: PluginRequest): Promise<void>;
	check(request: PluginRequest): Promise<void>;
	/** STATUS (CNI 1.1); absent means "always ready". */
	status?(request: PluginRequest): Promise<void>;
	/** GC (CNI 1.1); absent means "nothing to collect". */
	gc?(request: PluginRequest): Promise<void>;
}
