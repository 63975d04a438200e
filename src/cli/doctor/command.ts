/**
 * `plexus doctor`: checks a node's Plexus installation and prints each problem with its fix.
 * The conf (valid, first in the runtime's conf dir), the cluster network's delegates (on the
 * path, and their VERSION), the kubeconfig (reachable, and the RBAC Plexus needs), the readiness
 * indicator file, the cache directory and the pods whose DEL keeps failing (./stuck.ts). Exit 0:
 * no problem; 1: problems; 2: usage error.
 */
import {constants} from 'node:fs';
import {access, readdir, readFile, stat} from 'node:fs/promises';
import {request as httpRequest} from 'node:http';
import {extname, join} from 'node:path';
import {parseArgs} from 'node:util';
import {BUILTIN_TYPES} from '../../../delegates/builtin-types.ts';
import {findInPath, type PluginExec, ProcessPluginExec} from '../../chain/plugin-exec.ts';
import {splitPath} from '../../cni/env.ts';
import {toCniError} from '../../cni/errors.ts';
import {DEFAULT_SOCKET_PATH} from '../../daemon/server.ts';
import {type KubeClient, NodeKubeClient} from '../../k8s/client.ts';
import {kubeClientOptions} from '../../k8s/client-options.ts';
import {networkListFromText} from '../../k8s/nad.ts';
import {type PlexusConf, parsePlexusConf} from '../../meta/conf/conf.ts';
import {resolveConfClusterNetwork} from '../../meta/resolve/resolve.ts';
import {type CliOutcome, usageError} from '../outcome.ts';
import type {Check} from './check.ts';
import {checkKube} from './kube-checks.ts';
import {checkStuckDels} from './stuck.ts';

export const DOCTOR_USAGE = `Usage: plexus doctor [options]

Checks this node's Plexus installation and prints every problem with its fix:
the Plexus conf (valid, and the first conf file the runtime reads), the cluster network's
delegates (found on binDir/CNI_PATH, and supporting the network's cniVersion per VERSION), the
kubeconfig (API reachable; get pods, update pods/status, get and list NADs, create events), the
readiness indicator file, the cache directory (cniDir) permissions, the containers whose DEL
keeps failing (with the reason; see plexus cleanup --help), and in daemon mode (the conf runs
plexus-shim) that the daemon answers /readyz on the shim's socket.

Options:
      --conf-dir <dir>      the runtime's conf directory (default: /etc/cni/net.d)
      --conf <file>         check this Plexus conf instead of the first one in --conf-dir
      --kubeconfig <file>   use this kubeconfig instead of the conf's
  -o, --output <format>     table (default) or json
  -h, --help                show this help

Environment:
  CNI_PATH   ":"-separated plugin directories, searched after the conf's binDir

Exit status: 0 when everything is fine, 1 when a check found a problem, 2 on a usage error.
`;

export type {Check} from './check.ts';
export {NEEDED_ACCESS} from './kube-checks.ts';

export interface DoctorIo {
	env: Readonly<Record<string, string | undefined>>;
	exec?: PluginExec | undefined;
	/** Overrides the Kubernetes client (tests). */
	kube?: KubeClient | undefined;
}

/** The bound of each of doctor's API calls (it probes; a pod is not waiting on it). */
const DOCTOR_API_TIMEOUT_MS = 3000;
/** The one-shot meta-plugin, and the shim `plexus install` puts in front of the daemon. */
const PLEXUS_TYPES = ['plexus', 'plexus-shim'];

/** The first conf file of `dir` in the runtime's order, or undefined. */
export async function firstConf(dir: string): Promise<string | undefined> {
	const names = (await readdir(dir))
		.filter((n) => ['.conf', '.conflist', '.json'].includes(extname(n)))
		.sort();
	return names[0] === undefined ? undefined : join(dir, names[0]);
}

/** The Plexus plugin of a conf file (a .conflist's plexus or plexus-shim entry, or a .conf), with name/cniVersion. */
export async function readConf(
	file: string,
): Promise<{conf: PlexusConf | undefined; type: string; socketPath?: string | undefined}> {
	const list = networkListFromText(await readFile(file, 'utf8'), undefined, `file "${file}"`);
	const plugin = list.plugins.find((p) => PLEXUS_TYPES.includes(p.type)) ?? list.plugins[0];
	if (plugin === undefined) return {conf: undefined, type: ''};
	if (!PLEXUS_TYPES.includes(plugin.type)) return {conf: undefined, type: plugin.type};
	return {
		conf: parsePlexusConf({...plugin.raw, name: list.name, cniVersion: list.cniVersion}),
		type: 'plexus',
		socketPath: plugin.type === 'plexus-shim' ? shimSocketPath(plugin.raw) : undefined,
	};
}

/** Where plexus-shim looks for the daemon, from its conf (`daemonSocketDir`, or multus-shim's `socketDir`). */
function shimSocketPath(raw: Readonly<Record<string, unknown>>): string {
	for (const key of ['daemonSocketDir', 'socketDir']) {
		const dir = raw[key];
		if (typeof dir === 'string' && dir !== '') return join(dir, 'plexus.sock');
	}
	return DEFAULT_SOCKET_PATH;
}

/** GET /readyz on the daemon socket: the HTTP status, or the connection error's code. */
function probeReadyz(socketPath: string, timeoutMs: number): Promise<number | string> {
	return new Promise((done) => {
		const req = httpRequest({socketPath, path: '/readyz', method: 'GET', timeout: timeoutMs}, (res) => {
			res.resume();
			res.on('end', () => done(res.statusCode ?? 0));
		});
		req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), {code: 'ETIMEDOUT'})));
		req.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
		req.end();
	});
}

/** Daemon mode (the conf runs plexus-shim): the daemon must answer /readyz on the shim's socket. */
async function checkDaemon(socketPath: string, checks: Check[]): Promise<void> {
	const answer = await probeReadyz(socketPath, 3000);
	if (answer === 200) {
		checks.push({check: 'daemon', status: 'ok', detail: `plexus daemon at "${socketPath}" is ready`});
	} else if (typeof answer === 'number') {
		checks.push({
			check: 'daemon',
			status: 'problem',
			detail: `plexus daemon at "${socketPath}" is not ready (HTTP ${answer}): shutting down, or its pod and NAD caches have not synced; every ADD waits and fails with code 11`,
			fix: 'read the daemon log (kubectl -n kube-system logs ds/plexus -c daemon); it answers /readyz once the API server is reachable',
		});
	} else {
		checks.push({
			check: 'daemon',
			status: 'problem',
			detail: `no plexus daemon answers at "${socketPath}" (${answer}): every ADD and DEL fails with code 11`,
			fix: `start it: the plexus DaemonSet (kubectl -n kube-system get ds plexus), or plexus daemon --socket ${socketPath}`,
		});
	}
}

async function checkConf(
	values: {conf?: string | undefined; 'conf-dir'?: string | undefined},
	checks: Check[],
): Promise<{conf: PlexusConf | undefined; socketPath?: string | undefined}> {
	const dir = values['conf-dir'] ?? '/etc/cni/net.d';
	let first: string | undefined;
	try {
		first = await firstConf(dir);
	} catch (error) {
		checks.push({
			check: 'conf',
			status: 'problem',
			detail: `cannot read the conf directory "${dir}": ${(error as NodeJS.ErrnoException).code ?? error}`,
			fix: `create "${dir}" and install Plexus into it: plexus install`,
		});
	}
	const file = values.conf ?? first;
	if (file === undefined) {
		if (first === undefined && values.conf === undefined && checks.length === 0) {
			checks.push({
				check: 'conf',
				status: 'problem',
				detail: `no conf file in "${dir}": the runtime has no network to run`,
				fix: 'install Plexus: plexus install (or copy conf/00-plexus.conf there)',
			});
		}
		return {conf: undefined};
	}
	let read: Awaited<ReturnType<typeof readConf>>;
	try {
		read = await readConf(file);
	} catch (error) {
		checks.push({
			check: 'conf',
			status: 'problem',
			detail: `"${file}" is not a valid Plexus conf: ${toCniError(error).message}`,
			fix: `correct the key it names in "${file}" (README.md, "The Kubernetes meta-plugin")`,
		});
		return {conf: undefined};
	}
	if (read.conf === undefined) {
		checks.push({
			check: 'conf',
			status: 'problem',
			detail: `"${file}" runs plugin type "${read.type}", not plexus`,
			fix: `give the Plexus conf a name that sorts first in "${dir}" (e.g. 00-plexus.conf), or run plexus install`,
		});
		return {conf: undefined};
	}
	checks.push({check: 'conf', status: 'ok', detail: `"${file}" is a valid Plexus conf`});
	if (values.conf !== undefined && first !== undefined && first !== values.conf) {
		checks.push({
			check: 'conf order',
			status: 'problem',
			detail: `the runtime reads "${first}" first, not "${values.conf}"`,
			fix: `rename the Plexus conf so that it sorts before "${first}" (e.g. 00-plexus.conf)`,
		});
	} else if (first !== undefined) {
		checks.push({check: 'conf order', status: 'ok', detail: `"${first}" is the first conf file in "${dir}"`});
	}
	return {conf: read.conf, socketPath: read.socketPath};
}

async function versionsOf(exec: PluginExec, path: string, cniVersion: string): Promise<string[]> {
	const out = await exec.exec({
		pluginPath: path,
		stdin: Buffer.from(JSON.stringify({cniVersion})),
		env: {CNI_COMMAND: 'VERSION'},
		timeoutMs: 10_000,
	});
	const answer = JSON.parse(Buffer.from(out).toString('utf8')) as {supportedVersions?: unknown};
	if (!Array.isArray(answer.supportedVersions)) throw new Error('no "supportedVersions" in the answer');
	return answer.supportedVersions.map(String);
}

async function checkDelegates(
	conf: PlexusConf,
	kube: KubeClient | undefined,
	path: readonly string[],
	exec: PluginExec,
	checks: Check[],
): Promise<void> {
	let cluster: Awaited<ReturnType<typeof resolveConfClusterNetwork>>;
	try {
		cluster = await resolveConfClusterNetwork(conf, kube);
	} catch (error) {
		checks.push({
			check: 'cluster network',
			status: 'problem',
			detail: toCniError(error).message,
			fix: 'point clusterNetwork at the cluster network conf (a file, or a NAD in multusNamespace), or set delegates',
		});
		return;
	}
	const searched = [conf.binDir, ...path.filter((d) => d !== conf.binDir)];
	const builtins: readonly string[] = BUILTIN_TYPES.filter((t) => !conf.disableBuiltins.includes(t));
	for (const plugin of cluster.list.plugins) {
		const what = `delegate "${plugin.type}" of network "${cluster.network}"`;
		if (builtins.includes(plugin.type)) {
			checks.push({check: 'delegates', status: 'ok', detail: `${what} is built in`});
			continue;
		}
		let found: string;
		try {
			found = await findInPath(plugin.type, searched);
		} catch (error) {
			checks.push({
				check: 'delegates',
				status: 'problem',
				detail: `${what}: ${toCniError(error).message}`,
				fix: `install the "${plugin.type}" CNI plugin into binDir "${conf.binDir}" (e.g. the containernetworking-plugins package)`,
			});
			continue;
		}
		try {
			const versions = await versionsOf(exec, found, cluster.list.cniVersion);
			if (versions.includes(cluster.list.cniVersion)) {
				checks.push({
					check: 'delegates',
					status: 'ok',
					detail: `${what} is "${found}" and supports cniVersion ${cluster.list.cniVersion}`,
				});
			} else {
				checks.push({
					check: 'delegates',
					status: 'problem',
					detail: `${what} ("${found}") supports [${versions.join(' ')}], not the network's cniVersion ${cluster.list.cniVersion}`,
					fix: `upgrade "${found}", or lower the network's cniVersion to one it supports`,
				});
			}
		} catch (error) {
			checks.push({
				check: 'delegates',
				status: 'problem',
				detail: `${what} ("${found}") does not answer VERSION: ${toCniError(error).message}`,
				fix: `replace "${found}" with a working CNI plugin binary`,
			});
		}
	}
}

async function checkFiles(conf: PlexusConf, checks: Check[]): Promise<void> {
	const file = conf.readinessIndicatorFile;
	if (file !== '') {
		try {
			await access(file);
			checks.push({check: 'readiness', status: 'ok', detail: `readiness indicator file "${file}" exists`});
		} catch {
			checks.push({
				check: 'readiness',
				status: 'problem',
				detail: `readiness indicator file "${file}" does not exist: every ADD waits 45 s and fails`,
				fix: 'start the cluster network (it writes that file), or correct readinessindicatorfile',
			});
		}
	}
	const dir = conf.cniDir;
	try {
		const info = await stat(dir);
		if (!info.isDirectory()) throw Object.assign(new Error('not a directory'), {code: 'ENOTDIR'});
		await access(dir, constants.W_OK);
		if ((info.mode & 0o002) !== 0) {
			checks.push({
				check: 'cache dir',
				status: 'problem',
				detail: `cache directory "${dir}" is world-writable: anyone could plant the configs DEL replays`,
				fix: `chmod o-w "${dir}"`,
			});
		} else {
			checks.push({
				check: 'cache dir',
				status: 'ok',
				detail: `cache directory "${dir}" is writable and private`,
			});
		}
	} catch (error) {
		const code = (error as NodeJS.ErrnoException).code;
		if (code === 'ENOENT') {
			checks.push({
				check: 'cache dir',
				status: 'ok',
				detail: `cache directory "${dir}" does not exist yet (the first ADD creates it)`,
			});
		} else {
			checks.push({
				check: 'cache dir',
				status: 'problem',
				detail: `cache directory "${dir}" is not usable: ${code ?? String(error)}`,
				fix: `make "${dir}" a directory writable by the user plexus runs as (root): mkdir -p -m 0700 "${dir}"`,
			});
		}
	}
}

function render(checks: readonly Check[]): string {
	const lines = checks.map((c) => {
		const mark = c.status === 'ok' ? 'ok     ' : c.status === 'warning' ? 'warning' : 'PROBLEM';
		return `${mark}  ${c.check}: ${c.detail}${c.fix === undefined ? '' : `\n         fix: ${c.fix}`}`;
	});
	const problems = checks.filter((c) => c.status === 'problem').length;
	lines.push('', problems === 0 ? 'No problems found.' : `${problems} problem(s) found.`);
	return `${lines.join('\n')}\n`;
}

/** Runs `plexus doctor ...` (argv after "doctor"). */
export async function runDoctor(argv: readonly string[], io: DoctorIo): Promise<CliOutcome> {
	let values: ReturnType<typeof parseArgs<{options: typeof OPTIONS}>>['values'];
	try {
		({values} = parseArgs({args: [...argv], options: OPTIONS, strict: true}));
	} catch (err) {
		return usageError((err as Error).message, DOCTOR_USAGE);
	}
	if (values.help === true) return {stdout: DOCTOR_USAGE, stderr: '', exitCode: 0};
	const output = values.output ?? 'table';
	if (output !== 'table' && output !== 'json')
		return usageError(`invalid --output "${output}": expected table or json`, DOCTOR_USAGE);
	const checks: Check[] = [];
	const {conf, socketPath} = await checkConf(values, checks);
	if (conf !== undefined) {
		const kubeconfig = values.kubeconfig ?? conf.kubeconfig;
		const env = io.env;
		const options = kubeClientOptions({kubeconfig, apiTimeoutMs: DOCTOR_API_TIMEOUT_MS}, env, 'ADD');
		const kube = io.kube ?? (options === undefined ? undefined : new NodeKubeClient(options));
		await checkKube(conf, kube, kubeconfig, checks);
		await checkDelegates(
			conf,
			kube,
			splitPath(env['CNI_PATH']),
			io.exec ?? new ProcessPluginExec({busyRetries: 0}),
			checks,
		);
		await checkFiles(conf, checks);
		checks.push(...(await checkStuckDels(conf.cniDir)));
		if (socketPath !== undefined) await checkDaemon(socketPath, checks);
	}
	const problems = checks.some((c) => c.status === 'problem');
	return {
		stdout: output === 'json' ? `${JSON.stringify({checks}, null, 2)}\n` : render(checks),
		stderr: '',
		exitCode: problems ? 1 : 0,
	};
}

const OPTIONS = {
	'conf-dir': {type: 'string'},
	conf: {type: 'string'},
	kubeconfig: {type: 'string'},
	output: {type: 'string', short: 'o'},
	help: {type: 'boolean', short: 'h'},
} as const;
