/**
 * Who is doing what right now, without threading it through every call: an AsyncLocalStorage
 * carries the current CNI operation (its trace record, when the daemon keeps one) and the current
 * attachment (pod, NAD, interface). The meta-plugin opens an attachment scope around each network
 * it runs; the delegate timers, the Kubernetes client and the logs read the scope. Outside any
 * scope (tests, tools) every reader gets undefined and nothing is recorded.
 */
import {AsyncLocalStorage} from 'node:async_hooks';
import {monotonicMs} from '../clock.ts';
import {toCniError} from '../cni/errors.ts';
import {qualifiedName} from '../k8s/k8s-args.ts';
import {log} from '../log.ts';
import type {OperationTrace} from './trace.ts';

/** The attachment being run: which pod, which network, which interface, which verb. */
export interface AttachmentInfo {
	verb: string;
	containerId: string;
	pod: {namespace: string; name: string} | undefined;
	/** The NAD, when the network is one (the cluster network from a file is not). */
	nad: {namespace: string; name: string} | undefined;
	/** The network-status name: `namespace/name` of a NAD, else the conf's network name. */
	network: string;
	ifname: string;
}

interface Scope {
	operation: OperationTrace | undefined;
	attachment: AttachmentInfo | undefined;
}

const storage = new AsyncLocalStorage<Scope>();

/** Runs `fn` as CNI operation `operation`: attachments, delegates and API calls inside record into it. */
export function inOperation<T>(operation: OperationTrace, fn: () => Promise<T>): Promise<T> {
	return storage.run({operation, attachment: undefined}, fn);
}

/** The operation being traced, if any. */
export function currentOperation(): OperationTrace | undefined {
	return storage.getStore()?.operation;
}

/** The attachment being run, if any. */
export function currentAttachment(): AttachmentInfo | undefined {
	return storage.getStore()?.attachment;
}

/** `ns/name` of a pod or NAD, '' for none. */
export function qualified(ref: {namespace: string; name: string} | undefined): string {
	return ref === undefined ? '' : qualifiedName(ref);
}

/**
 * Runs one attachment's verb in its scope, then logs one `info` line for it (pod, container, NAD,
 * interface, verb, duration, and the CNI code and message on failure) and adds it to the trace.
 */
export async function inAttachment<T>(info: AttachmentInfo, fn: () => Promise<T>): Promise<T> {
	const operation = currentOperation();
	const started = monotonicMs();
	const fields = {
		pod: qualified(info.pod),
		containerId: info.containerId,
		nad: qualified(info.nad),
		network: info.network,
		ifname: info.ifname,
		verb: info.verb,
	};
	const finish = (error?: unknown) => {
		const durationMs = Math.round((monotonicMs() - started) * 10) / 10;
		if (error === undefined) {
			log('info', 'attachment done', {...fields, durationMs});
			operation?.add({kind: 'attachment', ...fields, startMs: operation.offset(started), durationMs});
			return;
		}
		const cause = toCniError(error);
		log('info', 'attachment failed', {...fields, durationMs, code: cause.code, error: cause.message});
		operation?.add({
			kind: 'attachment',
			...fields,
			startMs: operation.offset(started),
			durationMs,
			code: cause.code,
			error: cause.message,
		});
	};
	try {
		const out = await storage.run({operation, attachment: info}, fn);
		finish();
		return out;
	} catch (error) {
		finish(error);
		throw error;
	}
}

/**
 * Times one Kubernetes API call into the current operation's trace (nothing outside one).
 * `fn` runs unchanged; its failure is recorded and rethrown.
 */
export async function tracedApiCall<T>(call: string, fn: () => Promise<T>): Promise<T> {
	const operation = currentOperation();
	if (operation === undefined) return fn();
	const started = monotonicMs();
	const record = (error?: string) =>
		operation.add({
			kind: 'api',
			call,
			startMs: operation.offset(started),
			durationMs: Math.round((monotonicMs() - started) * 10) / 10,
			...(error === undefined ? {} : {error}),
		});
	try {
		const out = await fn();
		record();
		return out;
	} catch (error) {
		record(error instanceof Error ? error.message : String(error));
		throw error;
	}
}
