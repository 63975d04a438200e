/**
 * `plexus trace <namespace/pod>`: asks the daemon (GET /trace on its socket) for what it remembers
 * of the pod's recent CNI operations and prints the timeline, or the JSON with `-o json`.
 */
import {request} from 'node:http';
import {parseArgs} from 'node:util';
import {DEFAULT_SOCKET_PATH} from '../daemon/server.ts';
import type {OperationRecord} from '../observe/trace.ts';
import {renderTrace} from './render.ts';

export const TRACE_USAGE = `Usage: plexus trace <namespace>/<pod> [options]

Prints the pod's recent CNI operations as the daemon recorded them: each verb, each attachment,
each delegate run with its duration and outcome (a failure's CNI code and message), and the
Kubernetes API calls with their latency. The daemon keeps its last operations in memory
(plexus daemon --trace-capacity), so a restart forgets them.

Options:
      --socket <path>   the daemon's socket (default: $PLEXUS_SOCKET or ${DEFAULT_SOCKET_PATH})
  -o, --output <fmt>    text (default) or json
  -h, --help            show this help
`;

interface Outcome {
	stdout: string;
	stderr: string;
	exitCode: number;
}

/** GET `path` on the unix socket; rejects when the daemon cannot be reached. */
function get(socketPath: string, path: string): Promise<{status: number; body: string}> {
	return new Promise((resolve, reject) => {
		const req = request({socketPath, path, method: 'GET'}, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (chunk: Buffer) => chunks.push(chunk));
			res.on('end', () => resolve({status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString()}));
		});
		req.on('error', reject);
		req.end();
	});
}

/** Runs `plexus trace …` (argv after "trace"). */
export async function runTrace(
	argv: readonly string[],
	io: {env: Readonly<Record<string, string | undefined>>},
): Promise<Outcome> {
	const usage = (message: string): Outcome => ({
		stdout: '',
		stderr: `plexus: ${message}\n\n${TRACE_USAGE}`,
		exitCode: 2,
	});
	let parsed: ReturnType<typeof parse>;
	try {
		parsed = parse(argv);
	} catch (err) {
		return usage((err as Error).message);
	}
	const {values, positionals} = parsed;
	if (values.help === true) return {stdout: TRACE_USAGE, stderr: '', exitCode: 0};
	const output = values.output ?? 'text';
	if (output !== 'text' && output !== 'json') return usage(`expected --output text or json, got "${output}"`);
	const pod = positionals[0];
	if (positionals.length !== 1 || pod === undefined || !/^[^/]+\/[^/]+$/.test(pod)) {
		return usage('expected one <namespace>/<pod>');
	}
	const socketPath = values.socket ?? (io.env['PLEXUS_SOCKET'] || DEFAULT_SOCKET_PATH);
	let answer: {status: number; body: string};
	try {
		answer = await get(socketPath, `/trace?pod=${encodeURIComponent(pod)}`);
	} catch (err) {
		return {
			stdout: '',
			stderr: `plexus: cannot reach the plexus daemon at "${socketPath}": ${(err as Error).message}\n`,
			exitCode: 1,
		};
	}
	if (answer.status !== 200) {
		return {
			stdout: '',
			stderr: `plexus: the daemon at "${socketPath}" answered ${answer.status}: ${answer.body}`,
			exitCode: 1,
		};
	}
	if (output === 'json') return {stdout: `${answer.body}\n`, stderr: '', exitCode: 0};
	const {capacity, operations} = JSON.parse(answer.body) as {capacity: number; operations: OperationRecord[]};
	return {
		stdout: renderTrace(pod, capacity, operations),
		stderr: '',
		exitCode: operations.length === 0 ? 1 : 0,
	};
}

function parse(argv: readonly string[]) {
	return parseArgs({
		args: [...argv],
		allowPositionals: true,
		strict: true,
		options: {
			socket: {type: 'string'},
			output: {type: 'string', short: 'o'},
			help: {type: 'boolean', short: 'h'},
		},
	});
}
