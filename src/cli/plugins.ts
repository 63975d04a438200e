/**
 * How `plexus` is invoked as a CNI plugin (CNI_COMMAND set): which CniPlugin answers. Each entry
 * loads its plugin lazily so one invocation only imports what it runs. The Kubernetes
 * meta-plugin registers here as "plexus" when it lands; built-in delegates may register under
 * their own type.
 */
import type {CniPlugin} from '../cni/plugin.ts';

export type PluginLoader = () => Promise<CniPlugin>;

/** Invocation name → plugin. */
export const PLUGINS: ReadonlyMap<string, PluginLoader> = new Map<string, PluginLoader>([
	['plexus', async () => (await import('../meta/index.ts')).createPlexusPlugin()],
	// The built-in delegates as standalone binaries (bin/plexus-<type> sets PLEXUS_PLUGIN).
	...(['vrf', 'vlan', 'route-override'] as const).map(
		(type) => [type, async () => (await import('../../delegates/standalone.ts')).loadBuiltin(type)] as const,
	),
]);

/** The name `plexus` was invoked as: $PLEXUS_PLUGIN, else "plexus". */
export function invocationName(env: Readonly<Record<string, string | undefined>>): string {
	return env['PLEXUS_PLUGIN'] || 'plexus';
}
