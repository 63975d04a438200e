/**
 * An in-memory KubeClient for unit tests: pods and NADs in maps, every call recorded as data, and
 * programmable failures (like libcni's fakes.RawExec).
 */
import {
	KubeApiError,
	type KubeClient,
	type Nad,
	type Pod,
	type PodEvent,
	type StatusWriteOutcome,
} from '../client.ts';

export interface FakeKubeCall {
	method: keyof KubeClient;
	args: unknown[];
}

export class FakeKubeClient implements KubeClient {
	readonly pods = new Map<string, Pod>();
	readonly nads = new Map<string, Nad>();
	readonly events: PodEvent[] = [];
	readonly calls: FakeKubeCall[] = [];
	/** When set, every call fails with this HTTP status (undefined status = connection failure). */
	failWith: {status: number | undefined} | undefined;

	addPod(pod: Pod): void {
		this.pods.set(`${pod.namespace}/${pod.name}`, pod);
	}

	addNad(
		namespace: string,
		name: string,
		config: string | undefined,
		annotations: Record<string, string> = {},
	): void {
		this.nads.set(`${namespace}/${name}`, {namespace, name, config, annotations});
	}

	#maybeFail(what: string): void {
		if (this.failWith !== undefined)
			throw new KubeApiError(what, this.failWith.status, new Error('injected'));
	}

	async getPod(namespace: string, name: string): Promise<Pod | undefined> {
		this.calls.push({method: 'getPod', args: [namespace, name]});
		this.#maybeFail(`get pod "${namespace}/${name}"`);
		return this.pods.get(`${namespace}/${name}`);
	}

	async getNad(namespace: string, name: string): Promise<Nad | undefined> {
		this.calls.push({method: 'getNad', args: [namespace, name]});
		this.#maybeFail(`get network-attachment-definition "${namespace}/${name}"`);
		return this.nads.get(`${namespace}/${name}`);
	}

	async setPodAnnotation(
		namespace: string,
		name: string,
		uid: string | undefined,
		key: string,
		value: string,
	): Promise<StatusWriteOutcome> {
		this.calls.push({method: 'setPodAnnotation', args: [namespace, name, uid, key, value]});
		this.#maybeFail(`update pod "${namespace}/${name}" status`);
		const pod = this.pods.get(`${namespace}/${name}`);
		if (pod === undefined) return 'pod-not-found';
		if (uid !== undefined && uid !== '' && pod.uid !== uid) return 'uid-mismatch';
		this.pods.set(`${namespace}/${name}`, {...pod, annotations: {...pod.annotations, [key]: value}});
		return 'written';
	}

	async createEvent(event: PodEvent): Promise<void> {
		this.calls.push({method: 'createEvent', args: [event]});
		this.#maybeFail(`create event "${event.reason}"`);
		this.events.push(event);
	}
}
