/**
 * What a CLI invocation produces, as data: src/cli/main.ts is the only code that writes it out.
 */
import {type CniError, toCniError} from '../cni/errors.ts';
import {CURRENT_VERSION} from '../cni/versions.ts';

export interface CliOutcome {
	stdout: string;
	stderr: string;
	exitCode: number;
}

/** Exit status of a usage error (bad arguments), distinct from a CNI failure (1). */
export const USAGE_EXIT = 2;

/** A usage error: the message and the usage text on stderr, exit 2. */
export function usageError(message: string, usage: string): CliOutcome {
	return {stdout: '', stderr: `plexus: ${message}\n\n${usage}`, exitCode: USAGE_EXIT};
}

/** A failure rendered once: the CNI error JSON on stdout (as libcni reads it), exit 1. */
export function errorOutcome(err: unknown, cniVersion: string = CURRENT_VERSION): CliOutcome {
	const error: CniError = toCniError(err);
	return {stdout: `${JSON.stringify(error.toJson(cniVersion))}\n`, stderr: '', exitCode: 1};
}
