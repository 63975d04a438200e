/**
 * The built-in delegates (`vrf`, `vlan`, `route-override`) as a `type → CniPlugin` map, and the
 * exec seam that runs them in-process (src/chain/builtin-exec.ts). The same plugin objects back the
 * standalone binaries (delegates/standalone.ts).
 */
import {BuiltinPluginExec} from '../src/chain/builtin-exec.ts';
import type {PluginExec} from '../src/chain/plugin-exec.ts';
import type {CniPlugin} from '../src/cni/plugin.ts';
import type {OpenNetlink} from '../src/netlink/netlink.ts';
import {BUILTIN_TYPES, type BuiltinType} from './builtin-types.ts';
import {createRouteOverridePlugin} from './route-override/index.ts';
import {createVlanPlugin} from './vlan/index.ts';
import {createVrfPlugin} from './vrf/index.ts';

export {BUILTIN_TYPES, type BuiltinType} from './builtin-types.ts';

/** What the built-ins need: a Netlink opener, and the exec seam vlan uses for its IPAM plugin. */
export interface BuiltinDeps {
	readonly openNetlink: OpenNetlink;
	readonly exec: PluginExec;
}

export interface BuiltinOptions {
	/** Types to leave to the binary of that name on CNI_PATH instead (e.g. `["vlan"]`). */
	readonly disable?: readonly string[] | undefined;
}

/**
 * The in-process delegates, keyed by `type`.
 *
 * @example
 * new BuiltinPluginExec(exec, createBuiltins({openNetlink, exec}, {disable: conf.disableBuiltins}));
 */
export function createBuiltins(deps: BuiltinDeps, options: BuiltinOptions = {}): Map<string, CniPlugin> {
	const all: Record<BuiltinType, () => CniPlugin> = {
		vrf: () => createVrfPlugin(deps),
		vlan: () => createVlanPlugin(deps),
		'route-override': () => createRouteOverridePlugin(deps),
	};
	const disabled = new Set(options.disable ?? []);
	const map = new Map<string, CniPlugin>();
	for (const type of BUILTIN_TYPES) if (!disabled.has(type)) map.set(type, all[type]());
	return map;
}

/**
 * The exec seam with the built-ins (minus `options.disable`) found before CNI_PATH and run
 * in-process; every other type, and vlan's IPAM plugin, runs through `binaries`.
 *
 * @example
 * new ChainExecutor({path, exec: withBuiltins(new ProcessPluginExec(), openNetlink)});
 */
export function withBuiltins(
	binaries: PluginExec,
	openNetlink: OpenNetlink,
	options: BuiltinOptions = {},
): BuiltinPluginExec {
	return new BuiltinPluginExec(binaries, createBuiltins({openNetlink, exec: binaries}, options));
}
