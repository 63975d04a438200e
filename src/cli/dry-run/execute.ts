/**
 * `plexus dry-run --execute`: really runs the ADD in a network namespace, by default one it
 * creates for the run (`plexus-dryrun-<hex>` in /var/run/netns, `lo` up, as a runtime's sandbox)
 * and always deletes afterwards, or one the operator made (`--netns <path>`, which must hold only
 * `lo`). It shows each delegate's stdin, stdout, stderr and duration and the netns afterwards, then
 * DELs everything in reverse and checks that nothing is left: no link or address in the netns but
 * `lo`, no new host link the run owns (named by a result, or enslaved to a configured bridge;
 * a bridge a plugin created is "kept": CNI never deletes it), no result or attachment cache file,
 * no host-local IP reservation, and no throwaway netns. Every step goes through the code ADD and DEL run (Invocation, resolve, the executor,
 * delAttachments); the caches go to a temp dir that is removed, the pod's API objects are never
 * written.
 */

import {randomBytes} from 'node:crypto';
import {mkdtemp, readdir, readFile, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {basename, dirname, join} from 'node:path';
import {createBuiltins} from '../../../delegates/index.ts';
import {BuiltinPluginExec, ipamExecOf} from '../../chain/builtin-exec.ts';
import {ChainExecutor} from '../../chain/executor.ts';
import type {NetworkList} from '../../chain/network-list.ts';
import {type PluginExec, ProcessPluginExec} from '../../chain/plugin-exec.ts';
import {type ExecRecord, RecordingPluginExec} from '../../chain/recording-exec.ts';
import {CniError, CniErrorCode, toCniError} from '../../cni/errors.ts';
import {type CniResult, convertResult} from '../../cni/result.ts';
import {Invocation, toCached} from '../../meta/invocation.ts';
import {openNetlink} from '../../netlink/kernel.ts';
import {createNetns, deleteNetns, NETNS_RUN_DIR, netnsExists, netnsPathOf} from '../../netlink/netns.ts';
import {configuredBridges, hostLinks, newHostLinks} from './host-links.ts';
import type {ChainRun, Finding, NetworkDryRun, PodDryRun} from './plan.ts';
import {attachmentRun, networkRun, podAddRequestCachedIn} from './plan.ts';
import {type NetView, viewOf} from './simulate.ts';

/** One delegate run (ADD or DEL) on the real kernel. */
export interface ExecutedStep {
	command: 'ADD' | 'DEL';
	network: string;
	ifname: string;
	type: string;
	runsAs: 'builtin' | 'binary';
	/** The binary's path (binaries only). */
	path: string | null;
	stdin: string;
	stdout: string;
	stderr: string;
	durationMs: number;
	error: string | null;
}

export interface Execution {
	netns: string;
	/** The netns was made for the run (and deleted after it), not given with --netns. */
	netnsCreated: boolean;
	containerId: string;
	steps: ExecutedStep[];
	/** The netns after ADD (null when nothing was added). */
	view: NetView | null;
	/** What DEL left behind; empty when the netns, host and caches are as before. */
	leftovers: string[];
	/** Host bridges the plugins created, which CNI never deletes (not a leak). */
	kept: string[];
	findings: Finding[];
}

interface Context {
	network: string;
	ifname: string;
}

/** The step of one ADD or DEL run through the seam (undefined for other verbs). */
function stepOf(run: ExecRecord, current: Context, stderr: Uint8Array | undefined): ExecutedStep | undefined {
	const {command} = run;
	if (command !== 'ADD' && command !== 'DEL') return undefined;
	return {
		command,
		...current,
		type: run.type,
		runsAs: run.builtin ? 'builtin' : 'binary',
		path: run.builtin ? null : run.request.pluginPath,
		stdin: Buffer.from(run.request.stdin).toString('utf8'),
		stdout: Buffer.from(run.stdout).toString('utf8'),
		stderr: Buffer.from(stderr ?? new Uint8Array()).toString('utf8'),
		durationMs: Math.round(run.durationMs),
		error: run.error?.message ?? null,
	};
}

/** Files under `dir`, recursively (the caches DEL must have emptied). */
async function filesUnder(dir: string): Promise<string[]> {
	const out: string[] = [];
	let entries: import('node:fs').Dirent[];
	try {
		entries = await readdir(dir, {withFileTypes: true});
	} catch {
		return out;
	}
	for (const e of entries) {
		const path = join(dir, e.name);
		if (e.isDirectory()) out.push(...(await filesUnder(path)));
		else out.push(path);
	}
	return out;
}

/** host-local reservations of `containerId` left for the lists' networks. */
async function reservations(lists: readonly NetworkList[], containerId: string): Promise<string[]> {
	const found: string[] = [];
	for (const list of lists) {
		for (const plugin of list.plugins) {
			const ipam = plugin.raw['ipam'];
			if (typeof ipam !== 'object' || ipam === null) continue;
			const conf = ipam as Record<string, unknown>;
			if (conf['type'] !== 'host-local') continue;
			const dataDir = typeof conf['dataDir'] === 'string' ? conf['dataDir'] : '/var/lib/cni/networks';
			for (const file of await filesUnder(join(dataDir, list.name))) {
				const text = await readFile(file, 'utf8').catch(() => '');
				if (text.split(/\r?\n/)[0]?.trim() === containerId)
					found.push(`host-local reservation "${file}" of network "${list.name}"`);
			}
		}
	}
	return found;
}

/** Refuses a netns that is not empty (only `lo`): DEL could not tell ours from what was there. */
export function assertEmptyNetns(netns: string): void {
	const view = viewOf(openNetlink, netns);
	const others = view.links.filter((l) => l.name !== 'lo').map((l) => l.name);
	if (others.length > 0)
		throw new Error(`netns "${netns}" is not empty (${others.join(', ')}); --execute needs a fresh one`);
}

interface Runner {
	add(item: ChainRun): Promise<CniResult>;
	/** DELs the attempted items in reverse; returns the failures. */
	del(items: readonly ChainRun[]): Promise<CniError[]>;
}

/** What one run records into: every delegate run, the chain running now, and the temp result cache. */
interface Recording {
	readonly cacheDir: string;
	readonly steps: ExecutedStep[];
	readonly current: Context;
	/** Finds and runs binaries (each one's stderr kept for its step). */
	readonly binaries: PluginExec;
	/** `exec` with every ADD and DEL run through it (built-ins and binaries) recorded as a step. */
	record(exec: PluginExec): PluginExec;
}

/** Runs `fn` with a fresh recording; its result cache is a temp dir removed afterwards. */
async function withRecording(fn: (recording: Recording) => Promise<Execution>): Promise<Execution> {
	const cacheDir = await mkdtemp(join(tmpdir(), 'plexus-execute-'));
	try {
		const steps: ExecutedStep[] = [];
		const current: Context = {network: '', ifname: ''};
		const stderr = new Map<string, Uint8Array>();
		const binaries = new ProcessPluginExec({busyRetries: 0, onStderr: (path, err) => stderr.set(path, err)});
		const record = (exec: PluginExec) =>
			new RecordingPluginExec(exec, (run) => {
				const step = stepOf(run, current, stderr.get(run.request.pluginPath));
				stderr.delete(run.request.pluginPath);
				if (step !== undefined) steps.push(step);
			});
		return await fn({cacheDir, steps, current, binaries, record});
	} finally {
		await rm(cacheDir, {recursive: true, force: true});
	}
}

async function run(
	netns: string,
	containerId: string,
	{cacheDir, steps, current}: Recording,
	items: ChainRun[],
	runner: Runner,
): Promise<Execution> {
	const findings: Finding[] = [];
	const before = hostLinks();
	const attempted: ChainRun[] = [];
	// Host-side links the ADD results name (veth ends, bridges); only new ones must go with DEL.
	const hostSide = new Set<string>();
	for (const item of items) {
		current.network = item.network;
		current.ifname = item.rt.ifname;
		attempted.push(item);
		try {
			const result = convertResult(await runner.add(item), '1.1.0') as {
				interfaces?: {name?: string; sandbox?: string}[];
			};
			for (const i of result.interfaces ?? [])
				if (i.name !== undefined && (i.sandbox ?? '') === '') hostSide.add(i.name);
		} catch (error) {
			const cause = toCniError(error);
			const message = item.prefix === undefined ? cause.message : `${item.prefix}: ${cause.message}`;
			findings.push({severity: 'error', message, network: item.network, source: 'execute'});
			break;
		}
	}
	const view = viewOf(openNetlink, netns);
	for (const error of await runner.del(attempted)) {
		findings.push({severity: 'error', message: error.message, source: 'execute'});
	}
	const leftovers: string[] = [];
	const after = viewOf(openNetlink, netns);
	for (const l of after.links) if (l.name !== 'lo') leftovers.push(`link "${l.name}" in the netns`);
	for (const a of after.addresses)
		if (a.dev !== 'lo') leftovers.push(`address ${a.cidr} on "${a.dev}" in the netns`);
	const bridges = configuredBridges(attempted.map((i) => i.list));
	const host = newHostLinks(before, hostLinks(), hostSide, bridges);
	leftovers.push(...host.left);
	for (const file of await filesUnder(cacheDir)) leftovers.push(`cache file "${file}"`);
	leftovers.push(
		...(await reservations(
			attempted.map((i) => i.list),
			containerId,
		)),
	);
	for (const what of leftovers)
		findings.push({severity: 'error', message: `DEL left ${what} behind`, source: 'execute'});
	return {netns, netnsCreated: false, containerId, steps, view, leftovers, kept: host.kept, findings};
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

function runPod(input: PodDryRun): Promise<Execution> {
	return withRecording(async (recording) => {
		const inv = await Invocation.open(podAddRequestCachedIn(input, recording.cacheDir), {
			exec: recording.binaries,
			wrapExec: recording.record,
		});
		const attachments = await inv.resolve(input.pod, input.kube);
		const byItem = new Map<ChainRun, (typeof attachments)[number]>();
		const items = attachments.map((a) => {
			const item = attachmentRun(inv, a);
			byItem.set(item, a);
			return item;
		});
		return run(input.netns, input.containerId, recording, items, {
			add: (item) => inv.executor.addNetworkList(item.list, item.rt),
			del: async (done) => {
				recording.current.network = '';
				recording.current.ifname = '';
				return inv.delAttachments(done.map((item) => toCached(byItem.get(item)!)));
			},
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
		return run(input.netns, input.containerId, recording, [networkRun(input)], {
			add: (i) => executor.addNetworkList(i.list, i.rt),
			del: async (done) => {
				const errors: CniError[] = [];
				for (const i of [...done].reverse()) {
					try {
						await executor.delNetworkList(i.list, i.rt);
					} catch (error) {
						errors.push(toCniError(error));
					}
				}
				return errors;
			},
		});
	});
}
