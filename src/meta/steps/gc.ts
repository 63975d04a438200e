/**
 * GC of the meta-plugin: pods not in `cni.dev/valid-attachments` are DEL'd from their plexus
 * cache (alongside no DEL of the same container), pods Multus ADDed likewise, then libcni GC of
 * every network with a cached result.
 */
import {CniError, CniErrorCode, toCniError} from '../../cni/errors.ts';
import {log} from '../../log.ts';
import {gcMultusEra} from '../../multus/legacy.ts';
import {cachedNetworkList} from '../../multus/multus-cache.ts';
import type {PodCacheEntry} from '../cache.ts';
import {aggregate, type Invocation} from '../invocation.ts';
import {netnsForDel} from '../netns-guard.ts';
import type {MetaPorts} from '../ports.ts';

/** Runs `fn` serialised with every other verb of `containerId` (./plugin.ts's serialiser). */
export type Serialise = <T>(containerId: string, fn: () => Promise<T>) => Promise<T>;

type GcAttachment = {containerID: string; ifname: string};

/** DELs a stale pod from its cache record, re-read under the container's lock; returns the failures. */
async function collectStale(inv: Invocation, ports: MetaPorts, listed: PodCacheEntry): Promise<CniError[]> {
	const again = await inv.cache.read(listed.containerId, listed.ifname);
	if (again.state !== 'ok') return [];
	const entry = again.entry;
	const undone = await inv.undo(entry.attachments, {
		containerId: entry.containerId,
		netns: netnsForDel(entry.netns, ports.probeNetns),
		pairs: entry.cniArgs,
	});
	const reason = undone.errors.map((e) => e.message).join('; ');
	await inv.settle(entry, undone, `garbage collection: ${reason}`);
	return undone.errors;
}

/** The plexus cache pass: stale pods DEL'd; returns the attachments still valid. */
async function gcPlexusCache(
	inv: Invocation,
	ports: MetaPorts,
	serialise: Serialise,
	errors: CniError[],
): Promise<GcAttachment[]> {
	const valid = new Set((inv.conf.validAttachments ?? []).map((a) => `${a.containerID}\u0000${a.ifname}`));
	// Every attachment of a valid container is valid, whatever its interface name.
	const stillValid: GcAttachment[] = [];
	for (const {file, read} of await inv.cache.list()) {
		if (read.state === 'corrupt')
			log('warning', 'skipping a corrupt plexus cache file in GC', {file, reason: read.reason});
		if (read.state === 'unsupported')
			errors.push(new CniError(CniErrorCode.incompatibleVersion, `plexus cache "${file}": ${read.reason}`));
		if (read.state !== 'ok') continue;
		const listed = read.entry;
		if (valid.has(`${listed.containerId}\u0000${listed.ifname}`)) {
			for (const a of listed.attachments)
				stillValid.push({containerID: listed.containerId, ifname: a.ifname});
			continue;
		}
		// Not alongside a DEL of the same container (spec §7.3); what that DEL removed is done.
		errors.push(...(await serialise(listed.containerId, () => collectStale(inv, ports, listed))));
	}
	return stillValid;
}

/**
 * Runs GC.
 *
 * @throws CniError aggregating every failure (the first one's code); GC goes on after each.
 */
export async function gcPods(inv: Invocation, ports: MetaPorts, serialise: Serialise): Promise<void> {
	await ports.ready(inv.conf, true);
	const errors: CniError[] = [];
	const stillValid = await gcPlexusCache(inv, ports, serialise, errors);
	// Pods Multus ADDed: stale ones DEL'd, the results of live ones kept.
	const multus = await gcMultusEra(inv, new Set((inv.conf.validAttachments ?? []).map((a) => a.containerID)));
	errors.push(...multus.errors);
	stillValid.push(...multus.stillValid);
	// Then libcni GC of every network with a cached result: stale results DEL'd, GC sent to plugins.
	const networks = new Map<string, Uint8Array>();
	for (const cached of await inv.executor.cache.list()) networks.set(cached.networkName, cached.config);
	for (const [name, config] of networks) {
		try {
			// A single conf is what libcni caches for Multus' single-conf delegates.
			await inv.executor.gcNetworkList(cachedNetworkList(config, name), {validAttachments: stillValid});
		} catch (error) {
			errors.push(toCniError(error));
		}
	}
	if (errors.length > 0) throw aggregate('garbage collection failed', errors);
}
