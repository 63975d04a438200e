/**
 * Records one daemon request as a traced operation: its verb, container, interface and pod (from
 * the request's CNI_ARGS), everything the scope collects while it runs, and its outcome.
 */
import {parseCniArgs} from '../cni/env.ts';
import {toCniError} from '../cni/errors.ts';
import {podRefFromArgs} from '../k8s/k8s-args.ts';
import {inOperation} from './context.ts';
import type {OperationStart, TraceStore} from './trace.ts';

/** The pod a request's CNI_ARGS name, undefined when they name none or cannot be parsed. */
function podOf(args: string | undefined): OperationStart['pod'] {
	try {
		const ref = podRefFromArgs(parseCniArgs(args ?? ''));
		return ref === undefined ? undefined : {namespace: ref.namespace, name: ref.name};
	} catch {
		return undefined;
	}
}

/** The outcomes the dispatcher returns: ok, or a CNI error. */
type Outcome = {ok: true} | {ok: false; error: {code: number; message: string}};

/** Runs `fn` recorded into `traces` (as is, without a store or for a request naming no pod). */
export async function traced<T extends Outcome>(
	traces: TraceStore | undefined,
	env: Readonly<Record<string, string>>,
	fn: () => Promise<T>,
): Promise<T> {
	const pod = traces === undefined ? undefined : podOf(env['CNI_ARGS']);
	const operation =
		pod === undefined
			? undefined
			: traces?.start({
					verb: env['CNI_COMMAND'] ?? '',
					containerId: env['CNI_CONTAINERID'] ?? '',
					ifname: env['CNI_IFNAME'] ?? '',
					pod,
				});
	if (operation === undefined) return fn();
	try {
		const outcome = await inOperation(operation, fn);
		operation.finish(outcome.ok ? undefined : outcome.error);
		return outcome;
	} catch (error) {
		const cause = toCniError(error);
		operation.finish({code: cause.code, message: cause.message});
		throw error;
	}
}
