/**
 * A recording CNI entry for the runtime's bin dir: a small sh script named like the plugin that
 * saves each call (CNI_* environment, stdin, stdout, exit code) to a directory and runs the real
 * plugin with the same stdin and environment, passing its stdout and exit code back. Tests read
 * what the runtime really sent (CNI_ARGS, runtimeConfig) and what it got back (error codes).
 */
import {readdir, readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';

/** One CNI call as the runtime made it. */
export interface RecordedCall {
	command: string;
	containerId: string;
	ifname: string;
	netns: string;
	/** CNI_ARGS as sent. */
	args: string;
	/** CNI_PATH as sent. */
	path: string;
	/** stdin, parsed. */
	config: Record<string, unknown>;
	/** The plugin's stdout ('' for a successful DEL). */
	stdout: string;
	exitCode: number;
}

const quote = (value: string) => `'${value.replaceAll("'", `'\\''`)}'`;

/**
 * Writes `<binDir>/<name>`: records each call into `logDir` (which must exist), then runs `target`.
 * File names start with a nanosecond timestamp, so `readCalls` returns the calls in order.
 */
export async function installRecorder(
	binDir: string,
	name: string,
	target: string,
	logDir: string,
): Promise<void> {
	const script = `#!/bin/sh
# Records this CNI call in ${logDir}, then runs ${target} with the same stdin and environment.
f=${quote(logDir)}/$(date +%s%N)-$$
cat > "$f.stdin"
${quote(target)} < "$f.stdin" > "$f.stdout"
rc=$?
printf '%s\\n' "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_IFNAME" "$CNI_NETNS" "$CNI_ARGS" "$CNI_PATH" "$rc" > "$f.env"
cat "$f.stdout"
exit $rc
`;
	await writeFile(join(binDir, name), script, {mode: 0o755});
}

/** The calls recorded in `logDir`, oldest first (optionally only those of one container). */
export async function readCalls(logDir: string, containerId?: string): Promise<RecordedCall[]> {
	const stems = (await readdir(logDir))
		.filter((f) => f.endsWith('.env'))
		.map((f) => f.slice(0, -'.env'.length))
		.sort((a, b) => {
			const [ta, tb] = [BigInt(a.split('-')[0] ?? '0'), BigInt(b.split('-')[0] ?? '0')];
			return ta < tb ? -1 : ta > tb ? 1 : 0;
		});
	const calls: RecordedCall[] = [];
	for (const stem of stems) {
		const [command = '', id = '', ifname = '', netns = '', args = '', path = '', rc = ''] = (
			await readFile(join(logDir, `${stem}.env`), 'utf8')
		).split('\n');
		if (containerId !== undefined && id !== containerId) continue;
		const stdin = await readFile(join(logDir, `${stem}.stdin`), 'utf8');
		calls.push({
			command,
			containerId: id,
			ifname,
			netns,
			args,
			path,
			config: stdin.trim() === '' ? {} : (JSON.parse(stdin) as Record<string, unknown>),
			stdout: await readFile(join(logDir, `${stem}.stdout`), 'utf8'),
			exitCode: Number(rc),
		});
	}
	return calls;
}
