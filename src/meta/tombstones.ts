/**
 * Tombstones of DELs that succeeded: `<cniDir>/plexus-deleted/<containerID>-<ifname>` holding the
 * network name. containerd calls DEL up to three times per pod; once the first one succeeded the
 * plexus cache record is gone, and without a tombstone every repeat resolved the pod again through
 * the API (a pod GET and one GET per NAD, then each delegate's DEL) for nothing. A repeat that finds
 * its tombstone succeeds at once (one file read; bench: 587 ms → about a bare start one-shot).
 *
 * Correct when the pod was re-created meanwhile: a new pod has a new sandbox, hence a new container
 * ID, which no tombstone names. ADD of a container forgets its tombstone (a later DEL must undo that
 * ADD); GC clears them all (by then the runtime has settled which containers exist); they are
 * bounded (the oldest go beyond MAX_TOMBSTONES). A tombstone that cannot be written or read only
 * means the ordinary DEL path runs: never an error.
 */
import {mkdir, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {fitFileName} from '../chain/cache-file.ts';
import {log} from '../log.ts';

/** The tombstones' dir under cniDir. */
export const TOMBSTONE_DIR = 'plexus-deleted';

/** How many tombstones are kept at most (a node deletes far fewer pods between two GCs). */
export const MAX_TOMBSTONES = 1024;

/** The tombstones of one `cniDir` (beside the plexus cache dir, which holds only live records). */
export class DelTombstones {
	readonly dir: string;
	readonly #limit: number;

	constructor(cniDir: string, limit = MAX_TOMBSTONES) {
		this.dir = join(cniDir, TOMBSTONE_DIR);
		this.#limit = limit;
	}

	/** The tombstone file of a container's interface. */
	path(containerId: string, ifname: string): string {
		return join(this.dir, fitFileName(`${containerId}-${ifname}`));
	}

	/** True when a DEL of `network` for this container and interface already succeeded. */
	async has(containerId: string, ifname: string, network: string): Promise<boolean> {
		try {
			return (await readFile(this.path(containerId, ifname), 'utf8')) === network;
		} catch {
			return false;
		}
	}

	/** Records a successful DEL (best effort), dropping the oldest tombstones beyond the bound. */
	async mark(containerId: string, ifname: string, network: string): Promise<void> {
		try {
			await mkdir(this.dir, {recursive: true, mode: 0o700});
			await writeFile(this.path(containerId, ifname), network, {mode: 0o600});
			await this.#prune();
		} catch (error) {
			log('debug', 'cannot record a tombstone for a successful DEL', {error: (error as Error).message});
		}
	}

	/** Forgets a container interface's tombstone (its ADD). */
	async forget(containerId: string, ifname: string): Promise<void> {
		await rm(this.path(containerId, ifname), {force: true}).catch(() => undefined);
	}

	/** Removes every tombstone (GC). */
	async clear(): Promise<void> {
		await rm(this.dir, {recursive: true, force: true}).catch(() => undefined);
	}

	/** Keeps the newest `limit` tombstones. */
	async #prune(): Promise<void> {
		const names = await readdir(this.dir);
		if (names.length <= this.#limit) return;
		const aged = await Promise.all(
			names.map(async (name) => {
				const file = join(this.dir, name);
				return {
					file,
					mtime: await stat(file).then(
						(s) => s.mtimeMs,
						() => 0,
					),
				};
			}),
		);
		aged.sort((a, b) => a.mtime - b.mtime);
		await Promise.all(aged.slice(0, names.length - this.#limit).map(({file}) => rm(file, {force: true})));
	}
}
