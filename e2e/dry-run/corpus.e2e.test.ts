// The dry-run consistency corpus (issue 13, first acceptance line): over a thousand generated
// pods, NADs, Plexus confs and annotations, valid and broken, where `plexus dry-run`'s verdict
// (would ADD succeed or fail) and first message equal the real meta-plugin ADD's. The real ADD is
// the plugin entry point in-process with /usr/lib/cni's plugins and the built-ins on this kernel,
// each case in a fresh network namespace. This kernel lacks vrf and 8021q: the corpus's vrf and
// vlan cases are the ones refused before the built-in touches the kernel (config, version, master
// lookup); valid vrf and vlan chains are ./corpus-kernel.vm.test.ts, in the vm project.
// Confs whose JSON types libcni's loader refuses (category conf-unloadable) never reach ADD on a
// node: there both must refuse, and dry-run's message names the file as the loader's does.
// PLEXUS_CORPUS_SEED=<n> draws another corpus; PLEXUS_CORPUS_CATEGORY=<name> runs one category;
// PLEXUS_CORPUS_REPORT=<file> writes the mismatches and the slowest cases there.
import {writeFile} from 'node:fs/promises';
import {afterAll, beforeAll, expect, test} from 'vitest';
import {configureLog, lockLogConfig} from '../../src/log.ts';
import {generateCorpus} from './testing/corpus/generate.ts';
import {CorpusHarness, mismatches, sizes, summary} from './testing/corpus/harness.ts';

const SEED = Number(process.env['PLEXUS_CORPUS_SEED'] ?? 20261204);
const ONLY = process.env['PLEXUS_CORPUS_CATEGORY'];
const harness = new CorpusHarness();
const corpus = generateCorpus(SEED, harness.host).filter((c) => ONLY === undefined || c.category === ONLY);

beforeAll(async () => {
	configureLog({logToStderr: false, logLevel: 'panic', logFile: undefined});
	lockLogConfig();
	await harness.setup();
});

afterAll(async () => {
	await harness.close();
});

test(`${corpus.length} cases (${sizes(corpus)}): dry-run's verdict and first message are the real ADD's`, {
	timeout: 300_000,
}, async () => {
	const started = performance.now();
	const ran = await harness.run(corpus);
	const seconds = ((performance.now() - started) / 1000).toFixed(1);
	const wrong = mismatches(ran);
	process.stderr.write(
		`dry-run corpus (seed ${SEED}): ${ran.length} cases in ${seconds} s; ${summary(ran)}; ${wrong.length} mismatches\n`,
	);
	const reportFile = process.env['PLEXUS_CORPUS_REPORT'];
	if (reportFile !== undefined) {
		const slow = ran.toSorted((a, b) => b.ms - a.ms).slice(0, 30);
		const slowest = slow.map((r) => ({i: r.c.index, ms: r.ms, what: r.c.what, cat: r.c.category}));
		await writeFile(reportFile, JSON.stringify({mismatches: wrong, slow: slowest}, null, 1));
	}
	expect(wrong).toEqual([]);

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
