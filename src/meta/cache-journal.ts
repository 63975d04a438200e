/**
 * The ADD progress journal of a plexus cache record (./cache.ts). ADD writes the record once,
 * tagged with a fresh journal id, and then appends one line per plugin to the journal file instead
 * of rewriting the whole record before every plugin: an append is one write(2), a rewrite is a
 * temporary file, a rename and an unlink (~0.3 ms each on the bench machine, six per bench ADD).
 *
 * A line is `<id> +<attachment>.<plugin>` (the plugin was about to start) or `<id> -<a>.<p>` (it
 * refused the cniVersion, so it never ran). Only lines of the record's own id count: a journal
 * left by an earlier ADD of the same container is ignored. A last line without its newline is a
 * write cut short by a crash, before its plugin started, so it is ignored too; any other malformed
 * line makes the record corrupt rather than half-trusted.
 */
/** The journal line for plugin `plugin` of attachment `attachment`: started, or refused. */
export function journalLine(id: string, attachment: number, plugin: number, started: boolean): string {
	return `${id} ${started ? '+' : '-'}${attachment}.${plugin}\n`;
}

const LINE = /^([0-9a-f]{8}) ([+-])(\d{1,9})\.(\d{1,9})$/;

/**
 * The `started` lists of `count` attachments after replaying the lines of journal `id` in `text`
 * (undefined: no journal file, nothing started), or the reason the journal is unusable.
 */
export function replayJournal(
	text: string | undefined,
	id: string,
	count: number,
): {started: number[][]} | {corrupt: string} {
	const started: number[][] = Array.from({length: count}, () => []);
	const lines = (text ?? '').split('\n');
	lines.pop(); // '' after the last newline, or a line cut short
	for (const [n, line] of lines.entries()) {
		const match = LINE.exec(line);
		if (match === null) return {corrupt: `progress journal line ${n + 1} is malformed`};
		const [, lineId, sign, a, p] = match as unknown as [string, string, string, string, string];
		if (lineId !== id) continue;
		const list = started[Number(a)];
		if (list === undefined)
			return {corrupt: `progress journal line ${n + 1} names attachment ${a} of ${count}`};
		const plugin = Number(p);
		const at = list.indexOf(plugin);
		if (sign === '+' && at < 0) list.push(plugin);
		if (sign === '-' && at >= 0) list.splice(at, 1);
	}
	return {started};
}
