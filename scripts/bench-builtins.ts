/**
 * The benchmark behind scripts/bench-builtins: one ADD+DEL of each built-in delegate (vrf, vlan,
 * route-override) run in-process, against the same ADD+DEL exec'd as a binary: the reference Go
 * plugin of that name when CNI_PATH has one (Debian ships vrf and vlan), and Plexus's own
 * standalone binary (bin/plexus-<type>). Prints medians and exec/in-process ratios. Works only in
 * network namespaces it creates and removes; loops are bounded. Needs vrf/8021q/dummy: the shell
 * wrapper runs it inside the qemu test bed when this kernel lacks them (TCG makes exec costs there
 * higher than on hardware; the ratios are what to compare).
 */
import {spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {pluginRequest} from '../delegates/common/request.ts';
import {createBuiltins} from '../delegates/index.ts';
import {ExecaPluginExec} from '../src/chain/plugin-exec.ts';
import type {CniCommand, CniPlugin} from '../src/cni/plugin.ts';
import {openNetlink} from '../src/netlink/kernel.ts';
import {quantile, ratio, summarize} from './bench-stats.ts';

const MAX_ITERATIONS = 1000;
const REPO = resolve(import.meta.dirname, '..');

function option(argv: readonly string[], name: string, fallback: number): number {
	const i = argv.indexOf(name);
	if (i < 0) return fallback;
	const n = Number(argv[i + 1]);
	if (!Number.isInteger(n) || n < 1 || n > MAX_ITERATIONS)
		throw new Error(`${name} must be an integer in 1..${MAX_ITERATIONS}`);
	return n;
}

function ip(...args: string[]): void {
	const r = spawnSync('ip', args, {stdio: ['ignore', 'pipe', 'pipe']});
	if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.toString().trim()}`);
}

/** One built-in's scenario: set up a netns, a config, and what to undo between runs (untimed). */
interface Scenario {
	readonly type: 'vrf' | 'vlan' | 'route-override';
	readonly ifname: string;
	setup(ns: string, netns: string): Record<string, unknown>;
	reset(ns: string): void;
	/** Removes what setup made outside the netns. */
	teardown?(): void;
}

/** The vlan master: on the host side, since Debian's vlan (1.1.1) predates linkInContainer. */
const VLAN_MASTER = `pxbm-${randomBytes(3).toString('hex')}`;

const SCENARIOS: readonly Scenario[] = [
	{
		type: 'vrf',
		ifname: 'eth0',
		setup(ns, netns) {
			ip('-n', ns, 'link', 'add', 'eth0', 'type', 'dummy');
			ip('-n', ns, 'link', 'set', 'eth0', 'up');
			ip('-n', ns, 'address', 'add', '10.0.0.2/24', 'dev', 'eth0');
			ip('-n', ns, 'route', 'add', '10.10.0.0/16', 'via', '10.0.0.1');
			return {
				cniVersion: '1.0.0',
				name: 'bench',
				type: 'vrf',
				vrfname: 'blue',
				prevResult: {
					cniVersion: '1.0.0',
					interfaces: [{name: 'eth0', sandbox: netns}],
					ips: [{interface: 0, address: '10.0.0.2/24'}],
				},
			};
		},
		reset(ns) {
			// DEL left the interface in main without its gateway route (the enslave cycled the link).
			spawnSync('ip', ['-n', ns, 'route', 'replace', '10.10.0.0/16', 'via', '10.0.0.1']);
		},
	},
	{
		type: 'vlan',
		ifname: 'net1',
		setup() {
			ip('link', 'add', VLAN_MASTER, 'type', 'dummy');
			ip('link', 'set', VLAN_MASTER, 'up');
			return {
				cniVersion: '1.0.0',
				name: 'bench',
				type: 'vlan',
				master: VLAN_MASTER,
				vlanId: 100,
				ipam: {type: 'static', addresses: [{address: '10.1.0.2/24', gateway: '10.1.0.1'}]},
			};
		},
		reset() {},
		teardown() {
			spawnSync('ip', ['link', 'del', VLAN_MASTER]);
		},
	},
	{
		type: 'route-override',
		ifname: 'net1',
		setup(ns, netns) {
			ip('-n', ns, 'link', 'add', 'net1', 'type', 'veth', 'peer', 'name', 'peer1');
			ip('-n', ns, 'link', 'set', 'net1', 'up');
			ip('-n', ns, 'link', 'set', 'peer1', 'up');
			ip('-n', ns, 'address', 'add', '10.0.0.2/24', 'dev', 'net1');
			return {
				cniVersion: '1.0.0',
				name: 'bench',
				type: 'route-override',
				addroutes: [{dst: '40.0.0.0/24', gw: '10.0.0.254'}],
				prevResult: {
					cniVersion: '1.0.0',
					interfaces: [{name: 'net1', sandbox: netns}],
					ips: [{interface: 0, address: '10.0.0.2/24'}],
				},
			};
		},
		reset(ns) {
			spawnSync('ip', ['-n', ns, 'route', 'del', '40.0.0.0/24']);
		},
	},
];

/** Times `n` rounds of `round` (after one warm-up), calling `reset` untimed in between; ms each, sorted. */
async function measure(n: number, round: () => Promise<void>, reset: () => void): Promise<number[]> {
	await round();
	reset();
	const out: number[] = [];
	for (let i = 0; i < n; i++) {
		const start = process.hrtime.bigint();
		await round();
		out.push(Number(process.hrtime.bigint() - start) / 1e6);
		reset();
	}
	return out.sort((a, b) => a - b);
}

async function main(argv: readonly string[]): Promise<void> {
	const iterations = option(argv, '--iterations', 20);
	const binaryIterations = option(argv, '--binary-iterations', 3);
	const cniPath = (process.env['CNI_PATH'] || '/usr/lib/cni').split(':').filter((d) => d !== '');
	const exec = new ExecaPluginExec();
	const builtins = createBuiltins({openNetlink, exec});
	const binDir = mkdtempSync(join(tmpdir(), 'pxbench-'));
	const rows: string[][] = [];
	try {
		for (const scenario of SCENARIOS) {
			const ns = `pxbench-${randomBytes(4).toString('hex')}`;
			const netns = `/var/run/netns/${ns}`;
			ip('netns', 'add', ns);
			try {
				const config = scenario.setup(ns, netns);
				const request = (command: CniCommand) =>
					pluginRequest(command, config, {
						netns,
						ifname: scenario.ifname,
						containerId: 'bench',
						path: cniPath,
						env: {PATH: process.env['PATH'] ?? ''},
					});
				const plugin = builtins.get(scenario.type) as CniPlugin;
				const reset = () => scenario.reset(ns);
				const inProcess = await measure(
					iterations,
					async () => {
						await plugin.add(request('ADD'));
						await plugin.del(request('DEL'));
					},
					reset,
				);
				rows.push([scenario.type, 'in-process', ...summarize(inProcess), '1.0×']);
				const binaries: [string, string, number][] = [];
				const reference = cniPath.map((dir) => join(dir, scenario.type)).find((p) => existsSync(p));
				if (reference !== undefined) binaries.push([`exec ${reference}`, reference, iterations]);
				binaries.push([
					`exec bin/plexus-${scenario.type}`,
					join(REPO, 'bin', `plexus-${scenario.type}`),
					binaryIterations,
				]);
				for (const [label, pluginPath, n] of binaries) {
					const run = (command: CniCommand) => {
						const r = request(command);
						return exec.exec({pluginPath, stdin: r.stdin, env: {...r.env}});
					};
					const times = await measure(
						n,
						async () => {
							await run('ADD');
							await run('DEL');
						},
						reset,
					);
					rows.push([
						scenario.type,
						label,
						...summarize(times),
						ratio(quantile(times, 0.5), quantile(inProcess, 0.5)),
					]);
				}
				if (reference === undefined)
					rows.push([scenario.type, `(no reference "${scenario.type}" binary on CNI_PATH)`, '', '', '', '']);
			} finally {
				spawnSync('ip', ['netns', 'del', ns]);
				scenario.teardown?.();
			}
		}
	} finally {
		rmSync(binDir, {recursive: true, force: true});
	}
	const header = ['delegate', 'ADD+DEL run as', 'n', 'median', 'p90', 'vs in-process'];
	const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
	const line = (cells: readonly string[]) =>
		cells
			.map((c, i) => c.padEnd(widths[i] ?? 0))
			.join('  ')
			.trimEnd();
	process.stdout.write(
		`${[line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n')}\n`,
	);
}

await main(process.argv.slice(2));
