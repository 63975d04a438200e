/**
 * CNI_NETNS probes for unit tests of the meta-plugin, whose pods live in made-up namespace paths
 * (delegates are fakes, nothing enters a namespace). Tests of the netns rules themselves use the
 * real probe on real files (src/meta/netns-guard.test.ts) or a table of their own.
 */
import type {NetnsKind} from '../../netlink/netns.ts';
import type {ProbeNetns} from '../netns-guard.ts';

/** Every path is a network namespace: the unit tests' made-up netns paths pass the ADD check. */
export const anyPathIsNetns: ProbeNetns = () => ({kind: 'netns'});

/** A probe answering from a table (path → kind), 'missing' for paths it does not list. */
export function probeFrom(table: Readonly<Record<string, NetnsKind>>): ProbeNetns {
	return (path) => table[path] ?? {kind: 'missing'};
}
