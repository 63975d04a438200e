/**
 * The one version source: `version` of the repository's package.json, read on first use and kept.
 * Reading the file costs about as much as a stat (no `import` of the JSON module, so nothing is
 * parsed by the module loader on the one-shot ADD path, which only needs it for the API
 * User-Agent). The shim gets the same value baked in at build time (shim/binding.gyp).
 */
import {readFileSync} from 'node:fs';
import {resolve} from 'node:path';

const PACKAGE_JSON = resolve(import.meta.dirname, '../../package.json');

let cached: string | undefined;

/** Plexus's version, e.g. "0.1.0" ("unknown" when package.json cannot be read, never a throw). */
export function plexusVersion(): string {
	if (cached === undefined) {
		try {
			const version = (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as {version?: unknown}).version;
			cached = typeof version === 'string' && version !== '' ? version : 'unknown';
		} catch {
			cached = 'unknown';
		}
	}
	return cached;
}

/** How this process runs Plexus, for the User-Agent: the runtime's plugin, the daemon, or a tool. */
export type PlexusMode = 'one-shot' | 'daemon' | 'cli';

let mode: PlexusMode = 'one-shot';

/** Records this process's mode (set once by the entry point; defaults to one-shot). */
export function setPlexusMode(next: PlexusMode): void {
	mode = next;
}

/** `plexus/<version> (<mode>)`: what every Kubernetes API call sends as its User-Agent. */
export function userAgent(): string {
	return `plexus/${plexusVersion()} (${mode})`;
}

/** `plexus <version> (node <version>)`: what `plexus --version` prints. */
export function versionLine(): string {
	return `plexus ${plexusVersion()} (node ${process.versions.node})\n`;
}
