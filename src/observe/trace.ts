/**
 * The daemon's memory of recent CNI operations, for `plexus trace <namespace/pod>`: the last N
 * operations (a ring, so memory is bounded whatever the traffic), each with its attachments,
 * delegate runs and Kubernetes API calls, their durations and outcomes. Times are milliseconds
 * from the operation's start.
 */
import {isoNow, monotonicMs} from '../clock.ts';

/** One step of an operation. */
export type TraceEvent =
	| {
			kind: 'attachment';
			nad: string;
			network: string;
			ifname: string;
			verb: string;
			startMs: number;
			durationMs: number;
			code?: number;
			error?: string;
	  }
	| {
			kind: 'delegate';
			nad: string;
			network: string;
			ifname: string;
			plugin: string;
			verb: string;
			startMs: number;
			durationMs: number;
			code?: number;
			error?: string;
	  }
	| {kind: 'api'; call: string; startMs: number; durationMs: number; error?: string};

/** What the daemon knows about an operation when it starts. */
export interface OperationStart {
	verb: string;
	containerId: string;
	ifname: string;
	pod: {namespace: string; name: string} | undefined;
}

/** An operation's JSON form, as GET /trace answers it. */
export interface OperationRecord extends OperationStart {
	id: number;
	/** ISO time it started. */
	startedAt: string;
	/** Undefined while it runs. */
	durationMs: number | undefined;
	code?: number;
	error?: string;
	events: TraceEvent[];
}

/** Most events one operation keeps (a pathological chain must not grow one record without bound). */
export const MAX_EVENTS_PER_OPERATION = 256;

/** One operation being recorded. */
export class OperationTrace {
	readonly record: OperationRecord;
	readonly #started = monotonicMs();

	constructor(id: number, start: OperationStart) {
		this.record = {
			id,
			...start,
			startedAt: isoNow(),
			durationMs: undefined,
			events: [],
		};
	}

	/** Milliseconds from the operation's start to `time` (a monotonicMs() value). */
	offset(time: number): number {
		return Math.round((time - this.#started) * 10) / 10;
	}

	/** Adds a finished step (dropped beyond MAX_EVENTS_PER_OPERATION). */
	add(event: TraceEvent): void {
		if (this.record.events.length < MAX_EVENTS_PER_OPERATION) this.record.events.push(event);
	}

	/** Marks the operation finished, with its CNI error when it failed. */
	finish(error?: {code: number; message: string}): void {
		this.record.durationMs = this.offset(monotonicMs());
		if (error !== undefined) {
			this.record.code = error.code;
			this.record.error = error.message;
		}
	}
}

/** How many operations the daemon remembers by default. */
export const DEFAULT_TRACE_CAPACITY = 1000;

/** The last `capacity` operations, oldest first. */
export class TraceStore {
	readonly capacity: number;
	readonly #ring: (OperationTrace | undefined)[];
	#next = 0;
	#id = 0;

	constructor(capacity = DEFAULT_TRACE_CAPACITY) {
		if (!Number.isInteger(capacity) || capacity < 0) {
			throw new TypeError(`expected the trace capacity to be an integer ≥ 0, got ${capacity}`);
		}
		this.capacity = capacity;
		this.#ring = new Array<OperationTrace | undefined>(capacity).fill(undefined);
	}

	/** Starts recording an operation (overwriting the oldest when full); undefined with capacity 0. */
	start(start: OperationStart): OperationTrace | undefined {
		if (this.capacity === 0) return undefined;
		const trace = new OperationTrace(++this.#id, start);
		this.#ring[this.#next] = trace;
		this.#next = (this.#next + 1) % this.capacity;
		return trace;
	}

	/** The remembered operations of pod `namespace/name`, oldest first. */
	forPod(namespace: string, name: string): OperationRecord[] {
		const out: OperationRecord[] = [];
		for (let i = 0; i < this.capacity; i++) {
			const trace = this.#ring[(this.#next + i) % this.capacity];
			if (trace?.record.pod?.namespace === namespace && trace.record.pod.name === name)
				out.push(trace.record);
		}
		return out;
	}
}
