/**
 * An in-memory kernel behind the Netlink interface: several network namespaces with links,
 * addresses, routes, rules and sysctls, for dry-run simulation and fast delegate unit tests. It
 * models the kernel behaviour delegates depend on; the shared contract suite (./testing/contract.ts) and
 * the differential tests (e2e/netlink/model.*) run it against real kernels to keep it honest:
 * - connected/local/broadcast routes derive from addresses on up links, in the VRF table of the
 *   link's master when it has one (so enslaving moves them);
 * - enslaving to (or releasing from) a VRF cycles an up link down and up, which flushes the link's
 *   static routes and, without keep_addr_on_down, its IPv6 addresses;
 * - IPv6 sets a link up (link-local, fe80::/64, ff00::/8) once it has carrier;
 * - deleting a veth end deletes its peer, deleting a lower device deletes its vlans/macvlans,
 *   deleting a master releases its ports; moving a link to another netns drops its addresses;
 * - the first VRF of a netns adds the l3mdev rules (priority 1000), as the vrf driver does;
 * - failures are NetlinkErrors with the kernel's errno and ext-ack text for the same mistake.
 * Not modelled: DAD timing (addresses are never tentative), neighbours, multipath.
 * Files: ./model/state.ts (state and defaults), ./model/behaviour.ts (kernel behaviours),
 * ./model/handle.ts (the Netlink handle); this file is the entry point.
 */
import {EEXIST, NetlinkError, NetnsNotFoundError} from './errors.ts';
import {removeLink, settle} from './model/behaviour.ts';
import {ModelNetlink} from './model/handle.ts';
import {MODEL_KINDS, Namespace, tryRead} from './model/state.ts';
import {type Netlink, type NetnsPath, type OpenNetlink, RT_PROTO} from './netlink.ts';
import {netnsPathOf} from './netns.ts';

export {MODEL_KINDS} from './model/state.ts';

/**
 * The model kernel: namespaces by path (the caller's own netns is `undefined`), opened like the
 * real thing. `open` has the OpenNetlink shape, so it can be handed to delegates directly.
 *
 * @example
 * const kernel = new NetlinkModel();
 * kernel.addNetns('/var/run/netns/pod');
 * const nl = kernel.open('/var/run/netns/pod');
 */
export class NetlinkModel {
	private readonly namespaces = new Map<NetnsPath | undefined, Namespace>();
	readonly kinds: ReadonlySet<string>;

	constructor(options: {readonly kinds?: readonly string[]} = {}) {
		this.kinds = new Set(options.kinds ?? MODEL_KINDS);
		this.namespaces.set(undefined, new Namespace(undefined, () => this.namespaces.values()));
	}

	/** Creates a netns at `path` (with a down `lo`), as `ip netns add` does. */
	addNetns(path: NetnsPath): void {
		if (this.namespaces.has(path))
			throw new Error(`netns ${JSON.stringify(path)} already exists in the model`);
		this.namespaces.set(path, new Namespace(path, () => this.namespaces.values()));
	}

	/**
	 * Creates the named netns `/var/run/netns/<name>` as the kernel's createNetns (netns.ts) does:
	 * the same name check, the same NetlinkError (EEXIST) when it is there already.
	 */
	createNetns(name: string): NetnsPath {
		const path = netnsPathOf(name);
		if (this.namespaces.has(path)) throw new NetlinkError(`create netns ${JSON.stringify(path)}`, EEXIST);
		this.addNetns(path);
		return path;
	}

	/**
	 * Removes a netns, by path or (without a "/") by name in /var/run/netns: its veth ends take
	 * their peers along, as when the last reference goes away.
	 */
	deleteNetns(pathOrName: NetnsPath): void {
		const path = pathOrName.includes('/') ? pathOrName : netnsPathOf(pathOrName);
		const ns = this.namespaces.get(path);
		if (ns === undefined) throw new NetnsNotFoundError(path);
		for (const link of [...ns.links.values()]) if (ns.links.has(link.index)) removeLink(ns, link);
		this.namespaces.delete(path);
		settle(this.namespaces.values());
	}

	hasNetns(path: NetnsPath): boolean {
		return this.namespaces.has(path);
	}

	/**
	 * Copies a netns's state from another Netlink (e.g. the kernel) into the model at `path`, for a
	 * dry run against reality: links (lower devices and masters inside that netns), addresses,
	 * routes that the kernel did not make itself (those the model derives), and rules. Peers and
	 * lower devices in other namespaces are not followed. Replaces any netns already at `path`.
	 */
	load(path: NetnsPath | undefined, from: Netlink): void {
		const ns = new Namespace(path, () => this.namespaces.values());
		ns.links.clear();
		const links = from.listLinks().sort((a, b) => a.index - b.index);
		for (const l of links) {
			const state = ns.addLinkState({
				index: l.index,
				name: l.name,
				kind: l.kind,
				mtu: l.mtu,
				mac: l.mac,
				up: l.up,
			});
			// A bridge follows its ports' MAC and MTU unless they were set by hand, which a dump cannot tell.
			state.macSet = l.kind !== 'bridge';
			state.mtuSet = l.kind !== 'bridge';
			if (l.vrf !== undefined) state.vrfTable = l.vrf.table;
			if (l.vlan !== undefined) state.vlan = {...l.vlan};
			if (l.macvlan !== undefined) state.macvlanMode = l.macvlan.mode;
			for (const family of [4, 6] as const) {
				for (const key of state.conf[family].keys()) {
					const value = tryRead(from, `net/ipv${family}/conf/${l.name}/${key}`);
					if (value !== undefined) state.conf[family].set(key, value);
				}
			}
		}
		for (const l of links) {
			const state = ns.links.get(l.index)!;
			state.master = l.masterIndex;
			if (l.parentIndex !== undefined && l.linkNetnsId === undefined && ns.links.has(l.parentIndex)) {
				state.parent = {ns, index: l.parentIndex};
			}
		}
		for (const family of [4, 6] as const) {
			for (const key of ['all', 'default'] as const) {
				for (const leaf of ns.conf[family][key].keys()) {
					const value = tryRead(from, `net/ipv${family}/conf/${key}/${leaf}`);
					if (value !== undefined) ns.conf[family][key].set(leaf, value);
				}
			}
		}
		for (const key of ns.sysctls.keys()) {
			const value = tryRead(from, key);
			if (value !== undefined) ns.sysctls.set(key, value);
		}
		for (const a of from.listAddresses()) {
			ns.addrs.push({
				index: a.index,
				family: a.family,
				address: a.address,
				prefixLen: a.prefixLen,
				flags: a.flags & ~0x40, // not tentative: the model has no DAD
				scope: a.scope,
				peer: a.peer,
				broadcast: a.broadcast,
				label: a.label,
			});
		}
		for (const link of ns.links.values()) {
			link.v6ready = link.up && ns.addrs.some((a) => a.index === link.index && a.address.startsWith('fe80:'));
		}
		ns.routes = from.listRoutes({table: 'all'}).filter((r) => r.protocol !== RT_PROTO.kernel);
		ns.rules = from.listRules();
		ns.nextIndex = Math.max(0, ...links.map((l) => l.index)) + 1;
		this.namespaces.set(path, ns);
	}

	/** Opens a handle on a netns (the model's own root netns when absent); NetnsNotFoundError if unknown. */
	readonly open: OpenNetlink = (netns?: NetnsPath): Netlink => new ModelNetlink(this, this.ns(netns), netns);

	/** @internal */
	ns(path: NetnsPath | undefined): Namespace {
		const ns = this.namespaces.get(path);
		if (ns === undefined) throw new NetnsNotFoundError(path ?? '');
		return ns;
	}

	/** @internal */
	allNamespaces(): Iterable<Namespace> {
		return this.namespaces.values();
	}
}
