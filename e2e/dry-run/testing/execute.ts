/**
 * Shared by the `plexus dry-run --execute` tests (e2e on the host kernel, vm for vrf/vlan): an
 * example of conf/examples made runnable on this machine (its host bridges and macvlan master
 * replaced by scratch links, host-local given a private dataDir and a random subnet), the CLI run
 * in-process (in the netns it makes for the run, or in one made here with `ip` for --netns), and
 * `ip` as the oracle for what is left.
 */
import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {basename, join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {execa} from 'execa';
import {expect} from 'vitest';
import {stringify} from 'yaml';
import {runCli} from '../../../src/cli/cli.ts';
import {loadManifests} from '../../../src/cli/dry-run/manifests.ts';
import type {DryRunReport} from '../../../src/cli/dry-run/plan.ts';
import type {Execution} from '../../../src/cli/dry-run/types.ts';

export const EXAMPLES = fileURLToPath(new URL('../../../conf/examples/', import.meta.url));
export const CNI_BIN = '/usr/lib/cni';

export interface Scratch {
	id: string;
	dir: string;
	/** Namespaces to remove in cleanup: those made here, and those the runs said they made. */
	netns: string[];
	/** Host links the test made (bridges, the macvlan master's veth). */
	hostLinks: string[];
	/** host-local's private dataDir. */
	ipamDir: string;
	/** The rewritten example (NADs + pod). */
	podFile: string;
}

/** Makes `file` (an example) runnable here and sets up the netns and host links it needs. */
export async function scratchExample(
	file: string,
	extraNads: Record<string, unknown>[] = [],
): Promise<Scratch> {
	const id = randomBytes(3).toString('hex');
	const dir = await mkdtemp(join(tmpdir(), 'pxdry-exec-'));
	const s: Scratch = {
		id,
		dir,
		netns: [],
		hostLinks: [],
		ipamDir: join(dir, 'ipam'),
		podFile: join(dir, 'example.yaml'),
	};
	const master = `pxm${id}`;
	await execa('ip', ['link', 'add', master, 'type', 'veth', 'peer', 'name', `pxp${id}`]);
	s.hostLinks.push(master);
	await execa('ip', ['link', 'set', master, 'up']);
	const bridges = new Map<string, string>();
	const subnet = `10.${100 + ((randomBytes(1)[0] ?? 0) % 100)}.${randomBytes(1)[0] ?? 0}`;

	const rewrite = (plugin: Record<string, unknown>): Record<string, unknown> => {
		const out = {...plugin};
		if (typeof out['bridge'] === 'string') {
			const name = bridges.get(out['bridge']) ?? `pxb${bridges.size}${id}`;
			bridges.set(out['bridge'], name);
			out['bridge'] = name;
		}
		if (typeof out['master'] === 'string' && out['master'] !== '') out['master'] = master;
		const ipam = out['ipam'] as Record<string, unknown> | undefined;
		if (ipam?.['type'] === 'host-local') {
			out['ipam'] = {...ipam, dataDir: s.ipamDir, ranges: [[{subnet: `${subnet}.0/24`}]]};
		}
		return out;
	};
	const manifests = await loadManifests([join(EXAMPLES, 'cluster-net.yaml'), join(EXAMPLES, file)]);
	const docs: Record<string, unknown>[] = [];
	for (const nad of manifests.nads) {
		const config = JSON.parse(nad.config ?? '{}') as Record<string, unknown>;
		const rewritten = Array.isArray(config['plugins'])
			? {...config, plugins: (config['plugins'] as Record<string, unknown>[]).map(rewrite)}
			: rewrite(config);
		docs.push({
			apiVersion: 'k8s.cni.cncf.io/v1',
			kind: 'NetworkAttachmentDefinition',
			metadata: {name: nad.name, namespace: nad.namespace},
			spec: {config: JSON.stringify(rewritten)},
		});
	}
	docs.push(...extraNads);
	for (const pod of manifests.pods) {
		docs.push({
			apiVersion: 'v1',
			kind: 'Pod',
			metadata: {name: pod.name, namespace: pod.namespace, annotations: pod.annotations},
		});
	}
	await writeFile(s.podFile, docs.map((d) => stringify(d)).join('---\n'));
	for (const name of bridges.values()) {
		await execa('ip', ['link', 'add', name, 'type', 'bridge']);
		s.hostLinks.push(name);
		await execa('ip', ['link', 'set', name, 'up']);
	}
	return s;
}

/** A netns made with `ip` (lo up), for --netns; returns its path. */
export async function operatorNetns(s: Scratch): Promise<string> {
	const name = `pxdry-${s.id}-${s.netns.length}`;
	s.netns.push(name);
	await execa('ip', ['netns', 'add', name]);
	await execa('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
	return `/var/run/netns/${name}`;
}

export async function cleanup(s: Scratch): Promise<void> {
	for (const name of s.netns) await execa('ip', ['netns', 'del', name], {reject: false});
	for (const link of s.hostLinks) await execa('ip', ['link', 'del', link], {reject: false});
	await rm(s.dir, {recursive: true, force: true});
}

/** Replaces the pod file (e.g. to point an annotation elsewhere). */
export async function rewritePod(s: Scratch, edit: (text: string) => string): Promise<void> {
	await writeFile(s.podFile, edit(await readFile(s.podFile, 'utf8')));
}

/**
 * `plexus dry-run --execute` of the scratch example, in-process, JSON out: in the netns it makes
 * for the run, or in `netns` (--netns).
 */
export async function execute(
	s: Scratch,
	netns?: string,
): Promise<{exitCode: number; report: DryRunReport; stderr: string}> {
	const outcome = await runCli({
		argv: [
			'dry-run',
			'--conf',
			join(EXAMPLES, '00-plexus.conf'),
			'--bin-dir',
			CNI_BIN,
			'--pod',
			s.podFile,
			'--execute',
			...(netns === undefined ? [] : ['--netns', netns]),
			'-o',
			'json',
		],
		env: {CNI_PATH: CNI_BIN, PATH: process.env['PATH'] ?? '/usr/bin:/bin'},
		readStdin: async () => new Uint8Array(),
	});
	const report = JSON.parse(outcome.stdout) as DryRunReport;
	const made = report.execution?.netnsCreated === true ? report.execution.netns : undefined;
	if (made !== undefined) s.netns.push(basename(made));
	return {exitCode: outcome.exitCode, report, stderr: outcome.stderr};
}

/** {@link execute}, expecting a run that goes through (no findings, exit 0); its execution too. */
export async function executeCleanly(
	s: Scratch,
	netns?: string,
): Promise<{report: DryRunReport; run: Execution; stderr: string}> {
	const {exitCode, report, stderr} = await execute(s, netns);
	expect(report.findings).toEqual([]);
	expect(exitCode).toBe(0);
	return {report, run: report.execution!, stderr};
}

/** The names `ip netns list` shows. */
export async function ipNetnsList(): Promise<string[]> {
	const {stdout} = await execa('ip', ['-json', 'netns', 'list']);
	return (JSON.parse(stdout === '' ? '[]' : stdout) as {name: string}[]).map((n) => n.name);
}

/**
 * The oracle after DEL: a netns made for the run is gone (no file, not in `ip netns list`), one
 * given with --netns is still there with only lo; no reservation of the container remains.
 */
export async function leftBehind(s: Scratch, run: Execution): Promise<string[]> {
	const left: string[] = [];
	const name = basename(run.netns);
	if (run.netnsCreated) {
		if (existsSync(run.netns)) left.push(`netns file ${run.netns}`);
		if ((await ipNetnsList()).includes(name)) left.push(`netns ${name}`);
	} else {
		left.push(...(await leftInNetns(name)));
	}
	const networks = await readdir(s.ipamDir).catch(() => [] as string[]);
	for (const network of networks) {
		for (const f of await readdir(join(s.ipamDir, network))) {
			const text = await readFile(join(s.ipamDir, network, f), 'utf8').catch(() => '');
			if (text.split('\n')[0]?.trim() === run.containerId) left.push(`reservation ${network}/${f}`);
		}
	}
	return left;
}

/** Links and addresses other than lo's in the netns `name`. */
async function leftInNetns(name: string): Promise<string[]> {
	const left: string[] = [];
	const links = JSON.parse((await execa('ip', ['-n', name, '-json', 'link', 'show'])).stdout) as {
		ifname: string;
	}[];
	for (const l of links) if (l.ifname !== 'lo') left.push(`link ${l.ifname}`);
	const addrs = JSON.parse((await execa('ip', ['-n', name, '-json', 'addr', 'show'])).stdout) as {
		ifname: string;
		addr_info: {local: string}[];
	}[];
	for (const a of addrs)
		if (a.ifname !== 'lo' && a.addr_info.length > 0) left.push(`addresses on ${a.ifname}`);
	return left;
}

/** Host links that exist, of `names`. */
export async function existingHostLinks(names: readonly string[]): Promise<string[]> {
	const out: string[] = [];
	for (const name of names) {
		const r = await execa('ip', ['link', 'show', name], {reject: false});
		if (r.exitCode === 0) out.push(name);
	}
	return out;
}
