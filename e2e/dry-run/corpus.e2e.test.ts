// The dry-run consistency corpus (issue 13, first acceptance line): over a thousand generated
// pods, NADs, Plexus confs and annotations, valid and broken, where `plexus dry-run`'s verdict
// (would ADD succeed or fail) and first message equal the real meta-plugin ADD's. The real ADD is
// the plugin entry point in-process with /usr/lib/cni's plugins and the built-ins on this kernel,
// each case in a fresh network namespace. This kernel lacks vrf and 8021q: the corpus's vrf and
// vlan cases are the ones refused before the built-in touches the kernel (config, version, master
// lookup); their kernel work is covered by the vm project (e2e/delegates-{vrf,vlan}.vm.test.ts).
// Confs whose JSON types libcni's loader refuses (category conf-unloadable) never reach ADD on a
// node: there both must refuse, and dry-run's message names the file as the loader's does.
// PLEXUS_CORPUS_SEED=<n> draws another corpus.
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {mkdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {execa} from 'execa';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {ProcessPluginExec} from '../../src/chain/plugin-exec.ts';
import {configureLog, lockLogConfig} from '../../src/log.ts';
import {randomName, removeLink} from '../helpers/netns.ts';
import {generateCorpus} from './testing/corpus/generate.ts';
import type {CorpusCase, CorpusHost} from './testing/corpus/pieces.ts';
import {agree, type CaseOutcome, runCase, VersionMemoExec} from './testing/corpus/run.ts';

const SEED = Number(process.env['PLEXUS_CORPUS_SEED'] ?? 20261204);
/** Cases run at once (the delegates are processes; the machine has two cores). */
const PARALLEL = 6;
/** Network namespaces are made this many at a time, with one `ip -batch`. */
const NETNS_CHUNK = 64;

// tmpfs when there is one: each ADD fsyncs its cache file. Made in beforeAll, named now (the
// generated confs carry its paths).
const root = join(
	existsSync('/dev/shm') ? '/dev/shm' : tmpdir(),
	`plexus-corpus-${randomBytes(6).toString('hex')}`,
);
const host: CorpusHost = {
	master: randomName('pxcm'),
	missingMaster: randomName('pxcx'),
	clusterBridge: randomName('pxcc'),
	secondaryBridge: randomName('pxcs'),
	subnet: `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`,
	cniDir: join(root, 'cni'),
	binDir: join(root, 'bin'),
	confDir: join(root, 'net.d'),
};
/** PLEXUS_CORPUS_CATEGORY=<name> runs one category only (while investigating a mismatch). */
const ONLY = process.env['PLEXUS_CORPUS_CATEGORY'];
const corpus = generateCorpus(SEED, host).filter((c) => ONLY === undefined || c.category === ONLY);
const netnsPrefix = randomName('pxcn').slice(0, 10);
const made: string[] = [];

const counts = new Map<string, number>();
for (const c of corpus) counts.set(c.category, (counts.get(c.category) ?? 0) + 1);
const sizes = [...counts].map(([k, n]) => `${k} ${n}`).join(', ');

beforeAll(async () => {
	configureLog({logToStderr: false, logLevel: 'panic', logFile: undefined});
	lockLogConfig();
	await mkdir(root);
	await execa('ip', ['link', 'add', host.master, 'type', 'bridge']);
	await execa('ip', ['link', 'set', host.master, 'up']);
});

afterAll(async () => {
	if (made.length > 0)
		await execa('ip', ['-force', '-batch', '-'], {
			input: made.map((n) => `netns del ${n}`).join('\n'),
			reject: false,
		});
	for (const link of [host.master, host.clusterBridge, host.secondaryBridge]) await removeLink(link);
	await rm(root, {recursive: true, force: true});
});

/** Makes the netns of cases [from, from + NETNS_CHUNK). */
async function makeNetns(from: number): Promise<void> {
	const names = Array.from(
		{length: Math.min(NETNS_CHUNK, corpus.length - from)},
		(_, k) => `${netnsPrefix}${from + k}`,
	);
	made.push(...names);
	await execa('ip', ['-batch', '-'], {input: names.map((n) => `netns add ${n}`).join('\n')});
}

interface Ran {
	c: CorpusCase;
	outcome: CaseOutcome;
	ms: number;
}

async function runAll(): Promise<Ran[]> {
	const dryExec = new VersionMemoExec(new ProcessPluginExec({busyRetries: 0}));
	const addExec = new ProcessPluginExec();
	const ran: Ran[] = [];
	let next = 0;
	let chunk = Promise.resolve();
	const worker = async () => {
		for (let i = next++; i < corpus.length; i = next++) {
			if (i % NETNS_CHUNK === 0) chunk = chunk.then(() => makeNetns(i));
			await chunk;
			const c = corpus[i]!;
			const t0 = performance.now();
			const outcome = await runCase(c, {
				dir: join(root, 'cases', String(i)),
				netns: `/var/run/netns/${netnsPrefix}${i}`,
				containerId: `corpus-${i}`,
				dryExec,
				addExec,
			});
			ran.push({c, outcome, ms: performance.now() - t0});
		}
	};
	await Promise.all(Array.from({length: PARALLEL}, worker));
	return ran.sort((a, b) => a.c.index - b.c.index);
}

test(`${corpus.length} cases (${sizes}): dry-run's verdict and first message are the real ADD's`, {
	timeout: 300_000,
}, async () => {
	const started = performance.now();
	const ran = await runAll();
	const seconds = ((performance.now() - started) / 1000).toFixed(1);
	const mismatches = ran
		.filter((r) => !agree(r.c, r.outcome))
		.map((r) => ({
			index: r.c.index,
			category: r.c.category,
			what: r.c.what,
			dryRun: r.outcome.dryRun,
			add: r.outcome.add,
		}));

	const byCategory = new Map<string, {ok: number; failed: number; ms: number}>();
	for (const {c, outcome, ms} of ran) {
		const t = byCategory.get(c.category) ?? {ok: 0, failed: 0, ms: 0};
		if (outcome.add.ok) t.ok++;
		else t.failed++;
		t.ms += ms;
		byCategory.set(c.category, t);
	}
	// Per category: the real ADD's verdicts, and the summed time of its cases (they overlap).
	const summary = [...byCategory]
		.map(([k, t]) => `${k}: ${t.ok} ADD ok, ${t.failed} failed, ${(t.ms / 1000).toFixed(1)} case-s`)
		.join('; ');
	process.stderr.write(
		`dry-run corpus (seed ${SEED}): ${ran.length} cases in ${seconds} s; ${summary}; ${mismatches.length} mismatches\n`,
	);

	const reportFile = process.env['PLEXUS_CORPUS_REPORT'];
	if (reportFile !== undefined)
		await writeFile(
			reportFile,
			JSON.stringify(
				{
					mismatches,
					slow: ran
						.toSorted((a, b) => b.ms - a.ms)
						.slice(0, 30)
						.map((r) => ({i: r.c.index, ms: r.ms, what: r.c.what, cat: r.c.category})),
				},
				null,
				1,
			),
		);
	expect(mismatches).toEqual([]);
	// Every case issue 13 lists fails its real ADD, and dry-run says so with ADD's message.
	const listed = ran.filter((r) => r.c.category === 'listed');
	expect(listed.map((r) => [r.c.what, r.outcome.add.ok])).toEqual(listed.map((r) => [r.c.what, false]));
	const listedCase = (what: string) => listed.find((r) => r.c.what === what)?.outcome;
	if (listed.length > 0) {
		// The misspelled key: ADD's error, and the hint that names the key it meant.
		expect(listedCase('vrf key misspelled "vrfnmae"')?.warnings).toEqual([
			expect.stringContaining('unknown key "vrfnmae": did you mean "vrfname"?'),
		]);
		// Two missing NADs: both are findings in one run.
		expect(listedCase('two missing NADs')?.moreFindings).toBeGreaterThanOrEqual(1);
	}
	// A static address two attachments share: ADD succeeds, dry-run warns.
	const shared = ran.filter((r) => r.c.category === 'duplicate-address');
	expect(shared.every((r) => r.outcome.add.ok && r.outcome.warnings.length > 0)).toBe(true);
	// What the generator meant to be valid is: its ADD succeeds (and dry-run said so, above).
	expect(ran.filter((r) => r.c.intent === 'valid' && !r.outcome.add.ok).map((r) => r.c.what)).toEqual([]);
	if (ONLY !== undefined) return;
	expect(listed).toHaveLength(10);
	expect(shared.length).toBeGreaterThan(0);
	expect(ran.length).toBeGreaterThanOrEqual(1000);
	// Both verdicts occur in quantity: the corpus reaches the delegates, not only the parsers.
	expect(ran.filter((r) => r.outcome.add.ok).length).toBeGreaterThanOrEqual(100);
});
