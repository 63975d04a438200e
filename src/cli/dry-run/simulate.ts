/**
 * `plexus dry-run --simulate`: runs the meta-plugin's own ADD steps (src/meta/steps/add.ts:
 * resolve, cache, each attachment through the real executor, default route, device info,
 * network-status recorded and shown, not written) against the in-memory netlink model instead of
 * the kernel, with dry-run's ports (./ports.ts).
 * Built-in delegates really run on the model. External delegates are opaque: instead of running
 * the binary, a stand-in creates the interface it would create (a dummy link named CNI_IFNAME,
 * up) with the addresses and routes of a `static` IPAM section, and answers the result a plugin
 * would; other IPAM types give no address. The stand-in also answers a built-in's IPAM call
 * (vlan's `static`). Nothing touches the kernel; the executor's result cache goes to a temp dir
 * that is removed.
 */
import {mkdtemp, rm} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {basename, join} from 'node:path';
import {BuiltinPluginExec} from '../../chain/builtin-exec.ts';
import {ChainExecutor} from '../../chain/executor.ts';
import type {ExecRequest, PluginExec} from '../../chain/plugin-exec.ts';
import {type ExecRecord, RecordingPluginExec} from '../../chain/recording-exec.ts';
import {toCniError} from '../../cni/errors.ts';
import {isJsonObject} from '../../cni/json.ts';
import type {CniPlugin} from '../../cni/plugin.ts';
import {versionAtLeast} from '../../cni/versions.ts';
import {Invocation} from '../../meta/invocation.ts';
import {addPod, RolledBackError} from '../../meta/steps/add.ts';
import {NetlinkModel as Model} from '../../netlink/model.ts';
import type {OpenNetlink} from '../../netlink/netlink.ts';
import {currentAttachment} from '../../observe/context.ts';
import {networkRun, podAddRequestCachedIn} from './plan.ts';
import {dryRunPorts, memoryDeviceInfo, RecordingKube} from './ports.ts';
import {staticIpam} from './static-ipam.ts';
import type {Finding, NetView, NetworkDryRun, PodDryRun, SimulatedStep, Simulation} from './types.ts';

/** IP entries in the shape of `version` (0.3.x/0.4.0 carry "version"). */
function ipEntries(version: string, ips: {address: string; gateway?: string}[], iface: number | undefined) {
	return ips.map((ip) => ({
		...(versionAtLeast(version, '1.0.0') ? {} : {version: ip.address.includes(':') ? '6' : '4'}),
		...(iface === undefined ? {} : {interface: iface}),
		...ip,
	}));
}

/**
 * Stands in for external binaries on the model (see the file comment): a decorator of the binaries'
 * exec that finds them as the real one does and never runs them.
 */
class OpaqueExec implements PluginExec {
	readonly #real: PluginExec;
	readonly #model: Model;
	#macs = 0;

	constructor(real: PluginExec, model: Model) {
		this.#real = real;
		this.#model = model;
	}

	find(type: string, path: readonly string[]): Promise<string> {
		return this.#real.find(type, path);
	}

	async exec(request: ExecRequest): Promise<Uint8Array> {
		const type = basename(request.pluginPath);
		const stdin = Buffer.from(request.stdin).toString('utf8');
		const config = JSON.parse(stdin) as Record<string, unknown>;
		const version = String(config['cniVersion'] ?? '0.1.0');
		if (request.env['CNI_COMMAND'] !== 'ADD') return new Uint8Array();
		// The real plugin's IPAM call refuses what static refuses; so does its stand-in.
		const {ips, routes} = staticIpam(config['ipam']);
		const ipam = config['ipam'];
		if (config['type'] !== type && isJsonObject(ipam) && ipam['type'] === type) {
			// A built-in's IPAM call: addresses only, the built-in configures them.
			return Buffer.from(
				JSON.stringify({cniVersion: version, ips: ipEntries(version, ips, undefined), routes}),
			);
		}
		const netns = request.env['CNI_NETNS'] ?? '';
		const ifname = request.env['CNI_IFNAME'] ?? '';
		const nl = this.#model.open(netns);
		try {
			if (nl.findLink(ifname) === undefined) {
				this.#macs += 1;
				const mac = `02:00:00:00:00:${this.#macs.toString(16).padStart(2, '0')}`;
				nl.addLink({kind: 'dummy', name: ifname, up: true, mac});
				for (const ip of ips) nl.addAddress(ifname, ip.address);
				for (const r of routes) {
					const gateway = r.gw ?? ips.find((ip) => ip.gateway !== undefined)?.gateway;
					nl.addRoute({dst: r.dst, oif: ifname, ...(gateway === undefined ? {} : {gateway})});
				}
			}
			const link = nl.getLink(ifname);
			const result = {
				cniVersion: version,
				interfaces: [{name: ifname, ...(link.mac === undefined ? {} : {mac: link.mac}), sandbox: netns}],
				ips: ipEntries(version, ips, 0),
				...(routes.length > 0 ? {routes} : {}),
			};
			return Buffer.from(JSON.stringify(result));
		} finally {
			nl.close();
		}
	}
}

/** The netns as the table and JSON show it (the model's, or the kernel's for --execute). */
export function viewOf(open: OpenNetlink, netns: string): NetView {
	const nl = open(netns);
	try {
		const links = nl.listLinks().sort((a, b) => a.index - b.index);
		const name = (index: number | undefined) =>
			index === undefined ? null : (links.find((l) => l.index === index)?.name ?? String(index));
		return {
			links: links.map((l) => ({
				name: l.name,
				kind: l.kind ?? null,
				up: l.up,
				master: name(l.masterIndex),
				vlan: l.vlan?.id ?? null,
			})),
			addresses: nl
				.listAddresses()
				.filter((a) => !a.address.startsWith('fe80:'))
				.map((a) => ({dev: name(a.index) ?? '', cidr: a.cidr})),
			routes: nl
				.listRoutes({table: 'all'})
				.filter((r) => r.table !== 255 && !r.dst.startsWith('fe80:') && !r.dst.startsWith('ff00:'))
				.map((r) => ({
					table: r.table,
					dst: r.dst,
					gateway: r.gateway ?? null,
					dev: name(r.oif),
					type: r.type,
				})),
			vrfs: links
				.filter((l) => l.kind === 'vrf' && l.vrf !== undefined)
				.map((l) => ({
					name: l.name,
					table: l.vrf?.table ?? 0,
					ports: links.filter((p) => p.masterIndex === l.index).map((p) => p.name),
				})),
		};
	} finally {
		nl.close();
	}
}

interface Harness {
	model: Model;
	steps: SimulatedStep[];
	/** The stand-in for binaries (also the built-ins' IPAM exec). */
	exec: OpaqueExec;
	/** The built-ins, on the model. */
	builtins: Map<string, CniPlugin>;
	/** Records each ADD run through the whole seam as a step. */
	record: (exec: PluginExec) => PluginExec;
	cacheDir: string;
	/** The chain running outside any attachment scope (a bare network list). */
	current: {network: string; ifname: string};
	/** The netns when the first delegate failed: as ADD left it, before its rollback. */
	failed: {view: NetView | undefined};
}

async function harness(common: {exec: PluginExec; netns: string}): Promise<Harness> {
	const model = new Model();
	model.addNetns(common.netns);
	// A runtime's sandbox has lo up before any CNI plugin runs.
	const lo = model.open(common.netns);
	try {
		lo.setLink('lo', {up: true});
	} finally {
		lo.close();
	}
	const steps: SimulatedStep[] = [];
	const current = {network: '', ifname: ''};
	const failed: Harness['failed'] = {view: undefined};
	const step = (run: ExecRecord) => {
		if (run.command !== 'ADD') return;
		// ADD's steps run each attachment in its scope (src/meta/scope.ts): that names the chain.
		const at = currentAttachment();
		const network = at?.network ?? current.network;
		const ifname = at?.ifname ?? current.ifname;
		const index = steps.filter((s) => s.network === network && s.ifname === ifname).length + 1;
		const error = run.error?.message ?? null;
		steps.push({
			network,
			ifname,
			index,
			type: run.type,
			runsAs: run.builtin ? 'builtin' : 'opaque',
			stdin: Buffer.from(run.request.stdin).toString('utf8'),
			result: run.error === undefined ? JSON.parse(Buffer.from(run.stdout).toString('utf8')) : null,
			error,
		});
		if (error !== null && failed.view === undefined) failed.view = viewOf(model.open, common.netns);
	};
	const exec = new OpaqueExec(common.exec, model);
	const {createBuiltins} = await import('../../../delegates/index.ts');
	const builtins = createBuiltins({openNetlink: model.open, exec});
	const record = (inner: PluginExec) => new RecordingPluginExec(inner, step);
	const cacheDir = await mkdtemp(join(tmpdir(), 'plexus-simulate-'));
	return {model, steps, exec, builtins, record, cacheDir, current, failed};
}

/** ADD's failure as a simulation finding (the network it is about, when it names one). */
function simulationFinding(error: unknown): Finding {
	const cause = toCniError(error);
	const network = error instanceof RolledBackError ? error.network : undefined;
	return {
		severity: 'error',
		message: cause.message,
		...(network === undefined ? {} : {network}),
		source: 'simulation',
	};
}

/**
 * Simulates the pod's ADD: the meta-plugin's own steps (src/meta/steps/add.ts) on the model,
 * with external plugins stood in for and network-status recorded, not written.
 */
export async function simulatePod(input: PodDryRun): Promise<Simulation> {
	const h = await harness(input);
	try {
		const kube = new RecordingKube(input.kube, input.pod);
		const ports = dryRunPorts({
			kube,
			exec: h.exec,
			inProcess: async (conf) => filterDisabled(new Map(h.builtins), conf.disableBuiltins),
			wrapExec: h.record,
			netlink: h.model.open,
			files: memoryDeviceInfo(),
			probeNetns: (path) => (path === input.netns ? {kind: 'netns'} : {kind: 'missing'}),
		});
		const findings: Finding[] = [];
		try {
			await addPod(await Invocation.open(podAddRequestCachedIn(input, h.cacheDir), ports), ports);
		} catch (error) {
			findings.push(simulationFinding(error));
		}
		// After a failure, the netns as ADD left it then (the rollback's DELs are not shown).
		const view = h.failed.view ?? viewOf(h.model.open, input.netns);
		return {steps: h.steps, view, networkStatus: kube.networkStatus, findings};
	} finally {
		await rm(h.cacheDir, {recursive: true, force: true});
	}
}

function filterDisabled(map: Map<string, CniPlugin>, disabled: readonly string[]): Map<string, CniPlugin> {
	for (const type of disabled) map.delete(type);
	return map;
}

/** Simulates one network list's ADD (a bare conflist: one chain, no meta-plugin steps). */
export async function simulateNetwork(input: NetworkDryRun): Promise<Simulation> {
	const h = await harness(input);
	try {
		const executor = new ChainExecutor({
			path: input.path,
			exec: h.record(new BuiltinPluginExec(h.exec, h.builtins)),
			env: input.env,
			cacheDir: h.cacheDir,
		});
		const item = networkRun(input);
		h.current.network = item.network;
		h.current.ifname = item.rt.ifname;
		const findings: Finding[] = [];
		try {
			await executor.addNetworkList(item.list, item.rt);
		} catch (error) {
			findings.push({
				severity: 'error',
				message: toCniError(error).message,
				network: item.network,
				source: 'simulation',
			});
		}
		return {steps: h.steps, view: viewOf(h.model.open, input.netns), networkStatus: null, findings};
	} finally {
		await rm(h.cacheDir, {recursive: true, force: true});
	}
}
