/**
 * One invocation of the meta-plugin: the parsed conf, the chain executor (one per invocation: one
 * CNI_PATH, the cniDir result cache), the pod named by CNI_ARGS, and the operations every verb
 * shares: DEL of a set of attachments (reverse order, going on after failures), the runtime
 * arguments of one attachment, `default-route`, and pod events.
 */
import {ChainExecutor, type RuntimeConf} from '../chain/executor.ts';
import type {NetworkList} from '../chain/network-list.ts';
import {parseCniArgs} from '../cni/env.ts';
import {CniError, CniErrorCode, toCniError} from '../cni/errors.ts';
import type {PluginRequest} from '../cni/plugin.ts';
import {type CniResult, convertResult} from '../cni/result.ts';
import type {KubeClient, Pod} from '../k8s/client.ts';
import {delegateArgs, type PodRef, podRefFromArgs} from '../k8s/k8s-args.ts';
import type {AttachmentOutcome} from '../k8s/network-status.ts';
import {configureLog, log} from '../log.ts';
import type {OpenNetlink} from '../netlink/netlink.ts';
import {type CachedAttachment, PlexusCache, type PodCacheEntry} from './cache.ts';
import {type PlexusConf, parsePlexusConf} from './conf/conf.ts';
import {defaultGateways, familiesOf, moveDefaultRoute, rewriteDefaultRoutes} from './default-route.ts';
import {type DelegateSeam, delegateSeam} from './deps.ts';
import type {MetaPorts} from './ports.ts';
import type {NamedNetwork} from './resolve/attachment.ts';
import type {Attachment, ResolveContext} from './resolve/resolve.ts';
import {undoInAttachmentOf} from './scope.ts';
import {type UndoOutcome, undoAttachments} from './undo.ts';

/** Pods whose `kubernetes.io/config.source` is not "api" are static: their UID differs by design. */
const CONFIG_SOURCE_ANNOTATION = 'kubernetes.io/config.source';

export function isStaticPod(pod: Pod): boolean {
	const source = pod.annotations[CONFIG_SOURCE_ANNOTATION];
	return source !== undefined && source !== 'api';
}

/** `pod "ns/name"`, or `container "<id>"` outside Kubernetes. */
export function podText(ref: PodRef | undefined, containerId: string): string {
	return ref === undefined ? `container "${containerId}"` : `pod "${ref.namespace}/${ref.name}"`;
}

/** The addresses of a result, for the AddedInterface event. */
export function ipsOf(result: CniResult): string[] {
	const r = convertResult(result, '1.1.0') as {ips?: {address: string}[]};
	return (r.ips ?? []).map((ip) => ip.address);
}

/** Joins several failures into one error keeping the first one's code. */
export function aggregate(prefix: string, errors: readonly CniError[]): CniError {
	return new CniError(
		errors[0]?.code ?? CniErrorCode.internal,
		`${prefix}: ${errors.map((e) => e.message).join('; ')}`,
		{
			cause: errors[0],
		},
	);
}

/** The persisted form of a resolved attachment. */
export function toCached(a: Attachment): CachedAttachment {
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

/** Posts a pod event; a failure is logged, never fatal. */
export async function postEvent(
	kube: KubeClient | undefined,
	pod: Pod | undefined,
	type: 'Normal' | 'Warning',
	reason: string,
	message: string,
): Promise<void> {
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

/** Which container an attachment set belongs to (the request's, or a stale one in GC). */
export interface ContainerRef {
	containerId: string;
	netns: string;
	/** The runtime's CNI_ARGS pairs. */
	pairs: readonly (readonly [string, string])[];
}

/** The plugin types of cached conflist bytes (none when they do not parse: DEL reports that itself). */
function pluginTypesIn(config: Uint8Array): string[] {
	try {
		const conf = JSON.parse(Buffer.from(config).toString('utf8')) as {type?: unknown; plugins?: unknown};
		const plugins: unknown[] = Array.isArray(conf.plugins) ? conf.plugins : [conf];
		return plugins.map((p) => (p as {type?: unknown} | null)?.type).filter((t) => typeof t === 'string');
	} catch {
		return [];
	}
}

export class Invocation {
	readonly request: PluginRequest;
	readonly conf: PlexusConf;
	readonly executor: ChainExecutor;
	readonly container: ContainerRef;
	readonly podRef: PodRef | undefined;
	readonly cache: PlexusCache;
	/** The clock a DEL failure is recorded by. */
	readonly now: () => Date;
	readonly #schedule: DelegateSeam['schedule'];
	/** The cluster network read `readClusterNetwork` started, for `resolve`. */
	#clusterNetwork: Promise<NamedNetwork> | undefined;

	private constructor(
		request: PluginRequest,
		conf: PlexusConf,
		executor: ChainExecutor,
		pairs: [string, string][],
		now: () => Date,
		schedule: DelegateSeam['schedule'],
	) {
		this.#schedule = schedule;
		this.now = now;
		this.request = request;
		this.conf = conf;
		this.executor = executor;
		this.container = {containerId: request.containerId, netns: request.netns, pairs};
		this.podRef = podRefFromArgs(pairs);
		this.cache = new PlexusCache(conf.cniDir);
	}

	/** Parses the conf, points the logger, and builds the executor (binDir first on the path). */
	static async open(
		request: PluginRequest,
		ports: Pick<MetaPorts, 'exec' | 'inProcess'> & Partial<Pick<MetaPorts, 'now' | 'wrapExec'>>,
	): Promise<Invocation> {
		const conf = parsePlexusConf(request.config);
		configureLog({logFile: conf.logFile, logLevel: conf.logLevel, logToStderr: conf.logToStderr});
		const seam = await delegateSeam(conf, {
			exec: ports.exec,
			inProcess: ports.inProcess,
			wrapExec: ports.wrapExec,
		});
		const executor = new ChainExecutor({
			path: [conf.binDir, ...request.path.filter((dir) => dir !== conf.binDir)],
			cacheDir: conf.cniDir,
			exec: seam.exec,
			env: request.env,
			timeoutMs: conf.delegateTimeoutMs,
		});
		return new Invocation(
			request,
			conf,
			executor,
			parseCniArgs(request.args),
			ports.now ?? (() => new Date()),
			seam.schedule,
		);
	}

	get pod(): string {
		return podText(this.podRef, this.request.containerId);
	}

	/**
	 * Resolves the pod's attachments for this request: what ADD runs, what DEL without a cache
	 * undoes, and what `plexus dry-run` shows. The resolver (NADs, annotations, devices) loads
	 * here, not with the invocation: a DEL with its record never needs it.
	 */
	async resolve(
		pod: Pod | undefined,
		kube: KubeClient | undefined,
		onNetworkNotFound?: ResolveContext['onNetworkNotFound'],
		onUnresolvable?: ResolveContext['onUnresolvable'],
	): Promise<Attachment[]> {
		const {resolveAttachments} = await import('./resolve/resolve.ts');
		return resolveAttachments({
			conf: this.conf,
			ifname: this.request.ifname,
			containerId: this.request.containerId,
			podRef: this.podRef,
			pod,
			kube,
			onNetworkNotFound,
			onUnresolvable,
			clusterNetwork: this.#clusterNetwork,
		});
	}

	/**
	 * Starts resolving the conf's cluster network now, for `resolve` to take: ADD calls it right
	 * after sending the pod's read, so the cluster network's NAD read follows it on the connection
	 * and is answered while this process handles the pod, instead of after (~2 ms of a one-shot
	 * ADD). Multus reads the cluster network whatever the pod says; a pod that overrides it
	 * (`v1.multus-cni.io/default-network`) leaves this read unused, and its failure unreported.
	 */
	readClusterNetwork(kube: KubeClient | undefined): void {
		const read = import('./resolve/resolve.ts').then(({resolveConfClusterNetwork}) =>
			resolveConfClusterNetwork(this.conf, kube),
		);
		read.catch(() => {}); // reported by resolve when it is taken
		this.#clusterNetwork = read;
	}

	/** The cache record of this request's pod with `attachments` (`podUid` from the API, when read). */
	newEntry(attachments: CachedAttachment[], podUid: string | undefined): PodCacheEntry {
		const ref = this.podRef;
		return {
			containerId: this.request.containerId,
			ifname: this.request.ifname,
			netns: this.request.netns,
			cniArgs: this.container.pairs.map(([k, v]) => [k, v]),
			pod: ref === undefined ? null : {namespace: ref.namespace, name: ref.name, uid: podUid ?? ref.uid},
			attachments,
		};
	}

	/** What a failed ADD of attachment `a` says before its cause. */
	addFailure(a: Pick<Attachment, 'network' | 'origin' | 'ifname'>): string {
		return `failed to add network "${a.network}" (${a.origin}) as interface "${a.ifname}" of ${this.pod}`;
	}

	/** The libcni RuntimeConf of one attachment. */
	runtimeConf(
		a: {ifname: string; capabilityArgs: Record<string, unknown>},
		container: ContainerRef = this.container,
	): RuntimeConf {
		return {
			containerId: container.containerId,
			netns: container.netns,
			ifname: a.ifname,
			args: delegateArgs(container.pairs),
			capabilityArgs: a.capabilityArgs,
		};
	}

	/**
	 * Starts loading the in-process delegates when one of `attachments` runs one, so that their
	 * code loads while the delegates before it run.
	 */
	warmBuiltins(attachments: readonly {list: NetworkList}[]): void {
		this.#schedule.warm(attachments.flatMap((a) => a.list.plugins.map((p) => p.type)));
	}

	/**
	 * Starts `work` once the next delegate binary has been spawned (or at `startDeferred`), so that
	 * its synchronous part runs while that delegate does, not in front of its spawn; resolves what
	 * `work` resolves.
	 */
	duringNextDelegate<T>(work: () => Promise<T>): Promise<T> {
		return new Promise((resolve, reject) =>
			this.#schedule.duringNextRun(() => {
				try {
					resolve(work());
				} catch (error) {
					reject(error);
				}
			}),
		);
	}

	/** Starts the work duringNextDelegate still holds. */
	startDeferred(): void {
		this.#schedule.flush();
	}

	/**
	 * Undoes attachments in reverse order from their cached bytes, only the plugins that ran
	 * (./undo.ts), going on after failures; returns what is left to undo and why.
	 */
	undo(
		attachments: readonly CachedAttachment[],
		container: ContainerRef = this.container,
	): Promise<UndoOutcome> {
		this.#schedule.warm(attachments.flatMap((a) => pluginTypesIn(a.config)));
		return undoAttachments(
			this.executor,
			attachments,
			(a) => this.runtimeConf(a, container),
			(a, run) => undoInAttachmentOf(this, a, run, container.containerId),
		);
	}

	/**
	 * Records the outcome of undoing `entry`'s attachments: the cache file goes once nothing is
	 * left; otherwise it keeps only what is left to undo, with `reason` and the failed attempts
	 * counted (`plexus doctor` lists such pods), so the runtime's retried DEL replays the rest.
	 */
	async settle(entry: PodCacheEntry, outcome: UndoOutcome, reason: string): Promise<void> {
		if (outcome.remaining.length === 0) {
			await this.cache.remove(entry.containerId, entry.ifname);
			return;
		}
		await this.cache.write({
			...entry,
			attachments: outcome.remaining,
			delFailure: {
				at: this.now().toISOString(),
				reason,
				attempts: (entry.delFailure?.attempts ?? 0) + 1,
			},
		});
	}

	/**
	 * Applies `default-route` of attachment `chosen` in the pod, then rewrites every attachment's
	 * result (in `outcomes` and in the libcni cache) to match the kernel.
	 */
	async moveDefaultRoute(
		chosen: number,
		attachments: readonly Attachment[],
		outcomes: AttachmentOutcome[],
		open: OpenNetlink,
	): Promise<void> {
		const a = attachments[chosen]!;
		const chosenResult = outcomes[chosen]?.result;
		if (chosenResult === undefined)
			throw new CniError(CniErrorCode.internal, `network "${a.network}" returned no result`);
		const gateways = defaultGateways(a.defaultRoute ?? [], chosenResult);
		const nl = open(this.request.netns);
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
			const rt = this.runtimeConf(other);
			await this.executor.cache.write({
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
}
