// The DEL fault matrix (issue 12): a pod of three attachments (1, 2 and 3 plugins: 6 plugin
// positions, see e2e/meta/testing/fault-case.ts) with a fault injected at every position × every kind,
// on the real kernel with Debian's plugins and Plexus' built-in route-override. After the ADD and
// at most one retried DEL, every case must have DEL exit 0 and leave nothing: no link in the netns
// but lo, no host link on the case's bridges or of its macvlan master, no host-local reservation,
// no cache file. Each kind runs its 6 positions concurrently; the one-line summary goes to stdout.
//
// Where the process model does not matter (missing binary, invalid type, plugin error, netns
// deleted) the cases go through plexus-shim to one shared `plexus daemon`: the same meta-plugin,
// without a Node start-up and a Kubernetes client load per call, which keeps the file fast on two
// cores. The other kinds use the one-shot bin/plexus the runtime execs (kill -9 of the daemon: the
// daemon). e2e/meta/del-cases.e2e.test.ts runs the first three through the one-shot plugin.
//
// What each kind means at a position:
// - missing binary / invalid type ("..", a control character): that plugin's `type`; ADD fails
//   there, code 7, before it runs.
// - plugin error: the plugin does its real ADD and then fails (code 101).
// - plugin hang: the plugin does its real ADD and then hangs; the conf's delegateTimeoutMs kills it.
// - kill -9 one-shot / kill -9 daemon: bin/plexus (or, through plexus-shim, the daemon) is killed
//   while that plugin runs, after its real ADD; no rollback happens. The daemon's DEL comes from a
//   new daemon.
// - API server down: it goes down while that plugin runs; ADD goes on (events and network-status
//   are best-effort) and DEL runs with the API still down.
// - netns deleted: the pod's netns is deleted while that plugin runs; the plugins after it fail
//   (at the last position ADD succeeds, so it is "deleted between ADD and DEL").
// - cache truncated: every cache file (Plexus record and libcni results) is cut in half after a
//   kill -9 at that position, the only way the atomic writes leave anything to truncate. Before
//   ADD there is nothing to truncate, and after a completed ADD it is the same fallback (the
//   corrupt record sends DEL to the API), so those two are not separate cases.
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, beforeAll, describe, expect, test} from 'vitest';
import {type RunningDaemon, requireShim, runShim, startDaemon} from '../helpers/daemon.ts';
import {TestApiServer} from '../kube/apiserver.ts';
import {CNI_BIN} from '../kube/harness.ts';
import {
	FaultCase as Case,
	FAULT_KINDS,
	type FaultCase,
	type FaultKind,
	POSITIONS,
} from './testing/fault-case.ts';

let api: TestApiServer;
let root: string;
let kubeconfig: string;
/** The daemon the daemon-mode rows share, and its socket. */
let shared: RunningDaemon | undefined;
let sharedSocket: string;

const DAEMON_ARGS = ['--plugin', 'plexus', '--cni-path', CNI_BIN, '--max-concurrent', '16'];
/** The kinds run through plexus-shim and the shared daemon. */
const VIA_DAEMON: readonly FaultKind[] = ['missing binary', 'invalid type', 'plugin error', 'netns deleted'];

/** How one case ended. */
interface Outcome {
	label: string;
	/** What went against the expectation (empty: converged). */
	problems: string[];
	retried: boolean;
}
const outcomes: Outcome[] = [];

beforeAll(async () => {
	api = await TestApiServer.start();
	root = await mkdtemp(join(tmpdir(), 'plexus-fault-matrix-'));
	kubeconfig = await api.writeKubeconfig(root);
	requireShim();
	sharedSocket = join(root, 'shared', 'plexus.sock');
	shared = await startDaemon(sharedSocket, DAEMON_ARGS);
});

afterAll(async () => {
	const converged = outcomes.filter((o) => o.problems.length === 0).length;
	const retried = outcomes.filter((o) => o.retried).length;
	process.stdout.write(
		`fault matrix: ${outcomes.length} cases (${POSITIONS.length} plugin positions × ${FAULT_KINDS.length} kinds), ${converged} converged, ${retried} needed the retried DEL\n`,
	);
	shared?.process.kill('SIGKILL');
	await shared?.process;
	await api.close();
	await rm(root, {recursive: true, force: true});
});

interface Run {
	exitCode?: number | undefined;
	stdout: unknown;
	stderr?: unknown;
}

/** A started run (an execa child): awaitable, and killable. */
type Running = Promise<Run> & {kill(signal?: NodeJS.Signals): boolean};

/** The CNI error code of a failed run's stdout, or undefined. */
function codeOf(run: Run): number | undefined {
	try {
		return (JSON.parse(String(run.stdout)) as {code?: number}).code;
	} catch {
		return undefined;
	}
}

/** What the ADD must have answered for `c` (undefined: killed, nothing to say). */
function expectedAdd(c: FaultCase): {exitCode: number; code?: number} | undefined {
	switch (c.kind) {
		case 'missing binary':
		case 'invalid type':
			return {exitCode: 1, code: 7};
		case 'plugin error':
			return {exitCode: 1, code: 101};
		case 'plugin hang':
		case 'kill -9 daemon':
			return {exitCode: 1, code: 11};
		case 'API server down':
			return {exitCode: 0};
		case 'netns deleted':
			return c.position === POSITIONS.at(-1) ? {exitCode: 0} : {exitCode: 1};
		default:
			return undefined;
	}
}

/** Checks the ADD's answer, then DELs (once more if it failed) with `del` and looks for leftovers. */
async function finish(c: FaultCase, add: Run, del: () => Promise<Run>, problems: string[]): Promise<Outcome> {
	const want = expectedAdd(c);
	if (
		want !== undefined &&
		(add.exitCode !== want.exitCode || (want.code !== undefined && codeOf(add) !== want.code))
	) {
		problems.push(
			`ADD answered exit ${add.exitCode} ${String(add.stdout).trim()}, expected ${JSON.stringify(want)}`,
		);
	}
	let run = await del();
	const retried = run.exitCode !== 0;
	if (retried) run = await del();
	if (run.exitCode !== 0)
		problems.push(`DEL failed twice: ${String(run.stdout).trim()} ${String(run.stderr ?? '')}`);
	problems.push(...(await c.leftovers()));
	return {label: c.label, problems, retried};
}

/** Runs `command` for `c` through plexus-shim to the daemon on `socketPath`. */
function shim(c: FaultCase, command: string, socketPath: string) {
	return runShim(command, c.conf(), {...c.env(command), PLEXUS_SOCKET: socketPath});
}

/**
 * One case: ADD through `run` (the one-shot plugin or the shim), the fault applied when the wrapper
 * reports it, then DEL through `run` too.
 */
async function runCase(c: FaultCase, run: (command: string) => Running): Promise<Outcome> {
	const problems: string[] = [];
	const add = run('ADD');
	if (c.kind === 'kill -9 one-shot' || c.kind === 'cache truncated' || c.kind === 'netns deleted') {
		if (!(await c.reached(add))) problems.push('ADD ended before reaching the fault');
		if (c.kind === 'netns deleted') {
			await c.deleteNetns();
			await c.release();
		} else {
			add.kill('SIGKILL');
		}
	}
	const added = await add;
	if (c.kind === 'cache truncated' && (await c.truncateCaches()) === 0)
		problems.push('no cache file to truncate');
	return finish(c, added, () => run('DEL'), problems);
}

/** One case through plexus-shim and the shared daemon. */
const viaDaemon = (c: FaultCase) => runCase(c, (command) => shim(c, command, sharedSocket));

/** One case through the one-shot bin/plexus. */
const oneShot = (c: FaultCase) => runCase(c, (command) => c.oneShot(command));

/**
 * Runs `kind` at every position at once; every case must converge. With `ownApi`, each case gets
 * its own API server (to take down at its own position).
 */
async function matrixRow(
	kind: FaultKind,
	drive: (cases: FaultCase[]) => Promise<Outcome[]>,
	ownApi = false,
): Promise<void> {
	const apis = ownApi ? await Promise.all(POSITIONS.map(() => TestApiServer.start())) : [];
	const kubeconfigs = await Promise.all(apis.map((a, i) => a.writeKubeconfig(root, `kubeconfig-${i}`)));
	const cases = POSITIONS.map(
		(p, i) => new Case(apis[i] ?? api, kubeconfigs[i] ?? kubeconfig, root, kind, p),
	);
	try {
		await Promise.all(cases.map((c) => c.setup()));
		const row = await drive(cases);
		outcomes.push(...row);
		expect(row.filter((o) => o.problems.length > 0)).toEqual([]);
		expect(row).toHaveLength(POSITIONS.length);
	} finally {
		await Promise.all(cases.map((c) => c.close()));
		await Promise.all(apis.map((a) => a.close()));
	}
}

const TIMEOUT = {timeout: 300_000};

describe('fault matrix: after ADD and at most one retried DEL, DEL succeeded and nothing is left', () => {
	test.each(VIA_DAEMON)(
		'%s at each plugin position (plexus-shim and the daemon)',
		async (kind) => {
			await matrixRow(kind, (cases) => Promise.all(cases.map(viaDaemon)));
		},
		TIMEOUT.timeout,
	);

	test.each(['plugin hang', 'kill -9 one-shot', 'cache truncated'] as const)(
		'%s at each plugin position (one-shot plugin)',
		async (kind) => {
			await matrixRow(kind, (cases) => Promise.all(cases.map(oneShot)));
		},
		TIMEOUT.timeout,
	);

	test(
		'API server down at each plugin position (one-shot plugin)',
		async () => {
			await matrixRow(
				'API server down',
				(cases) =>
					Promise.all(
						cases.map(async (c) => {
							const add = c.oneShot('ADD');
							const problems = (await c.reached(add)) ? [] : ['ADD ended before reaching the fault'];
							await c.api.down();
							await c.release();
							return finish(c, await add, () => c.oneShot('DEL'), problems);
						}),
					),
				true,
			);
		},
		TIMEOUT.timeout,
	);

	test(
		'kill -9 of the daemon at each plugin position (plexus-shim, then a new daemon)',
		async () => {
			const socketPath = join(root, 'run', 'plexus.sock');
			await matrixRow('kill -9 daemon', async (cases) => {
				const first = await startDaemon(socketPath, DAEMON_ARGS);
				const adds = cases.map((c) => shim(c, 'ADD', socketPath));
				const reached = await Promise.all(cases.map((c, i) => c.reached(adds[i]!)));
				first.process.kill('SIGKILL');
				await first.process;
				const added = await Promise.all(adds);
				const second = await startDaemon(socketPath, DAEMON_ARGS);
				try {
					return await Promise.all(
						cases.map((c, i) =>
							finish(
								c,
								added[i]!,
								() => shim(c, 'DEL', socketPath),
								reached[i] ? [] : ['ADD ended before the fault'],
							),
						),
					);
				} finally {
					second.process.kill('SIGKILL');
					await second.process;
				}
			});
		},
		TIMEOUT.timeout,
	);
});
