/**
 * `plexus cleanup <containerID>`: drops the cache records that keep a container's DEL failing
 * when what they describe cannot be undone (src/meta/cleanup.ts), after showing them and asking
 * for confirmation (unless --yes). The cache directory is the Plexus conf's `cniDir` (the first
 * conf of --conf-dir, or --conf), or --cni-dir. Exit 0: dropped; 1: nothing found, not confirmed,
 * or a failure; 2: usage error (including an ID that is not a container ID).
 */
import {parseArgs} from 'node:util';
import {validateContainerId} from '../../cni/env.ts';
import {toCniError} from '../../cni/errors.ts';
import {applyCleanup, type CleanupPlan, planCleanup} from '../../meta/cleanup.ts';
import {firstConf, readConf} from '../doctor/command.ts';
import {type CliOutcome, usageError} from '../outcome.ts';

export const CLEANUP_USAGE = `Usage: plexus cleanup <containerID> [options]

Drops what a DEL that keeps failing cannot undo, for one container: its Plexus attachment
records (<cniDir>/plexus/<containerID>-<ifname>.json) and the libcni result files Plexus wrote
for its attachments (<cniDir>/results/<network>-<containerID>-<ifname>). Use it when DEL fails
for good, e.g. a plugin that ran at ADD was uninstalled: "plexus doctor" lists such containers
with the reason. Nothing is run: what the plugins created (links, IP reservations, their own
state files) stays and must be removed by hand. The runtime's next DEL then succeeds.

Options:
  -y, --yes               drop without asking
      --cni-dir <dir>     the cache directory (default: the cniDir of the Plexus conf)
      --conf-dir <dir>    the runtime's conf directory (default: /etc/cni/net.d)
      --conf <file>       read cniDir from this Plexus conf instead of the first one in --conf-dir
  -h, --help              show this help

Exit status: 0 when dropped, 1 when nothing was found or dropped, 2 on a usage error.
`;

export interface CleanupIo {
	/** Asks a yes/no question on the terminal; resolves true for yes. Absent: never confirmed. */
	confirm?: ((question: string) => Promise<boolean>) | undefined;
}

const OPTIONS = {
	yes: {type: 'boolean', short: 'y'},
	'cni-dir': {type: 'string'},
	'conf-dir': {type: 'string'},
	conf: {type: 'string'},
	help: {type: 'boolean', short: 'h'},
} as const;

const failed = (message: string): CliOutcome => ({stdout: '', stderr: `plexus: ${message}\n`, exitCode: 1});

/** The cache directory: --cni-dir, else the `cniDir` of the Plexus conf. */
async function cniDirOf(values: {
	'cni-dir'?: string | undefined;
	'conf-dir'?: string | undefined;
	conf?: string | undefined;
}): Promise<string> {
	const explicit = values['cni-dir'];
	if (explicit !== undefined) return explicit;
	const dir = values['conf-dir'] ?? '/etc/cni/net.d';
	const file = values.conf ?? (await firstConf(dir));
	if (file === undefined) throw new Error(`no conf file in "${dir}": pass --cni-dir`);
	const {conf, type} = await readConf(file);
	if (conf === undefined) throw new Error(`"${file}" runs plugin type "${type}", not plexus: pass --cni-dir`);
	return conf.cniDir;
}

/** The plan as people read it. */
function describe(plan: CleanupPlan, cniDir: string): string {
	const pod = plan.records.find((r) => r.pod !== undefined)?.pod;
	const lines = [
		`Container "${plan.containerId}"${pod === undefined ? '' : ` (pod "${pod}")`}, cache directory "${cniDir}":`,
	];
	for (const r of plan.records) {
		lines.push(`  plexus record ${r.file}`);
		if (r.unusable !== undefined) lines.push(`    unusable: ${r.unusable}`);
		if (r.delFailure !== undefined) {
			lines.push(
				`    DEL failed ${r.delFailure.attempts} time(s), last at ${r.delFailure.at}: ${r.delFailure.reason}`,
			);
		}
		for (const network of r.networks) lines.push(`    still recorded: ${network}`);
	}
	for (const file of plan.results) lines.push(`  libcni result ${file}`);
	lines.push(
		'What the plugins created (links, IP reservations, their own state) is not removed: remove it by hand.',
	);
	return `${lines.join('\n')}\n`;
}

/** Runs `plexus cleanup ...` (argv after "cleanup"). */
export async function runCleanup(argv: readonly string[], io: CleanupIo): Promise<CliOutcome> {
	let parsed: ReturnType<typeof parseArgs<{options: typeof OPTIONS; allowPositionals: true}>>;
	try {
		parsed = parseArgs({args: [...argv], options: OPTIONS, strict: true, allowPositionals: true});
	} catch (err) {
		return usageError((err as Error).message, CLEANUP_USAGE);
	}
	const {values, positionals} = parsed;
	if (values.help === true) return {stdout: CLEANUP_USAGE, stderr: '', exitCode: 0};
	if (positionals.length !== 1) return usageError('expected exactly one container ID', CLEANUP_USAGE);
	const containerId = positionals[0] ?? '';
	try {
		validateContainerId(containerId);
	} catch (err) {
		return usageError(`not a container ID: ${toCniError(err).message}`, CLEANUP_USAGE);
	}
	let cniDir: string;
	let plan: CleanupPlan;
	try {
		cniDir = await cniDirOf(values);
		plan = await planCleanup(cniDir, containerId);
	} catch (err) {
		return failed(toCniError(err).message);
	}
	if (plan.records.length === 0 && plan.results.length === 0)
		return failed(`nothing to clean up: no plexus record of container "${containerId}" in "${cniDir}"`);
	const text = describe(plan, cniDir);
	if (values.yes !== true) {
		const yes = (await io.confirm?.(`${text}Drop these files? [y/N] `)) ?? false;
		if (!yes) return failed('not confirmed; nothing dropped (pass --yes to drop without asking)');
	}
	let removed: string[];
	try {
		removed = await applyCleanup(plan);
	} catch (err) {
		return failed(`failed to drop the cache of container "${containerId}": ${toCniError(err).message}`);
	}
	const listing = values.yes === true ? text : '';
	return {stdout: `${listing}${removed.map((f) => `dropped ${f}`).join('\n')}\n`, stderr: '', exitCode: 0};
}
