/**
 * The `plexus` binary (bin/plexus runs this on the bundled Node 24). The only module that writes
 * stdout: everything else returns its output as data (see ./outcome.ts).
 *
 * Node's compile cache is switched on before anything else loads: a one-shot run then reuses the
 * type-stripped and compiled code of the ~300 modules an ADD needs instead of redoing that work
 * in every process (a third less CPU per ADD). The cache lives in
 * node_modules/.cache/plexus; when it cannot be created or written (read-only image, another
 * user's checkout) Node runs without it, and NODE_DISABLE_COMPILE_CACHE=1 turns it off.
 */
import {resolve} from 'node:path';
import {useWarmCodeCache} from './code-cache.ts';

const COMPILE_CACHE_DIR = resolve(import.meta.dirname, '../../node_modules/.cache/plexus');
// bin/plexus exports NODE_COMPILE_CACHE=<that dir> so that even this file comes from the cache (no
// TypeScript stripper is loaded at all): Node has switched the cache on already. The variable is
// the launcher's, not for the plugins Plexus runs. Otherwise it is switched on here (node:module
// is loaded only then: ~1 ms of a one-shot call).
const launcherCache = process.env['NODE_COMPILE_CACHE'];
if (launcherCache !== undefined && resolve(launcherCache) === COMPILE_CACHE_DIR) {
	delete process.env['NODE_COMPILE_CACHE'];
} else {
	process.getBuiltinModule('node:module').enableCompileCache(COMPILE_CACHE_DIR);
}

// A one-shot CNI call from the bundle compiles its chunks with the code V8 kept of the last call
// of that verb (./code-cache.ts); the sources (.ts) load as they are.
const verb = process.env['CNI_COMMAND'] ?? '';
if (verb !== '' && import.meta.filename.endsWith('.js')) {
	useWarmCodeCache(import.meta.dirname, resolve(COMPILE_CACHE_DIR, '../plexus-warm'), verb);
}

/** Reads all of stdin. */
async function readStdin(): Promise<Uint8Array> {
	const chunks: Buffer[] = [];
	for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
	return Buffer.concat(chunks);
}

/** Asks on stderr and reads one line of stdin: "y" or "yes" is yes; anything else, or none, is no. */
async function confirm(question: string): Promise<boolean> {
	const {createInterface} = await import('node:readline/promises');
	const rl = createInterface({input: process.stdin, output: process.stderr, terminal: false});
	process.stderr.write(question);
	const closed = new Promise<string>((resolve) => rl.once('close', () => resolve('')));
	try {
		const answer = await Promise.race([rl.question(''), closed]);
		return /^y(es)?$/i.test(answer.trim());
	} finally {
		rl.close();
	}
}

/** Runs the command line (no top-level await: the bundle is CommonJS, see scripts/bundle/bundle.ts). */
async function main(): Promise<void> {
	// Imported only now, so the CLI and everything it loads go through the cache.
	const {runCli} = await import('./cli.ts');
	const outcome = await runCli({
		argv: process.argv.slice(2),
		env: process.env,
		readStdin,
		stdoutIsTTY: process.stdout.isTTY === true,
		confirm,
	});
	if (outcome.stderr !== '') process.stderr.write(outcome.stderr);
	if (outcome.stdout !== '') process.stdout.write(outcome.stdout);
	process.exitCode = outcome.exitCode;
	// A CNI call ends here: everything it started was awaited, logs are written synchronously, and
	// stdout/stderr writes to pipes and files are synchronous on Linux. Exiting now skips Node's
	// teardown of the environment and heap that a natural exit runs (measured: one-shot ADD, DEL and
	// STATUS each ~30-60 ms sooner, all of it after the work was done), and exitNow skips what
	// process.exit() still tears down (~2 ms more).
	if (verb !== '') (await import('../chain/native-spawn.ts')).exitNow();
}

void main();
