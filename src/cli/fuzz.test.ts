// Fuzzing the meta-plugin through the binary's own entry (runCli, what src/cli/main.ts runs):
// ≥ 10,000 generated Plexus confs, NADs (served by FakeKubeClient), pod annotations, conf files
// and CNI environments of every verb, in-process, with recording fake delegates over the netlink
// model. Property (issue 12): Plexus never throws and never answers code 999; every failure is
// CNI error JSON {cniVersion, code, msg} with a spec code (1-8, 11, 50, 51) or a code a delegate
// returned. Seeded: PLEXUS_FUZZ_SEED=<n> replays a run, PLEXUS_FUZZ_CASE=<i> one case of it,
// PLEXUS_FUZZ_COUNT=<n> changes the size.
import {existsSync} from 'node:fs';
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {dirname, join} from 'node:path';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {FakeKubeClient} from '../k8s/testing/fake-client.ts';
import {configureLog, lockLogConfig} from '../log.ts';
import {createPlexusPlugin} from '../meta/plugin.ts';
import {NetlinkModel} from '../netlink/model.ts';
import {netnsKind} from '../netlink/netns.ts';
import {runCli} from './cli.ts';
import type {CliOutcome} from './outcome.ts';
import {FuzzPluginExec} from './testing/fuzz/delegates.ts';
import {type FuzzCase, generateCase, POD_NETNS} from './testing/fuzz/inputs.ts';
import {caseSeed, Rng} from './testing/fuzz/rng.ts';

const SEED = Number(process.env['PLEXUS_FUZZ_SEED'] ?? 20261204);
const COUNT = Number(process.env['PLEXUS_FUZZ_COUNT'] ?? 10_000);
const ONLY = process.env['PLEXUS_FUZZ_CASE'];
/** The codes the spec defines (SPEC.md "Error"), 999 excluded: Plexus must say what is wrong. */
const SPEC_CODES: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 7, 8, 11, 50, 51]);

let root: string;
/** How often each answer came (`ok` or the error code), printed with the summary. */
const tally = new Map<string, number>();

beforeAll(async () => {
	// tmpfs when there is one: each ADD fsyncs its cache file.
	root = await mkdtemp(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'plexus-fuzz-'));
	// Tens of thousands of warnings would drown the output; log handling is not under test here.
	configureLog({logToStderr: false, logLevel: 'panic', logFile: undefined});
	lockLogConfig();
});

afterAll(async () => {
	await rm(root, {recursive: true, force: true});
});

/** Why an outcome breaks the property, or undefined when it holds. */
function violation(outcome: CliOutcome, delegateCodes: ReadonlySet<number>): string | undefined {
	if (outcome.exitCode === 0) {
		if (outcome.stdout === '') return undefined;
		try {
			const value = JSON.parse(outcome.stdout) as unknown;
			return typeof value === 'object' && value !== null && !Array.isArray(value)
				? undefined
				: 'success output is not a JSON object';
		} catch {
			return 'success output is not JSON';
		}
	}
	if (outcome.exitCode !== 1) return `exit code ${outcome.exitCode}`;
	let error: Record<string, unknown>;
	try {
		error = JSON.parse(outcome.stdout) as Record<string, unknown>;
	} catch {
		return 'error output is not JSON';
	}
	const {cniVersion, code, msg, details} = error;
	if (typeof cniVersion !== 'string' || !/^\d+\.\d+\.\d+$/.test(cniVersion))
		return `error JSON cniVersion ${JSON.stringify(cniVersion)}`;
	if (typeof code !== 'number' || !Number.isInteger(code)) return 'error JSON without an integer code';
	if (typeof msg !== 'string' || msg === '') return 'error JSON without msg';
	if (details !== undefined && typeof details !== 'string') return 'error JSON details is not a string';
	if (code === 999) return `code 999: ${msg}`;
	if (!SPEC_CODES.has(code) && !delegateCodes.has(code))
		return `code ${code} is neither the spec's nor a delegate's`;
	return undefined;
}

/** The code of an error outcome that passed the property (so its stdout is error JSON). */
function codeOf(outcome: CliOutcome): number {
	return (JSON.parse(outcome.stdout) as {code: number}).code;
}

/** Writes the case's files: conf files, the readiness file, a regular file and a directory. */
async function prepare(dir: string, c: FuzzCase): Promise<void> {
	await mkdir(join(dir, 'conf'), {recursive: true});
	await writeFile(join(dir, 'ready'), '');
	await writeFile(join(dir, 'regular-file'), 'not a netns');
	for (const file of c.confFiles) {
		await mkdir(dirname(join(dir, 'conf', file.name)), {recursive: true});
		await writeFile(join(dir, 'conf', file.name), file.text);
	}
}

interface CaseReport {
	index: number;
	seed: number;
	step: string;
	why: string;
	input: FuzzCase;
	stdout: string;
}

/** Runs one case; the violations it found. */
async function runCase(index: number): Promise<CaseReport[]> {
	const seed = caseSeed(SEED, index);
	const rng = new Rng(seed);
	const dir = join(root, String(index));
	const c = generateCase(rng, dir);
	await prepare(dir, c);
	const model = new NetlinkModel();
	model.addNetns(POD_NETNS);
	const exec = new FuzzPluginExec(model, rng);
	const kube = new FakeKubeClient();
	if (c.pod !== undefined) kube.addPod(c.pod);
	for (const nad of c.nads) kube.addNad(nad.namespace, nad.name, nad.config);
	const plugin = createPlexusPlugin({
		kube: () => (c.kube ? kube : undefined),
		exec,
		inProcess: async () => new Map(),
		readinessTimeoutMs: 0,
		readinessPollMs: 1,
		openNetlink: (netns) => model.open(netns),
		probeNetns: (path) => (path === POD_NETNS ? {kind: 'netns'} : netnsKind(path)),
	});
	const plugins = new Map([['plexus', async () => plugin]]);
	const reports: CaseReport[] = [];
	const steps = c.addFirst ? [{...c.env, CNI_COMMAND: 'ADD'}, c.env] : [c.env];
	for (const env of steps) {
		let outcome: CliOutcome;
		try {
			outcome = await runCli({
				argv: [],
				env,
				readStdin: async () => Buffer.from(c.stdin),
				plugins,
			});
		} catch (error) {
			reports.push({
				index,
				seed,
				step: env['CNI_COMMAND'] ?? '',
				why: `threw ${String(error)}`,
				input: c,
				stdout: '',
			});
			continue;
		}
		const why = violation(outcome, exec.codes);
		const answer =
			why !== undefined ? 'violation' : outcome.exitCode === 0 ? 'ok' : `code ${codeOf(outcome)}`;
		const key = `${JSON.stringify(env['CNI_COMMAND'] ?? '')} ${answer}`;
		tally.set(key, (tally.get(key) ?? 0) + 1);
		if (why !== undefined)
			reports.push({index, seed, step: env['CNI_COMMAND'] ?? '', why, input: c, stdout: outcome.stdout});
	}
	await rm(dir, {recursive: true, force: true});
	return reports;
}

/** A failing case as text short enough to read (long values cut). */
function describe(report: CaseReport): string {
	const cut = (text: string | undefined) => {
		const s = String(text);
		return s.length > 600 ? `${s.slice(0, 600)}…(${s.length} chars)` : s;
	};
	return [
		`case ${report.index} (PLEXUS_FUZZ_SEED=${SEED} PLEXUS_FUZZ_CASE=${report.index}, case seed ${report.seed}), step ${JSON.stringify(report.step)}: ${report.why}`,
		`  env: ${cut(JSON.stringify(report.input.env))}`,
		`  stdin: ${cut(JSON.stringify(report.input.stdin))}`,
		`  nads: ${cut(JSON.stringify(report.input.nads))}`,
		`  pod: ${cut(JSON.stringify(report.input.pod))}`,
		`  answer: ${cut(report.stdout)}`,
	].join('\n');
}

test(`fuzz: ${ONLY === undefined ? COUNT : 1} generated inputs through the plugin entry point never get code 999 or a throw`, async () => {
	const indexes = ONLY === undefined ? Array.from({length: COUNT}, (_, i) => i) : [Number(ONLY)];
	const failures: CaseReport[] = [];
	for (const index of indexes) failures.push(...(await runCase(index)));
	const answers = [...tally].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k}: ${n}`);
	process.stderr.write(`fuzz: ${indexes.length} inputs, seed ${SEED}, ${failures.length} failures\n`);
	process.stderr.write(`fuzz answers (verb: count): ${answers.join(', ')}\n`);
	for (const f of failures.slice(0, 10)) process.stderr.write(`${describe(f)}\n`);
	expect(failures.map((f) => `case ${f.index} ${f.step}: ${f.why}`)).toEqual([]);
}, 600_000);
