/**
 * Host installation for daemon mode: copy plexus-shim (and any standalone delegate binaries) into
 * the CNI bin dir, and write `00-plexus.conflist` in the CNI conf dir wrapping the first existing
 * network conf, as Multus's auto-config does: the master conf is referenced as `clusterNetwork`,
 * its capabilities are unioned onto the shim's entry, and the cniVersion must match. Every file is
 * written to a temp name and renamed, so the runtime never reads half a file. What was replaced is
 * kept, and `uninstall` puts the host back exactly as it was.
 *
 * On a node running Multus (`00-multus.conf` or `00-multus.conflist`), install takes it over
 * instead of wrapping it: the Multus settings (clusterNetwork or delegates, defaultNetworks,
 * kubeconfig, namespaceIsolation, ...), its network name, cniVersion and capabilities go into the
 * Plexus conf, which is written first; then the Multus file is renamed aside (to a name libcni
 * does not read), so at every instant the runtime reads one complete conf. `uninstall` puts the
 * Multus file back before it removes the Plexus one.
 * @see https://github.com/k8snetworkplumbingwg/multus-cni/blob/master/pkg/server/config/generator.go
 */
import {chmod, copyFile, link, readdir, readFile, rename, rm, stat, writeFile} from 'node:fs/promises';
import {basename, extname, join} from 'node:path';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {compareVersions, isSupportedVersion, negotiateVersion} from '../cni/versions.ts';
import {parsePlexusConf} from '../meta/conf/conf.ts';
import {
	findMultusConf,
	MULTUS_CONF_NAMES,
	type MultusTakeover,
	readMultusConf,
} from '../multus/multus-conf.ts';
import {type MappedPath, mapHostPaths} from './host-paths.ts';

/** The conf Plexus writes; sorts first so the runtime picks it. */
export const PLEXUS_CONF_NAME = '00-plexus.conflist';
/** The shim's binary name in the CNI bin dir (also the conf's plugin `type`). */
export const SHIM_NAME = 'plexus-shim';
/** What libcni reads as network configs (libcni ConfFiles). */
export const CONF_EXTENSIONS = ['.conf', '.conflist', '.json'];
/** Where install records what it wrote; not a conf extension, so libcni ignores it. */
export const STATE_NAME = '.plexus-install.state';
const BACKUP_SUFFIX = '.plexus-backup';

export interface InstallOptions {
	/** CNI conf dir (default on a host: /etc/cni/net.d). */
	confDir: string;
	/** CNI bin dir (default on a host: /opt/cni/bin). */
	binDir: string;
	/** The built shim binary to copy. */
	shimPath: string;
	/** Standalone delegate binaries to copy as well (installed under their file name). */
	delegates?: readonly string[] | undefined;
	/** Written as `daemonSocketDir` (where the shim finds plexus.sock). */
	socketDir: string;
	/** The master conf's file name in confDir (default: the first conf by name, as Multus). */
	master?: string | undefined;
	/** The network name (default: "plexus-cni-network"). */
	networkName?: string | undefined;
	/** The cniVersion to write; must equal the master's unless `forceCniVersion`. */
	cniVersion?: string | undefined;
	forceCniVersion?: boolean | undefined;
	/** More keys for the Plexus conf (kubeconfig, logLevel, …). */
	extraConf?: Readonly<Record<string, unknown>> | undefined;
}

export interface InstallResult {
	confPath: string;
	masterPath: string;
	cniVersion: string;
	capabilities: Record<string, boolean>;
	/** Every file written, in order. */
	written: string[];
	/** The Multus conf taken over: where it was, where it is kept, the keys left behind, the paths rewritten. */
	multus?: {path: string; backup: string; dropped: string[]; mapped: MappedPath[]} | undefined;
}

/** What install leaves in STATE_NAME: each file it wrote and, if it replaced one, the backup. */
interface InstallState {
	files: {path: string; backup?: string}[];
}

/** An install failure naming the file (code 7: a config problem on the host). */
function fail(msg: string): CniError {
	return new CniError(CniErrorCode.invalidConfig, msg);
}

const exists = (path: string) =>
	stat(path).then(
		() => true,
		() => false,
	);

/** The network confs in `dir` sorted by name, without Plexus's own. */
export async function listConfs(dir: string): Promise<string[]> {
	let names: string[];
	try {
		names = await readdir(dir);
	} catch (err) {
		throw fail(`failed to read CNI conf dir "${dir}": ${(err as Error).message}`);
	}
	return names.filter((name) => CONF_EXTENSIONS.includes(extname(name)) && name !== PLEXUS_CONF_NAME).sort();
}

interface MasterConf {
	path: string;
	cniVersion: string;
	capabilities: Record<string, boolean>;
}

/** Reads the master conf: its version (cniVersion ∪ cniVersions) and the union of its plugins' capabilities. */
export async function readMaster(path: string): Promise<MasterConf> {
	let conf: unknown;
	try {
		conf = JSON.parse(await readFile(path, 'utf8'));
	} catch (err) {
		throw fail(`failed to load master CNI conf "${path}": ${(err as Error).message}`);
	}
	if (typeof conf !== 'object' || conf === null || Array.isArray(conf)) {
		throw fail(`failed to load master CNI conf "${path}": expected a JSON object`);
	}
	const record = conf as Record<string, unknown>;
	const versions = Array.isArray(record['cniVersions'])
		? record['cniVersions'].filter((v): v is string => typeof v === 'string')
		: undefined;
	const declared = typeof record['cniVersion'] === 'string' ? record['cniVersion'] : undefined;
	const cniVersion = negotiateVersion(declared, versions);
	if (cniVersion === '') throw fail(`failed to load master CNI conf "${path}": no "cniVersion"`);
	const plugins = Array.isArray(record['plugins']) ? (record['plugins'] as unknown[]) : [record];
	const plexus = plugins
		.map((plugin) => (plugin as Record<string, unknown> | null)?.['type'])
		.find((type) => type === 'plexus' || type === SHIM_NAME);
	if (plexus !== undefined) {
		throw fail(
			`master CNI conf "${path}" runs ${JSON.stringify(plexus)} itself: Plexus cannot wrap Plexus; remove that conf (daemon mode replaces a one-shot Plexus; its settings go in --kubeconfig and the like), then install again`,
		);
	}
	const capabilities: Record<string, boolean> = {};
	for (const plugin of plugins) {
		const caps = (plugin as Record<string, unknown> | null)?.['capabilities'];
		if (typeof caps !== 'object' || caps === null) continue;
		for (const [name, enabled] of Object.entries(caps)) if (enabled === true) capabilities[name] = true;
	}
	return {path, cniVersion, capabilities};
}

/** Checks the version to write against the master's, as Multus's auto-config does. */
function chooseVersion(master: MasterConf, options: InstallOptions): string {
	const wanted = options.cniVersion ?? master.cniVersion;
	if (
		options.cniVersion !== undefined &&
		options.cniVersion !== master.cniVersion &&
		!options.forceCniVersion
	) {
		throw fail(
			`plexus cni version is ${options.cniVersion} while master plugin cni version is ${master.cniVersion} (in "${master.path}"); set it to match or force it`,
		);
	}
	if (!isSupportedVersion(wanted)) throw fail(`unsupported cniVersion "${wanted}" for ${PLEXUS_CONF_NAME}`);
	if (compareVersions(wanted, '0.3.0') < 0) {
		throw fail(
			`cniVersion "${wanted}" predates conflists (0.3.0); the master conf "${master.path}" is too old`,
		);
	}
	return wanted;
}

/**
 * The conflist that routes every pod through the shim to the daemon. With `takeover`, the Multus
 * settings replace the wrapped master and its network name is kept (the runtime knows the running
 * pods under it).
 */
export function plexusConflist(
	master: MasterConf,
	cniVersion: string,
	options: InstallOptions,
	takeover?: MultusTakeover,
): Record<string, unknown> {
	const plugin: Record<string, unknown> = {
		type: SHIM_NAME,
		...(Object.keys(master.capabilities).length > 0 ? {capabilities: master.capabilities} : {}),
		daemonSocketDir: options.socketDir,
		...(takeover === undefined ? {clusterNetwork: master.path} : takeover.settings),
		...options.extraConf,
	};
	const name = options.networkName ?? takeover?.name ?? 'plexus-cni-network';
	return {cniVersion, name, plugins: [plugin]};
}

/** The Multus conf of `names` read for takeover, or undefined; `--master` cannot go with it. */
async function takeOverMultus(options: InstallOptions, names: readonly string[]) {
	const path = await findMultusConf(options.confDir, names);
	if (path === undefined) return undefined;
	if (options.master !== undefined) {
		throw fail(
			`"${path}" is taken over (its clusterNetwork or delegates become the Plexus conf's); a master conf "${options.master}" contradicts it`,
		);
	}
	return readMultusConf(path, options.confDir);
}

/** Checks the conf is one the daemon accepts, naming the taken-over Multus file if there is one. */
function validateConf(takeover: MultusTakeover | undefined, conflist: Record<string, unknown>): void {
	const [plugin] = conflist['plugins'] as Record<string, unknown>[];
	try {
		parsePlexusConf({...plugin, cniVersion: conflist['cniVersion'], name: conflist['name']});
	} catch (err) {
		const what =
			takeover === undefined ? 'failed to install' : `failed to take over multus conf "${takeover.path}"`;
		throw fail(`${what}: ${(err as Error).message}`);
	}
}

/**
 * Writes `data` to `path` through a temp file and one rename over the old file, so `path` never
 * disappears. What was there first is kept as a hard link (the backup) and recorded in the state
 * before the rename; a file a previous install already placed keeps that install's backup (the
 * host's original), as it is Plexus' own copy that gets replaced.
 */
async function place(
	path: string,
	data: {copyFrom: string} | {text: string},
	mode: number,
	state: InstallState,
	confDir: string,
): Promise<void> {
	const temp = join(path, '..', `.${basename(path)}.tmp-${process.pid}`);
	try {
		if ('copyFrom' in data) await copyFile(data.copyFrom, temp);
		else await writeFile(temp, data.text);
		await chmod(temp, mode);
		if (!state.files.some((f) => f.path === path)) {
			const entry: {path: string; backup?: string} = {path};
			if (await exists(path)) {
				entry.backup = `${path}${BACKUP_SUFFIX}`;
				await rm(entry.backup, {force: true});
				await link(path, entry.backup);
			}
			state.files.push(entry);
			await writeState(confDir, state);
		}
		await rename(temp, path);
	} finally {
		await rm(temp, {force: true});
	}
}

async function readState(confDir: string): Promise<InstallState | undefined> {
	try {
		return JSON.parse(await readFile(join(confDir, STATE_NAME), 'utf8')) as InstallState;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
		throw fail(`failed to read install state "${join(confDir, STATE_NAME)}": ${(err as Error).message}`);
	}
}

async function writeState(confDir: string, state: InstallState): Promise<void> {
	const path = join(confDir, STATE_NAME);
	await writeFile(`${path}.tmp-${process.pid}`, JSON.stringify(state, null, 2), {mode: 0o600});
	await rename(`${path}.tmp-${process.pid}`, path);
}

/** The Multus conf a previous install took over (kept aside as its backup), if any. */
function previousTakeover(previous: InstallState | undefined) {
	return previous?.files.find(
		(f) => (MULTUS_CONF_NAMES as readonly string[]).includes(basename(f.path)) && f.backup !== undefined,
	) as {path: string; backup: string} | undefined;
}

/**
 * Installs the shim, the delegates and the conf. Over a previous Plexus install (a DaemonSet
 * restart) every file is replaced in place: the conf the runtime reads is there at every instant,
 * a taken-over Multus conf stays aside (and is read from there), and the host's originals stay
 * the backups `uninstall` restores.
 */
export async function install(options: InstallOptions): Promise<InstallResult> {
	const previous = await readState(options.confDir);
	const all = await listConfs(options.confDir);
	const aside = previousTakeover(previous);
	let takeover: MultusTakeover | undefined;
	if (aside === undefined) takeover = await takeOverMultus(options, all);
	else {
		if (options.master !== undefined) {
			throw fail(
				`"${aside.path}" is taken over (its clusterNetwork or delegates become the Plexus conf's); a master conf "${options.master}" contradicts it`,
			);
		}
		takeover = {...(await readMultusConf(aside.backup, options.confDir)), path: aside.path};
	}
	let mapped: MappedPath[] = [];
	if (takeover !== undefined) {
		// A thick Multus names host files as its pod sees them (/host/..., <chrootDir>/...).
		// A key the operator sets (flag or ConfigMap) replaces Multus's value, so it is not checked.
		const kept = Object.fromEntries(
			Object.entries(takeover.settings).filter(([key]) => !(key in (options.extraConf ?? {}))),
		);
		const paths = mapHostPaths(kept, takeover.daemonConfig ?? takeover.path, takeover.chrootDir);
		takeover = {...takeover, settings: paths.settings};
		mapped = paths.mapped;
	}
	const names = all.filter((name) => !(MULTUS_CONF_NAMES as readonly string[]).includes(name));
	let master: MasterConf;
	if (takeover === undefined) {
		const masterName = options.master ?? names[0];
		if (masterName === undefined) {
			throw fail(`no CNI network conf to wrap in "${options.confDir}": install the cluster network first`);
		}
		if (!names.includes(masterName))
			throw fail(`master CNI conf "${masterName}" not found in "${options.confDir}"`);
		master = await readMaster(join(options.confDir, masterName));
	} else {
		master = {path: takeover.path, cniVersion: takeover.cniVersion, capabilities: takeover.capabilities};
	}
	const cniVersion = chooseVersion(master, options);
	const conflist = plexusConflist(master, cniVersion, options, takeover);
	validateConf(takeover, conflist);
	const binaries = [options.shimPath, ...(options.delegates ?? [])];
	for (const binary of binaries) {
		if (!(await exists(binary))) throw fail(`failed to install "${binary}": no such file (was it built?)`);
	}

	// Starts from what the previous install recorded, so its backups (the originals) are kept.
	const state: InstallState = {files: [...(previous?.files ?? [])]};
	const placed = new Set<string>();
	try {
		for (const binary of binaries) {
			const path = join(options.binDir, binary === options.shimPath ? SHIM_NAME : basename(binary));
			await place(path, {copyFrom: binary}, 0o755, state, options.confDir);
			placed.add(path);
		}
		const confPath = join(options.confDir, PLEXUS_CONF_NAME);
		const text = `${JSON.stringify(conflist, null, 2)}\n`;
		await place(confPath, {text}, 0o600, state, options.confDir);
		placed.add(confPath);
		// What the previous install placed and this one does not (a delegate no longer shipped) goes back.
		const stale = state.files.filter((f) => !placed.has(f.path) && f.path !== aside?.path);
		await restore({files: stale});
		state.files = state.files.filter((f) => !stale.includes(f));
		await writeState(options.confDir, state);
		let multus: InstallResult['multus'];
		if (takeover !== undefined) {
			const backup = aside?.backup ?? `${takeover.path}${BACKUP_SUFFIX}`;
			if (aside === undefined) {
				// The Plexus conf is complete; now the runtime stops seeing Multus' in one rename.
				state.files.push({path: takeover.path, backup});
				await writeState(options.confDir, state);
				await rename(takeover.path, backup);
			}
			multus = {path: takeover.path, backup, dropped: takeover.dropped, mapped};
		}
		return {
			confPath,
			masterPath: master.path,
			cniVersion,
			capabilities: master.capabilities,
			written: [...placed],
			multus,
		};
	} catch (err) {
		await restore(state);
		await rm(join(options.confDir, STATE_NAME), {force: true});
		throw err;
	}
}

/**
 * Undoes the files of `state` in reverse: a backup is renamed back over the file, a file that had
 * none is removed. A recorded backup that is missing (the step that makes it never ran) leaves the
 * file alone: it is still the host's own.
 */
async function restore(state: InstallState): Promise<string[]> {
	const undone: string[] = [];
	for (const file of [...state.files].reverse()) {
		if (file.backup === undefined) await rm(file.path, {force: true});
		else if (await exists(file.backup)) await rename(file.backup, file.path);
		undone.push(file.path);
	}
	return undone;
}

/** Removes what `install` wrote and puts back what it replaced; a no-op when nothing is installed. */
export async function uninstall(options: {confDir: string}): Promise<string[]> {
	const state = await readState(options.confDir);
	if (state === undefined) return [];
	const undone = await restore(state);
	await rm(join(options.confDir, STATE_NAME), {force: true});
	return undone;
}
