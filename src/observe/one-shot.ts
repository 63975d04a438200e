/**
 * The one-shot meta-plugin's delegates, observed as the daemon's are: each delegate run (binary or
 * built-in) logs its `info` line (and its redacted stdin at `debug`) through ./delegates.ts. There
 * are no metrics and no trace in a one-shot process.
 */
import type {PlexusDeps} from '../meta/deps.ts';
import {observeDelegates} from './delegates.ts';
import {timedExec} from './timed-exec.ts';

/** The meta-plugin's dependencies with timed, logged delegate execution. */
export async function observedDeps(): Promise<PlexusDeps> {
	const observe = observeDelegates();
	return {wrapExec: (exec) => timedExec(exec, observe)};
}
