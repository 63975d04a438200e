/**
 * The built-in delegates (`vrf`, `vlan`, `route-override`) as a `type → CniPlugin` map for the chain
 * executor's in-process registry (ChainOptions.inProcess). The same plugin objects back the
 * standalone binaries (delegates/<name>/main.ts).
 */
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
 * new ChainExecutor({path, exec, inProcess: createBuiltins({openNetlink, exec}, {disable: conf.disableBuiltins})});
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
