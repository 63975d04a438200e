// The dry-run consistency corpus, the part that needs vrf and 8021q (the qemu test bed, or a host
// kernel that has them): valid vrf and vlan chains, where dry-run says ADD would run and the real
// ADD (the built-ins on the kernel, /usr/lib/cni's plugins, one netns per case) does. The broken
// vrf and vlan configs are in ./corpus.e2e.test.ts: ADD refuses them before any kernel call.
import {afterAll, beforeAll, expect, test} from 'vitest';
import {configureLog, lockLogConfig} from '../../src/log.ts';
import {CorpusHarness, mismatches, summary} from './testing/corpus/harness.ts';
import {generateKernelCorpus} from './testing/corpus/kernel.ts';

const SEED = Number(process.env['PLEXUS_CORPUS_SEED'] ?? 20261204);
const harness = new CorpusHarness();
const corpus = generateKernelCorpus(SEED, harness.host, 24);

beforeAll(async () => {
	configureLog({logToStderr: false, logLevel: 'panic', logFile: undefined});
	lockLogConfig();
	await harness.setup();
});

afterAll(async () => {
	await harness.close();
});

test(`${corpus.length} valid vrf/vlan cases: dry-run finds nothing and the real ADD succeeds`, async () => {
	const ran = await harness.run(corpus);
	process.stderr.write(`dry-run kernel corpus (seed ${SEED}): ${summary(ran)}\n`);
	expect(mismatches(ran)).toEqual([]);
	expect(ran.filter((r) => !r.outcome.add.ok).map((r) => [r.c.what, r.outcome.add.message])).toEqual([]);
});
