/**
 * The meta-plugin's own cache: what a pod's ADD resolved, written before any delegate runs, so DEL
 * can undo exactly that even when the API server is down, the pod is gone or a NAD was edited
 * (Multus issues #755, #1087, #1449: DEL with a stripped or recomputed config leaks IPs).
 *
 * One file per (containerID, CNI_IFNAME) at `<cniDir>/plexus/<containerID>-<ifname>.json` (a name
 * too long for the file system is shortened with a hash, ../chain/cache-file.ts), mode 0600 in a
 * 0700 directory, written atomically (temp file, rename; not fsync'd, see ../chain/cache-file.ts). The file is versioned
 * (`kind: "plexusCacheV1"`) and checksummed: each attachment's exact config bytes carry a sha256,
 * and the whole record carries one, so a torn or edited file is detected instead of half-trusted.
 *
 * Progress: before each delegate runs, that plugin joins its attachment's `started` list on disk,
 * so ADD's rollback and every later DEL undo exactly the plugins that ran, even after a kill -9
 * mid-ADD; a DEL that cannot finish keeps only what is left to undo, with the reason
 * (`delFailure`). ADD appends those steps to a journal (`progress/<record name>`,
 * ./cache-journal.ts) named by the record's `journal` id, rather than rewriting the record each
 * time; every later write of the record holds the lists itself and drops the journal. The keys
 * were added to plexusCacheV1 rather than starting a V2: a record without them (written by an
 * earlier Plexus) is still read, and an earlier Plexus reads one with them (it ignores keys it
 * does not know; the checksum covers them). A journaled record has no `started` lists of its own,
 * so an earlier Plexus undoes every plugin of it, as it always did: neither an upgrade nor a
 * downgrade strands a pod.
 */
import {createHash} from 'node:crypto';
import {appendFileSync, mkdirSync, readFileSync, rmSync} from 'node:fs';
import {basename, dirname, join} from 'node:path';
import {fitFileName, writeFileAtomicSync} from '../chain/cache-file.ts';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {isJsonObject, MAX_COMPOSED_JSON_DEPTH, nestsDeeperThan} from '../cni/json.ts';
import {readdir, readFile} from '../fs/promises.ts';
import {randomHex8} from '../random-hex.ts';
import {journalLine, replayJournal} from './cache-journal.ts';

export const PLEXUS_CACHE_KIND = 'plexusCacheV1';

/**
 * Every format a released Plexus wrote. plexusCacheV1 is the first: no release wrote an earlier
 * shape, so there is nothing older to convert. A later `plexusCacheV<n>` (a downgraded node) is
 * reported as unsupported, never guessed at nor treated as corrupt.
 */
export const PLEXUS_CACHE_KINDS: readonly string[] = [PLEXUS_CACHE_KIND];

/** One attachment as persisted. */
export interface CachedAttachment {
	network: string;
	nad: {namespace: string; name: string} | null;
	ifname: string;
	isClusterNetwork: boolean;
	/** The exact conflist bytes the chain ran with. */
	config: Uint8Array;
	capabilityArgs: Record<string, unknown>;
	defaultRoute: string[] | null;
	/**
	 * The plugins (indices in the list's order) whose ADD was started and that no DEL has undone
	 * since; undefined in a record written before Plexus kept it (any plugin may have run).
	 */
	started?: number[] | undefined;
}

/** Why the last DEL (or ADD's rollback) of a pod could not undo everything. */
export interface DelFailure {
	/** When it last failed (ISO 8601). */
	at: string;
	/** The error message of that attempt. */
	reason: string;
	/** How many attempts failed in a row. */
	attempts: number;
}

/** The record of one pod attachment set. */
export interface PodCacheEntry {
	containerId: string;
	/** The runtime's CNI_IFNAME (the cluster network interface). */
	ifname: string;
	netns: string;
	cniArgs: [string, string][];
	pod: {namespace: string; name: string; uid: string} | null;
	attachments: CachedAttachment[];
	/** Set when a DEL failed and this record holds what is still to undo. */
	delFailure?: DelFailure | undefined;
	/** Set by `PlexusCache.begin`: the id of the journal ADD appends its progress to. */
	journal?: string | undefined;
}

/** What reading a cache file found. */
export type CacheRead =
	| {state: 'ok'; entry: PodCacheEntry}
	| {state: 'missing'}
	| {state: 'corrupt'; reason: string}
	/** A versioned Plexus cache of a format this version does not know (written by a newer one). */
	| {state: 'unsupported'; reason: string};

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * The base64 and sha256 of an attachment's config bytes, computed once per bytes object: an ADD
 * rewrites the record before every plugin, with the same configs each time.
 */
const encodedConfigs = new WeakMap<Uint8Array, {base64: string; sha256: string}>();

function encodedConfig(config: Uint8Array): {base64: string; sha256: string} {
	let encoded = encodedConfigs.get(config);
	if (encoded === undefined) {
		encoded = {base64: Buffer.from(config).toString('base64'), sha256: sha256(config)};
		encodedConfigs.set(config, encoded);
	}
	return encoded;
}

/** The record's text; with `journal`, the record of that journal (no `started` lists of its own). */
function encode(entry: PodCacheEntry, journal?: string): string {
	const body: Record<string, unknown> = {
		kind: PLEXUS_CACHE_KIND,
		containerId: entry.containerId,
		ifname: entry.ifname,
		netns: entry.netns,
		cniArgs: entry.cniArgs,
		pod: entry.pod,
		attachments: entry.attachments.map((a) => {
			const config = encodedConfig(a.config);
			return {
				network: a.network,
				nad: a.nad,
				ifname: a.ifname,
				isClusterNetwork: a.isClusterNetwork,
				config: config.base64,
				sha256: config.sha256,
				capabilityArgs: a.capabilityArgs,
				defaultRoute: a.defaultRoute,
				...(a.started === undefined || journal !== undefined ? {} : {started: a.started}),
			};
		}),
	};
	if (entry.delFailure !== undefined) body['delFailure'] = entry.delFailure;
	if (journal !== undefined) body['journal'] = journal;
	const text = JSON.stringify(body);
	return `${JSON.stringify({...body, checksum: sha256(text)})}\n`;
}

/**
 * Decodes and verifies a cache file, with the text of its progress journal (undefined: there is
 * none); any mismatch is a reason, never a partial entry.
 */
export function decodeCache(text: string, journalText?: string): CacheRead {
	if (nestsDeeperThan(text, MAX_COMPOSED_JSON_DEPTH))
		return {
			state: 'corrupt',
			reason: `JSON nests deeper than the limit of ${MAX_COMPOSED_JSON_DEPTH} levels`,
		};
	let raw: unknown;
	try {
		raw = JSON.parse(text);
	} catch (error) {
		return {state: 'corrupt', reason: `not JSON (${(error as Error).message})`};
	}
	if (!isJsonObject(raw)) return {state: 'corrupt', reason: 'not a JSON object'};
	const kind = raw['kind'];
	if (typeof kind === 'string' && /^plexusCacheV\d+$/.test(kind) && !PLEXUS_CACHE_KINDS.includes(kind)) {
		return {
			state: 'unsupported',
			reason: `format "${kind}" is not one this plexus reads (${PLEXUS_CACHE_KINDS.join(', ')}); it was written by a newer plexus`,
		};
	}
	if (kind !== PLEXUS_CACHE_KIND) return {state: 'corrupt', reason: `unknown kind ${JSON.stringify(kind)}`};
	const {checksum, ...body} = raw;
	if (checksum !== sha256(JSON.stringify(body))) return {state: 'corrupt', reason: 'checksum mismatch'};
	const attachments: CachedAttachment[] = [];
	if (!Array.isArray(body['attachments'])) return {state: 'corrupt', reason: 'no attachment list'};
	for (const [i, a] of (body['attachments'] as unknown[]).entries()) {
		if (
			!isJsonObject(a) ||
			typeof a['config'] !== 'string' ||
			typeof a['ifname'] !== 'string' ||
			typeof a['network'] !== 'string'
		) {
			return {state: 'corrupt', reason: `attachment ${i} is malformed`};
		}
		const config = Buffer.from(a['config'], 'base64');
		if (sha256(config) !== a['sha256'])
			return {state: 'corrupt', reason: `attachment ${i} ("${a['network']}") config checksum mismatch`};
		const started = a['started'];
		if (
			started !== undefined &&
			!(Array.isArray(started) && started.every((n) => Number.isSafeInteger(n) && (n as number) >= 0))
		) {
			return {state: 'corrupt', reason: `attachment ${i} ("${a['network']}") has a malformed "started" list`};
		}
		attachments.push({
			network: a['network'],
			nad: isJsonObject(a['nad'])
				? {namespace: String(a['nad']['namespace']), name: String(a['nad']['name'])}
				: null,
			ifname: a['ifname'],
			isClusterNetwork: a['isClusterNetwork'] === true,
			config,
			capabilityArgs: isJsonObject(a['capabilityArgs']) ? a['capabilityArgs'] : {},
			defaultRoute: Array.isArray(a['defaultRoute']) ? a['defaultRoute'].map(String) : null,
			...(started === undefined ? {} : {started: started as number[]}),
		});
	}
	const journal = body['journal'];
	if (journal !== undefined) {
		if (typeof journal !== 'string' || !/^[0-9a-f]{8}$/.test(journal))
			return {state: 'corrupt', reason: 'malformed "journal" id'};
		const replayed = replayJournal(journalText, journal, attachments.length);
		if ('corrupt' in replayed) return {state: 'corrupt', reason: replayed.corrupt};
		for (const [i, a] of attachments.entries()) a.started = replayed.started[i];
	}
	const pod = isJsonObject(body['pod'])
		? {
				namespace: String(body['pod']['namespace']),
				name: String(body['pod']['name']),
				uid: String(body['pod']['uid']),
			}
		: null;
	return {
		state: 'ok',
		entry: {
			containerId: String(body['containerId']),
			ifname: String(body['ifname']),
			netns: String(body['netns'] ?? ''),
			cniArgs: Array.isArray(body['cniArgs'])
				? (body['cniArgs'] as unknown[])
						.filter((p): p is unknown[] => Array.isArray(p) && p.length === 2)
						.map((p) => [String(p[0]), String(p[1])])
				: [],
			pod,
			attachments,
			...(isJsonObject(body['delFailure']) ? {delFailure: decodeFailure(body['delFailure'])} : {}),
		},
	};
}

function decodeFailure(raw: Record<string, unknown>): DelFailure {
	return {
		at: String(raw['at'] ?? ''),
		reason: String(raw['reason'] ?? ''),
		attempts: Number.isSafeInteger(raw['attempts']) ? (raw['attempts'] as number) : 1,
	};
}

/** Where the ADD progress of record `recordFile` is journaled: its name, in `progress/` beside it. */
export function journalFile(recordFile: string): string {
	return join(dirname(recordFile), 'progress', basename(recordFile));
}

/** `decode` given the text of `recordFile`'s journal (undefined when it has none). */
function readJournal(recordFile: string, decode: (journal: string | undefined) => CacheRead): CacheRead {
	let journal: string | undefined;
	try {
		journal = readFileSync(journalFile(recordFile), 'utf8');
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
			return {state: 'corrupt', reason: `progress journal unreadable (${(error as Error).message})`};
	}
	return decode(journal);
}

/** The cache files of one `cniDir`. */
export class PlexusCache {
	readonly dir: string;

	constructor(cniDir: string) {
		this.dir = join(cniDir, 'plexus');
	}

	/** `<dir>/<containerID>-<ifname>.json`, hashed when that would not fit (../chain/cache-file.ts). */
	path(containerId: string, ifname: string): string {
		return join(this.dir, fitFileName(`${containerId}-${ifname}`, '.json'));
	}

	/**
	 * Persists `entry` atomically with mode 0600, `started` lists included, and drops the journal
	 * of an earlier `begin` (synchronously: it is small and on ADD's hot path).
	 */
	async write(entry: PodCacheEntry): Promise<void> {
		this.#write(entry, undefined);
		entry.journal = undefined; // the lists are in the record now: later steps rewrite it
	}

	/**
	 * Persists the record of an ADD about to run its plugins; `progress` then journals each step
	 * of `entry` (its `journal` is set here).
	 */
	async begin(entry: PodCacheEntry): Promise<void> {
		entry.journal = randomHex8(); // the journal id: 8 hex digits
		this.#write(entry, entry.journal);
	}

	/**
	 * Records that plugin `plugin` of attachment `attachment` is about to start (`started`) or
	 * refused to run; `entry`'s lists already say so. Appended to the journal of `begin`, else the
	 * whole record is written.
	 */
	async progress(entry: PodCacheEntry, attachment: number, plugin: number, started: boolean): Promise<void> {
		const journal = entry.journal;
		if (journal === undefined) return this.write(entry);
		const file = journalFile(this.path(entry.containerId, entry.ifname));
		const line = journalLine(journal, attachment, plugin, started);
		try {
			try {
				appendFileSync(file, line, {mode: 0o600});
			} catch (error) {
				if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
				mkdirSync(dirname(file), {recursive: true, mode: 0o700});
				appendFileSync(file, line, {mode: 0o600});
			}
		} catch (error) {
			throw new CniError(
				CniErrorCode.ioFailure,
				`failed to write plexus cache progress "${file}": ${(error as Error).message}`,
				{cause: error},
			);
		}
	}

	#write(entry: PodCacheEntry, journal: string | undefined): void {
		const file = this.path(entry.containerId, entry.ifname);
		try {
			writeFileAtomicSync(this.dir, basename(file), encode(entry, journal));
			// The record now says what the journal said (or starts a new one): an earlier journal goes.
			rmSync(journalFile(file), {force: true});
		} catch (error) {
			throw new CniError(
				CniErrorCode.ioFailure,
				`failed to write plexus cache "${file}": ${(error as Error).message}`,
				{cause: error},
			);
		}
	}

	async read(containerId: string, ifname: string): Promise<CacheRead> {
		const file = this.path(containerId, ifname);
		let text: string;
		try {
			// Synchronous, as `write`: one small file on the DEL path.
			text = readFileSync(file, 'utf8');
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {state: 'missing'};
			return {state: 'corrupt', reason: `unreadable (${(error as Error).message})`};
		}
		return readJournal(file, (journal) => decodeCache(text, journal));
	}

	/** Removes the record, then its journal (a journal without its record is never read). */
	async remove(containerId: string, ifname: string): Promise<void> {
		const file = this.path(containerId, ifname);
		rmSync(file, {force: true});
		rmSync(journalFile(file), {force: true});
	}

	/** Every cache file with what reading it found, by file name. */
	async list(): Promise<{file: string; read: CacheRead}[]> {
		let names: string[];
		try {
			names = (await readdir(this.dir)).filter((n) => n.endsWith('.json')).sort();
		} catch {
			return [];
		}
		const out: {file: string; read: CacheRead}[] = [];
		for (const name of names) {
			const file = join(this.dir, name);
			try {
				const text = await readFile(file, 'utf8');
				out.push({file, read: readJournal(file, (journal) => decodeCache(text, journal))});
			} catch (error) {
				out.push({file, read: {state: 'corrupt', reason: `unreadable (${(error as Error).message})`}});
			}
		}
		return out;
	}
}
