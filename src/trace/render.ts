/**
 * The text timeline `plexus trace` prints: per operation a header (verb, container, interface,
 * start, duration, outcome), then its steps in start order: API calls, attachments and, indented
 * under them, each delegate run, with its start offset, duration and outcome.
 */
import type {OperationRecord, TraceEvent} from '../observe/trace.ts';

const ms = (value: number | undefined) => (value === undefined ? 'running' : `${value.toFixed(1)} ms`);

function outcome(step: {code?: number | undefined; error?: string | undefined}): string {
	if (step.code !== undefined) return `failed (code ${step.code}): ${step.error ?? ''}`;
	if (step.error !== undefined) return `failed: ${step.error}`;
	return 'ok';
}

function stepLine(event: TraceEvent): string {
	const at = `+${event.startMs.toFixed(1)} ms`.padStart(11);
	switch (event.kind) {
		case 'api':
			return `${at}  api         ${event.call}  ${ms(event.durationMs)}  ${outcome(event)}`;
		case 'attachment':
			return `${at}  attachment  ${event.nad || event.network} as ${event.ifname} (${event.verb})  ${ms(event.durationMs)}  ${outcome(event)}`;
		case 'delegate':
			return `${at}    delegate  ${event.plugin} ${event.verb} ${event.ifname} (network ${event.network})  ${ms(event.durationMs)}  ${outcome(event)}`;
	}
}

/** Orders steps by start; an attachment sorts before the delegates it started with. */
function ordered(events: readonly TraceEvent[]): TraceEvent[] {
	const rank = {api: 0, attachment: 0, delegate: 1};
	return [...events].sort((a, b) => a.startMs - b.startMs || rank[a.kind] - rank[b.kind]);
}

/** The timeline of `operations` of pod `pod`, as text. */
export function renderTrace(pod: string, capacity: number, operations: readonly OperationRecord[]): string {
	const lines = [
		`Pod ${pod}: ${operations.length} operation(s) in the daemon's memory (it keeps the last ${capacity})`,
	];
	for (const op of operations) {
		lines.push(
			'',
			`${op.verb} container ${op.containerId} ${op.ifname} at ${op.startedAt}  ${ms(op.durationMs)}  ${outcome(op)}`,
		);
		for (const event of ordered(op.events)) lines.push(stepLine(event));
	}
	return `${lines.join('\n')}\n`;
}
