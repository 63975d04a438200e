/**
 * The route-override delegate's kernel work: rewrite the routes a previous plugin installed in the
 * pod netns and the result that describes them. Order of operations as the reference
 * (redhat-nfvpe/cni-route-override processRoutes): flushgateway bookkeeping, then delroutes (or
 * flushroutes), then the default routes of flushgateway, then addroutes.
 */
import {CniError, CniErrorCode} from '../../src/cni/errors.ts';
import {isIpv4, type Route as ResultRoute} from '../../src/cni/result.ts';
import {isNotFound} from '../../src/netlink/errors.ts';
import {type Link, type Netlink, type Route, RT_TABLE} from '../../src/netlink/netlink.ts';
import type {Result} from '../common/cni.ts';
import {canonicalPrefix, isDefaultPrefix, isLinkLocal, sameAddress} from '../common/ip.ts';
import {addRouteOnce, describeRoute, message, routeSpec} from '../common/routes.ts';
import type {RouteEntry, RouteOverrideConfig} from './config.ts';

/** The default destinations flushgateway removes. */
const DEFAULT_ROUTES: readonly RouteEntry[] = [{dst: '0.0.0.0/0'}, {dst: '::/0'}];

/**
 * The links route-override acts on: the prevResult interfaces that live in a sandbox (as the
 * reference) plus CNI_IFNAME, which the reference ignores. Links no longer present are skipped.
 */
export function targetLinks(nl: Netlink, prev: Result, ifname: string): Link[] {
	const names = new Set<string>();
	for (const iface of prev.interfaces ?? [])
		if (iface.sandbox !== undefined && iface.sandbox !== '') names.add(iface.name);
	if (ifname !== '') names.add(ifname);
	const links: Link[] = [];
	for (const name of names) {
		const link = nl.findLink(name);
		if (link !== undefined) links.push(link);
	}
	return links;
}

/** Deletes one kernel route exactly as listed; one already gone is fine. */
function deleteKernelRoute(nl: Netlink, route: Route, ifname: string): void {
	try {
		nl.deleteRoute({
			dst: route.dst,
			table: route.table,
			...(route.oif === undefined ? {} : {oif: route.oif}),
			...(route.gateway === undefined ? {} : {gateway: route.gateway}),
			...(route.metric === undefined ? {} : {metric: route.metric}),
		});
	} catch (err) {
		if (isNotFound(err)) return;
		throw new CniError(
			CniErrorCode.internal,
			`failed to delete route "${describeRoute(route.dst, route.gateway)}" on "${ifname}": ${message(err)}`,
			{cause: err},
		);
	}
}

/** Main-table routes of `link` that `keep` rejects are deleted. */
function deleteRoutesWhere(nl: Netlink, link: Link, doomed: (route: Route) => boolean): void {
	for (const route of nl.listRoutes({table: RT_TABLE.main, oif: link.index})) {
		if (doomed(route)) deleteKernelRoute(nl, route, link.name);
	}
}

/**
 * flushroutes: on each link, every main-table route that is not link-scoped and is either a default
 * route or a non-link-local destination via a gateway. Directly connected routes stay.
 */
function flushRoutes(nl: Netlink, links: readonly Link[]): void {
	for (const link of links) {
		deleteRoutesWhere(
			nl,
			link,
			(r) =>
				r.scope !== 'link' && (isDefaultPrefix(r.dst) || (!isLinkLocal(r.dst) && r.gateway !== undefined)),
		);
	}
}

/**
 * Applies `config` to the pod netns and returns the rewritten result (a new object; `prev` is
 * untouched). A kernel failure is an error naming the route (the reference only logged it).
 */
export function applyOverride(
	nl: Netlink,
	config: RouteOverrideConfig,
	prev: Result,
	ifname: string,
): Result {
	const result: Result = structuredClone(prev);
	const delroutes = [...config.delroutes];
	if (config.flushgateway) {
		delroutes.push(...DEFAULT_ROUTES);
		// The reference keeps the key with the zero address rather than dropping it.
		for (const ip of result.ips ?? []) ip.gateway = isIpv4(ip.address) ? '0.0.0.0' : '::';
	}
	const links = targetLinks(nl, prev, ifname);
	const doomed = new Set(delroutes.map((r) => canonicalPrefix(r.dst)));

	if (config.flushroutes) {
		flushRoutes(nl, links);
		result.routes = [];
	} else {
		const kept: ResultRoute[] = [];
		for (const route of result.routes ?? []) {
			const dst = canonicalPrefix(route.dst);
			if (!doomed.has(dst)) {
				kept.push(route);
				continue;
			}
			for (const link of links) deleteRoutesWhere(nl, link, (r) => r.dst === dst);
		}
		result.routes = kept;
	}

	if (config.flushgateway) {
		for (const link of links) deleteRoutesWhere(nl, link, (r) => isDefaultPrefix(r.dst));
	}

	for (const entry of config.addroutes) {
		const route = toResultRoute(entry);
		addRouteOnce(nl, routeSpec(route, ifname), ifname);
		result.routes = [...(result.routes ?? []), route];
	}
	return result;
}

/** A config route entry as a result route (only the CNI route fields). */
function toResultRoute(entry: RouteEntry): ResultRoute {
	return {
		dst: entry.dst,
		...(entry.gw === undefined ? {} : {gw: entry.gw}),
		...(entry.mtu === undefined ? {} : {mtu: entry.mtu}),
		...(entry.advmss === undefined ? {} : {advmss: entry.advmss}),
		...(entry.priority === undefined ? {} : {priority: entry.priority}),
		...(entry.table === undefined ? {} : {table: entry.table}),
		...(entry.scope === undefined ? {} : {scope: entry.scope}),
	};
}

/**
 * CHECK: every `delroutes` destination is absent from the main table, and every result route is in
 * the kernel exactly once with the expected gateway (its own `gw`; without one, none or one of the
 * result's IP gateways).
 */
export function checkOverride(nl: Netlink, config: RouteOverrideConfig, prev: Result): void {
	for (const entry of config.delroutes) {
		const dst = canonicalPrefix(entry.dst);
		if (nl.listRoutes({table: RT_TABLE.main, dst}).length > 0) {
			throw new CniError(CniErrorCode.internal, `route-override: route is not removed: "${entry.dst}"`);
		}
	}
	const gateways = (prev.ips ?? []).map((ip) => ip.gateway).filter((gw) => gw !== undefined);
	for (const route of prev.routes ?? []) {
		const dst = canonicalPrefix(route.dst);
		const found = nl.listRoutes({table: route.table ?? RT_TABLE.main, dst});
		const label = describeRoute(route.dst, route.gw);
		if (found.length === 0) {
			throw new CniError(CniErrorCode.internal, `route-override: route "${label}" not found`);
		}
		if (found.length > 1) {
			throw new CniError(CniErrorCode.internal, `route-override: got multiple routes for "${label}"`);
		}
		const gateway = found[0]?.gateway;
		const ok =
			route.gw === undefined
				? gateway === undefined || gateways.some((gw) => sameAddress(gw, gateway))
				: sameAddress(gateway, route.gw);
		if (!ok) {
			throw new CniError(
				CniErrorCode.internal,
				`route-override: route "${label}" has gateway ${gateway ?? 'none'} in the kernel`,
			);
		}
	}
}
