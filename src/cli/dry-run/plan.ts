/**
 * `plexus dry-run`: what the meta-plugin's ADD would do for a pod, without doing it. Every step
 * goes through the code the real ADD runs: Invocation.open (conf parsing, the executor with
 * binDir first on CNI_PATH and the in-process built-ins), ADD's resolve step
 * (src/meta/steps/resolve.ts: annotations, NADs, isolation, capabilities, interface names),
 * Invocation.runtimeConf and
 * ChainExecutor.prepareAdd (the exact stdin and environment of each delegate). What ADD would
 * fail on becomes a finding carrying ADD's own message (per delegate: ./plugin-checks.ts).
 * The report's types are in ./types.ts.
 */

import {BuiltinPluginExec, isBuiltinPath} from '../../chain/builtin-exec.ts';
import {buildDelegateConf, marshalLikeGo} from '../../chain/delegate-conf.ts';
import {ChainExecutor, type RuntimeConf} from '../../chain/executor.ts';
import type {NetworkList} from '../../chain/network-list.ts';
import type {PluginExec} from '../../chain/plugin-exec.ts';
import {formatCniArgs} from '../../cni/env.ts';
import {CniError, toCniError} from '../../cni/errors.ts';
import {decodeJson} from '../../cni/json.ts';
import type {CniPlugin, PluginRequest} from '../../cni/plugin.ts';
import type {CniResult} from '../../cni/result.ts';
import type {Pod} from '../../k8s/client.ts';
import {qualifiedName} from '../../k8s/k8s-args.ts';
import type {PlexusConf} from '../../meta/conf/conf.ts';
import {defaultBuiltins} from '../../meta/deps.ts';
import {Invocation} from '../../meta/invocation.ts';
import type {Attachment} from '../../meta/resolve/resolve.ts';
import {resolveForAdd} from '../../meta/steps/resolve.ts';
import {checkPlexusConf} from './conf-check.ts';
import {duplicateAddresses} from './duplicates.ts';
import {checkDelegate} from './plugin-checks.ts';
import type {ChainRun, Common, DryRunReport, Finding, NetworkDryRun, PluginPlan, PodDryRun} from './types.ts';

export type {AttachmentPlan, DryRunReport, Finding, NetworkDryRun, PluginPlan, PodDryRun} from './types.ts';
/** Version of the JSON document `--output json` prints (see README, "plexus dry-run"). */
export const DRY_RUN_SCHEMA_VERSION = 1;

/** The CNI_* variables shown per plugin (the rest of the environment is the caller's own). */
const CNI_VARS = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'];

/** The CNI_ARGS a Kubernetes runtime sends for `pod` (containerd's and CRI-O's keys). */
export function podCniArgs(pod: Pod, containerId: string): string {
	return formatCniArgs([
		['IgnoreUnknown', '1'],
		['K8S_POD_NAMESPACE', pod.namespace],
		['K8S_POD_NAME', pod.name],
		['K8S_POD_INFRA_CONTAINER_ID', containerId],
		...(pod.uid === '' ? [] : ([['K8S_POD_UID', pod.uid]] as const)),
	]);
}

/** The placeholder a later plugin's `prevResult` is shown as. */
export function prevResultPlaceholder(previousType: string): string {
	return `from ${previousType}`;
}

/**
 * Re-renders real delegate stdin with its `prevResult` replaced by the dry-run placeholder, so a
 * test can compare what ADD sent with what dry-run printed byte for byte.
 */
export function withPlaceholder(stdin: Uint8Array, previousType: string | null): string {
	const text = Buffer.from(stdin).toString('utf8');
	if (previousType === null) return text;
	const config = JSON.parse(text) as Record<string, unknown>;
	config['prevResult'] = prevResultPlaceholder(previousType);
	return marshalLikeGo(config);
}

function cniEnv(env: Readonly<Record<string, string>>): Record<string, string> {
	const out: Record<string, string> = {};
	for (const key of CNI_VARS) out[key] = env[key] ?? '';
	return out;
}

/** The versions a binary reports through VERSION (run through the exec seam). */
async function binaryVersions(exec: PluginExec, path: string, cniVersion: string): Promise<string[]> {
	const stdout = await exec.exec({
		pluginPath: path,
		stdin: Buffer.from(JSON.stringify({cniVersion})),
		env: {CNI_COMMAND: 'VERSION'},
		timeoutMs: 10_000,
	});
	const answer = JSON.parse(Buffer.from(stdout).toString('utf8')) as {supportedVersions?: unknown};
	const versions = answer.supportedVersions;
	if (!Array.isArray(versions) || !versions.every((v) => typeof v === 'string'))
		throw new Error('the VERSION answer has no "supportedVersions" list');
	return versions;
}

/** Plans one network list on one interface through the executor's own ADD preparation. */
async function planList(
	executor: ChainExecutor,
	list: NetworkList,
	rt: RuntimeConf,
	network: string,
	common: Common,
	versionCache: Map<string, Promise<string[]>>,
	findings: Finding[],
	/** How ADD prefixes a delegate failure of this attachment (none for a bare network). */
	failurePrefix: string | undefined,
): Promise<PluginPlan[]> {
	const fail = (error: CniError): Finding =>
		errorFinding(
			failurePrefix === undefined
				? error
				: new CniError(error.code, `${failurePrefix}: ${error.message}`, {details: error.details}),
		);
	const plugins: PluginPlan[] = [];
	for (const [i, plugin] of list.plugins.entries()) {
		const previous = i === 0 ? null : (list.plugins[i - 1]?.type ?? null);
		const prevResult =
			previous === null ? undefined : (prevResultPlaceholder(previous) as unknown as CniResult);
		const step = await executor.prepareAdd(list, plugin, rt, prevResult);
		const at = {network, plugin: i + 1};
		let runsAs: PluginPlan['runsAs'] = 'missing';
		let path: string | null = null;
		let supportedVersions: string[] | null = null;
		if (step.target === undefined) {
			findings.push({...fail(step.failure), ...at});
		} else if (!isBuiltinPath(step.target)) {
			runsAs = 'binary';
			path = step.target;
			if (common.queryVersions !== false) {
				const key = `${path}\u0000${list.cniVersion}`;
				let pending = versionCache.get(key);
				if (pending === undefined) {
					pending = binaryVersions(common.exec, path, list.cniVersion);
					versionCache.set(key, pending);
				}
				try {
					supportedVersions = await pending;
				} catch (error) {
					findings.push({
						severity: 'warning',
						message: `cannot tell which versions plugin "${path}" supports: VERSION failed: ${toCniError(error).message}`,
						...at,
					});
				}
			}
		} else {
			runsAs = 'builtin';
			// A built-in answers VERSION through the same seam, in-process.
			supportedVersions = await binaryVersions(executor.exec, step.target, list.cniVersion);
		}
		const stdin = Buffer.from(step.conf.stdin).toString('utf8');
		const checked = checkDelegate({
			plugin,
			stdin,
			runsAs,
			supportedVersions,
			cniVersion: list.cniVersion,
			ifname: rt.ifname,
			hostLinks: common.hostLinks,
		});
		for (const error of checked.errors) findings.push({...fail(error), ...at});
		for (const message of checked.warnings) findings.push({severity: 'warning', message, ...at});
		plugins.push({
			index: i + 1,
			type: plugin.type,
			runsAs,
			path,
			supportedVersions,
			prevResultFrom: previous,
			stdin,
			env: cniEnv(step.env),
		});
	}
	return plugins;
}

function errorFinding(error: unknown): Finding {
	const cause = toCniError(error);
	return {
		severity: 'error',
		message: cause.message,
		...(cause.details === undefined || cause.details === '' ? {} : {details: cause.details}),
	};
}

/** The meta-plugin's in-process delegates for a conf (the test override, else ADD's own default). */
const builtinsFor = (common: Common) => (conf: PlexusConf, exec: PluginExec) =>
	common.inProcess !== undefined ? common.inProcess(exec) : defaultBuiltins(conf, exec);

/** The built-ins for a bare network list (no Plexus conf, so none is disabled). */
async function networkBuiltins(common: Common): Promise<ReadonlyMap<string, CniPlugin>> {
	if (common.inProcess !== undefined) return common.inProcess(common.exec);
	const [{createBuiltins}, {openNetlink}] = await Promise.all([
		import('../../../delegates/index.ts'),
		import('../../netlink/kernel.ts'),
	]);
	return createBuiltins({openNetlink, exec: common.exec});
}

/**
 * The request the runtime would send the meta-plugin for the pod's ADD (what dry-run plans, and
 * what a test feeds the real ADD to compare).
 *
 * @throws CniError code 6 when the conf is not JSON, as dispatch reports it.
 */
export function podAddRequest(input: Omit<PodDryRun, 'kube' | 'exec'>): PluginRequest {
	const config = decodeJson(input.confStdin, 'the plexus conf') as Record<string, unknown>;
	return {
		command: 'ADD',
		containerId: input.containerId,
		netns: input.netns,
		ifname: input.ifname,
		args: podCniArgs(input.pod, input.containerId),
		path: input.path,
		stdin: input.confStdin,
		config,
		env: {...input.env},
	};
}

/**
 * The pod's ADD request with the executor's result cache (`cniDir`) moved to `cacheDir`; the conf
 * is otherwise as given. What --simulate and --execute run, so neither writes the real cache.
 */
export function podAddRequestCachedIn(
	input: Omit<PodDryRun, 'kube' | 'exec'>,
	cacheDir: string,
): PluginRequest {
	const request = podAddRequest(input);
	const config: Record<string, unknown> = {...request.config, cniDir: cacheDir};
	const stdin = buildDelegateConf({
		name: String(config['name']),
		cniVersion: String(config['cniVersion']),
		plugin: config,
	}).stdin;
	return {...request, config, stdin};
}

/** The runtime conf a bare network list runs under. */
export function networkRuntimeConf(input: NetworkDryRun): RuntimeConf {
	return {
		containerId: input.containerId,
		netns: input.netns,
		ifname: input.ifname,
		args: input.args,
		capabilityArgs: input.capabilityArgs,
	};
}

/** The one chain a bare network list runs. */
export function networkRun(input: NetworkDryRun): ChainRun {
	return {list: input.list, rt: networkRuntimeConf(input), network: input.list.name, prefix: undefined};
}

/** Dry-runs the meta-plugin's ADD for a pod. */
export async function dryRunPod(input: PodDryRun): Promise<DryRunReport> {
	const report: DryRunReport = {
		schemaVersion: DRY_RUN_SCHEMA_VERSION,
		mode: 'pod',
		pod: qualifiedName(input.pod),
		attachments: [],
		findings: [],
		simulation: null,
		execution: null,
	};
	const refused = await checkPlexusConf(input.confAsGiven ?? input.confStdin, {
		...input,
		args: podCniArgs(input.pod, input.containerId),
	});
	if (refused !== undefined) {
		report.findings.push(errorFinding(refused));
		return report;
	}
	let request: PluginRequest;
	let inv: Invocation;
	try {
		request = podAddRequest(input);
		inv = await Invocation.open(request, {exec: input.exec, inProcess: builtinsFor(input)});
	} catch (error) {
		report.findings.push(errorFinding(error));
		return report;
	}
	// ADD stops at the first element it cannot resolve; dry-run reports each (the first is ADD's).
	let attachments: Attachment[];
	try {
		attachments = await resolveForAdd(inv, input.kube, input.pod, (_origin, error) => {
			report.findings.push(errorFinding(error));
		});
	} catch (error) {
		report.findings.push(errorFinding(error));
		return report;
	}
	const versions = new Map<string, Promise<string[]>>();
	for (const a of attachments) {
		const plugins = await planList(
			inv.executor,
			a.list,
			inv.runtimeConf(a),
			a.network,
			input,
			versions,
			report.findings,
			inv.addFailure(a),
		);
		report.attachments.push({
			network: a.network,
			nad: a.nad === undefined ? null : qualifiedName(a.nad),
			ifname: a.ifname,
			isClusterNetwork: a.isClusterNetwork,
			origin: a.origin,
			cniVersion: a.list.cniVersion,
			config: Buffer.from(a.list.bytes).toString('utf8'),
			plugins,
			defaultRoute: a.defaultRoute ?? null,
			...(a.device === undefined ? {} : {device: {...a.device}}),
		});
	}
	report.findings.push(...duplicateAddresses(report.attachments));
	return report;
}

/** Dry-runs one network list (a bare conflist or conf) with the built-ins in-process, as a delegate chain of the meta-plugin runs. */
export async function dryRunNetwork(input: NetworkDryRun): Promise<DryRunReport> {
	const report: DryRunReport = {
		schemaVersion: DRY_RUN_SCHEMA_VERSION,
		mode: 'network',
		pod: null,
		attachments: [],
		findings: [],
		simulation: null,
		execution: null,
	};
	const executor = new ChainExecutor({
		path: input.path,
		exec: new BuiltinPluginExec(input.exec, await networkBuiltins(input)),
		env: input.env,
	});
	const plugins = await planList(
		executor,
		input.list,
		networkRuntimeConf(input),
		input.list.name,
		input,
		new Map(),
		report.findings,
		undefined,
	);
	report.attachments.push({
		network: input.list.name,
		nad: null,
		ifname: input.ifname,
		isClusterNetwork: false,
		origin: 'file',
		cniVersion: input.list.cniVersion,
		config: Buffer.from(input.list.bytes).toString('utf8'),
		plugins,
		defaultRoute: null,
	});
	return report;
}

/** True when a report has findings at error severity. */
export function hasErrors(report: DryRunReport): boolean {
	return report.findings.some((f) => f.severity === 'error');
}
