/**
 * The `plexus` meta-plugin: the primary CNI plugin kubelet's runtime calls for every pod. ADD
 * resolves the pod's attachments (src/k8s/resolve.ts), persists them (./cache.ts), runs each as its
 * own libcni network list, rolls everything back on failure, publishes network-status and returns
 * the cluster network's result. DEL replays the persisted configs, offline. CHECK, STATUS and GC
 * cover every attachment, not only the cluster network (reference §1.11).
 */
import {access} from 'node:fs/promises';
import {setTimeout as sleep} from 'node:timers/promises';
import {ChainExecutor, type RuntimeConf} from '../chain/executor.ts';
import {parseNetworkList} from '../chain/network-list.ts';
import type {PluginExec} from '../chain/plugin-exec.ts';
import {parseCniArgs} from '../cni/env.ts';
import {CniError, CniErrorCode, toCniError} from '../cni/errors.ts';
import type {CniPlugin, PluginRequest} from '../cni/plugin.ts';
import {type CniResult, convertResult} from '../cni/result.ts';
import {SUPPORTED_VERSIONS} from '../cni/versions.ts';
import {NETWORK_STATUS_ANNOTATION} from '../k8s/annotations.ts';
import {hasKubeConfig, type KubeClient, NodeKubeClient, type Pod} from '../k8s/client.ts';
import {type PlexusConf, parsePlexusConf} from '../k8s/conf.ts';
import {delegateArgs, type PodRef, podRefFromArgs} from '../k8s/k8s-args.ts';
import {type AttachmentOutcome, formatNetworkStatus} from '../k8s/network-status.ts';
import {type Attachment, resolveAttachments, resolveConfClusterNetwork} from '../k8s/resolve.ts';
import {configureLog, log} from '../log.ts';
import type {OpenNetlink} from '../netlink/netlink.ts';
import {type CachedAttachment, PlexusCache, type PodCacheEntry} from './cache.ts';
import {defaultGateways, familiesOf, moveDefaultRoute, rewriteDefaultRoutes} from './default-route.ts';

/** Pods whose `kubernetes.io/config.source` is not "api" are static: their UID differs by design. */
const CONFIG_SOURCE_ANNOTATION = 'kubernetes.io/config.source';
/** Multus waits this long for the readiness indicator file on ADD/GC (1 s polls). */
export const READINESS_TIMEOUT_MS = 45_000;
/** API bound on DEL: shorter than ADD's, DEL must not stall a pod's removal. */
export const DEL_API_TIMEOUT_MS = 2000;

/** What the plugin talks to; tests replace any of it. */
export interface PlexusDeps {
	/** The Kubernetes client for a conf, or undefined when no API server is configured. */
	kube?:
		| ((
				conf: PlexusConf,
				env: Readonly<Record<string, string>>,
				verb: 'ADD' | 'DEL',
		  ) => KubeClient | undefined)
		| undefined;
	/** Runs delegate binaries (default: execa). */
	exec?: PluginExec | undefined;
	/** In-process delegates by type (default: the built-ins minus `disableBuiltins`). */
	inProcess?:
		| ((conf: PlexusConf, exec: PluginExec | undefined) => Promise<ReadonlyMap<string, CniPlugin>>)
		| undefined;
	readinessTimeoutMs?: number | undefined;
	readinessPollMs?: number | undefined;
	/** Opens Netlink in the pod's netns for `default-route` (default: the kernel implementation). */
	openNetlink?: OpenNetlink | undefined;
}

function defaultKube(
	conf: PlexusConf,
	env: Readonly<Record<string, string>>,
	verb: 'ADD' | 'DEL',
): KubeClient | undefined {
	if (!hasKubeConfig(conf.kubeconfig, env)) return undefined;
	const callTimeoutMs =
		verb === 'DEL'
			? Math.min(conf.apiTimeoutMs ?? DEL_API_TIMEOUT_MS, DEL_API_TIMEOUT_MS)
			: conf.apiTimeoutMs;
	return new NodeKubeClient({
		kubeconfig: conf.kubeconfig,
		...(callTimeoutMs === undefined ? {} : {callTimeoutMs, requestTimeoutMs: Math.min(callTimeoutMs, 2000)}),
	});
}

async function defaultBuiltins(
	conf: PlexusConf,
	exec: PluginExec | undefined,
): Promise<ReadonlyMap<string, CniPlugin>> {
	const [{createBuiltins}, {openNetlink}, {ExecaPluginExec}] = await Promise.all([
		import('../../delegates/index.ts'),
		import('../netlink/kernel.ts'),
		import('../chain/plugin-exec.ts'),
	]);
	return createBuiltins(
		{openNetlink: (netns) => openNetlink(netns), exec: exec ?? new ExecaPluginExec()},
		{disable: conf.disableBuiltins},
	);
}

function isStaticPod(pod: Pod): boolean {
	const source = pod.annotations[CONFIG_SOURCE_ANNOTATION];
	return source !== undefined && source !== 'api';
}

function podText(ref: PodRef | undefined, containerId: string): string {
	return ref === undefined ? `container "${containerId}"` : `pod "${ref.namespace}/${ref.name}"`;
}

function ipsOf(result: CniResult): string[] {
	const r = convertResult(result, '1.1.0') as {ips?: {address: string}[]};
	return (r.ips ?? []).map((ip) => ip.address);
}

/** Joins several failures into one error keeping the first one's code. */
function aggregate(prefix: string, errors: readonly CniError[]): CniError {
	return new CniError(
		errors[0]?.code ?? CniErrorCode.internal,
		`${prefix}: ${errors.map((e) => e.message).join('; ')}`,
		{
			cause: errors[0],
		},
	);
}

/** Creates the meta-plugin. */
export function createPlexusPlugin(deps: PlexusDeps = {}): CniPlugin {
	const kubeFor = deps.kube ?? defaultKube;
	const inProcessFor = deps.inProcess ?? defaultBuiltins;

	async function setup(request: PluginRequest) {
		const conf = parsePlexusConf(request.config);
		configureLog({logFile: conf.logFile, logLevel: conf.logLevel, logToStderr: conf.logToStderr});
		const path = [conf.binDir, ...request.path.filter((dir) => dir !== conf.binDir)];
		const executor = new ChainExecutor({
			path,
			cacheDir: conf.cniDir,
			exec: deps.exec,
			inProcess: await inProcessFor(conf, deps.exec),
			env: request.env,
		});
		const pairs = parseCniArgs(request.args);
		return {conf, executor, pairs, podRef: podRefFromArgs(pairs), cache: new PlexusCache(conf.cniDir)};
	}

	async function waitReadiness(conf: PlexusConf, wait: boolean): Promise<void> {
		const file = conf.readinessIndicatorFile;
		if (file === '') return;
		const deadline = performance.now() + (wait ? (deps.readinessTimeoutMs ?? READINESS_TIMEOUT_MS) : 0);
		for (;;) {
			try {
				await access(file);
				return;
			} catch {
				if (performance.now() >= deadline) {
					throw new CniError(
						CniErrorCode.notAvailable,
						`plexus is not ready: readiness indicator file "${file}" does not exist (the cluster network is not up yet)`,
					);
				}
			}
			await sleep(deps.readinessPollMs ?? 1000);
		}
	}

	function runtimeConf(
		request: PluginRequest,
		pairs: readonly (readonly [string, string])[],
		a: {ifname: string; capabilityArgs: Record<string, unknown>},
	): RuntimeConf {
		return {
			containerId: request.containerId,
			netns: request.netns,
			ifname: a.ifname,
			args: delegateArgs(pairs),
			capabilityArgs: a.capabilityArgs,
		};
	}

	/** DELs cached attachments in reverse, going on after failures; returns the failures. */
	async function delAttachments(
		executor: ChainExecutor,
		request: PluginRequest,
		pairs: readonly (readonly [string, string])[],
		attachments: readonly {
			network: string;
			ifname: string;
			capabilityArgs: Record<string, unknown>;
			config: Uint8Array;
		}[],
	): Promise<CniError[]> {
		const errors: CniError[] = [];
		for (const a of [...attachments].reverse()) {
			try {
				await executor.delNetworkList(parseNetworkList(a.config, a.network), runtimeConf(request, pairs, a));
			} catch (error) {
				const cause = toCniError(error);
				errors.push(
					new CniError(
						cause.code,
						`failed to delete network "${a.network}" (interface "${a.ifname}"): ${cause.message}`,
						{cause},
					),
				);
			}
		}
		return errors;
	}

	function toCached(a: Attachment): CachedAttachment {
		return {
			network: a.network,
			nad: a.nad ?? null,
			ifname: a.ifname,
			isClusterNetwork: a.isClusterNetwork,
			config: a.list.bytes,
			capabilityArgs: a.capabilityArgs,
			defaultRoute: a.defaultRoute ?? null,
		};
	}

	/** Applies `default-route` in the pod and rewrites every attachment's cached result to match. */
	async function moveDefaultRouteTo(
		chosen: number,
		attachments: readonly Attachment[],
		outcomes: AttachmentOutcome[],
		executor: ChainExecutor,
		request: PluginRequest,
		pairs: readonly (readonly [string, string])[],
	): Promise<void> {
		const a = attachments[chosen]!;
		const chosenResult = outcomes[chosen]?.result;
		if (chosenResult === undefined)
			throw new CniError(CniErrorCode.internal, `network "${a.network}" returned no result`);
		const gateways = defaultGateways(a.defaultRoute ?? [], chosenResult);
		const open = deps.openNetlink ?? (await import('../netlink/kernel.ts')).openNetlink;
		const nl = open(request.netns);
		try {
			moveDefaultRoute(nl, a.ifname, gateways, a.network);
		} finally {
			nl.close();
		}
		const families = familiesOf(gateways);
		for (const [j, other] of attachments.entries()) {
			const outcome = outcomes[j];
			if (outcome?.result === undefined) continue;
			const result = rewriteDefaultRoutes(outcome.result, families, j === chosen ? gateways : undefined);
			outcome.result = result;
			const rt = runtimeConf(request, pairs, other);
			await executor.cache.write({
				networkName: other.list.name,
				containerId: rt.containerId,
				ifname: rt.ifname,
				config: other.list.bytes,
				netns: rt.netns,
				cniArgs: rt.args,
				capabilityArgs: rt.capabilityArgs,
				result,
			});
		}
	}

	async function event(
		kube: KubeClient | undefined,
		pod: Pod | undefined,
		type: 'Normal' | 'Warning',
		reason: string,
		message: string,
	) {
		if (kube === undefined || pod === undefined) return;
		try {
			await kube.createEvent({
				namespace: pod.namespace,
				podName: pod.name,
				podUid: pod.uid,
				type,
				reason,
				message,
			});
		} catch (error) {
			log('warning', 'failed to post a pod event', {reason, error: toCniError(error).message});
		}
	}

	return {
		type: 'plexus',
		supportedVersions: SUPPORTED_VERSIONS,

		async add(request) {
			const {conf, executor, pairs, podRef, cache} = await setup(request);
			await waitReadiness(conf, true);
			const kube = kubeFor(conf, request.env, 'ADD');
			let pod: Pod | undefined;
			if (kube !== undefined && podRef !== undefined) {
				pod = await kube.getPod(podRef.namespace, podRef.name);
				if (pod === undefined) {
					log('warning', 'pod not found in the API; attaching only the networks of the plexus conf', {
						pod: `${podRef.namespace}/${podRef.name}`,
					});
				} else if (podRef.uid !== '' && pod.uid !== podRef.uid && !isStaticPod(pod)) {
					throw new CniError(
						CniErrorCode.tryAgainLater,
						`failed to add ${podText(podRef, request.containerId)}: the runtime asks for pod UID "${podRef.uid}" but the API has UID "${pod.uid}" (the pod was re-created)`,
					);
				}
			}
			const attachments = await resolveAttachments({
				conf,
				ifname: request.ifname,
				podRef,
				pod,
				kube,
				onNetworkNotFound: (_nad, message) => event(kube, pod, 'Warning', 'NoNetworkFound', message),
			});
			// Persist first: a crash from here on still leaves DEL everything it needs.
			const entry: PodCacheEntry = {
				containerId: request.containerId,
				ifname: request.ifname,
				netns: request.netns,
				cniArgs: pairs.map(([k, v]) => [k, v]),
				pod:
					podRef === undefined
						? null
						: {namespace: podRef.namespace, name: podRef.name, uid: pod?.uid ?? podRef.uid},
				attachments: attachments.map(toCached),
			};
			await cache.write(entry);
			const outcomes: AttachmentOutcome[] = [];
			let clusterResult: CniResult | undefined;
			for (const [i, a] of attachments.entries()) {
				let result: CniResult;
				try {
					result = await executor.addNetworkList(a.list, runtimeConf(request, pairs, a));
				} catch (error) {
					const cause = toCniError(error);
					const rollback = await delAttachments(executor, request, pairs, entry.attachments.slice(0, i + 1));
					if (rollback.length === 0) await cache.remove(request.containerId, request.ifname);
					const details =
						rollback.length === 0
							? cause.details
							: `rollback failed: ${rollback.map((e) => e.message).join('; ')}`;
					throw new CniError(
						cause.code,
						`failed to add network "${a.network}" (${a.origin}) as interface "${a.ifname}" of ${podText(podRef, request.containerId)}: ${cause.message}`,
						{details, cause},
					);
				}
				if (a.isClusterNetwork) clusterResult = result;
				outcomes.push({
					name: a.network,
					ifname: a.ifname,
					isClusterNetwork: a.isClusterNetwork,
					result,
					defaultRoute: a.defaultRoute,
				});
				await event(
					kube,
					pod,
					'Normal',
					'AddedInterface',
					`Add ${a.ifname} [${ipsOf(result).join(',')}] from ${a.network}`,
				);
			}
			const chosen = attachments.findIndex((a) => a.defaultRoute !== undefined);
			if (chosen !== -1) {
				try {
					await moveDefaultRouteTo(chosen, attachments, outcomes, executor, request, pairs);
				} catch (error) {
					const cause = toCniError(error);
					const rollback = await delAttachments(executor, request, pairs, entry.attachments);
					if (rollback.length === 0) await cache.remove(request.containerId, request.ifname);
					const a = attachments[chosen]!;
					throw new CniError(
						cause.code,
						`failed to move the default route of ${podText(podRef, request.containerId)} to interface "${a.ifname}" (network "${a.network}"): ${cause.message}`,
						{cause},
					);
				}
				clusterResult = outcomes.find((o) => o.isClusterNetwork)?.result ?? clusterResult;
			}
			if (kube !== undefined && pod !== undefined && podRef !== undefined) {
				try {
					const written = await kube.setPodAnnotation(
						pod.namespace,
						pod.name,
						pod.uid,
						NETWORK_STATUS_ANNOTATION,
						formatNetworkStatus(outcomes),
					);
					if (written !== 'written')
						log('warning', 'network-status not written', {
							pod: `${pod.namespace}/${pod.name}`,
							outcome: written,
						});
				} catch (error) {
					// The attachments work; a status write failure must not tear them down.
					log('error', 'failed to write network-status', {
						pod: `${pod.namespace}/${pod.name}`,
						error: toCniError(error).message,
					});
				}
			}
			if (clusterResult === undefined)
				throw new CniError(CniErrorCode.internal, 'the cluster network produced no result');
			return convertResult(clusterResult, conf.cniVersion) as unknown as Record<string, unknown>;
		},

		async del(request) {
			const {conf, executor, pairs, podRef, cache} = await setup(request);
			await waitReadiness(conf, false).catch((error: unknown) => log('warning', toCniError(error).message));
			const read = await cache.read(request.containerId, request.ifname);
			if (read.state === 'ok') {
				const errors = await delAttachments(executor, request, pairs, read.entry.attachments);
				if (errors.length > 0) {
					// Keep the cache: the runtime retries DEL, and it must replay the same configs.
					throw aggregate(`failed to delete ${podText(podRef, request.containerId)}`, errors);
				}
				await cache.remove(request.containerId, request.ifname);
				return;
			}
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
					log('warning', 'cannot read the pod on DEL', {error: toCniError(error).message});
				}
				if (pod !== undefined && podRef.uid !== '' && pod.uid !== podRef.uid && !isStaticPod(pod))
					pod = undefined;
			}
			if (kube !== undefined && pod === undefined) {
				log(
					'warning',
					'cannot properly delete: no usable plexus cache and the pod is not readable; nothing to undo',
					{
						containerId: request.containerId,
						pod: podRef === undefined ? undefined : `${podRef.namespace}/${podRef.name}`,
					},
				);
				return;
			}
			const attachments = await resolveAttachments({conf, ifname: request.ifname, podRef, pod, kube});
			const errors = await delAttachments(executor, request, pairs, attachments.map(toCached));
			if (errors.length > 0)
				throw aggregate(`failed to delete ${podText(podRef, request.containerId)}`, errors);
			await cache.remove(request.containerId, request.ifname);
		},

		async check(request) {
			const {conf, executor, pairs, podRef, cache} = await setup(request);
			await waitReadiness(conf, false);
			const read = await cache.read(request.containerId, request.ifname);
			if (read.state !== 'ok') {
				throw new CniError(
					CniErrorCode.unknownContainer,
					`failed to check ${podText(podRef, request.containerId)}: no usable plexus cache (${read.state === 'corrupt' ? read.reason : 'missing'})`,
				);
			}
			for (const a of read.entry.attachments) {
				try {
					await executor.checkNetworkList(
						parseNetworkList(a.config, a.network),
						runtimeConf(request, pairs, a),
					);
				} catch (error) {
					const cause = toCniError(error);
					throw new CniError(
						cause.code,
						`check of network "${a.network}" (interface "${a.ifname}") failed: ${cause.message}`,
						{cause},
					);
				}
			}
		},

		async status(request) {
			const {conf, executor} = await setup(request);
			await waitReadiness(conf, false);
			const kube = kubeFor(conf, request.env, 'ADD');
			const cluster = await resolveConfClusterNetwork(conf, kube);
			await executor.statusNetworkList(cluster.list);
		},

		async gc(request) {
			const {conf, executor, cache} = await setup(request);
			await waitReadiness(conf, true);
			const valid = new Set((conf.validAttachments ?? []).map((a) => `${a.containerID}\u0000${a.ifname}`));
			const errors: CniError[] = [];
			const expanded: {containerID: string; ifname: string}[] = [];
			for (const {file, read} of await cache.list()) {
				if (read.state === 'corrupt') {
					log('warning', 'skipping a corrupt plexus cache file in GC', {file, reason: read.reason});
				}
				if (read.state !== 'ok') continue;
				const entry = read.entry;
				if (valid.has(`${entry.containerId}\u0000${entry.ifname}`)) {
					for (const a of entry.attachments)
						expanded.push({containerID: entry.containerId, ifname: a.ifname});
					continue;
				}
				const stale: PluginRequest = {
					...request,
					containerId: entry.containerId,
					netns: entry.netns,
					ifname: entry.ifname,
				};
				const failed = await delAttachments(executor, stale, entry.cniArgs, entry.attachments);
				if (failed.length === 0) await cache.remove(entry.containerId, entry.ifname);
				errors.push(...failed);
			}
			// Then libcni GC of every network with a cached result, honouring every valid attachment.
			const networks = new Map<string, Uint8Array>();
			for (const cached of await executor.cache.list()) networks.set(cached.networkName, cached.config);
			for (const [name, config] of networks) {
				try {
					await executor.gcNetworkList(parseNetworkList(config, name), {validAttachments: expanded});
				} catch (error) {
					errors.push(toCniError(error));
				}
			}
			if (errors.length > 0) throw aggregate('garbage collection failed', errors);
		},
	} satisfies CniPlugin;
}
