/**
 * What `plexus dry-run --execute` checks DEL removed outside the netns: cache files, host-local
 * reservations, and (with ./host-links.ts) host links; all found from what the run's steps got
 * and returned.
 */
import {readdir, readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {convertResult} from '../../cni/result.ts';
import type {RanList} from './host-links.ts';
import type {ExecutedStep} from './types.ts';

/** Files under `dir`, recursively (the caches DEL must have emptied). */
export async function filesUnder(dir: string): Promise<string[]> {
	const out: string[] = [];
	let entries: import('node:fs').Dirent[];
	try {
		entries = await readdir(dir, {withFileTypes: true});
	} catch {
		return out;
	}
	for (const e of entries) {
		const path = join(dir, e.name);
		if (e.isDirectory()) out.push(...(await filesUnder(path)));
		else out.push(path);
	}
	return out;
}

/** host-local reservations of `containerId` left for the lists' networks. */
export async function reservations(lists: readonly RanList[], containerId: string): Promise<string[]> {
	const found: string[] = [];
	for (const list of lists) {
		for (const plugin of list.plugins) {
			const ipam = plugin.raw['ipam'];
			if (typeof ipam !== 'object' || ipam === null) continue;
			const conf = ipam as Record<string, unknown>;
			if (conf['type'] !== 'host-local') continue;
			const dataDir = typeof conf['dataDir'] === 'string' ? conf['dataDir'] : '/var/lib/cni/networks';
			for (const file of await filesUnder(join(dataDir, list.name))) {
				const text = await readFile(file, 'utf8').catch(() => '');
				if (text.split(/\r?\n/)[0]?.trim() === containerId)
					found.push(`host-local reservation "${file}" of network "${list.name}"`);
			}
		}
	}
	return found;
}

/** The plugin configs the run's ADD steps got, as one-plugin lists (for bridges and reservations). */
export function ranConfigs(steps: readonly ExecutedStep[]): RanList[] {
	const out: RanList[] = [];
	for (const step of steps) {
		if (step.command !== 'ADD') continue;
		try {
			const raw = JSON.parse(step.stdin) as Record<string, unknown>;
			out.push({name: String(raw['name'] ?? ''), plugins: [{type: step.type, raw}]});
		} catch {
			// A stdin that is no JSON object configured nothing.
		}
	}
	return out;
}

/** Host-side interfaces (no sandbox) the ADD steps' results named. */
export function hostSideOf(steps: readonly ExecutedStep[]): Set<string> {
	const names = new Set<string>();
	for (const step of steps) {
		if (step.command !== 'ADD' || step.stdout === '' || step.error !== null) continue;
		try {
			const result = convertResult(JSON.parse(step.stdout), '1.1.0') as {
				interfaces?: {name?: string; sandbox?: string}[];
			};
			for (const i of result.interfaces ?? [])
				if (i.name !== undefined && (i.sandbox ?? '') === '') names.add(i.name);
		} catch {
			// Not a result (an IPAM answer of another shape): names no interface.
		}
	}
	return names;
}
