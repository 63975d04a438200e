/**
 * The benchmark behind scripts/bench-netlink: each operation N times through the netlink core and
 * N times as `ip` processes (spawnSync, the cheapest way to run one), in a scratch netns, then a
 * table of medians, p90s and the ip/core ratio. Loops are bounded; the netns is always removed.
 */
import {spawnSync} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import {openNetlink} from '../src/netlink/kernel.ts';
import type {Netlink} from '../src/netlink/netlink.ts';

const MAX_ITERATIONS = 5000;

function parseIterations(argv: readonly string[]): number {
	const i = argv.indexOf('--iterations');
	if (i < 0) return 200;
	const n = Number(argv[i + 1]);
	if (!Number.isInteger(n) || n < 1 || n > MAX_ITERATIONS) {
		throw new Error(`--iterations must be an integer in 1..${MAX_ITERATIONS}`);
	}
	return n;
}

function ip(...args: string[]): void {
	const r = spawnSync('ip', args, {stdio: ['ignore', 'pipe', 'pipe']});
	if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.toString().trim()}`);
}

/** Runs `fn` `n` times after a short warm-up and returns the per-call durations in µs, sorted. */
function measure(n: number, fn: () => void): number[] {
	for (let i = 0; i < Math.min(10, n); i++) fn();
	const out: number[] = [];
	for (let i = 0; i < n; i++) {
		const start = process.hrtime.bigint();
		fn();
		out.push(Number(process.hrtime.bigint() - start) / 1000);
	}
	return out.sort((a, b) => a - b);
}

const quantile = (sorted: readonly number[], q: number): number =>
	sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

function fmt(us: number): string {
	return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`;
}

interface Case {
	readonly name: string;
	core(nl: Netlink): void;
	ip(ns: string): void;
}

const CASES: readonly Case[] = [
	{
		name: 'link list (dump)',
		core: (nl) => void nl.listLinks(),
		ip: (ns) => ip('-n', ns, '-json', 'link', 'show'),
	},
	{
		name: 'link get by name',
		core: (nl) => void nl.getLink('bench0'),
		ip: (ns) => ip('-n', ns, '-json', 'link', 'show', 'dev', 'bench0'),
	},
	{
		name: 'veth add + delete',
		core: (nl) => {
			nl.addLink({kind: 'veth', name: 'bva', peer: {name: 'bvb'}});
			nl.deleteLink('bva');
		},
		ip: (ns) => {
			ip('-n', ns, 'link', 'add', 'bva', 'type', 'veth', 'peer', 'name', 'bvb');
			ip('-n', ns, 'link', 'del', 'bva');
		},
	},
	{
		name: 'address add + delete',
		core: (nl) => {
			nl.addAddress('bench0', '10.77.0.1/24');
			nl.deleteAddress('bench0', '10.77.0.1/24');
		},
		ip: (ns) => {
			ip('-n', ns, 'address', 'add', '10.77.0.1/24', 'dev', 'bench0');
			ip('-n', ns, 'address', 'del', '10.77.0.1/24', 'dev', 'bench0');
		},
	},
	{
		name: 'route add + delete (table 100)',
		core: (nl) => {
			nl.addRoute({dst: '10.78.0.0/16', gateway: '10.76.0.1', table: 100});
			nl.deleteRoute({dst: '10.78.0.0/16', table: 100});
		},
		ip: (ns) => {
			ip('-n', ns, 'route', 'add', '10.78.0.0/16', 'via', '10.76.0.1', 'table', '100');
			ip('-n', ns, 'route', 'del', '10.78.0.0/16', 'table', '100');
		},
	},
];

function main(): void {
	const n = parseIterations(process.argv.slice(2));
	const ns = `pxbench-${randomBytes(4).toString('hex')}`;
	const path = `/var/run/netns/${ns}`;
	const cleanup = (): void => void spawnSync('ip', ['netns', 'del', ns], {stdio: 'ignore'});
	process.once('SIGINT', () => {
		cleanup();
		process.exit(130);
	});
	ip('netns', 'add', ns);
	try {
		const nl = openNetlink(path);
		nl.setLink('lo', {up: true});
		nl.addLink({kind: 'veth', name: 'bench0', peer: {name: 'bench1'}, up: true});
		nl.setLink('bench1', {up: true});
		nl.addAddress('bench0', '10.76.0.2/24');
		const rows: string[][] = [];
		const open = measure(n, () => openNetlink(path).close());
		rows.push([
			'open socket in netns + close',
			fmt(quantile(open, 0.5)),
			fmt(quantile(open, 0.9)),
			'—',
			'—',
			'—',
		]);
		for (const c of CASES) {
			const core = measure(n, () => c.core(nl));
			const viaIp = measure(n, () => c.ip(ns));
			const ratio = quantile(viaIp, 0.5) / quantile(core, 0.5);
			rows.push([
				c.name,
				fmt(quantile(core, 0.5)),
				fmt(quantile(core, 0.9)),
				fmt(quantile(viaIp, 0.5)),
				fmt(quantile(viaIp, 0.9)),
				`${ratio.toFixed(0)}×`,
			]);
		}
		nl.close();
		const header = ['operation', 'core p50', 'core p90', 'ip p50', 'ip p90', 'ip/core (p50)'];
		const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
		const line = (cells: readonly string[]): string =>
			`| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
		const out = [
			`netlink core vs \`ip\` (spawnSync), ${n} iterations each, netns ${ns}, node ${process.version}`,
			line(header),
			line(widths.map((w) => '-'.repeat(w))),
			...rows.map(line),
		];
		process.stdout.write(`${out.join('\n')}\n`);
	} finally {
		cleanup();
	}
}

main();
