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
import {existsSync} from 'node:fs';
import {join, resolve} from 'node:path';
import {pluginRequest} from '../delegates/common/request.ts';
import {createBuiltins} from '../delegates/index.ts';
import {ProcessPluginExec} from '../src/chain/plugin-exec.ts';
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

/** One way of running a built-in's ADD+DEL, and how many timed rounds it gets. */
interface Mode {
	readonly label: string;
	readonly rounds: number;
	round(): Promise<void>;
}

/**
 * Times the modes round by round (one warm-up each first), calling `reset` untimed after every
 * round: taking turns spreads a change of machine load over all modes instead of landing on one.
 * Returns each mode's durations in ms, sorted.
 */
async function measure(modes: readonly Mode[], reset: () => void): Promise<number[][]> {
	for (const mode of modes) {
		await mode.round();
		reset();
	}
	const out = modes.map(() => [] as number[]);
	const rounds = Math.max(...modes.map((m) => m.rounds));
	for (let i = 0; i < rounds; i++) {
		for (const [k, mode] of modes.entries()) {
			if (i >= mode.rounds) continue;
			const start = process.hrtime.bigint();
			await mode.round();
			out[k]?.push(Number(process.hrtime.bigint() - start) / 1e6);
			reset();
		}
	}
	return out.map((times) => times.sort((a, b) => a - b));
}

async function main(argv: readonly string[]): Promise<void> {
	const iterations = option(argv, '--iterations', 20);
	const binaryIterations = option(argv, '--binary-iterations', 3);
	const cniPath = (process.env['CNI_PATH'] || '/usr/lib/cni').split(':').filter((d) => d !== '');
	const exec = new ProcessPluginExec();
	const builtins = createBuiltins({openNetlink, exec});
	const rows: string[][] = [];
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
			const reference = cniPath.map((dir) => join(dir, scenario.type)).find((p) => existsSync(p));
			const binary = (label: string, pluginPath: string, rounds: number): Mode => ({
				label,
				rounds,
				async round() {
					for (const command of ['ADD', 'DEL'] as const) {
						const r = request(command);
						await exec.exec({pluginPath, stdin: r.stdin, env: {...r.env}});
					}
				},
			});
			const modes: Mode[] = [
				{
					label: 'in-process',
					rounds: iterations,
					async round() {
						await plugin.add(request('ADD'));
						await plugin.del(request('DEL'));
					},
				},
				...(reference === undefined ? [] : [binary(`exec ${reference}`, reference, iterations)]),
				binary(
					`exec bin/plexus-${scenario.type}`,
					join(REPO, 'bin', `plexus-${scenario.type}`),
					binaryIterations,
				),
			];
			const times = await measure(modes, reset);
			const base = quantile(times[0] ?? [], 0.5);
			for (const [k, mode] of modes.entries()) {
				const sorted = times[k] ?? [];
				rows.push([scenario.type, mode.label, ...summarize(sorted), ratio(quantile(sorted, 0.5), base)]);
			}
			if (reference === undefined)
				rows.push([scenario.type, `(no reference "${scenario.type}" binary on CNI_PATH)`, '', '', '', '']);
		} finally {
			spawnSync('ip', ['netns', 'del', ns]);
			scenario.teardown?.();
		}
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
