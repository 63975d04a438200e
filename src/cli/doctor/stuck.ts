/**
 * `plexus doctor`'s view of DELs that keep failing: every Plexus attachment record in `cniDir`
 * that a failed DEL (or ADD's failed rollback) left with the reason (src/meta/cache.ts
 * `delFailure`), and every record DEL cannot read. Each is a problem naming the container, the pod,
 * what is left to undo and why, with the fix: remove the cause and let the runtime retry, or drop
 * what cannot be undone with `plexus cleanup <containerID>`.
 */

import {qualifiedName} from '../../k8s/k8s-args.ts';
import {PlexusCache} from '../../meta/cache.ts';
import {describeAttachment} from '../../meta/cleanup.ts';
import type {Check} from './check.ts';

/** One check per container whose DEL keeps failing, or one "ok" when there is none. */
export async function checkStuckDels(cniDir: string): Promise<Check[]> {
	const checks: Check[] = [];
	for (const {file, read} of await new PlexusCache(cniDir).list()) {
		if (read.state === 'corrupt') {
			checks.push({
				check: 'failing DEL',
				status: 'warning',
				detail: `plexus record "${file}" is unreadable (${read.reason}): DEL of its pod falls back to the API`,
				fix: 'nothing, unless its pod is gone: then remove the file',
			});
			continue;
		}
		if (read.state === 'unsupported') {
			checks.push({
				check: 'failing DEL',
				status: 'problem',
				detail: `plexus record "${file}": ${read.reason}; DEL of its pod fails with code 1`,
				fix: 'run the newer plexus that wrote it, or drop it: plexus cleanup <its containerId>',
			});
			continue;
		}
		if (read.state !== 'ok' || read.entry.delFailure === undefined) continue;
		const {entry} = read;
		const failure = read.entry.delFailure;
		const pod = entry.pod === null ? '' : ` (pod "${qualifiedName(entry.pod)}")`;
		const left = entry.attachments.map(describeAttachment);
		checks.push({
			check: 'failing DEL',
			status: 'problem',
			detail: `DEL of container "${entry.containerId}"${pod} failed ${failure.attempts} time(s), last at ${failure.at}; left to undo: ${left.join(', ')}; reason: ${failure.reason}`,
			fix: `remove the cause and the runtime's retried DEL finishes; if it cannot be undone, remove what it left by hand and drop the records: plexus cleanup ${entry.containerId}`,
		});
	}
	if (checks.length === 0)
		checks.push({
			check: 'failing DEL',
			status: 'ok',
			detail: `no DEL is failing (plexus records in "${cniDir}")`,
		});
	return checks;
}
