/**
 * The meta-plugin's hook into src/observe: runs one attachment's verb in an attachment scope, so
 * its delegates' metrics, logs and trace entries name the pod, the NAD and the interface.
 */
import {type AttachmentInfo, inAttachment} from '../observe/context.ts';

/** What the scope needs of an invocation (./invocation.ts). */
interface InvocationLike {
	request: {command: string; containerId: string};
	podRef: {namespace: string; name: string} | undefined;
}

/** Runs `fn` as attachment `a` of `inv` (verb: the request's unless given, e.g. DEL in a rollback or GC). */
export function inAttachmentOf<T>(
	inv: InvocationLike,
	a: {network: string; ifname: string; nad?: {namespace: string; name: string} | null | undefined},
	fn: () => Promise<T>,
	verb = inv.request.command,
	containerId = inv.request.containerId,
): Promise<T> {
	const info: AttachmentInfo = {
		verb,
		containerId,
		pod: inv.podRef === undefined ? undefined : {namespace: inv.podRef.namespace, name: inv.podRef.name},
		nad: a.nad ?? undefined,
		network: a.network,
		ifname: a.ifname,
	};
	return inAttachment(info, fn);
}

/**
 * Runs one attachment's DEL (`run`, which reports a failure as `error` rather than throwing) in
 * its scope, so a failed undo is logged and traced as a failure too.
 */
export async function undoInAttachmentOf<T extends {error: Error | undefined}>(
	inv: InvocationLike,
	a: {network: string; ifname: string; nad?: {namespace: string; name: string} | null | undefined},
	run: () => Promise<T>,
	containerId: string,
): Promise<T> {
	let out: T | undefined;
	try {
		await inAttachmentOf(
			inv,
			a,
			async () => {
				out = await run();
				if (out.error !== undefined) throw out.error;
			},
			'DEL',
			containerId,
		);
	} catch (error) {
		if (out === undefined) throw error;
	}
	return out as T;
}
