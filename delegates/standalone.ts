/**
 * The built-ins as standalone CNI binaries (bin/plexus-vrf, bin/plexus-vlan,
 * bin/plexus-route-override): src/cli registers these loaders under each type, so the binary runs
 * the same plugin object through src/cni/dispatch.ts that the chain executor runs in-process.
 */
import type {CniPlugin} from '../src/cni/plugin.ts';
import {BUILTIN_TYPES, type BuiltinType, createBuiltins} from './index.ts';

/** The built-in `type` over the kernel's netlink and execa (for vlan's IPAM plugin). */
export async function loadBuiltin(type: BuiltinType): Promise<CniPlugin> {
	const [{openNetlink}, {ProcessPluginExec}] = await Promise.all([
		import('../src/netlink/kernel.ts'),
		import('../src/chain/plugin-exec.ts'),
	]);
	const plugin = createBuiltins({
		openNetlink: (netns) => openNetlink(netns),
		exec: new ProcessPluginExec(),
	}).get(type);
	if (plugin === undefined) throw new Error(`unknown built-in delegate "${type}"`);
	return plugin;
}

export {BUILTIN_TYPES};
