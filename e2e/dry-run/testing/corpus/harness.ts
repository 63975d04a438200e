/**
 * What a corpus run needs on the host, and the run itself: a scratch dir (tmpfs when there is
 * one: each ADD fsyncs its cache file), the macvlan master bridge, the names of the bridges the
 * cases' bridge plugins create, network namespaces made in batches of `ip -batch`, and a few cases
 * at a time through ./run.ts. `close()` removes all of it.
 */
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {mkdir, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {execa} from 'execa';
import {ProcessPluginExec} from '../../../../src/chain/plugin-exec.ts';
import {randomName, removeLink} from '../../../helpers/netns.ts';
import type {CorpusCase, CorpusHost} from './pieces.ts';
import {type CaseOutcome, runCase, VersionMemoExec} from './run.ts';

/** Cases run at once (the delegates are processes; the machine has two cores). */
const PARALLEL = 6;
/** Network namespaces are made this many at a time, with one `ip -batch`. */
const NETNS_CHUNK = 64;

/** One case and what both sides said. */
export interface Ran {
	c: CorpusCase;
	outcome: CaseOutcome;
	/** How long its dry-run and ADD took together. */
	ms: number;
}

export class CorpusHarness {
	/** Named now (the generated confs carry these paths), made by setup(). */
	readonly host: CorpusHost;
	readonly #root: string;
	readonly #netnsPrefix = randomName('pxcn').slice(0, 10);
	readonly #made: string[] = [];

	constructor() {
		this.#root = join(
			existsSync('/dev/shm') ? '/dev/shm' : tmpdir(),
			`plexus-corpus-${randomBytes(6).toString('hex')}`,
		);
		this.host = {
			master: randomName('pxcm'),
			missingMaster: randomName('pxcx'),
			clusterBridge: randomName('pxcc'),
			secondaryBridge: randomName('pxcs'),
			subnet: `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}`,
			cniDir: join(this.#root, 'cni'),
			binDir: join(this.#root, 'bin'),
			confDir: join(this.#root, 'net.d'),
		};
	}

	/** Makes the scratch dir and the master bridge. */
	async setup(): Promise<void> {
		await mkdir(this.#root);
		await execa('ip', ['link', 'add', this.host.master, 'type', 'bridge']);
		await execa('ip', ['link', 'set', this.host.master, 'up']);
	}

	/** Removes the namespaces, the host bridges and the scratch dir. */
	async close(): Promise<void> {
		if (this.#made.length > 0)
			await execa('ip', ['-force', '-batch', '-'], {
				input: this.#made.map((n) => `netns del ${n}`).join('\n'),
				reject: false,
			});
		for (const link of [this.host.master, this.host.clusterBridge, this.host.secondaryBridge])
			await removeLink(link);
		await rm(this.#root, {recursive: true, force: true});
	}

	/** Makes the netns of cases [from, from + NETNS_CHUNK) of `count`. */
	async #makeNetns(from: number, count: number): Promise<void> {
		const names = Array.from(
			{length: Math.min(NETNS_CHUNK, count - from)},
			(_, k) => `${this.#netnsPrefix}${from + k}`,
		);
		this.#made.push(...names);
		await execa('ip', ['-batch', '-'], {input: names.map((n) => `netns add ${n}`).join('\n')});
	}

	/** Runs every case (each in its own netns), in corpus order in the answer. */
	async run(corpus: readonly CorpusCase[]): Promise<Ran[]> {
		const dryExec = new VersionMemoExec(new ProcessPluginExec({busyRetries: 0}));
		const addExec = new ProcessPluginExec();
		const ran: Ran[] = [];
		let next = 0;
		let chunk = Promise.resolve();
		const worker = async () => {
			for (let i = next++; i < corpus.length; i = next++) {
				if (i % NETNS_CHUNK === 0) chunk = chunk.then(() => this.#makeNetns(i, corpus.length));
				await chunk;
				const c = corpus[i]!;
				const started = performance.now();
				const outcome = await runCase(c, {
					dir: join(this.#root, 'cases', String(i)),
					netns: `/var/run/netns/${this.#netnsPrefix}${i}`,
					containerId: `corpus-${i}`,
					dryExec,
					addExec,
				});
				ran.push({c, outcome, ms: performance.now() - started});
			}
		};
		await Promise.all(Array.from({length: PARALLEL}, worker));
		return ran.sort((a, b) => a.c.index - b.c.index);
	}
}

/** The cases where dry-run and the real ADD disagree, as a test shows them. */
export function mismatches(ran: readonly Ran[]): Record<string, unknown>[] {
	return ran
		.filter((r) => !agreeOn(r))
		.map((r) => ({
			index: r.c.index,
			category: r.c.category,
			what: r.c.what,
			dryRun: r.outcome.dryRun,
			add: r.outcome.add,
		}));
}

function agreeOn(r: Ran): boolean {
	const o = r.outcome;
	if (r.c.unloadable === true)
		return !o.dryRun.ok && !o.add.ok && (o.dryRun.message ?? '').startsWith('file "');
	return o.dryRun.ok === o.add.ok && o.dryRun.message === o.add.message;
}

/** Per category: the real ADD's verdicts and the summed time of its cases (they overlap). */
export function summary(ran: readonly Ran[]): string {
	const byCategory = new Map<string, {ok: number; failed: number; ms: number}>();
	for (const {c, outcome, ms} of ran) {
		const t = byCategory.get(c.category) ?? {ok: 0, failed: 0, ms: 0};
		if (outcome.add.ok) t.ok++;
		else t.failed++;
		t.ms += ms;
		byCategory.set(c.category, t);
	}
	return [...byCategory]
		.map(([k, t]) => `${k}: ${t.ok} ADD ok, ${t.failed} failed, ${(t.ms / 1000).toFixed(1)} case-s`)
		.join('; ');
}

/** "category n, ..." for a test's name. */
export function sizes(corpus: readonly CorpusCase[]): string {
	const counts = new Map<string, number>();
	for (const c of corpus) counts.set(c.category, (counts.get(c.category) ?? 0) + 1);
	return [...counts].map(([k, n]) => `${k} ${n}`).join(', ');
}
