/**
 * The result cache in libcni's layout: `<dir>/results/<network>-<containerID>-<ifname>` holding
 * `{kind: "cniCacheV1", containerId, config (base64 of the conflist bytes), ifName, networkName,
 * netns, cniArgs, capabilityArgs, result}`. Files are written atomically (temp file + rename)
 * with mode 0600 in a 0700 directory. A name longer than a file name can be is shortened with a
 * hash (./cache-file.ts); readers match files by their contents, never by parsing names.
 */
import {basename, join} from 'node:path';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {decodeJson, isJsonObject, MAX_COMPOSED_JSON_DEPTH} from '../cni/json.ts';
import {type CniResult, convertResult, parseResult} from '../cni/result.ts';
import {access, readdir, readFile, rm} from '../fs/promises.ts';
import {fitFileName, TEMP_MARKER, writeFileAtomicSync} from './cache-file.ts';

export const CACHE_KIND = 'cniCacheV1';

/** libcni's default cache directory. */
export const DEFAULT_CACHE_DIR = '/var/lib/cni';

/** What identifies one attachment in the cache. */
export interface AttachmentKey {
	networkName: string;
	containerId: string;
	ifname: string;
}

/** One cached attachment as read back. */
export interface CachedAttachment extends AttachmentKey {
	/** The conflist bytes as they were at ADD. */
	config: Uint8Array;
	netns: string;
	cniArgs: [string, string][];
	capabilityArgs: Record<string, unknown>;
	/** The raw cached result object (undefined when absent). */
	result: Record<string, unknown> | undefined;
}

export interface CacheEntry extends AttachmentKey {
	config: Uint8Array;
	netns: string;
	cniArgs: readonly (readonly [string, string])[];
	capabilityArgs: Readonly<Record<string, unknown>>;
	result: CniResult;
}

/** The on-disk JSON, in libcni's field order, with its `omitempty` rules. */
function serialise(entry: CacheEntry): string {
	const json: Record<string, unknown> = {
		kind: CACHE_KIND,
		containerId: entry.containerId,
		config: Buffer.from(entry.config).toString('base64'),
		ifName: entry.ifname,
		networkName: entry.networkName,
	};
	if (entry.netns !== '') json['netns'] = entry.netns;
	if (entry.cniArgs.length > 0) json['cniArgs'] = entry.cniArgs;
	if (Object.keys(entry.capabilityArgs).length > 0) json['capabilityArgs'] = entry.capabilityArgs;
	json['result'] = entry.result;
	return JSON.stringify(json);
}

/** A result cache rooted at `dir` (libcni's cacheDir; Multus's cniDir). */
export class ResultCache {
	readonly dir: string;

	constructor(dir: string = DEFAULT_CACHE_DIR) {
		this.dir = dir;
	}

	/** `<dir>/results`. */
	get resultsDir(): string {
		return join(this.dir, 'results');
	}

	/**
	 * The file of one attachment; all three parts must be non-empty, and none may hold a "/" (or
	 * NUL): ADD validates them, but DEL and GC take a conflist name and a runtime's IDs as they come,
	 * and such a key must not name a file outside `<dir>/results`. A name over 255 bytes is
	 * shortened with its sha256 (libcni cannot write such a file at all, so nothing is lost).
	 */
	path(key: AttachmentKey): string {
		if (key.networkName === '' || key.containerId === '' || key.ifname === '') {
			throw new CniError(
				CniErrorCode.invalidConfig,
				`cache file path requires network name ("${key.networkName}"), container ID ("${key.containerId}"), and interface name ("${key.ifname}")`,
			);
		}
		const name = `${key.networkName}-${key.containerId}-${key.ifname}`;
		if (/[/\0]/.test(name)) {
			throw new CniError(
				CniErrorCode.invalidConfig,
				`invalid cache file name ${JSON.stringify(name)}: network name, container ID and interface name must not contain "/"`,
			);
		}
		return join(this.resultsDir, fitFileName(name));
	}

	/** Writes one attachment atomically (temp file in the same dir, then rename). */
	async write(entry: CacheEntry): Promise<void> {
		const file = this.path(entry);
		try {
			writeFileAtomicSync(this.resultsDir, basename(file), serialise(entry));
		} catch (err) {
			throw new CniError(
				CniErrorCode.ioFailure,
				`failed to set network "${entry.networkName}" cached result: ${(err as Error).message}`,
				{cause: err},
			);
		}
	}

	/** Removes one attachment's file; absent files and unusable keys are ignored (libcni cacheDel). */
	async remove(key: AttachmentKey): Promise<void> {
		let file: string;
		try {
			file = this.path(key);
		} catch {
			return; // no file can exist under a key path() refuses
		}
		await rm(file, {force: true});
	}

	/** True when a file exists for `key` (readable or not). */
	async has(key: AttachmentKey): Promise<boolean> {
		try {
			await access(this.path(key));
			return true;
		} catch {
			return false;
		}
	}

	/** The raw file contents, or undefined when there is none (libcni ignores read errors). */
	async #read(key: AttachmentKey): Promise<string | undefined> {
		try {
			return await readFile(this.path(key), 'utf8');
		} catch {
			return undefined;
		}
	}

	/**
	 * The cached result converted to `cniVersion` (libcni getCachedResult): undefined when nothing is
	 * cached; a legacy cache file (a bare result) is accepted; throws when the file is unusable.
	 */
	async getResult(key: AttachmentKey, cniVersion: string): Promise<CniResult | undefined> {
		const text = await this.#read(key);
		if (text === undefined) return undefined;
		const raw = decodeJson(text, `cached result of network "${key.networkName}"`, MAX_COMPOSED_JSON_DEPTH);
		const rawResult = isJsonObject(raw) && raw['kind'] === CACHE_KIND ? raw['result'] : raw;
		const result = parseResult(rawResult);
		try {
			return convertResult(result, cniVersion);
		} catch (err) {
			throw new CniError(
				CniErrorCode.incompatibleVersion,
				`failed to convert cached result to config version "${cniVersion}": ${(err as Error).message}`,
			);
		}
	}

	/** The cached attachment (config, args) of one key, or undefined (libcni getCachedConfig). */
	async getAttachment(key: AttachmentKey): Promise<CachedAttachment | undefined> {
		const text = await this.#read(key);
		if (text === undefined) return undefined;
		return decodeAttachment(text);
	}

	/**
	 * Every well-formed cniCacheV1 attachment, sorted by file name (libcni GetCachedAttachments),
	 * optionally only those of `networkName`. A missing directory is an empty list.
	 */
	async list(networkName?: string): Promise<CachedAttachment[]> {
		let names: string[];
		try {
			names = (await readdir(this.resultsDir)).sort();
		} catch {
			return [];
		}
		const out: CachedAttachment[] = [];
		for (const name of names) {
			if (name.includes(TEMP_MARKER)) continue;
			let text: string;
			try {
				text = await readFile(join(this.resultsDir, name), 'utf8');
			} catch {
				continue;
			}
			const attachment = decodeAttachment(text);
			if (attachment === undefined) continue;
			if (networkName !== undefined && attachment.networkName !== networkName) continue;
			out.push(attachment);
		}
		return out;
	}
}

/** Decodes a cniCacheV1 file; undefined for anything else (legacy or broken files are skipped). */
function decodeAttachment(text: string): CachedAttachment | undefined {
	let raw: unknown;
	try {
		raw = decodeJson(text, 'cached attachment', MAX_COMPOSED_JSON_DEPTH);
	} catch {
		return undefined;
	}
	if (!isJsonObject(raw) || raw['kind'] !== CACHE_KIND) return undefined;
	const str = (v: unknown) => (typeof v === 'string' ? v : '');
	const attachment: CachedAttachment = {
		networkName: str(raw['networkName']),
		containerId: str(raw['containerId']),
		ifname: str(raw['ifName']),
		config: Buffer.from(str(raw['config']), 'base64'),
		netns: str(raw['netns']),
		cniArgs: Array.isArray(raw['cniArgs'])
			? (raw['cniArgs'] as unknown[])
					.filter((p): p is unknown[] => Array.isArray(p) && p.length === 2)
					.map((p) => [String(p[0]), String(p[1])] as [string, string])
			: [],
		capabilityArgs: isJsonObject(raw['capabilityArgs']) ? raw['capabilityArgs'] : {},
		result: isJsonObject(raw['result']) ? raw['result'] : undefined,
	};
	if (attachment.ifname === '' || attachment.networkName === '') return undefined;
	return attachment;
}
