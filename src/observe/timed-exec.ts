/**
 * Delegate timing for metrics and logs: the recording decorator of the exec seam
 * (src/chain/recording-exec.ts) with a sink that turns each run into a DelegateSample, labelled
 * with the network (`nad`, else the `name` of the conf the delegate was given) and the plugin's
 * type. Binaries and built-ins are timed by the same code, because both run through the seam.
 */
import type {PluginExec} from '../chain/plugin-exec.ts';
import {type ExecRecord, RecordingPluginExec} from '../chain/recording-exec.ts';
import type {DelegateObserver, DelegateSample} from '../daemon/metrics.ts';

/** The `name` of a delegate conf (the network: the NAD's CNI network name), '' when unreadable. */
export function networkName(stdin: Uint8Array): string {
	try {
		const name = (JSON.parse(Buffer.from(stdin).toString('utf8')) as Record<string, unknown> | null)?.[
			'name'
		];
		return typeof name === 'string' ? name : '';
	} catch {
		return '';
	}
}

/** The sample of one run. */
function sampleOf(run: ExecRecord, nad: string | undefined): DelegateSample {
	const {request} = run;
	return {
		nad: nad ?? networkName(request.stdin),
		plugin: run.type,
		command: run.command,
		ifname: request.env['CNI_IFNAME'],
		stdin: request.stdin,
		seconds: run.durationMs / 1000,
		...(run.error === undefined ? {} : {errorCode: run.error.code, error: run.error.message}),
	};
}

export interface TimedExecOptions {
	/** The network label of every run (default: the `name` of each run's conf). */
	nad?: string | undefined;
	/** Kill a delegate binary after this long unless its run has its own timeout (code 11). */
	timeoutMs?: number | undefined;
}

/**
 * `inner` with every run's duration and outcome reported to `observe`.
 *
 * @example
 * timedExec(new BuiltinPluginExec(binaries, builtins), observeDelegates(metrics), {timeoutMs});
 */
export function timedExec(
	inner: PluginExec,
	observe: DelegateObserver,
	options: TimedExecOptions = {},
): PluginExec {
	return new RecordingPluginExec(inner, (run) => observe(sampleOf(run, options.nad)), {
		timeoutMs: options.timeoutMs,
	});
}
