/**
 * A DEL repeated after a DEL that succeeded for the same container, interface and network is
 * answered at once by the daemon. containerd calls DEL up to three times per pod (StopPodSandbox,
 * RemovePodSandbox, and again on a retry); after the first success the result cache is gone, so
 * the meta-plugin would read the pod and its NADs from the API again and re-run every delegate's
 * DEL for nothing. Correct also when the pod was re-created meanwhile: a new pod has a new sandbox
 * container ID, so its key differs; an ADD of the same key forgets the success. A DEL arriving
 * while the first still runs waits for it and shares its success. The memory is bounded (oldest
 * forgotten first) and lost on restart, where DEL takes the ordinary path again.
 */
import type {CniPlugin, PluginRequest} from '../cni/plugin.ts';
import {log} from '../log.ts';

/** How many succeeded DELs are remembered. */
export const REMEMBERED_DELS = 4096;

/** The key of a request: container ID, interface and network name. */
function keyOf(request: PluginRequest): string {
	const name = typeof request.config['name'] === 'string' ? request.config['name'] : '';
	return `${request.containerId}\u0000${request.ifname}\u0000${name}`;
}

/** Remembers succeeded DELs and answers their repeats; `wrap` puts it in front of a plugin. */
export class RepeatedDels {
	readonly #done = new Set<string>();
	readonly #running = new Map<string, Promise<void>>();
	readonly #limit: number;
	/** DELs answered from memory (tests, logs). */
	answered = 0;

	constructor(limit = REMEMBERED_DELS) {
		this.#limit = limit;
	}

	/** `plugin` with repeated DELs answered from memory. */
	wrap(plugin: CniPlugin): CniPlugin {
		const {status, gc} = plugin;
		return {
			type: plugin.type,
			supportedVersions: plugin.supportedVersions,
			add: (request) => {
				this.#done.delete(keyOf(request));
				return plugin.add(request);
			},
			del: (request) => this.#del(plugin, request),
			check: (request) => plugin.check(request),
			...(status === undefined ? {} : {status: (request: PluginRequest) => status.call(plugin, request)}),
			...(gc === undefined ? {} : {gc: (request: PluginRequest) => gc.call(plugin, request)}),
		};
	}

	async #del(plugin: CniPlugin, request: PluginRequest): Promise<void> {
		const key = keyOf(request);
		if (request.containerId === '') return plugin.del(request);
		if (this.#done.has(key)) {
			this.answered++;
			log('debug', 'DEL repeated after a successful DEL: nothing left to do', {
				containerId: request.containerId,
			});
			return;
		}
		const running = this.#running.get(key);
		if (running !== undefined) {
			try {
				await running;
				this.answered++;
				return;
			} catch {
				// the first DEL failed: this one runs on its own
			}
		}
		const run = plugin.del(request);
		this.#running.set(key, run);
		try {
			await run;
			this.#done.add(key);
			if (this.#done.size > this.#limit) this.#done.delete(this.#done.values().next().value as string);
		} finally {
			if (this.#running.get(key) === run) this.#running.delete(key);
		}
	}
}
