/**
 * How `plexus` is invoked as a CNI plugin (CNI_COMMAND set): which CniPlugin answers. Each entry
 * loads its plugin lazily so one invocation only imports what it runs. The Kubernetes
 * meta-plugin registers here as "plexus" when it lands; built-in delegates may register under
 * their own type.
 */
import {BUILTIN_TYPES} from '../../delegates/builtin-types.ts';
import type {CniPlugin, PluginRequest} from '../cni/plugin.ts';
import {SUPPORTED_VERSIONS} from '../cni/versions.ts';

export type PluginLoader = () => Promise<CniPlugin>;

/**
 * A plugin whose code is imported on its first verb: VERSION, answered from `supportedVersions`
 * alone, then loads nothing (the meta-plugin's modules and zod cost a one-shot VERSION ~40 ms).
 * The real plugin must have the same versions and the STATUS and GC verbs (a test checks it).
 */
export function lazyPlugin(
	type: string,
	supportedVersions: readonly string[],
	load: PluginLoader,
): CniPlugin {
	let loaded: Promise<CniPlugin> | undefined;
	const plugin = () => {
		loaded ??= load();
		return loaded;
	};
	return {
		type,
		supportedVersions,
		add: async (request: PluginRequest) => (await plugin()).add(request),
		del: async (request: PluginRequest) => (await plugin()).del(request),
		check: async (request: PluginRequest) => (await plugin()).check(request),
		status: async (request: PluginRequest) => (await plugin()).status?.(request),
		gc: async (request: PluginRequest) => (await plugin()).gc?.(request),
	};
}

/** Loads the Kubernetes meta-plugin, its delegate runs logged (src/observe/one-shot.ts). */
export const loadPlexusPlugin: PluginLoader = async () => {
	const [{createPlexusPlugin}, {observedDeps}] = await Promise.all([
		import('../meta/index.ts'),
		import('../observe/one-shot.ts'),
	]);
	return createPlexusPlugin(await observedDeps());
};

/** Invocation name → plugin. */
export const PLUGINS: ReadonlyMap<string, PluginLoader> = new Map<string, PluginLoader>([
	['plexus', async () => lazyPlugin('plexus', SUPPORTED_VERSIONS, loadPlexusPlugin)],
	// The built-in delegates as standalone binaries (bin/plexus-<type> sets PLEXUS_PLUGIN).
	...BUILTIN_TYPES.map(
		(type) => [type, async () => (await import('../../delegates/standalone.ts')).loadBuiltin(type)] as const,
	),
]);

/** The name `plexus` was invoked as: $PLEXUS_PLUGIN, else "plexus". */
export function invocationName(env: Readonly<Record<string, string | undefined>>): string {
	return env['PLEXUS_PLUGIN'] || 'plexus';
}
