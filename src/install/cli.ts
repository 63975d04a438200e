/**
 * `plexus install` / `plexus uninstall` (also `scripts/install [--uninstall]`): put the shim and
 * 00-plexus.conflist on a host, or take them away again.
 */
import {resolve} from 'node:path';
import {parseArgs} from 'node:util';
import {toCniError} from '../cni/errors.ts';
import {CONF_FLAG_OPTIONS, confKeys} from './conf-keys.ts';
import {install, uninstall} from './install.ts';

/** The shim `npm ci` builds, relative to this file. */
export const BUILT_SHIM = resolve(import.meta.dirname, '../../shim/build/Release/plexus-shim');

export const INSTALL_USAGE = `Usage: plexus install [options]
       plexus uninstall [--conf-dir <dir>]

install copies plexus-shim (and any --delegate binaries) into the CNI bin dir and writes
00-plexus.conflist wrapping the first network conf of the conf dir (Multus auto-config: the
master is the clusterNetwork, capabilities are unioned, cniVersion must match). On a node with
00-multus.conf or 00-multus.conflist it takes that over instead: the Multus settings, network
name, cniVersion and capabilities go into the Plexus conf, then the Multus file is kept aside as
<file>.plexus-backup. Files are written atomically; uninstall removes them and restores anything
they replaced or moved aside (the Multus conf first).

Options:
      --conf-dir <dir>       CNI conf dir (default: /etc/cni/net.d)
      --bin-dir <dir>        CNI bin dir (default: /opt/cni/bin)
      --shim <path>          the shim binary (default: the one npm ci built)
      --delegate <path>      a standalone delegate binary to install too (repeatable)
      --socket-dir <dir>     where the daemon socket lives (default: /run/plexus)
      --master <file>        the conf to wrap (default: the first by name)
      --network-name <name>  the network name (default: plexus-cni-network)
      --cni-version <v>      the cniVersion to write (must equal the master's)
      --force-cni-version    write --cni-version even when the master's differs
      --conf <file>          a JSON object of Plexus conf keys to write (the plexus-conf
                             ConfigMap); the flags below win over it, both over Multus's
  -h, --help                 show this help

Plexus conf keys (each sets the Multus key of the same meaning; lists are comma-separated):
      --kubeconfig <path>                 kubeconfig
      --cluster-network <name|path>       clusterNetwork
      --default-networks <a,b>            defaultNetworks
      --system-namespaces <a,b>           systemNamespaces
      --multus-namespace <ns>             multusNamespace
      --namespace-isolation <true|false>  namespaceIsolation
      --global-namespaces <a,b>           globalNamespaces
      --readiness-indicator-file <path>   readinessindicatorfile
      --cni-dir <dir>                     cniDir
      --plugin-bin-dir <dir>              binDir (delegate binaries; --bin-dir is where the shim goes)
      --log-file <path>                   logFile
      --log-level <level>                 logLevel
      --log-to-stderr <true|false>        logToStderr
      --auxiliary-cni-chain-name <name>   auxiliaryCNIChainName
      --api-timeout-ms <ms>               apiTimeoutMs

Over a thick Multus, paths its pod sees under /host or its chrootDir are rewritten to the host
paths Plexus's pod mounts, or refused naming the key.
`;

export interface InstallOutcome {
	stdout: string;
	stderr: string;
	exitCode: number;
}

/** Parses `plexus install` arguments (throws on an unknown or malformed option). */
export function parseInstallArgs(argv: readonly string[]) {
	return parseArgs({
		args: [...argv],
		allowPositionals: false,
		strict: true,
		options: {
			'conf-dir': {type: 'string'},
			'bin-dir': {type: 'string'},
			shim: {type: 'string'},
			delegate: {type: 'string', multiple: true},
			'socket-dir': {type: 'string'},
			master: {type: 'string'},
			'network-name': {type: 'string'},
			'cni-version': {type: 'string'},
			'force-cni-version': {type: 'boolean'},
			conf: {type: 'string'},
			...CONF_FLAG_OPTIONS,
			help: {type: 'boolean', short: 'h'},
		},
	});
}

/** Runs `plexus install …` or `plexus uninstall …` (argv after the verb). */
export async function runInstallCommand(
	verb: 'install' | 'uninstall',
	argv: readonly string[],
): Promise<InstallOutcome> {
	let values: ReturnType<typeof parseInstallArgs>['values'];
	try {
		values = parseInstallArgs(argv).values;
	} catch (err) {
		return {stdout: '', stderr: `plexus: ${(err as Error).message}\n\n${INSTALL_USAGE}`, exitCode: 2};
	}
	if (values.help === true) return {stdout: INSTALL_USAGE, stderr: '', exitCode: 0};
	const confDir = values['conf-dir'] ?? '/etc/cni/net.d';
	try {
		if (verb === 'uninstall') {
			const undone = await uninstall({confDir});
			const report = undone.length === 0 ? 'nothing to uninstall' : `restored ${undone.join(', ')}`;
			return {stdout: '', stderr: `plexus: ${report}\n`, exitCode: 0};
		}
		const result = await install({
			confDir,
			binDir: values['bin-dir'] ?? '/opt/cni/bin',
			shimPath: values.shim ?? BUILT_SHIM,
			delegates: values.delegate,
			socketDir: values['socket-dir'] ?? '/run/plexus',
			master: values.master,
			networkName: values['network-name'],
			cniVersion: values['cni-version'],
			forceCniVersion: values['force-cni-version'],
			extraConf: await confKeys(values, values.conf),
		});
		const what =
			result.multus === undefined
				? `wrapping ${result.masterPath}`
				: `taking over ${result.multus.path} (kept as ${result.multus.backup}${result.multus.dropped.length === 0 ? '' : `; Multus-only keys left behind: ${result.multus.dropped.map(droppedKeyHint).join(', ')}`}${result.multus.mapped.length === 0 ? '' : `; host paths rewritten: ${result.multus.mapped.map((m) => `${m.key} ${m.from} → ${m.to}`).join(', ')}`})`;
		return {
			stdout: '',
			stderr: `plexus: wrote ${result.confPath} (cniVersion ${result.cniVersion}) ${what}; installed ${result.written.slice(0, -1).join(', ')}\n`,
			exitCode: 0,
		};
	} catch (err) {
		return {stdout: '', stderr: `plexus: failed to ${verb}: ${toCniError(err).message}\n`, exitCode: 1};
	}
}

/** A left-behind Multus key, with the Plexus setting that does its job where there is one. */
function droppedKeyHint(key: string): string {
	// Multus thick's daemon-config `chrootDir` is a daemon setting in Plexus, not a conf key.
	return key === 'chrootDir'
		? 'chrootDir (plexus daemon --chroot-dir does this; the DaemonSet sets it)'
		: key;
}
