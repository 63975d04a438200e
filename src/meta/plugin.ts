/**
 * The `plexus` meta-plugin: the primary CNI plugin kubelet's runtime calls for every pod. ADD
 * resolves the pod's attachments (src/k8s/resolve.ts), persists them (./cache.ts), runs each as its
 * own libcni network list, rolls everything back on failure, publishes network-status and returns
 * the cluster network's result. DEL replays the persisted configs, offline. CHECK, STATUS and GC
 * cover every attachment, not only the cluster network (reference §1.11).
 */
import type {AddProgress} from '../chain/executor.ts';
import {parseNetworkList} from '../chain/network-list.ts';
import {CniError, CniErrorCode, toCniError} from '../cni/errors.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import {type CniResult, convertResult} from '../cni/result.ts';
import {SUPPORTED_VERSIONS, versionAtLeast} from '../cni/versions.ts';
import {NETWORK_STATUS_ANNOTATION} from '../k8s/annotations.ts';
import type {KubeClient, Pod} from '../k8s/client.ts';
import {type AttachmentOutcome, formatNetworkStatus} from '../k8s/network-status.ts';
import {log} from '../log.ts';
import {checkMultusEra, delMultusEra, gcMultusEra} from '../multus/legacy.ts';
import {cachedNetworkList} from '../multus/multus-cache.ts';
import type {PlexusCache, PodCacheEntry} from './cache.ts';
import {
	defaultKube,
	defaultOpenNetlink,
	type PlexusDeps,
	READINESS_POLL_MS,
	READINESS_TIMEOUT_MS,
	waitReadiness,
} from './deps.ts';
import {
	aggregate,
	Invocation,
	ipsOf,
	isStaticPod,
	postEvent,
	prepareDeviceInfo,
	readDeviceInfo,
	toCached,
} from './invocation.ts';
import {delRequest, netnsForDel, probeNetnsIn, requireNetns} from './netns-guard.ts';
import {type Attachment, resolveConfClusterNetwork} from './resolve/resolve.ts';
import {inAttachmentOf} from './scope.ts';
import {PerKeySerializer} from './serial.ts';
import {delWithUnusableConf} from './unusable-conf.ts';

export type {PlexusDeps} from './deps.ts';

/**
 * The ADD progress of attachment `i`: each plugin joins its `started` list, persisted before it
 * runs; one that refused the cniVersion (code 1) leaves it again; both that and one that cannot
 * run at all are logged as warnings (their DEL is skipped).
 */
function progressOf(cache: PlexusCache, entry: PodCacheEntry, i: number): AddProgress {
	return {
		starting: async (index) => {
			const a = entry.attachments[i]!;
			a.started = [...(a.started ?? []), index];
			await cache.write(entry);
		},
		refused: async (index) => {
			const a = entry.attachments[i]!;
			a.started = (a.started ?? []).filter((n) => n !== index);
			log('warning', 'a plugin refused the cniVersion: it did not run, its DEL will be skipped', {
				network: a.network,
				ifname: a.ifname,
				plugin: index,
			});
			await cache.write(entry);
		},
		unrunnable: (index, error) => {
			const a = entry.attachments[i]!;
			log('warning', 'a plugin cannot run: it never started, its DEL will be skipped', {
				network: a.network,
				ifname: a.ifname,
				plugin: index,
				error: error.message,
			});
		},
	};
}

/**
 * DEL of a pod's attachments: undoes what ran; on failure keeps only what is left (with the
 * reason) for the runtime's retry, and fails with every cause.
 */
async function undoOrFail(inv: Invocation, entry: PodCacheEntry): Promise<void> {
	const undone = await inv.undo(entry.attachments);
	if (undone.errors.length === 0) {
		await inv.cache.remove(entry.containerId, entry.ifname);
		return;
	}
	const error = aggregate(`failed to delete ${inv.pod}`, undone.errors);
	await inv.settle(entry, undone, error.message);
	throw error;
}

/** Creates the meta-plugin. */
export function createPlexusPlugin(deps: PlexusDeps = {}): CniPlugin {
	// ADD, DEL, CHECK and GC's DEL of one container never overlap (spec v1.3 §7.3), e.g. in the daemon.
	const serial = new PerKeySerializer();
	const kubeFor = deps.kube ?? defaultKube;
	const probeNetns = deps.probeNetns ?? probeNetnsIn(deps.hostRoot);
	const ready = (inv: Invocation, wait: boolean) =>
		waitReadiness(
			inv.conf.readinessIndicatorFile,
			wait ? (deps.readinessTimeoutMs ?? READINESS_TIMEOUT_MS) : 0,
			deps.readinessPollMs ?? READINESS_POLL_MS,
			deps.hostRoot,
		);

	/** Reads the pod for ADD: undefined when there is no API or it is gone; a re-created pod fails. */
	async function podForAdd(inv: Invocation, kube: KubeClient | undefined): Promise<Pod | undefined> {
		const ref = inv.podRef;
		if (kube === undefined || ref === undefined) return undefined;
		const pod = await kube.getPod(ref.namespace, ref.name);
		if (pod === undefined) {
			log('warning', 'pod not found in the API; attaching only the networks of the plexus conf', {
				pod: inv.pod,
			});
		} else if (ref.uid !== '' && pod.uid !== ref.uid && !isStaticPod(pod)) {
			throw new CniError(
				CniErrorCode.tryAgainLater,
				`failed to add ${inv.pod}: the runtime asks for pod UID "${ref.uid}" but the API has UID "${pod.uid}" (the pod was re-created)`,
			);
		}
		return pod;
	}

	async function add(inv: Invocation): Promise<Record<string, unknown>> {
		requireNetns(inv.request.netns, 'ADD', probeNetns);
		const {request, conf, executor, cache} = inv;
		await ready(inv, true);
		const kube = kubeFor(conf, request.env, 'ADD');
		const pod = await podForAdd(inv, kube);
		const attachments = await inv.resolve(pod, kube, (_nad, message) =>
			postEvent(kube, pod, 'Warning', 'NoNetworkFound', message),
		);
		// Persist first: from here on, whatever happens, DEL has everything it needs.
		const entry = inv.newEntry(
			attachments.map((a) => ({...toCached(a), started: []})),
			pod?.uid,
		);
		await cache.write(entry);

		/** Undoes what ran and reports `cause` with the rollback's own failures. */
		const rollback = async (msg: string, cause: CniError): Promise<CniError> => {
			const undone = await inv.undo(entry.attachments);
			const failed = undone.errors.map((e) => e.message).join('; ');
			try {
				await inv.settle(entry, undone, `rollback of a failed ADD (${cause.message}): ${failed}`);
			} catch (error) {
				log('error', 'failed to record the rollback in the plexus cache', {error: toCniError(error).message});
			}
			const details = failed === '' ? cause.details : `rollback failed: ${failed}`;
			return new CniError(cause.code, `${msg}: ${cause.message}`, {details, cause});
		};

		const outcomes: AttachmentOutcome[] = [];
		for (const [i, a] of attachments.entries()) {
			let result: CniResult;
			try {
				await prepareDeviceInfo(a);
				result = await inAttachmentOf(inv, a, () =>
					executor.addNetworkList(a.list, inv.runtimeConf(a), progressOf(cache, entry, i)),
				);
			} catch (error) {
				throw await rollback(inv.addFailure(a), toCniError(error));
			}
			outcomes.push({
				name: a.network,
				ifname: a.ifname,
				isClusterNetwork: a.isClusterNetwork,
				result,
				defaultRoute: a.defaultRoute,
				deviceInfo: await readDeviceInfo(a.capabilityArgs),
			});
			if (a.auxiliary === true) continue;
			await postEvent(
				kube,
				pod,
				'Normal',
				'AddedInterface',
				`Add ${a.ifname} [${ipsOf(result).join(',')}] from ${a.network}`,
			);
		}

		const chosen = attachments.findIndex((a) => a.defaultRoute !== undefined);
		if (chosen !== -1) {
			const a = attachments[chosen]!;
			try {
				await inv.moveDefaultRoute(
					chosen,
					attachments,
					outcomes,
					deps.openNetlink ?? (await defaultOpenNetlink()),
				);
			} catch (error) {
				throw await rollback(
					`failed to move the default route of ${inv.pod} to interface "${a.ifname}" (network "${a.network}")`,
					toCniError(error),
				);
			}
		}

		if (kube !== undefined && pod !== undefined) {
			try {
				const outcome = await kube.setPodAnnotation(
					pod.namespace,
					pod.name,
					pod.uid,
					NETWORK_STATUS_ANNOTATION,
					formatNetworkStatus(outcomes.filter((_, i) => attachments[i]?.auxiliary !== true)),
				);
				if (outcome !== 'written') log('warning', 'network-status not written', {pod: inv.pod, outcome});
			} catch (error) {
				// The attachments work; a failed status write must not tear them down.
				log('error', 'failed to write network-status', {pod: inv.pod, error: toCniError(error).message});
			}
		}
		const cluster = outcomes.find((o) => o.isClusterNetwork)?.result;
		if (cluster === undefined)
			throw new CniError(CniErrorCode.internal, 'the cluster network produced no result');
		return convertResult(cluster, conf.cniVersion) as unknown as Record<string, unknown>;
	}

	async function del(inv: Invocation): Promise<void> {
		const {request, conf, cache, podRef} = inv;
		await ready(inv, false).catch((error: unknown) => log('warning', toCniError(error).message));
		const read = await cache.read(request.containerId, request.ifname);
		if (read.state === 'ok') {
			await undoOrFail(inv, read.entry);
			return;
		}
		if (read.state === 'unsupported') {
			throw new CniError(
				CniErrorCode.incompatibleVersion,
				`failed to delete ${inv.pod}: plexus cache "${cache.path(request.containerId, request.ifname)}": ${read.reason}`,
			);
		}
		// A pod Multus ADDed before the node switched to plexus (./legacy.ts).
		if (read.state === 'missing' && (await delMultusEra(inv))) return;
		if (read.state === 'corrupt') {
			log('error', 'plexus cache is corrupt; falling back to the API to find the attachments', {
				file: cache.path(request.containerId, request.ifname),
				reason: read.reason,
			});
		}
		const kube = kubeFor(conf, request.env, 'DEL');
		let pod: Pod | undefined;
		if (kube !== undefined && podRef !== undefined) {
			try {
				pod = await kube.getPod(podRef.namespace, podRef.name);
			} catch (error) {
				log('warning', 'cannot read the pod on DEL', {pod: inv.pod, error: toCniError(error).message});
			}
			// A pod re-created under the same name (StatefulSet) is not the one being deleted.
			if (pod !== undefined && podRef.uid !== '' && pod.uid !== podRef.uid && !isStaticPod(pod))
				pod = undefined;
		}
		if (kube !== undefined && pod === undefined) {
			log(
				'warning',
				'cannot properly delete: no usable plexus cache and the pod is not readable; nothing to undo',
				{
					containerId: request.containerId,
					pod: inv.pod,
				},
			);
			// A corrupt record can never be used; kept, it would only outlive the pod.
			if (read.state === 'corrupt') await cache.remove(request.containerId, request.ifname);
			return;
		}
		// A NAD deleted or broken since ADD must not keep the pod Terminating forever: that element
		// is skipped (its chain cannot be known any more) and the rest is undone.
		let attachments: Attachment[];
		try {
			attachments = await inv.resolve(pod, kube, undefined, (origin, error) =>
				log('warning', 'cannot resolve a network of the pod on DEL; skipping it', {
					pod: inv.pod,
					origin,
					error: error.message,
				}),
			);
		} catch (error) {
			// Nothing recorded what ran and nothing can be resolved any more (an annotation or a
			// cluster network that ADD refused as well): failing would only keep the pod forever.
			log('warning', "cannot resolve the pod's networks on DEL and no usable plexus cache; nothing to undo", {
				pod: inv.pod,
				error: toCniError(error).message,
			});
			if (read.state === 'corrupt') await cache.remove(request.containerId, request.ifname);
			return;
		}
		await undoOrFail(inv, inv.newEntry(attachments.map(toCached), pod?.uid));
	}

	async function check(inv: Invocation): Promise<void> {
		requireNetns(inv.request.netns, 'CHECK', probeNetns);
		await ready(inv, false);
		const read = await inv.cache.read(inv.request.containerId, inv.request.ifname);
		if (read.state === 'missing' && (await checkMultusEra(inv))) return;
		if (read.state !== 'ok') {
			throw new CniError(
				read.state === 'unsupported' ? CniErrorCode.incompatibleVersion : CniErrorCode.unknownContainer,
				`failed to check ${inv.pod}: no usable plexus cache (${read.state === 'missing' ? 'missing' : read.reason})`,
			);
		}
		for (const a of read.entry.attachments) {
			const list = parseNetworkList(a.config, a.network);
			// CHECK exists from 0.4.0 on: an attachment ADDed at 0.3.x cannot be checked, which is no
			// reason to fail the pod (Multus' mixed-version breakage, #737/#525/#561).
			if (!versionAtLeast(list.cniVersion, '0.4.0')) {
				log('debug', 'not checking a network whose cniVersion has no CHECK', {
					network: a.network,
					ifname: a.ifname,
					cniVersion: list.cniVersion,
				});
				continue;
			}
			try {
				await inAttachmentOf(inv, a, () => inv.executor.checkNetworkList(list, inv.runtimeConf(a)));
			} catch (error) {
				const cause = toCniError(error);
				throw new CniError(
					cause.code,
					`check of network "${a.network}" (interface "${a.ifname}") failed: ${cause.message}`,
					{cause},
				);
			}
		}
	}

	async function status(inv: Invocation): Promise<void> {
		await ready(inv, false);
		const cluster = await resolveConfClusterNetwork(inv.conf, kubeFor(inv.conf, inv.request.env, 'ADD'));
		await inv.executor.statusNetworkList(cluster.list);
	}

	async function gc(inv: Invocation): Promise<void> {
		await ready(inv, true);
		const valid = new Set((inv.conf.validAttachments ?? []).map((a) => `${a.containerID}\u0000${a.ifname}`));
		const errors: CniError[] = [];
		// Every attachment of a valid container is valid, whatever its interface name.
		const stillValid: {containerID: string; ifname: string}[] = [];
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
			const failed = await serial.run(listed.containerId, async () => {
				const again = await inv.cache.read(listed.containerId, listed.ifname);
				if (again.state !== 'ok') return [];
				const entry = again.entry;
				const undone = await inv.undo(entry.attachments, {
					containerId: entry.containerId,
					netns: netnsForDel(entry.netns, probeNetns),
					pairs: entry.cniArgs,
				});
				const reason = undone.errors.map((e) => e.message).join('; ');
				await inv.settle(entry, undone, `garbage collection: ${reason}`);
				return undone.errors;
			});
			errors.push(...failed);
		}
		// Pods Multus ADDed (./legacy.ts): stale ones DEL'd, the results of live ones kept.
		const multus = await gcMultusEra(
			inv,
			new Set((inv.conf.validAttachments ?? []).map((a) => a.containerID)),
		);
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

	return {
		type: 'plexus',
		supportedVersions: SUPPORTED_VERSIONS,
		add: async (request) =>
			serial.run(request.containerId, async () => add(await Invocation.open(request, deps))),
		del: async (request) =>
			serial.run(request.containerId, async () => {
				const req = delRequest(request, probeNetns);
				let inv: Invocation;
				try {
					inv = await Invocation.open(req, deps);
				} catch (error) {
					return delWithUnusableConf(req, toCniError(error));
				}
				return del(inv);
			}),
		check: async (request) =>
			serial.run(request.containerId, async () => check(await Invocation.open(request, deps))),
		status: async (request) => status(await Invocation.open(request, deps)),
		gc: async (request) => gc(await Invocation.open(request, deps)),
	} satisfies CniPlugin;
}
