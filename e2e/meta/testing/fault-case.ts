/**
 * One case of the DEL fault matrix (e2e/meta/del-converges.e2e.test.ts): a pod of three attachments
 * with 1, 2 and 3 plugins, run by bin/plexus (or plexus-shim and the daemon) with a fault injected
 * at one plugin position. Each case has its own scratch dir (cniDir, binDir, host-local and tuning
 * data), its own host bridges and macvlan master, its own API namespace and netns, so cases run
 * concurrently; `check()` says what is left after DEL and `close()` removes everything.
 *
 * The pod:
 * - eth0, the cluster network (inline in the conf): bridge + host-local;            position 0
 * - net1, NAD "mv": macvlan + static, then tuning (mtu);                             positions 1, 2
 * - net2, NAD "br": bridge + host-local, then tuning (promisc), then route-override; positions 3-5
 *   (route-override is Plexus' in-process built-in).
 *
 * Faults that need the plugin to run run it through a wrapper script (`px-fault` in the case's
 * binDir) that does the real plugin's ADD first, so there is something to undo, and then: fails
 * (plugin error), or hangs until killed (timeout, kill -9), or waits for the test to let it go
 * after it acted (API server down, netns deleted). A wrapper whose parent died gives up: an
 * orphaned delegate must not act after the DEL.
 */
import {mkdir, readdir, rm, stat, truncate, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {fileURLToPath} from 'node:url';
import {execa} from 'execa';
import {hostLocalReservations} from '../../helpers/cni.ts';
import {createNetns, ipJson, type Netns, randomName, removeLink, removeNetns} from '../../helpers/netns.ts';
import type {TestApiServer} from '../../kube/apiserver.ts';
import {CNI_BIN, PLEXUS} from '../../kube/harness.ts';

const ROUTE_OVERRIDE = fileURLToPath(new URL('../../../bin/plexus-route-override', import.meta.url));

/**
 * The conf's delegateTimeoutMs: short for the hang cases (the hang is past it), and far beyond any
 * delegate's run for the others, even on a loaded machine (bin/plexus-route-override is a Node
 * process).
 */
export const HANG_TIMEOUT_MS = 8000;
const DELEGATE_TIMEOUT_MS = 60_000;

/** Every kind of fault of the matrix. */
export const FAULT_KINDS = [
	'missing binary',
	'invalid type',
	'plugin error',
	'plugin hang',
	'kill -9 one-shot',
	'kill -9 daemon',
	'API server down',
	'netns deleted',
	'cache truncated',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** A plugin position: attachment index and plugin index in its chain. */
export interface Position {
	attachment: number;
	plugin: number;
	/** The real binary of that plugin (what the wrapper runs). */
	real: string;
	label: string;
}

export const POSITIONS: readonly Position[] = [
	{attachment: 0, plugin: 0, real: join(CNI_BIN, 'bridge'), label: 'eth0 bridge'},
	{attachment: 1, plugin: 0, real: join(CNI_BIN, 'macvlan'), label: 'net1 macvlan'},
	{attachment: 1, plugin: 1, real: join(CNI_BIN, 'tuning'), label: 'net1 tuning'},
	{attachment: 2, plugin: 0, real: join(CNI_BIN, 'bridge'), label: 'net2 bridge'},
	{attachment: 2, plugin: 1, real: join(CNI_BIN, 'tuning'), label: 'net2 tuning'},
	{attachment: 2, plugin: 2, real: ROUTE_OVERRIDE, label: 'net2 route-override'},
];

/** What the wrapper does after the real ADD. */
type WrapperMode = 'fail' | 'hang' | 'gate';

function wrapperScript(real: string, mode: WrapperMode, marker: string, go: string): string {
	const after = {
		fail: `printf '%s' '{"cniVersion":"1.0.0","code":101,"msg":"injected failure after the real ADD"}'\nexit 1`,
		hang: `touch '${marker}'\nwhile kill -0 "$parent" 2>/dev/null; do sleep 0.1; done\nexit 1`,
		gate: `touch '${marker}'\nwhile [ ! -e '${go}' ]; do kill -0 "$parent" 2>/dev/null || exit 1; sleep 0.05; done\nprintf '%s' "$out"`,
	}[mode];
	return `#!/bin/sh
parent=$PPID
in=$(cat)
if [ "$CNI_COMMAND" != ADD ]; then printf '%s' "$in" | '${real}'; exit $?; fi
out=$(printf '%s' "$in" | '${real}') || { printf '%s' "$out"; exit 1; }
${after}
`;
}

/** The wrapper mode of a kind; undefined when the kind needs no wrapper. */
function modeOf(kind: FaultKind): WrapperMode | undefined {
	if (kind === 'missing binary' || kind === 'invalid type') return undefined;
	if (kind === 'plugin error') return 'fail';
	if (kind === 'API server down' || kind === 'netns deleted') return 'gate';
	return 'hang';
}

export interface CaseRun {
	exitCode: number | undefined;
	stdout: string;
	stderr: string;
}

/** One pod with one fault. */
export class FaultCase {
	readonly kind: FaultKind;
	readonly position: Position;
	readonly dir: string;
	readonly namespace = randomName('fm');
	readonly containerId = randomName('cid');
	readonly bridges = {cluster: randomName('pxfc'), br: randomName('pxfb'), master: randomName('pxfm')};
	netns: Netns | undefined;
	netnsDeleted = false;
	podUid = '';
	/** The API server this case's pod and NADs live in. */
	readonly api: TestApiServer;
	readonly #kubeconfig: string;

	constructor(api: TestApiServer, kubeconfig: string, root: string, kind: FaultKind, position: Position) {
		this.api = api;
		this.#kubeconfig = kubeconfig;
		this.kind = kind;
		this.position = position;
		this.dir = join(root, randomName('case'));
	}

	get label(): string {
		return `${this.kind} at ${this.position.label}`;
	}
	get cniDir(): string {
		return join(this.dir, 'cni');
	}
	get binDir(): string {
		return join(this.dir, 'bin');
	}
	get marker(): string {
		return join(this.dir, 'reached');
	}
	get go(): string {
		return join(this.dir, 'go');
	}

	/** The type at the fault's position: a wrapper, a missing binary or an invalid name. */
	#faultType(): string {
		if (this.kind === 'missing binary') return 'px-not-installed';
		if (this.kind === 'invalid type') return this.position.plugin % 2 === 0 ? '..' : 'bad\u0001type';
		return 'px-fault';
	}

	/** The three chains, the faulty plugin swapped in. */
	networks(): Record<string, unknown>[] {
		const data = join(this.dir, 'data');
		const hostLocal = (subnet: string) => ({type: 'host-local', subnet, dataDir: join(data, 'host-local')});
		const chains: Record<string, unknown>[][] = [
			[{type: 'bridge', bridge: this.bridges.cluster, ipam: hostLocal('10.66.0.0/24')}],
			[
				{
					type: 'macvlan',
					master: this.bridges.master,
					mode: 'bridge',
					ipam: {type: 'static', addresses: [{address: '10.67.0.5/24'}]},
				},
				{type: 'tuning', mtu: 1400, dataDir: join(data, 'tuning')},
			],
			[
				{type: 'bridge', bridge: this.bridges.br, ipam: hostLocal('10.68.0.0/24')},
				{type: 'tuning', promisc: true, dataDir: join(data, 'tuning')},
				{type: 'route-override', addroutes: [{dst: '192.0.2.0/24', gw: '10.68.0.1'}]},
			],
		];
		const {attachment, plugin} = this.position;
		const chain = chains[attachment]!;
		chain[plugin] = {...chain[plugin], type: this.#faultType()};
		return ['cluster-net', 'mv', 'br'].map((name, i) => ({cniVersion: '1.0.0', name, plugins: chains[i]}));
	}

	/** The Plexus conf the runtime gives: the cluster network inline, this case's dirs. */
	conf(): Record<string, unknown> {
		return {
			cniVersion: '1.0.0',
			name: 'plexus-net',
			type: 'plexus',
			kubeconfig: this.#kubeconfig,
			confDir: join(this.dir, 'net.d'),
			cniDir: this.cniDir,
			binDir: this.binDir,
			logToStderr: true,
			logLevel: 'info',
			// With the API down, ADD still posts events and network-status: each waits this long.
			apiTimeoutMs: this.kind === 'API server down' ? 5000 : 20_000,
			delegateTimeoutMs: this.kind === 'plugin hang' ? HANG_TIMEOUT_MS : DELEGATE_TIMEOUT_MS,
			delegates: [this.networks()[0]],
		};
	}

	/** Creates the host links, the netns, the NADs, the pod and the wrapper. */
	async setup(): Promise<void> {
		await mkdir(this.binDir, {recursive: true});
		await mkdir(join(this.dir, 'data'), {recursive: true});
		for (const bridge of Object.values(this.bridges)) {
			await execa('ip', ['link', 'add', bridge, 'type', 'bridge']);
			await execa('ip', ['link', 'set', bridge, 'up']);
		}
		this.netns = await createNetns('pxfm');
		const [, mv, br] = this.networks();
		this.api.createNad(this.namespace, 'mv', JSON.stringify(mv));
		this.api.createNad(this.namespace, 'br', JSON.stringify(br));
		const pod = this.api.createPod({
			metadata: {
				name: 'web',
				namespace: this.namespace,
				annotations: {'k8s.v1.cni.cncf.io/networks': 'mv, br'},
			},
		});
		this.podUid = pod.metadata.uid;
		const mode = modeOf(this.kind);
		if (mode !== undefined) {
			await writeFile(
				join(this.binDir, 'px-fault'),
				wrapperScript(this.position.real, mode, this.marker, this.go),
				{
					mode: 0o755,
				},
			);
		}
	}

	/** The runtime's CNI_* environment for `command`. */
	env(command: string): Record<string, string> {
		return {
			PATH: process.env['PATH'] ?? '/usr/bin:/bin',
			CNI_COMMAND: command,
			CNI_CONTAINERID: this.containerId,
			CNI_NETNS: this.netns?.path ?? '',
			CNI_IFNAME: 'eth0',
			CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=${this.namespace};K8S_POD_NAME=web;K8S_POD_INFRA_CONTAINER_ID=${this.containerId};K8S_POD_UID=${this.podUid}`,
			CNI_PATH: CNI_BIN,
		};
	}

	/** Starts bin/plexus for `command` (the one-shot plugin), as the runtime does. */
	oneShot(command: string) {
		return execa(PLEXUS, [], {
			input: JSON.stringify(this.conf()),
			env: this.env(command),
			extendEnv: false,
			reject: false,
		});
	}

	/** Waits until the wrapper reached its fault (it touched the marker); false if `running` ended first. */
	async reached(running: Promise<unknown>): Promise<boolean> {
		let ended = false;
		void running.then(() => {
			ended = true;
		});
		for (let i = 0; i < 1200; i++) {
			if (
				await stat(this.marker).then(
					() => true,
					() => false,
				)
			)
				return true;
			if (ended) return false;
			await sleep(50);
		}
		return false;
	}

	/** Lets a gated wrapper go on. */
	async release(): Promise<void> {
		await writeFile(this.go, '');
	}

	async deleteNetns(): Promise<void> {
		if (this.netns !== undefined) await removeNetns(this.netns);
		this.netnsDeleted = true;
	}

	/** Truncates every file under cniDir to half its size (a torn or damaged cache). */
	async truncateCaches(): Promise<number> {
		const files = (await readdir(this.cniDir, {recursive: true, withFileTypes: true})).filter((e) =>
			e.isFile(),
		);
		for (const f of files) {
			const file = join(f.parentPath, f.name);
			await truncate(file, Math.floor((await stat(file)).size / 2));
		}
		return files.length;
	}

	/** What is left: each entry names one leftover (empty: the case converged). */
	async leftovers(): Promise<string[]> {
		const left: string[] = [];
		if (this.netns !== undefined && !this.netnsDeleted) {
			const links = (await ipJson<{ifname: string}[]>(this.netns, 'link', 'show')).map((l) => l.ifname);
			for (const l of links) if (l !== 'lo') left.push(`link "${l}" in the netns`);
		}
		// A deleted netns takes its veth peers with it, asynchronously: allow the kernel a moment.
		for (let i = 0; ; i++) {
			const host = await this.#hostLinks();
			if (host.length === 0 || i === 50) {
				left.push(...host.map((l) => `host link "${l}"`));
				break;
			}
			await sleep(100);
		}
		left.push(
			...(await hostLocalReservations(join(this.dir, 'data'))).map((r) => `host-local reservation ${r}`),
		);
		const cached = await readdir(this.cniDir, {recursive: true, withFileTypes: true}).catch(() => []);
		left.push(...cached.filter((e) => e.isFile()).map((e) => `cache file ${join(e.parentPath, e.name)}`));
		return left;
	}

	/** Host links on this case's bridges, or macvlans of its master. */
	async #hostLinks(): Promise<string[]> {
		const links = await ipJson<{ifname: string; master?: string; link?: string}[]>(undefined, 'link', 'show');
		const ours = new Set(Object.values(this.bridges));
		return links
			.filter((l) => (l.master !== undefined && ours.has(l.master)) || l.link === this.bridges.master)
			.map((l) => l.ifname);
	}

	async close(): Promise<void> {
		if (this.netns !== undefined) await removeNetns(this.netns);
		for (const bridge of Object.values(this.bridges)) await removeLink(bridge);
		await rm(this.dir, {recursive: true, force: true});
	}
}
