/**
 * Shared pieces of the chain e2e tests: conflist templates from e2e/testdata with per-test names,
 * a scratch directory per test (NETCONFPATH, cache dir, host-local/tuning data dirs), the
 * `plexus` binary, and the "nothing left behind" assertions.
 */
import {randomInt} from 'node:crypto';
import {mkdir, mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {execa} from 'execa';
import {expect} from 'vitest';
import {ipJson, type Netns} from './netns.ts';

export const CNI_BIN = '/usr/lib/cni';
export const PLEXUS = fileURLToPath(new URL('../../bin/plexus', import.meta.url));
const TESTDATA = fileURLToPath(new URL('../testdata/', import.meta.url));

/** Per-test scratch space. */
export interface Scratch {
	readonly dir: string;
	readonly confDir: string;
	readonly cacheDir: string;
	readonly dataDir: string;
	/** Values substituted into templates: @NAME@ → vars.NAME. */
	readonly vars: Record<string, string>;
}

/** A random /24 in 10.100-249.x (first three octets). */
export function randomSubnet(): string {
	return `10.${randomInt(100, 250)}.${randomInt(0, 256)}`;
}

export async function createScratch(vars: Record<string, string>): Promise<Scratch> {
	const dir = await mkdtemp(join(tmpdir(), 'plexus-e2e-'));
	const scratch = {
		dir,
		confDir: join(dir, 'net.d'),
		cacheDir: join(dir, 'cache'),
		dataDir: join(dir, 'data'),
		vars: {...vars, DATADIR: join(dir, 'data')},
	};
	await mkdir(scratch.confDir, {recursive: true});
	await mkdir(scratch.dataDir, {recursive: true});
	return scratch;
}

export async function removeScratch(scratch: Scratch | undefined): Promise<void> {
	if (scratch !== undefined) await rm(scratch.dir, {recursive: true, force: true});
}

/** Reads e2e/testdata/<file> with the scratch's variables substituted. */
export async function template(scratch: Scratch, file: string): Promise<string> {
	let text = await readFile(join(TESTDATA, file), 'utf8');
	for (const [key, value] of Object.entries(scratch.vars)) text = text.replaceAll(`@${key}@`, value);
	expect(text).not.toMatch(/@[A-Z]+@/);
	return text;
}

/** Installs a testdata conflist into the scratch NETCONFPATH; returns its text. */
export async function installConf(scratch: Scratch, file: string): Promise<string> {
	const text = await template(scratch, file);
	await writeFile(join(scratch.confDir, file), text);
	return text;
}

/** Runs `bin/plexus` with a clean env plus `env`. */
export async function plexus(args: string[], env: Record<string, string>) {
	return execa(PLEXUS, args, {
		env: {PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env},
		extendEnv: false,
		reject: false,
	});
}

/** Files under a directory (recursively, relative), [] when it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
	try {
		return (await readdir(dir, {recursive: true, withFileTypes: true}))
			.filter((e) => e.isFile())
			.map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
			.sort();
	} catch {
		return [];
	}
}

/**
 * host-local reservations (IP-named files) under `<dataDir>/host-local` (the testdata confs point
 * host-local there); its lock and last_reserved_ip files are bookkeeping, not reservations.
 */
export async function hostLocalReservations(dataDir: string): Promise<string[]> {
	return (await filesUnder(join(dataDir, 'host-local'))).filter(
		(f) => !/(^|\/)(lock|last_reserved_ip\.\d+)$/.test(f),
	);
}

/** After DEL: only lo in the netns (if it exists), no port on the bridge, no cache file, no data files. */
export async function expectNothingLeft(opts: {
	netns?: Netns | undefined;
	bridge?: string | undefined;
	scratch: Scratch;
}): Promise<void> {
	if (opts.netns !== undefined) {
		const links = await ipJson<{ifname: string}[]>(opts.netns, 'link', 'show');
		expect(links.map((l) => l.ifname)).toEqual(['lo']);
	}
	if (opts.bridge !== undefined) {
		// A deleted netns is torn down asynchronously by the kernel, taking its veth peers with it.
		const bridge = opts.bridge;
		await expect.poll(() => ipJson(undefined, 'link', 'show', 'master', bridge), {timeout: 5000}).toEqual([]);
	}
	expect(await filesUnder(opts.scratch.cacheDir)).toEqual([]);
	expect(await hostLocalReservations(opts.scratch.dataDir)).toEqual([]);
}
