/**
 * A handle on one model namespace: the Netlink interface, validating each request the way the
 * kernel does (same errno and ext-ack text for the same mistake) before changing the state.
 * Longer than the house limit: one method per Netlink operation, each with the kernel's checks;
 * splitting them by operation would scatter one interface over many files.
 */
import {
	canonicalAddress,
	canonicalPrefix,
	formatAddress,
	networkOf,
	type Prefix,
	parseAddress,
	parsePrefix,
	prefixContains,
} from '../codec/ip.ts';
import {formatMac, parseMac} from '../codec/link.ts';
import {
	EADDRNOTAVAIL,
	EEXIST,
	EINVAL,
	ENODEV,
	ENOENT,
	EOPNOTSUPP,
	ESRCH,
	LinkNotFoundError,
	NetlinkError,
} from '../errors.ts';
import {
	type Address,
	type AddressOptions,
	type IpFamily,
	type Link,
	type LinkChanges,
	type LinkRef,
	type LinkSpec,
	type Netlink,
	type NetnsPath,
	type Route,
	type RouteFilter,
	type RouteSpec,
	RT_PROTO,
	RT_TABLE,
	type Rule,
	type RuleSpec,
} from '../netlink.ts';
import {sysctlName, sysctlPath} from '../sysctl.ts';
import {
	adjustBridge,
	checkLowerUp,
	checkName,
	derivedRoutes,
	detach,
	ipv6Enabled,
	linkDown,
	linkUp,
	removeLink,
	sameRouteKey,
	setMaster,
	settle,
	toAddress,
	toLink,
} from './behaviour.ts';
import {
	type AddrState,
	describe,
	EACCES,
	EBUSY,
	EHOSTUNREACH,
	ENETDOWN,
	ENETUNREACH,
	ERANGE,
	IFA_F_NODAD,
	IFA_F_NOPREFIXROUTE,
	IFA_F_PERMANENT,
	type LinkState,
	type ModelKernel,
	type Namespace,
	randomMac,
	route,
} from './state.ts';

/** The kernel's ext-ack when an address request names a missing link, by family (inet vs inet6 code). */
const ADDRESS_LINK_NOT_FOUND: Readonly<Record<IpFamily, string>> = {
	4: 'ipv4: Device not found',
	6: 'ipv6: Unable to find the interface',
};

export class ModelNetlink implements Netlink {
	readonly netns: NetnsPath | undefined;
	private readonly model: ModelKernel;
	private readonly space: Namespace;
	private closed = false;

	constructor(model: ModelKernel, space: Namespace, netns: NetnsPath | undefined) {
		this.model = model;
		this.space = space;
		this.netns = netns;
	}

	close(): void {
		this.closed = true;
	}

	/** The namespace, checking the handle is open (like a kernel socket, it outlives the removal of its netns). */
	private ns(operation: string): Namespace {
		if (this.closed) throw new Error(`failed to ${operation}: the netlink handle is closed`);
		return this.space;
	}

	/** The link `ref` names; `extack` is the kernel's message when it is missing, if it gives one. */
	private link(ns: Namespace, ref: LinkRef, operation?: string, extack?: string): LinkState {
		const link = typeof ref === 'number' ? ns.links.get(ref) : ns.byName(ref);
		if (link === undefined) throw new LinkNotFoundError(ref, operation, extack);
		return link;
	}

	// ---- links -------------------------------------------------------------------------------

	listLinks(filter: {readonly master?: LinkRef; readonly kind?: string} = {}): Link[] {
		const ns = this.ns('list links');
		const master = filter.master === undefined ? undefined : this.link(ns, filter.master, 'list links').index;
		return [...ns.links.values()]
			.filter(
				(l) =>
					(master === undefined || l.master === master) &&
					(filter.kind === undefined || l.kind === filter.kind),
			)
			.sort((a, b) => a.index - b.index)
			.map((l) => toLink(ns, l));
	}

	findLink(ref: LinkRef): Link | undefined {
		const ns = this.ns(`find link ${describe(ref)}`);
		const link = typeof ref === 'number' ? ns.links.get(ref) : ns.byName(ref);
		return link === undefined ? undefined : toLink(ns, link);
	}

	getLink(ref: LinkRef): Link {
		const link = this.findLink(ref);
		if (link === undefined) throw new LinkNotFoundError(ref);
		return link;
	}

	addLink(spec: LinkSpec): void {
		try {
			this.addLinkNow(spec);
		} finally {
			settle(this.model.allNamespaces());
		}
	}

	setLink(ref: LinkRef, changes: LinkChanges): void {
		try {
			this.setLinkNow(ref, changes);
		} finally {
			settle(this.model.allNamespaces());
		}
	}

	deleteLink(ref: LinkRef): void {
		try {
			this.deleteLinkNow(ref);
		} finally {
			settle(this.model.allNamespaces());
		}
	}

	private addLinkNow(spec: LinkSpec): void {
		const operation = `add link ${JSON.stringify(spec.name)}`;
		const here = this.ns(operation);
		if (!this.model.kinds.has(spec.kind))
			throw new NetlinkError(operation, EOPNOTSUPP, 'Unknown device type');
		const target = spec.netns === undefined ? here : this.model.ns(spec.netns);
		checkName(spec.name, operation);
		if (target.byName(spec.name) !== undefined) throw new NetlinkError(operation, EEXIST);
		if (spec.mac !== undefined) parseMac(spec.mac);
		let parent: LinkState | undefined;
		if (spec.kind === 'vlan' || spec.kind === 'macvlan') {
			const p = typeof spec.parent === 'number' ? here.links.get(spec.parent) : here.byName(spec.parent);
			if (p === undefined) {
				if (typeof spec.parent === 'string') throw new LinkNotFoundError(spec.parent, operation);
				throw new NetlinkError(
					operation,
					ENODEV,
					spec.kind === 'vlan' ? '8021q: link does not exist' : undefined,
				);
			}
			parent = p;
			if (spec.kind === 'vlan' && (spec.id < 0 || spec.id > 4094)) throw new NetlinkError(operation, ERANGE);
			if (spec.kind === 'vlan') {
				const twin = [...this.allUppers(here, p)].find((l) => l.kind === 'vlan' && l.vlan?.id === spec.id);
				if (twin !== undefined) throw new NetlinkError(operation, EEXIST);
			}
			if (spec.mtu !== undefined && spec.mtu > p.mtu) throw new NetlinkError(operation, EINVAL);
		}
		let peerNs: Namespace | undefined;
		if (spec.kind === 'veth') {
			peerNs = spec.peer.netns === undefined ? here : this.model.ns(spec.peer.netns);
			checkName(spec.peer.name, operation);
			const clash =
				peerNs.byName(spec.peer.name) !== undefined || (peerNs === target && spec.peer.name === spec.name);
			if (clash) throw new NetlinkError(operation, EEXIST);
		}
		const link = target.addLinkState({
			name: spec.name,
			kind: spec.kind,
			mtu: spec.mtu ?? parent?.mtu ?? (spec.kind === 'vrf' ? 65575 : 1500),
			mac: spec.mac ?? (spec.kind === 'vlan' && parent !== undefined ? parent.mac : randomMac()),
			up: false,
		});
		if (spec.mtu !== undefined) link.mtuSet = true;
		if (parent !== undefined) link.parent = {ns: here, index: parent.index};
		if (spec.kind === 'vrf') {
			link.vrfTable = spec.table;
			this.addL3mdevRules(target);
		}
		if (spec.kind === 'vlan') link.vlan = {id: spec.id, protocol: spec.protocol ?? '802.1Q'};
		if (spec.kind === 'macvlan') link.macvlanMode = spec.mode;
		if (spec.kind === 'veth' && peerNs !== undefined) {
			const peer = peerNs.addLinkState({
				name: spec.peer.name,
				kind: 'veth',
				mtu: link.mtu,
				mac: spec.peer.mac ?? randomMac(),
				up: false,
			});
			peer.parent = {ns: target, index: link.index};
			link.parent = {ns: peerNs, index: peer.index};
		}
		if (spec.up === true) {
			try {
				checkLowerUp(link, operation);
			} catch (err) {
				removeLink(target, link); // the kernel unwinds a creation whose open fails
				throw err;
			}
			linkUp(target, link);
		}
	}

	private *allUppers(ns: Namespace, lower: LinkState): Iterable<LinkState> {
		for (const other of this.model.allNamespaces()) {
			for (const l of other.links.values())
				if (l.parent?.ns === ns && l.parent.index === lower.index) yield l;
		}
	}

	private addL3mdevRules(ns: Namespace): void {
		for (const family of [4, 6] as const) {
			if (ns.rules.some((r) => r.family === family && r.l3mdev)) continue;
			ns.rules.push({
				family,
				priority: 1000,
				action: 'lookup',
				table: 0,
				src: undefined,
				dst: undefined,
				iif: undefined,
				oif: undefined,
				fwmark: undefined,
				fwmask: undefined,
				l3mdev: true,
				invert: false,
				protocol: RT_PROTO.kernel,
			});
			ns.rules.sort((a, b) => a.priority - b.priority);
		}
	}

	private setLinkNow(ref: LinkRef, changes: LinkChanges): void {
		const operation = `set link ${describe(ref)}`;
		let ns = this.ns(operation);
		const link = this.link(ns, ref, operation);
		if (changes.netns !== undefined) {
			const target = this.model.ns(changes.netns);
			if (target !== ns) {
				const name = changes.name ?? link.name;
				if (target.byName(name) !== undefined) throw new NetlinkError(operation, EEXIST);
				detach(ns, link);
				ns.links.delete(link.index);
				const oldIndex = link.index;
				link.index = target.allocIndex(link.index);
				target.links.set(link.index, link);
				this.repointUppers(ns, oldIndex, target, link);
				ns = target;
			}
		}
		if (changes.name !== undefined && changes.name !== link.name) {
			checkName(changes.name, operation);
			if (link.up) throw new NetlinkError(operation, EBUSY);
			if (ns.byName(changes.name) !== undefined) throw new NetlinkError(operation, EEXIST);
			link.name = changes.name;
			for (const a of ns.addrs) if (a.index === link.index && a.family === 4) a.label = changes.name;
		}
		if (changes.mac !== undefined) {
			link.mac = formatMac(parseMac(changes.mac));
			link.macSet = true;
		}
		if (changes.mtu !== undefined) {
			const lower =
				link.parent === undefined || link.kind === 'veth'
					? undefined
					: link.parent.ns.links.get(link.parent.index);
			if (changes.mtu < 68 || (lower !== undefined && changes.mtu > lower.mtu))
				throw new NetlinkError(operation, EINVAL);
			link.mtu = changes.mtu;
			link.mtuSet = true;
			if (link.master !== undefined) {
				const master = ns.links.get(link.master);
				if (master?.kind === 'bridge') adjustBridge(ns, master);
			}
		}
		if (changes.up === true) {
			checkLowerUp(link, operation);
			linkUp(ns, link);
		}
		if (changes.up === false) linkDown(ns, link);
		if (changes.master !== undefined) {
			let master: LinkState | undefined;
			if (changes.master !== null) {
				master =
					typeof changes.master === 'number' ? ns.links.get(changes.master) : ns.byName(changes.master);
				if (master === undefined) {
					if (typeof changes.master === 'string') throw new LinkNotFoundError(changes.master, operation);
					throw new NetlinkError(operation, EINVAL);
				}
			}
			setMaster(ns, link, master, operation);
		}
	}

	/** A link moved from `from` to `to`: links whose parent/peer it is follow the new index. */
	private repointUppers(from: Namespace, oldIndex: number, to: Namespace, moved: LinkState): void {
		for (const other of this.model.allNamespaces()) {
			for (const l of other.links.values()) {
				if (l !== moved && l.parent?.ns === from && l.parent.index === oldIndex) {
					l.parent = {ns: to, index: moved.index};
				}
			}
		}
	}

	private deleteLinkNow(ref: LinkRef): void {
		const operation = `delete link ${describe(ref)}`;
		const ns = this.ns(operation);
		removeLink(ns, this.link(ns, ref, operation));
	}

	// ---- addresses ---------------------------------------------------------------------------

	listAddresses(filter: {readonly link?: LinkRef; readonly family?: IpFamily} = {}): Address[] {
		const ns = this.ns('list addresses');
		const index = filter.link === undefined ? undefined : this.link(ns, filter.link, 'list addresses').index;
		const rank = (a: AddrState): number => a.family * 1e6 + a.index;
		return ns.addrs
			.filter(
				(a) =>
					(index === undefined || a.index === index) &&
					(filter.family === undefined || a.family === filter.family),
			)
			.sort((a, b) => rank(a) - rank(b))
			.map(toAddress);
	}

	addAddress(ref: LinkRef, cidr: string, options: AddressOptions = {}): void {
		const operation = `add address ${cidr} to link ${describe(ref)}`;
		const ns = this.ns(operation);
		const p = parsePrefix(cidr);
		const link = this.link(ns, ref, operation, ADDRESS_LINK_NOT_FOUND[p.family]);
		const address = formatAddress(p.bytes);
		const existing = ns.addrs.find(
			(a) => a.index === link.index && a.family === p.family && a.address === address,
		);
		if (existing !== undefined && options.replace !== true) {
			throw new NetlinkError(
				operation,
				EEXIST,
				p.family === 4 ? 'ipv4: Address already assigned' : 'ipv6: address already assigned',
			);
		}
		if (p.family === 6 && !ipv6Enabled(ns, link))
			throw new NetlinkError(operation, EACCES, 'IPv6 is disabled on this device');
		let flags = IFA_F_PERMANENT;
		if (options.nodad === true) flags |= IFA_F_NODAD;
		if (options.noprefixroute === true) flags |= IFA_F_NOPREFIXROUTE;
		const linkLocal = p.family === 6 && address.startsWith('fe80:');
		const state: AddrState = {
			index: link.index,
			family: p.family,
			address,
			prefixLen: p.length,
			flags,
			scope:
				options.scope ??
				(linkLocal ? 'link' : p.family === 4 && address.startsWith('127.') ? 'host' : 'universe'),
			peer: options.peer === undefined ? undefined : canonicalAddress(options.peer),
			broadcast: options.broadcast === undefined ? undefined : canonicalAddress(options.broadcast),
			label: p.family === 4 ? (options.label ?? link.name) : undefined,
		};
		if (existing !== undefined) ns.addrs.splice(ns.addrs.indexOf(existing), 1, state);
		else ns.addrs.push(state);
	}

	deleteAddress(ref: LinkRef, cidr: string): void {
		const operation = `delete address ${cidr} from link ${describe(ref)}`;
		const ns = this.ns(operation);
		const p = parsePrefix(cidr);
		const link = this.link(ns, ref, operation, ADDRESS_LINK_NOT_FOUND[p.family]);
		const address = formatAddress(p.bytes);
		const i = ns.addrs.findIndex(
			(a) =>
				a.index === link.index && a.family === p.family && a.address === address && a.prefixLen === p.length,
		);
		if (i < 0) {
			throw new NetlinkError(
				operation,
				EADDRNOTAVAIL,
				p.family === 4 ? 'ipv4: Address not found' : 'ipv6: address not found',
			);
		}
		const [gone] = ns.addrs.splice(i, 1);
		if (gone?.family === 4) ns.routes = ns.routes.filter((r) => r.prefsrc !== gone.address);
	}

	// ---- routes ------------------------------------------------------------------------------

	private allRoutes(ns: Namespace): Route[] {
		return [...derivedRoutes(ns), ...ns.routes];
	}

	listRoutes(filter: RouteFilter = {}): Route[] {
		const ns = this.ns('list routes');
		const table = filter.table === 'all' ? undefined : (filter.table ?? RT_TABLE.main);
		const oif = filter.oif === undefined ? undefined : this.link(ns, filter.oif, 'list routes').index;
		const dst = filter.dst === undefined ? undefined : canonicalPrefix(filter.dst);
		return this.allRoutes(ns).filter(
			(r) =>
				(filter.family === undefined || r.family === filter.family) &&
				(table === undefined || r.table === table) &&
				(oif === undefined || r.oif === oif) &&
				(dst === undefined || r.dst === dst) &&
				(filter.type === undefined || r.type === filter.type) &&
				(filter.protocol === undefined || r.protocol === filter.protocol),
		);
	}

	getRoute(address: string, options: {readonly oif?: LinkRef} = {}): Route | undefined {
		const operation = `look up route to ${address}`;
		const ns = this.ns(operation);
		const target = parseAddress(address);
		const oif = options.oif === undefined ? undefined : this.link(ns, options.oif, operation).index;
		const routes = this.allRoutes(ns).filter((r) => r.family === target.family);
		const oifLink = oif === undefined ? undefined : ns.links.get(oif);
		const vrf =
			oifLink?.kind === 'vrf'
				? oifLink
				: oifLink?.master === undefined
					? undefined
					: ns.links.get(oifLink.master);
		const rules = ns.rules.filter((r) => r.family === target.family).sort((a, b) => a.priority - b.priority);
		for (const rule of rules) {
			if (rule.invert || rule.src !== undefined || rule.iif !== undefined || rule.fwmark !== undefined)
				continue;
			if (rule.oif !== undefined && rule.oif !== oifLink?.name) continue;
			if (rule.dst !== undefined && !prefixContains(parsePrefix(rule.dst), target.bytes)) continue;
			if (rule.action === 'nop' || rule.action === 'goto') continue;
			if (rule.action !== 'lookup') return undefined;
			const table = rule.l3mdev ? vrf?.vrfTable : rule.table;
			if (table === undefined) continue;
			const candidates = routes
				.filter(
					(r) =>
						r.table === table &&
						r.type !== 'multicast' &&
						(oif === undefined || r.oif === undefined || r.oif === oif),
				)
				.filter((r) => prefixContains(parsePrefix(r.dst), target.bytes))
				.sort(
					(a, b) =>
						parsePrefix(b.dst).length - parsePrefix(a.dst).length || (a.metric ?? 0) - (b.metric ?? 0),
				);
			const best = candidates[0];
			if (best === undefined || best.type === 'throw') continue;
			if (best.type === 'unreachable' || best.type === 'prohibit' || best.type === 'blackhole')
				return undefined;
			return best;
		}
		return undefined;
	}

	/** Validates a route request and resolves it to a record, as fib_create_info/ip6_route_info_create do. */
	private resolveRoute(ns: Namespace, spec: RouteSpec, operation: string): Route {
		const dst = parsePrefix(spec.dst);
		if (dst.family === 4 && !networkOf(dst).every((b, i) => b === dst.bytes[i])) {
			throw new NetlinkError(operation, EINVAL, 'Invalid prefix for given prefix length');
		}
		const type = spec.type ?? 'unicast';
		let oif: number | undefined;
		if (spec.oif !== undefined) {
			const link = typeof spec.oif === 'number' ? ns.links.get(spec.oif) : ns.byName(spec.oif);
			if (link === undefined) {
				if (typeof spec.oif === 'string') throw new LinkNotFoundError(spec.oif, operation);
				throw new NetlinkError(operation, ENODEV);
			}
			oif = link.index;
		}
		let gateway: string | undefined;
		if (spec.gateway !== undefined) {
			const gw = parseAddress(spec.gateway);
			if (gw.family !== dst.family)
				throw new TypeError(`gateway ${spec.gateway} is not of the family of ${spec.dst}`);
			gateway = formatAddress(gw.bytes);
			if (spec.onlink !== true && !(dst.family === 6 && gateway.startsWith('fe80:') && oif !== undefined)) {
				const via = this.connectedVia(ns, gw.bytes, oif, spec.table ?? RT_TABLE.main);
				if (via === undefined) {
					throw dst.family === 4
						? new NetlinkError(operation, ENETUNREACH, 'Nexthop has invalid gateway')
						: new NetlinkError(operation, EHOSTUNREACH, 'Nexthop has invalid gateway');
				}
				oif ??= via;
			}
			if (spec.onlink === true && oif === undefined)
				throw new NetlinkError(operation, EINVAL, 'Nexthop device required for onlink');
		}
		if ((type === 'unicast' || type === 'local') && oif === undefined && gateway === undefined) {
			throw new NetlinkError(operation, dst.family === 4 ? EINVAL : ENODEV);
		}
		const via = oif === undefined ? undefined : ns.links.get(oif);
		if (via !== undefined && !via.up && (type === 'unicast' || type === 'local')) {
			throw new NetlinkError(operation, ENETDOWN, 'Nexthop device is not up');
		}
		const table = spec.table ?? RT_TABLE.main;
		return route({
			family: dst.family,
			dst: `${formatAddress(dst.family === 6 ? networkOf(dst) : dst.bytes)}/${dst.length}`,
			table,
			type,
			scope: dst.family === 6 ? 'universe' : (spec.scope ?? (type === 'local' ? 'host' : 'universe')),
			protocol: spec.protocol ?? RT_PROTO.boot,
			gateway,
			oif,
			prefsrc: spec.prefsrc === undefined ? undefined : canonicalAddress(spec.prefsrc),
			metric: spec.metric ?? (dst.family === 6 ? 1024 : undefined),
			onlink: spec.onlink === true,
			mtu: spec.mtu,
			advmss: spec.advmss,
		});
	}

	/** The link through which `gw` is directly reachable (a link-scope route covering it). */
	private connectedVia(
		ns: Namespace,
		gw: Uint8Array,
		oif: number | undefined,
		table: number,
	): number | undefined {
		const candidates = this.allRoutes(ns).filter(
			(r) =>
				r.gateway === undefined &&
				r.oif !== undefined &&
				(r.table === table || r.table === RT_TABLE.main || r.table === RT_TABLE.local) &&
				r.type === 'unicast' &&
				(oif === undefined || r.oif === oif) &&
				prefixContains(parsePrefix(r.dst) as Prefix, gw),
		);
		return candidates[0]?.oif;
	}

	addRoute(spec: RouteSpec): void {
		const operation = `add route ${JSON.stringify(spec.dst)}${spec.table === undefined ? '' : ` in table ${spec.table}`}`;
		const ns = this.ns(operation);
		const r = this.resolveRoute(ns, spec, operation);
		if (this.allRoutes(ns).some((x) => sameRouteKey(x, r))) {
			throw new NetlinkError(operation, EEXIST);
		}
		ns.routes.push(r);
	}

	replaceRoute(spec: RouteSpec): void {
		const operation = `replace route ${JSON.stringify(spec.dst)}${spec.table === undefined ? '' : ` in table ${spec.table}`}`;
		const ns = this.ns(operation);
		const r = this.resolveRoute(ns, spec, operation);
		const i = ns.routes.findIndex((x) => sameRouteKey(x, r));
		if (i >= 0) ns.routes[i] = r;
		else ns.routes.push(r);
	}

	deleteRoute(spec: RouteSpec): void {
		const operation = `delete route ${JSON.stringify(spec.dst)}${spec.table === undefined ? '' : ` in table ${spec.table}`}`;
		const ns = this.ns(operation);
		const dst = canonicalPrefix(spec.dst);
		const table = spec.table ?? RT_TABLE.main;
		const oif = spec.oif === undefined ? undefined : this.link(ns, spec.oif, operation).index;
		const gateway = spec.gateway === undefined ? undefined : canonicalAddress(spec.gateway);
		const i = ns.routes.findIndex(
			(r) =>
				r.dst === dst &&
				r.table === table &&
				(oif === undefined || r.oif === oif) &&
				(gateway === undefined || r.gateway === gateway) &&
				(spec.metric === undefined || (r.metric ?? 0) === spec.metric) &&
				(spec.type === undefined || r.type === spec.type) &&
				(spec.scope === undefined || spec.scope === 'nowhere' || r.scope === spec.scope) &&
				(spec.protocol === undefined || r.protocol === spec.protocol),
		);
		if (i < 0) throw new NetlinkError(operation, ESRCH);
		ns.routes.splice(i, 1);
	}

	// ---- rules -------------------------------------------------------------------------------

	listRules(filter: {readonly family?: IpFamily} = {}): Rule[] {
		const ns = this.ns('list rules');
		const byFamily = (r: Rule): number => (r.family === 4 ? 0 : 1);
		return ns.rules
			.filter((r) => filter.family === undefined || r.family === filter.family)
			.sort((a, b) => byFamily(a) - byFamily(b) || a.priority - b.priority)
			.map((r) => ({...r}));
	}

	private ruleOf(spec: RuleSpec, priority: number): Rule {
		const prefix = (text: string | undefined): string | undefined => {
			if (text === undefined) return undefined;
			const p = parsePrefix(text);
			if (p.family !== spec.family) throw new TypeError(`rule prefix ${text} is not IPv${spec.family}`);
			return `${formatAddress(p.bytes)}/${p.length}`;
		};
		return {
			family: spec.family,
			priority,
			action: spec.action ?? 'lookup',
			table: spec.table ?? 0,
			src: prefix(spec.src),
			dst: prefix(spec.dst),
			iif: spec.iif,
			oif: spec.oif,
			fwmark: spec.fwmark,
			fwmask: spec.fwmark !== undefined && spec.fwmask === undefined ? 0xffffffff : spec.fwmask,
			l3mdev: spec.l3mdev === true,
			invert: spec.invert === true,
			protocol: 0,
		};
	}

	private static ruleMatches(r: Rule, spec: RuleSpec, wanted: Rule): boolean {
		return (
			r.family === spec.family &&
			(spec.priority === undefined || r.priority === spec.priority) &&
			(spec.action === undefined || r.action === spec.action) &&
			(spec.table === undefined || r.table === spec.table) &&
			(spec.src === undefined || r.src === wanted.src) &&
			(spec.dst === undefined || r.dst === wanted.dst) &&
			(spec.iif === undefined || r.iif === spec.iif) &&
			(spec.oif === undefined || r.oif === spec.oif) &&
			(spec.fwmark === undefined || r.fwmark === spec.fwmark) &&
			(spec.l3mdev === undefined || r.l3mdev === spec.l3mdev) &&
			(spec.invert === undefined || r.invert === spec.invert)
		);
	}

	addRule(spec: RuleSpec): void {
		const operation = `add rule ${JSON.stringify(spec)}`;
		const ns = this.ns(operation);
		if ((spec.action ?? 'lookup') === 'lookup' && spec.table === undefined && spec.l3mdev !== true) {
			throw new NetlinkError(operation, EINVAL, 'Invalid table');
		}
		const firstUser = ns.rules
			.filter((r) => r.family === spec.family && r.priority > 0)
			.sort((a, b) => a.priority - b.priority)[0];
		const priority = spec.priority ?? (firstUser === undefined ? 0 : firstUser.priority - 1);
		const rule = this.ruleOf(spec, priority);
		const same = (r: Rule): boolean =>
			JSON.stringify({...r, protocol: 0}) === JSON.stringify({...rule, protocol: 0});
		if (ns.rules.some(same)) throw new NetlinkError(operation, EEXIST);
		ns.rules.push(rule);
	}

	deleteRule(spec: RuleSpec): void {
		const operation = `delete rule ${JSON.stringify(spec)}`;
		const ns = this.ns(operation);
		const wanted = this.ruleOf(spec, spec.priority ?? 0);
		const candidates = ns.rules
			.map((r, i) => ({r, i}))
			.filter(({r}) => ModelNetlink.ruleMatches(r, spec, wanted))
			.sort((a, b) => a.r.priority - b.r.priority);
		const hit = candidates[0];
		if (hit === undefined) throw new NetlinkError(operation, ENOENT);
		ns.rules.splice(hit.i, 1);
	}

	// ---- sysctl ------------------------------------------------------------------------------

	/** Finds the stored value of a sysctl path; undefined when the file would not exist. */
	private sysctlSlot(ns: Namespace, path: string): {get(): string; set(v: string): void} | undefined {
		const rel = path.slice('/proc/sys/'.length);
		const conf = /^net\/ipv([46])\/conf\/([^/]+)\/([^/]+)$/.exec(rel);
		if (conf !== null) {
			const family = conf[1] === '4' ? 4 : 6;
			const [, , dev = '', leaf = ''] = conf;
			let map: Map<string, string> | undefined;
			if (dev === 'all') map = ns.conf[family].all;
			else if (dev === 'default') map = ns.conf[family].default;
			else map = ns.byName(dev)?.conf[family];
			if (map === undefined || !map.has(leaf)) return undefined;
			const store = map;
			return {get: () => store.get(leaf) ?? '', set: (v) => store.set(leaf, v)};
		}
		if (!ns.sysctls.has(rel)) return undefined;
		return {get: () => ns.sysctls.get(rel) ?? '', set: (v) => ns.sysctls.set(rel, v)};
	}

	readSysctl(key: string): string {
		const operation = `read sysctl ${JSON.stringify(sysctlName(key))}`;
		const ns = this.ns(operation);
		const slot = this.sysctlSlot(ns, sysctlPath(key));
		if (slot === undefined) throw new NetlinkError(operation, ENOENT);
		return slot.get();
	}

	writeSysctl(key: string, value: string): void {
		const operation = `write sysctl ${JSON.stringify(sysctlName(key))}`;
		const ns = this.ns(operation);
		const slot = this.sysctlSlot(ns, sysctlPath(key));
		if (slot === undefined) throw new NetlinkError(operation, ENOENT);
		const text = value.trim();
		if (!/^-?\d+$/.test(text)) throw new NetlinkError(operation, EINVAL);
		slot.set(text);
	}
}
