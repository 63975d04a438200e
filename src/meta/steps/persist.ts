/**
 * Step 2 of ADD: persist the resolved attachments before anything runs, so that whatever happens
 * next, DEL has everything it needs; then keep each plugin's progress in that record's journal.
 */
import type {AddProgress} from '../../chain/executor.ts';
import {log} from '../../log.ts';
import type {PlexusCache, PodCacheEntry} from '../cache.ts';
import {type Invocation, toCached} from '../invocation.ts';
import type {Attachment} from '../resolve/attachment.ts';

/** Writes the pod's cache record (no plugin started yet) and returns it. */
export async function persistAttachments(
	inv: Invocation,
	attachments: readonly Attachment[],
	podUid: string | undefined,
): Promise<PodCacheEntry> {
	const entry = inv.newEntry(
		attachments.map((a) => ({...toCached(a), started: []})),
		podUid,
	);
	await inv.cache.begin(entry);
	return entry;
}

/**
 * The ADD progress of attachment `i`: each plugin joins its `started` list, persisted before it
 * runs; one that refused the cniVersion (code 1) leaves it again; both that and one that cannot
 * run at all are logged as warnings (their DEL is skipped).
 */
export function progressOf(cache: PlexusCache, entry: PodCacheEntry, i: number): AddProgress {
	return {
		starting: async (index) => {
			const a = entry.attachments[i]!;
			a.started = [...(a.started ?? []), index];
			await cache.progress(entry, i, index, true);
		},
		refused: async (index) => {
			const a = entry.attachments[i]!;
			a.started = (a.started ?? []).filter((n) => n !== index);
			log('warning', 'a plugin refused the cniVersion: it did not run, its DEL will be skipped', {
				network: a.network,
				ifname: a.ifname,
				plugin: index,
			});
			await cache.progress(entry, i, index, false);
		},
		unrunnable: (index, error) => {
			const a = entry.attachments[i]!;
			log('warning', 'a plugin cannot run: it never started, its DEL will be skipped', {
				network: a.network,
				ifname: a.ifname,
				plugin: index,
				error: error.message,
			});
		},
	};
}
