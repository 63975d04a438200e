/**
 * The `vlan` delegate: an 802.1Q sub-interface in the pod netns, addressed by delegated IPAM.
 * Also the chained empty-master mode (containernetworking/plugins PR #993): with
 * `linkInContainer: true` and no `master`, the VLAN is made on CNI_IFNAME and named
 * `<CNI_IFNAME>.<vlanId>`. Wiring only; the kernel work is in ./vlan.ts.
 */
import type {PluginExec} from '../../src/chain/plugin-exec.ts';
import {CniError, CniErrorCode} from '../../src/cni/errors.ts';
import type {CniPlugin} from '../../src/cni/plugin.ts';
import type {Dns} from '../../src/cni/result.ts';
import {SUPPORTED_VERSIONS, versionAtLeast} from '../../src/cni/versions.ts';
import type {Netlink, OpenNetlink} from '../../src/netlink/netlink.ts';
import {
	assertCheckAllowed,
	configLoader,
	ignoreMissingNetns,
	type Result,
	readPrevResult,
	requirePrevResult,
	withNetns,
	writeResult,
} from '../common/cni.ts';
import {ipamAdd, ipamExec} from '../common/ipam.ts';
import {IFNAME_MAX, parseVlanConfig, resolveVlanTarget, type VlanConfig, type VlanTarget} from './config.ts';
import {
	assertAddresses,
	assertMtu,
	assertRoutes,
	assertVlan,
	configureInterface,
	createVlan,
	deleteVlan,
	findMaster,
} from './vlan.ts';

/** The reference vlan plugin supports every spec version (version.All). */
export const VLAN_VERSIONS = SUPPORTED_VERSIONS;

/** What the vlan delegate needs from the outside world. */
export interface VlanDeps {
	readonly openNetlink: OpenNetlink;
	/** Runs the IPAM plugin named by `ipam.type` from CNI_PATH. */
	readonly exec: PluginExec;
}

/** Runs `fn` with a handle where the master lives: the pod's (`podNl`) or the host's. */
async function withMasterNetns<T>(
	openNetlink: OpenNetlink,
	target: VlanTarget,
	podNl: Netlink,
	fn: (masterNl: Netlink) => T | Promise<T>,
): Promise<T> {
	if (target.masterInContainer) return fn(podNl);
	const hostNl = openNetlink();
	try {
		return await fn(hostNl);
	} finally {
		hostNl.close();
	}
}

/** The `ipam.type`, required for ADD: without it the link would get no address. */
function ipamType(config: VlanConfig): string {
	if (config.ipam.type === '') {
		throw new CniError(
			CniErrorCode.invalidConfig,
			'invalid vlan config: "ipam" with a "type" is required (the IPAM plugin that addresses the vlan link)',
		);
	}
	return config.ipam.type;
}

/** Builds the vlan plugin over a Netlink opener and the exec seam. */
export function createVlanPlugin(deps: VlanDeps): CniPlugin {
	const load = configLoader('vlan', VLAN_VERSIONS, parseVlanConfig);

	return {
		type: 'vlan',
		supportedVersions: VLAN_VERSIONS,

		async add(request) {
			const config = load(request);
			const target = resolveVlanTarget(config, request.ifname, true);
			const ipam = ipamType(config);
			const prev = target.chained ? chainedPrevResult(config) : undefined;

			return withNetns(deps.openNetlink, request.netns, async (podNl) => {
				const link = await withMasterNetns(deps.openNetlink, target, podNl, (masterNl) => {
					const master = findMaster(masterNl, target.master);
					assertMtu(config.mtu, master);
					return createVlan({
						masterNl,
						podNl,
						netns: request.netns,
						master,
						vlanId: config.vlanId,
						mtu: config.mtu,
						ifname: target.ifname,
					});
				});
				try {
					const ipamResult = await ipamAdd(deps.exec, ipam, request, config.cniVersion);
					try {
						const {result, own} = buildResult(prev, ipamResult, config, {
							name: link.name,
							...(link.mac === undefined ? {} : {mac: link.mac}),
							sandbox: request.netns,
						});
						await configureInterface(podNl, link.name, own, (result.interfaces ?? []).length - 1);
						return writeResult(result, config.cniVersion);
					} catch (err) {
						// Release the addresses IPAM handed out: the failed ADD keeps none of them.
						await ipamExec(deps.exec, ipam, request, 'DEL').catch(() => undefined);
						throw err;
					}
				} catch (err) {
					deleteVlan(podNl, link.name);
					throw err;
				}
			});
		},

		async del(request) {
			const config = load(request);
			const target = resolveVlanTarget(config, request.ifname, false, false);
			// A chained name too long for the kernel was refused by ADD before IPAM or any link: the
			// runtime's DEL after that failed ADD has nothing to undo and must not fail forever.
			if (target.ifname.length > IFNAME_MAX) return;
			if (config.ipam.type !== '') await ipamExec(deps.exec, config.ipam.type, request, 'DEL');
			if (request.netns === '') return;
			await ignoreMissingNetns(
				withNetns(deps.openNetlink, request.netns, (podNl) => deleteVlan(podNl, target.ifname)),
			);
		},

		async check(request) {
			const config = load(request);
			assertCheckAllowed(config.cniVersion);
			const target = resolveVlanTarget(config, request.ifname, false);
			if (config.ipam.type !== '') await ipamExec(deps.exec, config.ipam.type, request, 'CHECK');
			const prev = requirePrevResult(config, 'vlan: required prevResult missing');
			const interfaces = prev.interfaces ?? [];
			const index = interfaces.findIndex((i) => i.name === target.ifname && i.sandbox === request.netns);
			const iface = interfaces[index];
			if (iface === undefined) {
				throw new CniError(
					CniErrorCode.invalidConfig,
					`sandbox in prevResult for "${target.ifname}" doesn't match configured netns: "${request.netns}"`,
				);
			}
			await withNetns(deps.openNetlink, request.netns, async (podNl) => {
				const master = await withMasterNetns(deps.openNetlink, target, podNl, (masterNl) =>
					findMaster(masterNl, target.master),
				);
				assertVlan(podNl, {
					ifname: target.ifname,
					vlanId: config.vlanId,
					mtu: config.mtu,
					mac: iface.mac,
					master,
					masterInPod: target.masterInContainer,
				});
				const ips = (prev.ips ?? []).filter((ip) => ip.interface === index).map((ip) => ip.address);
				assertAddresses(podNl, target.ifname, ips);
				assertRoutes(podNl, prev.routes);
			});
		},

		async status(request) {
			const config = load(request);
			if (config.ipam.type !== '') await ipamExec(deps.exec, config.ipam.type, request, 'STATUS');
		},

		// CNI 1.1: a plugin that delegates IPAM forwards GC to it (the reference vlan has a FIXME).
		async gc(request) {
			const config = load(request);
			if (config.ipam.type !== '') await ipamExec(deps.exec, config.ipam.type, request, 'GC');
		},
	};
}

/**
 * The prevResult chained mode keeps. A 0.1.0/0.2.0 result has no interface list, and one without
 * any address has no newer reading at all (libcni refuses to convert it): it contributes nothing,
 * as in the PR, which ignored prevResult's content.
 */
function chainedPrevResult(config: VlanConfig): Result | undefined {
	const prev = config.prevResult;
	if (prev === undefined) return undefined;
	const version = typeof prev['cniVersion'] === 'string' ? prev['cniVersion'] : config.cniVersion;
	if (!versionAtLeast(version, '0.3.0') && prev['ip4'] === undefined && prev['ip6'] === undefined) {
		return undefined;
	}
	return readPrevResult(prev, config.cniVersion);
}

/**
 * The ADD result. Standalone, it is the reference's: the vlan interface, IPAM's IPs (on that
 * interface) and routes, and `dns` from the config. Chained, the previous plugin's interfaces, IPs
 * and routes are kept and the vlan's are appended (the unmerged PR replaced them; keeping them is
 * what a chain's later plugins and the network-status annotation need).
 */
function buildResult(
	prev: Result | undefined,
	ipam: Result,
	config: VlanConfig,
	iface: {name: string; mac?: string; sandbox: string},
): {result: Result; own: Result} {
	const interfaces = [...(prev?.interfaces ?? []), iface];
	const index = interfaces.length - 1;
	const ownIps = (ipam.ips ?? []).map((ip) => ({...ip, interface: index}));
	if (ownIps.length === 0) {
		throw new CniError(CniErrorCode.internal, 'IPAM plugin returned missing IP config');
	}
	const own: Result = {cniVersion: ipam.cniVersion, ips: ownIps, routes: ipam.routes ?? []};
	const ips = [...(prev?.ips ?? []), ...ownIps];
	const routes = [...(prev?.routes ?? []), ...(ipam.routes ?? [])];
	const dns: Dns = (config.dns as Dns | undefined) ?? prev?.dns ?? {};
	return {result: {cniVersion: ipam.cniVersion, interfaces, ips, routes, dns}, own};
}
