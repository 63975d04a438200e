/**
 * What `plexus cleanup <containerID>` drops: the cache records that keep a container's DEL failing
 * when what they describe cannot be undone any more (a plugin uninstalled for good, a pod whose
 * state was removed by hand). Those are the container's Plexus attachment records
 * (`<cniDir>/plexus/`) and the libcni result files Plexus wrote for their attachments
 * (`<cniDir>/results/`). Nothing is run and nothing else is touched: results of other containers,
 * or of this container's networks Plexus has no record of (a Multus-era pod), stay.
 */
import {readdir, readFile, rm, stat} from 'node:fs/promises';
import {basename, dirname, join} from 'node:path';
import {ResultCache} from '../chain/cache.ts';
import {TEMP_MARKER} from '../chain/cache-file.ts';
import {qualifiedName} from '../k8s/k8s-args.ts';
import {type CachedAttachment, type DelFailure, journalFile, PlexusCache} from './cache.ts';

/** One Plexus attachment record of the container. */
export interface CleanupRecord {
	file: string;
	/** The runtime's CNI_IFNAME of the record. */
	ifname: string;
	/** `ns/name` of the pod, when known. */
	pod: string | undefined;
	/** The networks still recorded (with the plugins left to undo). */
	networks: string[];
	delFailure: DelFailure | undefined;
	/** Why the record is unusable (unsupported format), when it is. */
	unusable: string | undefined;
}

/** Everything cleanup would drop for one container. */
export interface CleanupPlan {
	containerId: string;
	records: CleanupRecord[];
	/** libcni result files of the records' attachments. */
	results: string[];
}

/** The `name` of a conflist's bytes and the types of its plugins (empty when unreadable). */
function describeList(config: Uint8Array): {name: string | undefined; types: string[]} {
	try {
		const raw = JSON.parse(Buffer.from(config).toString('utf8')) as {
			name?: unknown;
			type?: unknown;
			plugins?: unknown;
		};
		const plugins: {type?: unknown}[] = Array.isArray(raw.plugins) ? raw.plugins : [raw];
		return {
			name: typeof raw.name === 'string' ? raw.name : undefined,
			types: plugins.map((p) => String(p?.type)),
		};
	} catch {
		return {name: undefined, types: []};
	}
}

/** `ns1/a (interface "net1"; left to undo: tuning)`: a recorded attachment for people. */
export function describeAttachment(a: CachedAttachment): string {
	const {types} = describeList(a.config);
	const left =
		a.started === undefined ? '' : `; left to undo: ${a.started.map((i) => types[i] ?? `#${i}`).join(', ')}`;
	return `${a.network} (interface "${a.ifname}"${left})`;
}

/** The `containerId` of a record this Plexus cannot decode (a newer format), when it is JSON. */
async function containerIdOf(file: string): Promise<string | undefined> {
	try {
		const raw = JSON.parse(await readFile(file, 'utf8')) as {containerId?: unknown};
		return typeof raw.containerId === 'string' ? raw.containerId : undefined;
	} catch {
		return undefined;
	}
}

/** Finds what `cniDir` holds for `containerId` (nothing is changed). */
export async function planCleanup(cniDir: string, containerId: string): Promise<CleanupPlan> {
	const records: CleanupRecord[] = [];
	const keys: {networkName: string; containerId: string; ifname: string}[] = [];
	for (const {file, read} of await new PlexusCache(cniDir).list()) {
		if (read.state === 'ok') {
			const entry = read.entry;
			if (entry.containerId !== containerId) continue;
			records.push({
				file,
				ifname: entry.ifname,
				pod: entry.pod === null ? undefined : qualifiedName(entry.pod),
				networks: entry.attachments.map(describeAttachment),
				delFailure: entry.delFailure,
				unusable: undefined,
			});
			for (const a of entry.attachments) {
				const {name} = describeList(a.config);
				if (name !== undefined) keys.push({networkName: name, containerId, ifname: a.ifname});
			}
		} else if ((await containerIdOf(file)) === containerId) {
			const reason = read.state === 'missing' ? 'missing' : read.reason;
			records.push({file, ifname: '', pod: undefined, networks: [], delFailure: undefined, unusable: reason});
		}
	}
	const results = new ResultCache(cniDir);
	const files = new Set<string>();
	for (const key of keys) {
		if (await results.has(key)) files.add(results.path(key));
	}
	return {containerId, records, results: [...files].sort()};
}

/**
 * Removes what `plan` lists, the records' progress journals, and temporary files a killed write
 * left for those records; returns every file removed.
 */
export async function applyCleanup(plan: CleanupPlan): Promise<string[]> {
	const removed: string[] = [];
	for (const record of plan.records) {
		const journal = journalFile(record.file);
		if ((await stat(journal).catch(() => undefined)) !== undefined) {
			await rm(journal, {force: true});
			removed.push(journal);
		}
	}
	for (const file of [...plan.records.map((r) => r.file), ...plan.results]) {
		await rm(file, {force: true});
		removed.push(file);
		const dir = dirname(file);
		const base = basename(file);
		const leftovers = (await readdir(dir).catch(() => [] as string[])).filter((n) =>
			n.startsWith(`${base}${TEMP_MARKER}`),
		);
		for (const name of leftovers) {
			await rm(join(dir, name), {force: true});
			removed.push(join(dir, name));
		}
	}
	return removed;
}
