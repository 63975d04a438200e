/**
 * `plexus dry-run`: argument handling and input loading (Plexus conf, pod, NADs, CNI_PATH) around
 * ./plan.ts, rendered by ./render.ts. Exit 0: ADD would run as shown; 1: findings; 2: usage error.
 */
import {randomBytes} from 'node:crypto';
import {readdir, readFile, stat} from 'node:fs/promises';
import {extname, join, resolve} from 'node:path';
import {parseArgs} from 'node:util';
import {buildDelegateConf} from '../../chain/delegate-conf.ts';
import {type PluginExec, ProcessPluginExec} from '../../chain/plugin-exec.ts';
import {splitPath} from '../../cni/env.ts';
import {toCniError} from '../../cni/errors.ts';
import type {KubeClient, Pod} from '../../k8s/client.ts';
import {networkListFromText} from '../../k8s/nad.ts';
import {envRuntimeArgs} from '../chain.ts';
import {type CliOutcome, usageError} from '../outcome.ts';
import {loadManifests, ManifestKubeClient, type Manifests, selectPod} from './manifests.ts';
import {type DryRunReport, dryRunNetwork, dryRunPod, hasErrors} from './plan.ts';
import {renderJson, renderTable} from './render.ts';
import type {Common, Execution, PodDryRun, Simulation} from './types.ts';

export const DRY_RUN_USAGE = `Usage: plexus dry-run [options] --pod <pod.yaml | namespace/name> [--nads <file|dir>]...
       plexus dry-run [options] <network.conflist | network.conf>

Shows what the plexus meta-plugin's ADD would do, without doing it: per attachment the NAD, the
interface, and every delegate in order with its exact stdin (a later plugin's prevResult shown as
"from <previous plugin>"), its CNI_* environment, whether it runs built-in or as a binary (its
path, or "not found on CNI_PATH") and the versions it supports (a binary's VERSION answer).
Everything ADD would fail on is reported with ADD's own message. A bare conflist or conf is one
chain without Kubernetes, run as the meta-plugin runs a delegate chain (built-ins in-process).

Inputs:
      --pod <file|ns/name>   the pod: a YAML file (its NADs may be in the same file; a Pod or
                             the pod template of a Deployment, StatefulSet, DaemonSet,
                             ReplicaSet, Job or CronJob), or a pod read from the cluster
                             through the kubeconfig
      --pod-name <name>      the pod of a --pod file that holds several (name or namespace/name;
                             a workload's pod template is named as the workload, a
                             StatefulSet's as its first pod, <name>-0)
      --nads <file|dir>      NAD YAML files or directories (repeatable); NADs not found there are
                             read from the cluster when a kubeconfig is given
      --conf <file>          the Plexus conf (default: the first conf file in --conf-dir)
      --conf-dir <dir>       where the runtime finds it (default: /etc/cni/net.d)
      --kubeconfig <file>    kubeconfig for the cluster (default: $KUBECONFIG; none: files only)
      --bin-dir <dir>        use this instead of the conf's binDir (searched before CNI_PATH)

Options:
  -i, --ifname <name>        CNI_IFNAME (default: eth0)
      --container-id <id>    CNI_CONTAINERID (default: plexus-dry-run; with --execute a random
                             plexus-execute-<hex>)
      --netns <path>         CNI_NETNS (default: /var/run/netns/plexus-dry-run; with --execute a
                             netns made for the run, /var/run/netns/plexus-dryrun-<hex>)
      --no-versions          do not run binaries to ask for their VERSION
      --check-host           this machine is the node: also check the host state ADD needs
                             (the master link of macvlan, ipvlan and vlan exists; the
                             readiness indicator file exists)
      --simulate             also run the ADD on an in-memory model of the pod's netns: built-ins
                             really run; each external plugin is stood in for by a dummy link
                             named CNI_IFNAME with its static IPAM addresses; prints every step
                             (exact stdin with the real prevResult, result) and the resulting
                             links, addresses, routes and VRFs
      --execute              really run the ADD in a netns made for the run (lo up) and deleted
                             afterwards, or in the one --netns names (it must hold only lo),
                             print each plugin's stdin, stdout, stderr and duration and the netns,
                             then DEL and check nothing is left (links, addresses, host links,
                             cache files, host-local reservations, the netns); needs root
  -o, --output <format>      table (default) or json (schema: README.md, "plexus dry-run")
  -h, --help                 show this help

Environment:
  CNI_PATH   ":"-separated plugin directories
  CNI_ARGS, CAP_ARGS   (bare conflist only) as for plexus chain

Exit status: 0 when ADD would run as shown, 1 when there are findings, 2 on a usage error.
`;

export interface DryRunIo {
	env: Readonly<Record<string, string | undefined>>;
	/** Colour the table (stdout is a terminal). */
	color?: boolean | undefined;
	/** Overrides the exec seam (tests). */
	exec?: PluginExec | undefined;
	/** Overrides the Kubernetes client used for cluster reads (tests). */
	kube?: KubeClient | undefined;
}

class UsageError extends Error {}

/** A pod or NAD manifest, or the Plexus conf file, that does not parse (reported as a finding). */
class ManifestError extends Error {}

/** The parsed options. */
type Values = ReturnType<typeof parse>['values'];

function parse(argv: readonly string[]) {
	return parseArgs({
		args: [...argv],
		allowPositionals: true,
		strict: true,
		options: {
			pod: {type: 'string'},
			'pod-name': {type: 'string'},
			nads: {type: 'string', multiple: true},
			conf: {type: 'string'},
			'conf-dir': {type: 'string'},
			kubeconfig: {type: 'string'},
			'bin-dir': {type: 'string'},
			ifname: {type: 'string', short: 'i'},
			'container-id': {type: 'string'},
			netns: {type: 'string'},
			'no-versions': {type: 'boolean'},
			'check-host': {type: 'boolean'},
			simulate: {type: 'boolean'},
			execute: {type: 'boolean'},
			output: {type: 'string', short: 'o'},
			help: {type: 'boolean', short: 'h'},
		},
	});
}

async function readText(file: string, what: string): Promise<string> {
	try {
		return await readFile(file, 'utf8');
	} catch (error) {
		throw new UsageError(`cannot read ${what} "${file}": ${(error as NodeJS.ErrnoException).code ?? error}`);
	}
}

/** The conf file the runtime would pick: the first .conf/.conflist/.json of the directory by name. */
async function firstConf(dir: string): Promise<string> {
	let names: string[];
	try {
		names = await readdir(dir);
	} catch (error) {
		throw new UsageError(
			`cannot read conf directory "${dir}": ${(error as NodeJS.ErrnoException).code ?? error}`,
		);
	}
	const first = names.filter((n) => ['.conf', '.conflist', '.json'].includes(extname(n))).sort()[0];
	if (first === undefined) throw new UsageError(`no .conf/.conflist/.json file in "${dir}"; pass --conf`);
	return join(dir, first);
}

/**
 * The Plexus conf as the runtime hands it to plexus (libcni's stdin for the conf file's plexus
 * plugin, name and cniVersion injected, whether the file is a .conf or a .conflist), and the same
 * with dry-run's log settings: stderr, never the node's log file.
 */
async function plexusStdin(
	file: string,
	binDir: string | undefined,
): Promise<{asGiven: Uint8Array; quiet: Uint8Array}> {
	const text = await readText(file, 'Plexus conf');
	let list: ReturnType<typeof networkListFromText>;
	try {
		list = networkListFromText(text, undefined, `file "${file}"`);
	} catch (error) {
		// The runtime could not load it either: a finding, as a manifest that does not parse.
		throw new ManifestError(toCniError(error).message);
	}
	const plugin = list.plugins.find((p) => p.type === 'plexus') ?? list.plugins[0];
	if (plugin === undefined) throw new UsageError(`"${file}" has no plugin`);
	const raw: Record<string, unknown> = {...plugin.raw};
	if (binDir !== undefined) raw['binDir'] = resolve(binDir);
	// libcni injects the file's own cniVersion, "" included (the list reads "" as 0.1.0 for itself).
	const unversioned = list.raw['cniVersion'] === '' && list.raw['cniVersions'] === undefined;
	const cniVersion = unversioned ? '' : list.cniVersion;
	const stdin = (conf: Record<string, unknown>) =>
		buildDelegateConf({name: list.name, cniVersion, plugin: conf}).stdin;
	return {
		asGiven: stdin(raw),
		quiet: stdin({...raw, logFile: '', logToStderr: true, logLevel: 'warning'}),
	};
}

async function kubeFor(kubeconfig: string | undefined, io: DryRunIo): Promise<KubeClient | undefined> {
	if (io.kube !== undefined) return io.kube;
	if (kubeconfig === undefined || kubeconfig === '') return undefined;
	const {NodeKubeClient} = await import('../../k8s/client.ts');
	return new NodeKubeClient({kubeconfig});
}

/** The names of this machine's links (the node's, with --check-host). */
async function nodeLinks(): Promise<Set<string>> {
	const {openNetlink} = await import('../../netlink/kernel.ts');
	const nl = openNetlink();
	try {
		return new Set(nl.listLinks().map((l) => l.name));
	} finally {
		nl.close();
	}
}

async function isFile(path: string): Promise<boolean> {
	try {
		return (await stat(path)).isFile();
	} catch {
		return false;
	}
}

/** Why the arguments are unusable, or undefined when they are fine. */
function usageProblem(values: Values, positionals: readonly string[]): string | undefined {
	const output = values.output ?? 'table';
	if (output !== 'table' && output !== 'json') return `invalid --output "${output}": expected table or json`;
	if (positionals.length > 1) return `unexpected argument "${positionals[1]}"`;
	const networkFile = positionals[0];
	if (networkFile === undefined && values.pod === undefined) return 'missing --pod or a conflist file';
	if (networkFile !== undefined && values.pod !== undefined)
		return 'give either --pod or a conflist file, not both';
	if (values['pod-name'] !== undefined && values.pod === undefined) return '--pod-name needs --pod <file>';
	if (values.execute === true && values.simulate === true)
		return 'give either --simulate or --execute, not both';
	return undefined;
}

/**
 * The pod mode's input: the pod (from a --pod file, or the cluster), the NADs of the files and
 * the cluster, and the Plexus conf.
 *
 * @throws UsageError or ManifestError for inputs that cannot be used.
 */
async function podInput(values: Values, io: DryRunIo, common: Common): Promise<PodDryRun> {
	const podArg = values.pod ?? '';
	const kubeconfig = values.kubeconfig ?? io.env['KUBECONFIG'];
	const cluster = await kubeFor(kubeconfig, io);
	const manifests: Manifests = {pods: [], nads: []};
	let pod: Pod | undefined;
	for (const path of values.nads ?? []) {
		try {
			await stat(path);
		} catch (error) {
			throw new UsageError(`cannot read --nads "${path}": ${(error as NodeJS.ErrnoException).code ?? error}`);
		}
	}
	// A manifest that does not parse is a finding in the report's own format, as a bad conflist is.
	const load = (paths: string[]) =>
		loadManifests(paths).catch((error: unknown) => {
			throw new ManifestError(toCniError(error).message);
		});
	if (await isFile(podArg)) {
		const fromFile = await load([podArg]);
		const selected = selectPod(fromFile.pods, podArg, values['pod-name']);
		if (typeof selected === 'string') throw new UsageError(selected);
		pod = selected;
		manifests.pods.push(...fromFile.pods);
		manifests.nads.push(...fromFile.nads);
	} else {
		if (values['pod-name'] !== undefined)
			throw new UsageError('--pod-name selects a pod of a --pod file, not of the cluster');
		const [namespace, name, ...rest] = podArg.split('/');
		if (namespace === undefined || name === undefined || rest.length > 0 || namespace === '' || name === '')
			throw new UsageError(`--pod "${podArg}" is neither a file nor namespace/name`);
		if (cluster === undefined)
			throw new UsageError(`--pod "${podArg}" names a pod in the cluster, but no kubeconfig is given`);
		pod = await cluster.getPod(namespace, name);
		if (pod === undefined) throw new UsageError(`pod "${podArg}" does not exist in the cluster`);
	}
	manifests.nads.push(...(await load(values.nads ?? [])).nads);
	const confFile = values.conf ?? (await firstConf(values['conf-dir'] ?? '/etc/cni/net.d'));
	const conf = await plexusStdin(confFile, values['bin-dir']);
	const input = {
		...common,
		confStdin: conf.quiet,
		confAsGiven: conf.asGiven,
		pod,
		kube: new ManifestKubeClient(manifests, cluster),
	};
	return input;
}

/** Runs `plexus dry-run ...` (argv after "dry-run"). */
export async function runDryRun(argv: readonly string[], io: DryRunIo): Promise<CliOutcome> {
	let parsed: ReturnType<typeof parse>;
	try {
		parsed = parse(argv);
	} catch (err) {
		return usageError((err as Error).message, DRY_RUN_USAGE);
	}
	const {values, positionals} = parsed;
	if (values.help === true) return {stdout: DRY_RUN_USAGE, stderr: '', exitCode: 0};
	const problem = usageProblem(values, positionals);
	if (problem !== undefined) return usageError(problem, DRY_RUN_USAGE);
	const output = values.output === 'json' ? 'json' : 'table';
	const networkFile = positionals[0];
	// --execute without --netns makes its own netns, at a path the plan already shows as CNI_NETNS.
	const createNetns = values.execute === true && values.netns === undefined;
	if (values.execute === true && !createNetns) {
		const {assertNetns} = await import('../../netlink/netns.ts');
		try {
			assertNetns(values.netns ?? '');
			(await import('./execute.ts')).assertEmptyNetns(values.netns ?? '');
		} catch (error) {
			return usageError(`--netns: ${(error as Error).message}`, DRY_RUN_USAGE);
		}
	}
	const env: Record<string, string> = {};
	for (const [k, v] of Object.entries(io.env)) if (v !== undefined) env[k] = v;
	const common: Common = {
		path: splitPath(io.env['CNI_PATH']),
		env,
		containerId:
			values['container-id'] ??
			(values.execute === true ? `plexus-execute-${randomBytes(4).toString('hex')}` : 'plexus-dry-run'),
		netns:
			values.netns ??
			(createNetns ? (await import('./execute.ts')).throwawayNetnsPath() : '/var/run/netns/plexus-dry-run'),
		ifname: values.ifname ?? 'eth0',
		exec: io.exec ?? new ProcessPluginExec({busyRetries: 0}),
		queryVersions: values['no-versions'] !== true,
		hostLinks: values['check-host'] === true ? await nodeLinks() : undefined,
	};

	let report: DryRunReport;
	try {
		if (networkFile !== undefined) {
			const text = await readText(networkFile, 'network config');
			let list: ReturnType<typeof networkListFromText>;
			try {
				list = networkListFromText(text, undefined, `file "${networkFile}"`);
			} catch (error) {
				return findingsOnly(toCniError(error).message, output, io);
			}
			const input = {...common, list, ...envRuntimeArgs(io.env)};
			report = await dryRunNetwork(input);
			if (values.simulate === true && !hasErrors(report))
				addSimulation(report, await (await import('./simulate.ts')).simulateNetwork(input));
			if (values.execute === true && !hasErrors(report))
				addExecution(report, await (await import('./execute.ts')).executeNetwork(input, {createNetns}));
		} else {
			const input = await podInput(values, io, common);
			report = await dryRunPod(input);
			if (values.simulate === true && !hasErrors(report))
				addSimulation(report, await (await import('./simulate.ts')).simulatePod(input));
			if (values.execute === true && !hasErrors(report))
				addExecution(report, await (await import('./execute.ts')).executePod(input, {createNetns}));
		}
	} catch (error) {
		if (error instanceof UsageError) return usageError(error.message, DRY_RUN_USAGE);
		if (error instanceof ManifestError) return findingsOnly(error.message, output, io, 'pod');
		throw error;
	}
	return {
		stdout: output === 'json' ? renderJson(report) : renderTable(report, {color: io.color === true}),
		stderr: '',
		exitCode: report.findings.length > 0 ? 1 : 0,
	};
}

/** Adds a simulation and its findings to the report. */
function addSimulation(report: DryRunReport, simulation: Simulation): void {
	report.simulation = simulation;
	report.findings.push(...simulation.findings);
}

/** Adds an execution and its findings to the report. */
function addExecution(report: DryRunReport, execution: Execution): void {
	report.execution = execution;
	report.findings.push(...execution.findings);
}

/** A report with a single error finding (an input that does not even parse). */
function findingsOnly(
	message: string,
	output: 'table' | 'json',
	io: DryRunIo,
	mode: DryRunReport['mode'] = 'network',
): CliOutcome {
	const report: DryRunReport = {
		schemaVersion: 1,
		mode,
		pod: null,
		attachments: [],
		findings: [{severity: 'error', message}],
		simulation: null,
		execution: null,
	};
	return {
		stdout: output === 'json' ? renderJson(report) : renderTable(report, {color: io.color === true}),
		stderr: '',
		exitCode: 1,
	};
}
