/**
 * `plexus dry-run --execute`: really runs the ADD in a network namespace, by default one it
 * creates for the run (`plexus-dryrun-<hex>` in /var/run/netns, `lo` up, as a runtime's sandbox)
 * and always deletes afterwards, or one the operator made (`--netns <path>`, which must hold only
 * `lo`). It shows each delegate's stdin, stdout, stderr and duration and the netns afterwards, then
 * DELs everything in reverse and checks that nothing is left: no link or address in the netns but
 * `lo`, no new host link the run owns (named by a result, or enslaved to a configured bridge;
 * a bridge a plugin created is "kept": CNI never deletes it), no result or attachment cache file,
 * no host-local IP reservation, and no throwaway netns. A pod's ADD and DEL are the meta-plugin's
 * own steps (src/meta/steps/: resolve, cache, each attachment, default route, device info,
 * network-status) over dry-run's ports (./ports.ts); the caches go to a temp dir that is removed,
 * the pod's API objects are never written (network-status is shown instead).
 */

import {randomBytes} from 'node:crypto';
import {basename, dirname, join} from 'node:path';
import {createBuiltins} from '../../../delegates/index.ts';
import {BuiltinPluginExec, ipamExecOf} from '../../chain/builtin-exec.ts';
import {ChainExecutor} from '../../chain/executor.ts';
import {CniError, CniErrorCode, toCniError} from '../../cni/errors.ts';
import {defaultBuiltins} from '../../meta/deps.ts';
import {nodeDeviceInfoFiles} from '../../meta/device-info.ts';
import {Invocation} from '../../meta/invocation.ts';
import {addPod, RolledBackError} from '../../meta/steps/add.ts';
import {delPod} from '../../meta/steps/del.ts';
import {openNetlink} from '../../netlink/kernel.ts';
import {
	createNetns,
	deleteNetns,
	NETNS_RUN_DIR,
	netnsExists,
	netnsKind,
	netnsPathOf,
} from '../../netlink/netns.ts';
import {configuredBridges, hostLinks, newHostLinks} from './host-links.ts';
import {filesUnder, hostSideOf, ranConfigs, reservations} from './leftovers.ts';
import {networkRun, podAddRequestCachedIn} from './plan.ts';
import {dryRunPorts, RecordingKube} from './ports.ts';
import {type Recording, withRecording} from './recording.ts';
import {viewOf} from './simulate.ts';
import type {Execution, Finding, NetworkDryRun, PodDryRun} from './types.ts';

/** Refuses a netns that is not empty (only `lo`): DEL could not tell ours from what was there. */
export function assertEmptyNetns(netns: string): void {
	const view = viewOf(openNetlink, netns);
	const others = view.links.filter((l) => l.name !== 'lo').map((l) => l.name);
	if (others.length > 0)
		throw new Error(`netns "${netns}" is not empty (${others.join(', ')}); --execute needs a fresh one`);
}

/** How one mode runs: its ADD (findings when it failed) and the DEL after it (its failures). */
interface Runner {
	add(): Promise<{ok: boolean; findings: Finding[]}>;
	del(addOk: boolean): Promise<CniError[]>;
	/** The network-status ADD would have written. */
	networkStatus: () => unknown[] | null;
}

async function run(
	netns: string,
	containerId: string,
	recording: Recording,
	runner: Runner,
): Promise<Execution> {
	const {cacheDir, steps} = recording;
	const before = hostLinks();
	const added = await runner.add();
	const findings: Finding[] = [...added.findings];
	const view = viewOf(openNetlink, netns);
	for (const error of await runner.del(added.ok)) {
		findings.push({severity: 'error', message: error.message, source: 'execute'});
	}
	const leftovers: string[] = [];
	const after = viewOf(openNetlink, netns);
	for (const l of after.links) if (l.name !== 'lo') leftovers.push(`link "${l.name}" in the netns`);
	for (const a of after.addresses)
		if (a.dev !== 'lo') leftovers.push(`address ${a.cidr} on "${a.dev}" in the netns`);
	const ran = ranConfigs(steps);
	const host = newHostLinks(before, hostLinks(), hostSideOf(steps), configuredBridges(ran));
	leftovers.push(...host.left);
	const records = join(cacheDir, 'plexus');
	for (const file of await filesUnder(cacheDir))
		leftovers.push(
			dirname(file) === records
				? `plexus cache record "${file}" (what DEL could not undo, kept for the runtime's retried DEL)`
				: `cache file "${file}"`,
		);
	leftovers.push(...(await reservations(ran, containerId)));
	for (const what of leftovers)
		findings.push({severity: 'error', message: `DEL left ${what} behind`, source: 'execute'});
	const networkStatus = runner.networkStatus();
	return {
		netns,
		netnsCreated: false,
		containerId,
		steps,
		view,
		networkStatus,
		leftovers,
		kept: host.kept,
		findings,
	};
}

/** A fresh path for a throwaway netns: /var/run/netns/plexus-dryrun-<hex>. */
export function throwawayNetnsPath(): string {
	return netnsPathOf(`plexus-dryrun-${randomBytes(4).toString('hex')}`);
}

/** How `--execute` gets its netns. */
export interface ExecuteOptions {
	/** Create the input's netns (a path in /var/run/netns) for the run, and delete it after. */
	createNetns?: boolean;
}

/**
 * Runs `execute` in `netns`: as it is (after checking it holds only `lo`), or, with createNetns,
 * in a netns made at that path (`lo` up) that is deleted afterwards whatever happens. A netns that
 * cannot be made is the run's only finding; one still there after the delete is a leftover.
 */
export async function inNetns(
	netns: string,
	containerId: string,
	options: ExecuteOptions,
	execute: () => Promise<Execution>,
): Promise<Execution> {
	if (options.createNetns !== true) {
		assertEmptyNetns(netns);
		return execute();
	}
	try {
		if (dirname(netns) !== NETNS_RUN_DIR)
			throw new CniError(
				CniErrorCode.invalidNetns,
				`failed to create netns ${JSON.stringify(netns)}: a throwaway netns must be in ${NETNS_RUN_DIR}`,
			);
		createNetns(basename(netns));
	} catch (error) {
		const message = toCniError(error).message;
		return {
			netns,
			netnsCreated: false,
			containerId,
			steps: [],
			view: null,
			networkStatus: null,
			leftovers: [],
			kept: [],
			findings: [{severity: 'error', message, source: 'execute'}],
		};
	}
	let execution: Execution | undefined;
	try {
		const nl = openNetlink(netns);
		try {
			nl.setLink('lo', {up: true});
		} finally {
			nl.close();
		}
		execution = await execute();
		execution.netnsCreated = true;
		return execution;
	} finally {
		let failure: string | undefined;
		try {
			deleteNetns(netns);
		} catch (error) {
			failure = toCniError(error).message;
		}
		if (execution !== undefined && failure !== undefined)
			execution.findings.push({severity: 'error', message: failure, source: 'execute'});
		if (execution !== undefined && netnsExists(netns)) {
			execution.leftovers.push(`netns "${netns}"`);
			execution.findings.push({
				severity: 'error',
				message: `DEL left netns "${netns}" behind`,
				source: 'execute',
			});
		}
	}
}

/** Executes the pod's ADD and DEL in `input.netns` (made for the run with options.createNetns). */
export function executePod(input: PodDryRun, options: ExecuteOptions = {}): Promise<Execution> {
	return inNetns(input.netns, input.containerId, options, () => runPod(input));
}

/** ADD's failure as findings: its message, then each failure of its rollback (ADD's own DEL). */
function addFindings(error: unknown): Finding[] {
	const cause = toCniError(error);
	if (!(error instanceof RolledBackError))
		return [{severity: 'error', message: cause.message, source: 'execute'}];
	return [
		{severity: 'error', message: cause.message, network: error.network, source: 'execute'},
		...error.rollbackErrors.map((e): Finding => ({severity: 'error', message: e.message, source: 'execute'})),
	];
}

/**
 * The pod's ADD through the meta-plugin's own steps (src/meta/steps/), then, when it succeeded,
 * its DEL; a failed ADD already undid everything it ran (its rollback is the DEL).
 */
function runPod(input: PodDryRun): Promise<Execution> {
	return withRecording(async (recording) => {
		const kube = new RecordingKube(input.kube, input.pod);
		const ports = dryRunPorts({
			kube,
			exec: recording.binaries,
			inProcess: (conf, e) => defaultBuiltins(conf, e ?? recording.binaries),
			wrapExec: (exec) => recording.record(exec),
			netlink: openNetlink,
			files: nodeDeviceInfoFiles,
			probeNetns: netnsKind,
		});
		const inv = await Invocation.open(podAddRequestCachedIn(input, recording.cacheDir), ports);
		return run(input.netns, input.containerId, recording, {
			add: async () => {
				try {
					await addPod(inv, ports);
					return {ok: true, findings: []};
				} catch (error) {
					return {ok: false, findings: addFindings(error)};
				}
			},
			del: async (addOk) => {
				if (!addOk) return [];
				try {
					await delPod(inv, ports);
					return [];
				} catch (error) {
					return [toCniError(error)];
				}
			},
			networkStatus: () => kube.networkStatus,
		});
	});
}

/** Executes one network list's ADD and DEL in `input.netns` (made for the run with options.createNetns). */
export function executeNetwork(input: NetworkDryRun, options: ExecuteOptions = {}): Promise<Execution> {
	return inNetns(input.netns, input.containerId, options, () => runNetwork(input));
}

function runNetwork(input: NetworkDryRun): Promise<Execution> {
	return withRecording((recording) => {
		const {binaries} = recording;
		const ipam = ipamExecOf(binaries, () => exec);
		const exec = recording.record(new BuiltinPluginExec(binaries, createBuiltins({openNetlink, exec: ipam})));
		const executor = new ChainExecutor({
			path: input.path,
			exec,
			env: input.env,
			cacheDir: recording.cacheDir,
		});
		const item = networkRun(input);
		return run(input.netns, input.containerId, recording, {
			add: async () => {
				recording.current.network = item.network;
				recording.current.ifname = item.rt.ifname;
				try {
					await executor.addNetworkList(item.list, item.rt);
					return {ok: true, findings: []};
				} catch (error) {
					const message = toCniError(error).message;
					return {
						ok: false,
						findings: [{severity: 'error', message, network: item.network, source: 'execute'}],
					};
				}
			},
			// A bare list has no rollback: its DEL runs after a failed ADD too.
			del: async () => {
				recording.current.network = '';
				recording.current.ifname = '';
				try {
					await executor.delNetworkList(item.list, item.rt);
					return [];
				} catch (error) {
					return [toCniError(error)];
				}
			},
			networkStatus: () => null,
		});
	});
}
