/**
 * The `plexus` binary (bin/plexus runs this on the bundled Node 24). The only module that writes
 * stdout: everything else returns its output as data (see ./outcome.ts).
 */
import {runCli} from './cli.ts';

/** Reads all of stdin. */
async function readStdin(): Promise<Uint8Array> {
	const chunks: Buffer[] = [];
	for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

const outcome = await runCli({
	argv: process.argv.slice(2),
	env: process.env,
	readStdin,
	stdoutIsTTY: process.stdout.isTTY === true,
});
if (outcome.stderr !== '') process.stderr.write(outcome.stderr);
if (outcome.stdout !== '') process.stdout.write(outcome.stdout);
process.exitCode = outcome.exitCode;
