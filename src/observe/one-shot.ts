/**
 * The one-shot meta-plugin's delegates, observed as the daemon's are: each delegate run (binary or
 * built-in) logs its `info` line (and its redacted stdin at `debug`) through ./delegates.ts. There
 * are no metrics and no trace in a one-shot process.
 */
import type {PlexusDeps} from '../meta/deps.ts';
import {observeDelegates} from './delegates.ts';

/** The meta-plugin's dependencies with timed, logged delegate execution. */
export async function observedDeps(): Promise<PlexusDeps> {
	const [{ProcessPluginExec}, {TimedPluginExec, timedPlugin}, {defaultBuiltins}] = await Promise.all([
		import('../chain/plugin-exec.ts'),
		import('../daemon/delegate.ts'),
		import('../meta/deps.ts'),
	]);
	const observe = observeDelegates();
	return {
		exec: new TimedPluginExec(new ProcessPluginExec(), observe),
		inProcess: async (conf, exec) =>
			new Map(
				[...(await defaultBuiltins(conf, exec))].map(([type, plugin]) => [
					type,
					timedPlugin(plugin, observe),
				]),
			),
	};
}
