/**
 * The benchmark behind scripts/bench: a pod with three attachments
 *   eth0: bridge + static → route-override,  net1: macvlan + static → tuning,  net2: bridge + static
 * ADDed and DELeted, in one run, three ways:
 *   floor        the delegates alone: the chain executor in this (warm) process exec'ing Debian's
 *                plugins, route-override in-process, as Plexus itself runs it; no meta-plugin;
 *   one-shot     bin/plexus exec'd per verb, as kubelet's runtime runs a thin CNI plugin;
 *   daemon+shim  plexus-shim exec'd per verb, talking to a running `plexus daemon`;
 * then a burst of pods × 3 attachments through the daemon at once: failures, p50/p99, peak RSS.
 * The Plexus conf lists the three networks as `delegates` and has no kubeconfig (Multus semantics:
 * no API server, only the delegates run), so the numbers compare CNI execution, not an API server.
 * Root; works only in network namespaces and links it creates and removes.
 * The daemon runs with the DaemonSet's NODE_OPTIONS (conf/deploy/daemonset.yaml), or
 * $BENCH_NODE_OPTIONS when set.
 *   scripts/bench [--iterations N] [--pods N]   (defaults 20 and 100)
 */
import {type ChildProcess, spawn, spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {existsSync, mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {request as httpRequest} from 'node:http';
import {loadavg, tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {withBuiltins} from '../delegates/index.ts';
import {ChainExecutor, type RuntimeConf} from '../src/chain/executor.ts';
import {parseNetworkList} from '../src/chain/network-list.ts';
import {ProcessPluginExec} from '../src/chain/plugin-exec.ts';
import {openNetlink} from '../src/netlink/kernel.ts';
import {formatMs, quantile, ratio} from './bench-stats.ts';

const REPO = resolve(import.meta.dirname, '..');
const PLEXUS = join(REPO, 'bin/plexus');
const SHIM = join(REPO, 'shim/build/Release/plexus-shim');
const CNI_BIN = (process.env['CNI_PATH'] || '/usr/lib/cni').split(':').filter((d) => d !== '');
const IFNAMES = ['eth0', 'net1', 'net2'] as const;
const MAX = 1000;

/** A positive integer option, bounded. */
function option(argv: readonly string[], name: string, fallback: number): number {
	const i = argv.indexOf(name);
	if (i < 0) return fallback;
	const n = Number(argv[i + 1]);
	if (!Number.isInteger(n) || n < 1 || n > MAX) throw new Error(`${name} must be an integer in 1..${MAX}`);
	return n;
}

function ip(...args: string[]): void {
	const r = spawnSync('ip', args, {stdio: ['ignore', 'pipe', 'pipe']});
	if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.toString().trim()}`);
}

/** Runs a process with `stdin`, resolving its exit code, stdout and wall time in ms. */
function run(
	file: string,
	env: Record<string, string>,
	stdin: string,
): Promise<{code: number | null; stdout: string; ms: number}> {
	return new Promise((done, fail) => {
		const started = performance.now();
		const child = spawn(file, [], {env, stdio: ['pipe', 'pipe', 'ignore']});
		const chunks: Buffer[] = [];
		child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
		child.on('error', fail);
		child.on('close', (code) =>
			done({code, stdout: Buffer.concat(chunks).toString(), ms: performance.now() - started}),
		);
		child.stdin.end(stdin);
	});
}

/** The bench's host links and scratch dir. */
class Bed {
	readonly id = randomBytes(3).toString('hex');
	readonly bridgeA = `pxbA${this.id}`;
	readonly bridgeC = `pxbC${this.id}`;
	readonly master = `pxbM${this.id}`;
	readonly dir = mkdtempSync(join(tmpdir(), 'plexus-bench-'));
	readonly namespaces: string[] = [];

	constructor() {
		for (const bridge of [this.bridgeA, this.bridgeC, this.master]) {
			ip('link', 'add', bridge, 'type', 'bridge');
			ip('link', 'set', bridge, 'up');
		}
	}

	netns(): string {
		const name = `pxb-${this.id}-${this.namespaces.length}`;
		ip('netns', 'add', name);
		this.namespaces.push(name);
		return name;
	}

	/** The three networks of pod `n` (addresses unique per pod). */
	networks(n: number): Record<string, unknown>[] {
		const host = `${Math.floor(n / 250)}.${(n % 250) + 2}`;
		return [
			{
				cniVersion: '1.0.0',
				name: 'bench-a',
				plugins: [
					{
						type: 'bridge',
						bridge: this.bridgeA,
						ipam: {type: 'static', addresses: [{address: `10.61.${host}/16`}]},
					},
					{type: 'route-override', addroutes: [{dst: '192.0.2.0/24', gw: '10.61.0.1'}]},
				],
			},
			{
				cniVersion: '1.0.0',
				name: 'bench-b',
				plugins: [
					{
						type: 'macvlan',
						master: this.master,
						mode: 'bridge',
						ipam: {type: 'static', addresses: [{address: `10.62.${host}/16`}]},
					},
					{type: 'tuning', mtu: 1400},
				],
			},
			{
				cniVersion: '1.0.0',
				name: 'bench-c',
				plugins: [
					{
						type: 'bridge',
						bridge: this.bridgeC,
						ipam: {type: 'static', addresses: [{address: `10.63.${host}/16`}]},
					},
				],
			},
		];
	}

	/** The Plexus conf of pod `n`: the three networks as delegates, no API server. */
	conf(n: number): string {
		return JSON.stringify({
			cniVersion: '1.0.0',
			name: 'plexus-bench',
			type: 'plexus',
			confDir: join(this.dir, 'net.d'),
			cniDir: join(this.dir, 'cni'),
			binDir: CNI_BIN[0],
			logLevel: 'error',
			delegates: this.networks(n),
		});
	}

	env(command: string, netns: string, n: number, extra: Record<string, string> = {}): Record<string, string> {
		return {
			PATH: process.env['PATH'] ?? '/usr/bin:/bin',
			CNI_COMMAND: command,
			CNI_CONTAINERID: `bench-${this.id}-${n}`,
			CNI_NETNS: `/var/run/netns/${netns}`,
			CNI_IFNAME: 'eth0',
			CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=pod-${n}`,
			CNI_PATH: CNI_BIN.join(':'),
			...extra,
		};
	}

	close(): void {
		for (const ns of this.namespaces) spawnSync('ip', ['netns', 'del', ns]);
		for (const link of [this.bridgeA, this.bridgeC, this.master]) spawnSync('ip', ['link', 'del', link]);
		rmSync(this.dir, {recursive: true, force: true});
	}
}

/** One way of attaching the pod: ADD and DEL of round `i`, each resolving its time in ms. */
interface Mode {
	add(i: number): Promise<number>;
	del(i: number): Promise<number>;
}

/** ADD and DEL times (ms, ascending) per mode; in each round every mode ADDs then DELs its pod. */
async function interleaved(
	iterations: number,
	modes: readonly Mode[],
): Promise<{add: number[]; del: number[]}[]> {
	const out = modes.map(() => ({add: [] as number[], del: [] as number[]}));
	for (let i = 0; i < iterations; i++) {
		for (const [m, mode] of modes.entries()) {
			out[m]?.add.push(await mode.add(i));
			out[m]?.del.push(await mode.del(i));
		}
	}
	for (const times of out) {
		times.add.sort((a, b) => a - b);
		times.del.sort((a, b) => a - b);
	}
	return out;
}

/** Fails the bench with the tool's output when a verb did not succeed. */
function ok(label: string, result: {code: number | null; stdout: string; ms: number}): number {
	if (result.code !== 0) throw new Error(`${label} failed (exit ${result.code}): ${result.stdout}`);
	return result.ms;
}

function probe(socketPath: string, path: string): Promise<number> {
	return new Promise((done) => {
		const req = httpRequest({socketPath, path}, (res) => {
			res.resume();
			res.on('end', () => done(res.statusCode ?? 0));
		});
		req.on('error', () => done(0));
		req.end();
	});
}

/** Starts `plexus daemon` and waits until it is ready. */
async function startDaemon(socketPath: string): Promise<ChildProcess> {
	const child = spawn(
		PLEXUS,
		[
			'daemon',
			'--socket',
			socketPath,
			'--metrics-address',
			'off',
			'--grace-ms',
			'0',
			'--log-level',
			'warning',
		],
		{
			stdio: ['ignore', 'ignore', 'inherit'],
			env: {...process.env, PLEXUS_SOCKET: socketPath, NODE_OPTIONS: daemonNodeOptions()},
		},
	);
	for (let i = 0; i < 400; i++) {
		if ((await probe(socketPath, '/readyz')) === 200) return child;
		if (child.exitCode !== null) break;
		await sleep(25);
	}
	child.kill('SIGKILL');
	throw new Error('plexus daemon did not become ready');
}

/** NODE_OPTIONS of the daemon: $BENCH_NODE_OPTIONS, else the DaemonSet's, so the bench measures what is deployed. */
function daemonNodeOptions(): string {
	const override = process.env['BENCH_NODE_OPTIONS'];
	if (override !== undefined) return override;
	const manifest = readFileSync(join(REPO, 'conf/deploy/daemonset.yaml'), 'utf8');
	return /- name: NODE_OPTIONS\n\s+value: (.+)\n/.exec(manifest)?.[1]?.trim() ?? '';
}

/** Resident set size of `pid` in bytes, from /proc. */
function rss(pid: number): number {
	const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
	return Number(match?.[1] ?? 0) * 1024;
}

/** The 1, 5 and 15 minute load averages, as `uptime` prints them. */
function loadText(): string {
	return loadavg()
		.map((n) => n.toFixed(2))
		.join(' ');
}

function table(rows: string[][]): string {
	const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
	return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ')).join('\n');
}

async function main(argv: readonly string[]): Promise<void> {
	const iterations = option(argv, '--iterations', 20);
	const pods = option(argv, '--pods', 100);
	if (!existsSync(SHIM)) throw new Error(`${SHIM} is missing: run "npm ci"`);
	// Other work on the machine moves every number; the table says how loaded it was.
	const loadBefore = loadText();
	const bed = new Bed();
	let daemon: ChildProcess | undefined;
	try {
		// Floor: the delegates alone.
		const floorNs = bed.netns();
		const exec = new ProcessPluginExec();
		const executor = new ChainExecutor({
			path: CNI_BIN,
			cacheDir: join(bed.dir, 'floor-cache'),
			exec: withBuiltins(exec, openNetlink),
			env: {PATH: process.env['PATH'] ?? ''},
		});
		const lists = bed
			.networks(0)
			.map((n) => parseNetworkList(new Uint8Array(Buffer.from(JSON.stringify(n)))));
		const rt = (i: number, ifname: string): RuntimeConf => ({
			containerId: `floor-${i}`,
			netns: `/var/run/netns/${floorNs}`,
			ifname,
			args: [],
			capabilityArgs: {},
		});
		const timed = async (work: () => Promise<void>) => {
			const started = performance.now();
			await work();
			return performance.now() - started;
		};
		const floorMode: Mode = {
			add: (i) =>
				timed(async () => {
					for (const [k, list] of lists.entries())
						await executor.addNetworkList(list, rt(i, IFNAMES[k] ?? ''));
				}),
			del: (i) =>
				timed(async () => {
					for (const [k, list] of [...lists.entries()].reverse()) {
						await executor.delNetworkList(list, rt(i, IFNAMES[k] ?? ''));
					}
				}),
		};

		// One-shot: bin/plexus per verb.
		const oneShotNs = bed.netns();
		const oneShotMode: Mode = {
			add: async (i) => ok('one-shot ADD', await run(PLEXUS, bed.env('ADD', oneShotNs, i), bed.conf(0))),
			del: async (i) => ok('one-shot DEL', await run(PLEXUS, bed.env('DEL', oneShotNs, i), bed.conf(0))),
		};

		// Daemon + shim.
		const socketPath = join(bed.dir, 'run', 'plexus.sock');
		daemon = await startDaemon(socketPath);
		const shimEnv = (command: string, ns: string, i: number) =>
			bed.env(command, ns, i, {PLEXUS_SOCKET: socketPath});
		const daemonNs = bed.netns();
		const daemonMode: Mode = {
			add: async (i) => ok('shim ADD', await run(SHIM, shimEnv('ADD', daemonNs, i), bed.conf(0))),
			del: async (i) => ok('shim DEL', await run(SHIM, shimEnv('DEL', daemonNs, i), bed.conf(0))),
		};

		// The modes take turns round by round, so a change in machine load hits all of them alike.
		const [floor, oneShot, viaDaemon] = await interleaved(iterations, [floorMode, oneShotMode, daemonMode]);
		if (floor === undefined || oneShot === undefined || viaDaemon === undefined)
			throw new Error('missing mode times');

		// Burst: every pod at once through the daemon.
		const burstNs = Array.from({length: pods}, () => bed.netns());
		const pid = daemon.pid ?? 0;
		let peak = rss(pid);
		const sampler = setInterval(() => {
			peak = Math.max(peak, rss(pid));
		}, 10);
		const burst = async (command: string) => {
			const results = await Promise.all(
				burstNs.map((ns, n) => run(SHIM, shimEnv(command, ns, 1000 + n), bed.conf(n + 1))),
			);
			const times = results.map((r) => r.ms).sort((a, b) => a - b);
			return {failures: results.filter((r) => r.code !== 0), times};
		};
		const burstAdd = await burst('ADD');
		const burstDel = await burst('DEL');
		clearInterval(sampler);
		peak = Math.max(peak, rss(pid));

		const median = (xs: number[]) => quantile(xs, 0.5);
		const rows = [
			[
				'mode',
				'ADD median',
				'DEL median',
				'ADD / floor',
				'DEL / floor',
				'ADD min',
				'DEL min',
				'min ADD / floor',
			],
			...(
				[
					['floor (delegates alone)', floor],
					['plexus one-shot', oneShot],
					['plexus daemon + shim', viaDaemon],
				] as const
			).map(([label, t]) => [
				label,
				formatMs(median(t.add)),
				formatMs(median(t.del)),
				ratio(median(t.add), median(floor.add)),
				ratio(median(t.del), median(floor.del)),
				// The fastest round is what a quiet machine gives; medians carry the load of the moment.
				formatMs(quantile(t.add, 0)),
				formatMs(quantile(t.del, 0)),
				ratio(quantile(t.add, 0), quantile(floor.add, 0)),
			]),
		];
		const burstRows = [
			['burst', 'pods', 'failures', 'p50', 'p99', 'peak daemon RSS'],
			...(
				[
					['ADD', burstAdd],
					['DEL', burstDel],
				] as const
			).map(([verb, b]) => [
				verb,
				String(pods),
				String(b.failures.length),
				formatMs(quantile(b.times, 0.5)),
				formatMs(quantile(b.times, 0.99)),
				`${(peak / 2 ** 20).toFixed(1)} MB`,
			]),
		];
		process.stdout.write(
			`pod with 3 attachments (bridge+static→route-override, macvlan+static→tuning, bridge+static), ${iterations} rounds; daemon NODE_OPTIONS="${daemonNodeOptions()}"\nload average (1/5/15 min) at start ${loadBefore}, at end ${loadText()}\n\n${table(rows)}\n\n${table(burstRows)}\n`,
		);
		const failure = burstAdd.failures[0] ?? burstDel.failures[0];
		if (failure !== undefined) process.stdout.write(`first burst failure: ${failure.stdout}\n`);
	} finally {
		if (daemon !== undefined && daemon.exitCode === null) {
			daemon.kill('SIGTERM');
			await new Promise((done) => daemon?.once('exit', done));
		}
		bed.close();
	}
}

await main(process.argv.slice(2));
