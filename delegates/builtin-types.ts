/**
 * The names of the built-in delegates, in a module of their own so that config validation
 * (src/meta/conf/conf.ts) can check `disableBuiltins` without loading the delegates.
 */

/** The `type`s Plexus runs in-process unless the Plexus conf turns them off. */
export const BUILTIN_TYPES = ['vrf', 'vlan', 'route-override'] as const;
export type BuiltinType = (typeof BUILTIN_TYPES)[number];
