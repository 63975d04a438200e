/**
 * The daemon's ResourceSlice cache: a reflector over this node's slices (field selector
 * `spec.nodeName=$NODE_NAME`), started by the first ADD that needs slices and not before: most
 * clusters have no DRA, and a node without a pod using it should not watch slices. That first
 * ADD waits (bounded) for the reflector's first list and then reads the cache; every later DRA
 * read of this node is served from the cache while it is synced. Slices of another node (a pod
 * not bound here), an unsynced or broken reflector fall back to the live LIST of the inner
 * `DraPort` (field selectors `spec.nodeName`, `spec.driver`), as the pod and NAD caches fall back
 * to a GET. Claims and pods stay live GETs: one per claim, read when they are needed.
 */
import type {DraPort, Slice} from '../devices/dra.ts';
import {toSlice, type V1Slice} from '../devices/dra-rest.ts';
import type {Reflector, ReflectorStats} from '../k8s/informer/reflector.ts';
import {log} from '../log.ts';
import {tracedApiCall} from '../observe/context.ts';

/** How long the first DRA read waits for the slice reflector's first list before listing live. */
export const SLICE_SYNC_WAIT_MS = 3000;

/** This node's ResourceSlices, reflected from the first call of `slices` on. */
export class NodeSlices {
	readonly nodeName: string;
	readonly #create: () => Reflector;
	#reflector: Reflector | undefined;
	#started: Promise<void> = Promise.resolve();

	/** `create` builds the (unstarted) reflector over `spec.nodeName=<nodeName>` slices. */
	constructor(nodeName: string, create: () => Reflector) {
		this.nodeName = nodeName;
		this.#create = create;
	}

	/** True once the reflector was started (a DRA read needed it). */
	get started(): boolean {
		return this.#reflector !== undefined;
	}

	/**
	 * The cached slices of `driver`, starting the reflector on first use and waiting up to
	 * SLICE_SYNC_WAIT_MS for its first list; undefined while it is not synced (list live then).
	 */
	async slices(driver: string): Promise<Slice[] | undefined> {
		if (this.#reflector === undefined) {
			this.#reflector = this.#create();
			this.#started = this.#reflector.start();
			log('info', 'resourceslice informer started: a pod needs DRA devices', {nodeName: this.nodeName});
		}
		const reflector = this.#reflector;
		if (!reflector.synced) await within(this.#started, SLICE_SYNC_WAIT_MS);
		if (!reflector.synced) return undefined;
		const slices: Slice[] = [];
		for (const object of reflector.store.values()) {
			const slice = object as unknown as V1Slice;
			if (slice.spec?.driver === driver) slices.push(toSlice(slice));
		}
		return slices;
	}

	/** The reflector's counters, once started. */
	stats(): ReflectorStats | undefined {
		return this.#reflector?.stats;
	}

	/** Stops the reflector, if it was started. */
	async stop(): Promise<void> {
		await this.#reflector?.stop();
	}
}

/** `promise`'s value, or undefined when it rejects or takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<undefined>((resolve) => {
		timer = setTimeout(() => resolve(undefined), ms);
	});
	try {
		return await Promise.race([promise.catch(() => undefined), timeout]);
	} finally {
		clearTimeout(timer);
	}
}

/**
 * A `DraPort` whose slice LISTs of this node come from `NodeSlices`; the rest is `inner`'s.
 * `slices` resolves once the daemon's informers of this kubeconfig have started (a cold daemon's
 * first request starts them); it is waited for at most SLICE_SYNC_WAIT_MS.
 */
export class CachedDraPort implements DraPort {
	readonly #inner: DraPort;
	readonly #slices: () => Promise<NodeSlices | undefined>;

	constructor(inner: DraPort, slices: () => Promise<NodeSlices | undefined>) {
		this.#inner = inner;
		this.#slices = slices;
	}

	getPod(namespace: string, name: string): ReturnType<DraPort['getPod']> {
		return this.#inner.getPod(namespace, name);
	}

	getClaim(namespace: string, name: string): ReturnType<DraPort['getClaim']> {
		return this.#inner.getClaim(namespace, name);
	}

	async listSlices(nodeName: string | undefined, driver: string): Promise<Slice[]> {
		const cache = await within(this.#slices(), SLICE_SYNC_WAIT_MS);
		if (cache !== undefined && nodeName === cache.nodeName) {
			const cached = await cache.slices(driver);
			if (cached !== undefined)
				return tracedApiCall(
					`list resourceslices (spec.nodeName=${nodeName},spec.driver=${driver}) (watch cache)`,
					async () => cached,
				);
		}
		return this.#inner.listSlices(nodeName, driver);
	}
}
