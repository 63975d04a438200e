/**
 * What happens on every delegate run in the daemon: the per-delegate metrics (labelled by the NAD
 * of the current attachment scope, so ns1/net and ns2/net stay apart), one `info` log line (pod,
 * container, NAD, interface, plugin, verb, duration, and the CNI code and message on failure),
 * at `debug` the delegate's stdin with secrets redacted (./redact.ts), and the operation's trace.
 */
import {monotonicMs} from '../clock.ts';
import type {DelegateObserver, DelegateRun, DelegateSample} from '../daemon/metrics.ts';
import {log, logEnabled} from '../log.ts';
import {currentAttachment, currentOperation, qualified} from './context.ts';
import {redactStdin} from './redact.ts';

/** The delegate observer of the daemon; `metrics` receives each run with its NAD labels. */
export function observeDelegates(metrics?: {observeDelegateRun(run: DelegateRun): void}): DelegateObserver {
	return (sample: DelegateSample) => {
		const attachment = currentAttachment();
		metrics?.observeDelegateRun({
			nadNamespace: attachment?.nad?.namespace ?? '',
			nadName: attachment?.nad?.name ?? attachment?.network ?? sample.nad,
			plugin: sample.plugin,
			verb: sample.command,
			seconds: sample.seconds,
			errorCode: sample.errorCode,
		});
		const durationMs = Math.round(sample.seconds * 1e4) / 10;
		const fields = {
			pod: qualified(attachment?.pod),
			containerId: attachment?.containerId ?? '',
			nad: qualified(attachment?.nad),
			network: attachment?.network ?? sample.nad,
			ifname: sample.ifname ?? attachment?.ifname ?? '',
			plugin: sample.plugin,
			verb: sample.command,
		};
		const failure = sample.errorCode === undefined ? {} : {code: sample.errorCode, error: sample.error ?? ''};
		log('info', sample.errorCode === undefined ? 'delegate done' : 'delegate failed', {
			...fields,
			durationMs,
			...failure,
		});
		if (sample.stdin !== undefined && logEnabled('debug')) {
			log('debug', 'delegate stdin', {...fields, stdin: redactStdin(sample.stdin)});
		}
		const operation = currentOperation();
		const {pod: _pod, containerId: _containerId, ...step} = fields;
		operation?.add({
			kind: 'delegate',
			...step,
			startMs: operation.offset(monotonicMs() - sample.seconds * 1000),
			durationMs,
			...failure,
		});
	};
}
