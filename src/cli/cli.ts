/**
 * The `plexus` command line as a function from (argv, env, stdin) to an outcome. With CNI_COMMAND
 * set it is a CNI plugin (see ./plugins.ts); otherwise a tool with subcommands.
 */
import {dispatch} from '../cni/dispatch.ts';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {setPlexusMode, versionLine} from '../version/version.ts';
import type {ChainIo} from './chain.ts';
import {type CliOutcome, errorOutcome, usageError} from './outcome.ts';
import {invocationName, PLUGINS, type PluginLoader} from './plugins.ts';

export const USAGE = `Usage: plexus <command> [options]

Plexus is a Multus-style CNI meta-plugin. Run by a container runtime (CNI_COMMAND set) it acts
as a CNI plugin; run by hand it offers these commands:

Commands:
  chain <add|check|del|gc|status> <network-name> [<netns>]
                run a CNI network's delegate chain like cnitool (see: plexus chain --help)
  dry-run       show what ADD would do for a pod or a conflist (see: plexus dry-run --help)
  doctor        check this node's Plexus installation (see: plexus doctor --help)
  cleanup <containerID>
                drop the cache records a container's failing DEL cannot undo, after
                confirmation (see: plexus cleanup --help)
  daemon        serve plexus-shim requests on a unix socket (see: plexus daemon --help)
  install       put plexus-shim and 00-plexus.conflist on this host (see: plexus install --help)
  uninstall     remove them again, restoring what they replaced

  trace <namespace/pod>
                the daemon's recent operations on a pod (see: plexus trace --help)

Options:
  -h, --help    show this help
  --version     print the version of plexus and of its Node
`;

export interface CliIo extends ChainIo {
	argv: readonly string[];
	/** Reads all of stdin (only called in plugin mode). */
	readStdin: () => Promise<Uint8Array>;
	/** The plugin table (default: ./plugins.ts). */
	plugins?: ReadonlyMap<string, PluginLoader> | undefined;
	/** stdout is a terminal (tables may use colour, unless NO_COLOR is set). */
	stdoutIsTTY?: boolean | undefined;
	/** Asks the operator a yes/no question (`plexus cleanup`); absent: the answer is no. */
	confirm?: ((question: string) => Promise<boolean>) | undefined;
}

/** Runs one invocation; never throws. */
export async function runCli(io: CliIo): Promise<CliOutcome> {
	try {
		if ((io.env['CNI_COMMAND'] ?? '') !== '') return await runPlugin(io);
		const [command, ...rest] = io.argv;
		setPlexusMode(command === 'daemon' ? 'daemon' : 'cli');
		if (command === '--version' || command === 'version')
			return {stdout: versionLine(), stderr: '', exitCode: 0};
		if (command === undefined) return usageError('missing command', USAGE);
		if (command === '-h' || command === '--help' || command === 'help')
			return {stdout: USAGE, stderr: '', exitCode: 0};
		if (command === 'chain') return await (await import('./chain.ts')).runChain(rest, io);
		if (command === 'dry-run') {
			const color = io.stdoutIsTTY === true && (io.env['NO_COLOR'] ?? '') === '';
			return await (await import('./dry-run/command.ts')).runDryRun(rest, {
				env: io.env,
				color,
				exec: io.exec,
			});
		}
		if (command === 'doctor')
			return await (await import('./doctor/command.ts')).runDoctor(rest, {env: io.env});
		if (command === 'cleanup')
			return await (await import('./cleanup/command.ts')).runCleanup(rest, {confirm: io.confirm});
		if (command === 'daemon')
			return await (await import('../daemon/cli.ts')).runDaemonCommand(rest, {env: io.env});
		if (command === 'trace') return await (await import('../trace/command.ts')).runTrace(rest, {env: io.env});
		if (command === 'install' || command === 'uninstall') {
			return await (await import('../install/cli.ts')).runInstallCommand(command, rest);
		}
		return usageError(`unknown command "${command}"`, USAGE);
	} catch (err) {
		return errorOutcome(err);
	}
}

/** Plugin mode: the verb from CNI_COMMAND, config from stdin, result or error JSON on stdout. */
async function runPlugin(io: CliIo): Promise<CliOutcome> {
	const name = invocationName(io.env);
	const load = (io.plugins ?? PLUGINS).get(name);
	if (load === undefined) {
		throw new CniError(
			CniErrorCode.invalidConfig,
			`no CNI plugin is registered as "${name}" in this build of plexus`,
		);
	}
	const env: Record<string, string> = {};
	for (const [k, v] of Object.entries(io.env)) if (v !== undefined) env[k] = v;
	const outcome = await dispatch(await load(), {getenv: (k) => env[k], stdin: await io.readStdin(), env});
	if (!outcome.ok) return errorOutcome(outcome.error, outcome.cniVersion);
	return {stdout: outcome.stdout, stderr: '', exitCode: 0};
}
