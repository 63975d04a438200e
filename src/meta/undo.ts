/**
 * DEL undoes what ran, and only that. Each cached attachment lists the plugins whose ADD started
 * (./cache.ts, written before each one runs); ADD's rollback and DEL run the DEL of exactly those,
 * in reverse, and leave the others alone: a plugin that could not be found or whose config could
 * not run never started, so its DEL (which would fail the same way, forever) is not attempted.
 *
 * Per plugin, in reverse order:
 * - DEL done: no longer to undo.
 * - not a valid plugin name, or it answers code 1 (it does not run this cniVersion): it cannot
 *   have done anything with this config; skipped with a warning.
 * - binary not installed any more, though it ran: kept to undo, reported with what to do, and
 *   the other plugins are still undone (nothing it created can be removed without it).
 * - its DEL failed: kept to undo with every plugin before it in the chain (libcni stops a chain's
 *   DEL at the first failure: earlier plugins may depend on it being gone), the next attachment
 *   is still undone.
 *
 * A record written before Plexus kept the `started` lists says nothing about which plugins ran.
 * Then an attachment with a cached libcni result completed its ADD (all its plugins ran); one
 * without may have stopped anywhere, so a plugin not found is taken as one that never ran, and an
 * attachment whose name, container ID or interface name libcni refuses never ran at all.
 */
import type {AttachmentKey} from '../chain/cache.ts';
import {type ChainExecutor, type RuntimeConf, validateNames} from '../chain/executor.ts';
import {type NetworkList, parseNetworkList} from '../chain/network-list.ts';
import {CniError, CniErrorCode, toCniError} from '../cni/errors.ts';
import type {CniResult} from '../cni/result.ts';
import {versionAtLeast} from '../cni/versions.ts';
import {rm} from '../fs/promises.ts';
import {log} from '../log.ts';
import type {CachedAttachment} from './cache.ts';
import {DEVICE_INFO_CAPABILITY} from './resolve/attachment.ts';

/** What undoing a set of attachments left. */
export interface UndoOutcome {
	/** Attachments with plugins still to undo (`started` narrowed to them); empty when all is undone. */
	remaining: CachedAttachment[];
	/** One error per attachment that could not be undone completely. */
	errors: CniError[];
}

/** How much is known about which plugins of an attachment ran. */
type Knowledge = 'recorded' | 'completed' | 'unknown';

/** The operator's way out when a plugin that ran cannot be undone. */
function cleanupHint(containerId: string): string {
	return `plexus cleanup ${containerId}`;
}

/** The cached result to give as `prevResult` (≥ 0.4.0); an unusable file is removed, as libcni does. */
async function prevResultOf(
	executor: ChainExecutor,
	list: NetworkList,
	key: AttachmentKey,
): Promise<CniResult | undefined> {
	if (!versionAtLeast(list.cniVersion, '0.4.0')) return undefined;
	try {
		return await executor.cache.getResult(key, list.cniVersion);
	} catch {
		await executor.cache.remove(key);
		return undefined;
	}
}

/** Why libcni would never have run this attachment (a name it refuses), or undefined. */
function neverRunnable(list: NetworkList, rt: RuntimeConf): string | undefined {
	try {
		validateNames(list, rt);
		return undefined;
	} catch (error) {
		return toCniError(error).message;
	}
}

/**
 * DELs plugins `indices` of `list` in reverse (./undo.ts's rules per outcome); returns those still
 * to undo, the "not installed any more" causes and the failure that stopped the chain, if any.
 */
async function undoPlugins(
	executor: ChainExecutor,
	list: NetworkList,
	rt: RuntimeConf,
	indices: readonly number[],
	options: {missingNeverRan: boolean; skip: (type: string, reason: string) => void},
): Promise<{left: Set<number>; missing: string[]; failure: CniError | undefined}> {
	const key: AttachmentKey = {networkName: list.name, containerId: rt.containerId, ifname: rt.ifname};
	const toUndo = [...new Set(indices)].filter((i) => i < list.plugins.length).sort((x, y) => y - x);
	const left = new Set(toUndo);
	const missing: string[] = [];
	const prevResult = toUndo.length === 0 ? undefined : await prevResultOf(executor, list, key);
	for (const index of toUndo) {
		const plugin = list.plugins[index]!;
		const step = await executor.delPlugin(list, plugin, rt, prevResult);
		if (step.outcome === 'failed') return {left, missing, failure: step.error};
		if (step.outcome === 'missing' && !options.missingNeverRan) {
			missing.push(
				`plugin "${plugin.type}" ran at ADD but is not installed any more (${step.error.message})`,
			);
			continue;
		}
		if (step.outcome !== 'done') options.skip(plugin.type, step.error.message);
		left.delete(index);
	}
	return {left, missing, failure: undefined};
}

/**
 * Undoes one attachment's plugins; returns the attachment narrowed to the plugins still to undo
 * (undefined when none are) and, then, the error saying why.
 */
async function undoAttachment(
	executor: ChainExecutor,
	a: CachedAttachment,
	rt: RuntimeConf,
): Promise<UndoStep> {
	const what = `network "${a.network}" (interface "${a.ifname}")`;
	let list: NetworkList;
	try {
		list = parseNetworkList(a.config, a.network);
	} catch (error) {
		const cause = toCniError(error);
		return {keep: a, error: new CniError(cause.code, `failed to delete ${what}: ${cause.message}`, {cause})};
	}
	const key: AttachmentKey = {networkName: list.name, containerId: rt.containerId, ifname: rt.ifname};
	const knowledge: Knowledge =
		a.started !== undefined ? 'recorded' : (await executor.cache.has(key)) ? 'completed' : 'unknown';
	const skip = (type: string, reason: string) =>
		log('warning', 'not undoing a plugin that never ran', {
			network: a.network,
			ifname: a.ifname,
			type,
			reason,
		});
	const never = knowledge === 'unknown' ? neverRunnable(list, rt) : undefined;
	if (never !== undefined) {
		skip('*', never);
		return {keep: undefined, error: undefined};
	}
	const indices = a.started ?? list.plugins.map((_, i) => i);
	const {left, missing, failure} = await undoPlugins(executor, list, rt, indices, {
		missingNeverRan: knowledge === 'unknown',
		skip,
	});
	if (left.size === 0) {
		await executor.cache.remove(key);
		// device-info spec §4.2.1: the attachment's device file goes with it.
		const deviceInfo = a.capabilityArgs[DEVICE_INFO_CAPABILITY];
		if (typeof deviceInfo === 'string') await rm(deviceInfo, {force: true});
		return {keep: undefined, error: undefined};
	}
	const causes = [...missing, ...(failure === undefined ? [] : [failure.message])];
	const fix =
		missing.length === 0
			? ''
			: `; install it again (binDir or CNI_PATH) and the retried DEL undoes it, or, once what it created is gone, drop it with: ${cleanupHint(rt.containerId)}`;
	return {
		keep: {...a, started: [...left].sort((x, y) => x - y)},
		error: new CniError(
			failure?.code ?? CniErrorCode.invalidConfig,
			`failed to delete ${what}: ${causes.join('; ')}${fix}`,
			failure === undefined ? {} : {cause: failure},
		),
	};
}

/** What one attachment's undo left: the attachment narrowed to what is still to undo, and why. */
export type UndoStep = {keep: CachedAttachment | undefined; error: CniError | undefined};

/** Runs one attachment's undo (`run`) in a scope, e.g. src/meta/scope.ts's for logs and traces. */
export type AroundUndo = (a: CachedAttachment, run: () => Promise<UndoStep>) => Promise<UndoStep>;

/**
 * Undoes `attachments` in reverse order (each with its RuntimeConf from `rtOf`), going on after
 * failures; returns what is left to undo and why.
 */
export async function undoAttachments(
	executor: ChainExecutor,
	attachments: readonly CachedAttachment[],
	rtOf: (a: CachedAttachment) => RuntimeConf,
	around: AroundUndo = (_a, run) => run(),
): Promise<UndoOutcome> {
	const remaining: CachedAttachment[] = [];
	const errors: CniError[] = [];
	for (const a of [...attachments].reverse()) {
		const {keep, error} = await around(a, () => undoAttachment(executor, a, rtOf(a)));
		if (error !== undefined) errors.push(error);
		if (keep !== undefined) remaining.unshift(keep);
	}
	return {remaining, errors};
}
