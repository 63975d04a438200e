/**
 * Route helpers shared by the delegates: CNI result routes ↔ netlink route specs, and adding a
 * route with an error that names it.
 */
import {CniError, CniErrorCode} from '../../src/cni/errors.ts';
import type {Route as ResultRoute} from '../../src/cni/result.ts';
import {isExists} from '../../src/netlink/errors.ts';
import {
	type LinkRef,
	type Netlink,
	type RouteScope,
	type RouteSpec,
	RT_TABLE,
} from '../../src/netlink/netlink.ts';
import {canonicalPrefix, sameAddress} from './ip.ts';

/** rtm_scope numbers (as CNI results carry them) → names. */
const SCOPE_NAMES: Readonly<Record<number, RouteScope>> = {
	0: 'universe',
	200: 'site',
	253: 'link',
	254: 'host',
	255: 'nowhere',
};

/** rtm_scope number → name; an unknown number is a config error. */
export function scopeName(scope: number): RouteScope {
	const name = SCOPE_NAMES[scope];
	if (name === undefined) throw new CniError(CniErrorCode.invalidConfig, `invalid route scope ${scope}`);
	return name;
}

/** A CNI result route on `oif` as a netlink spec; `gateway` overrides the route's own `gw`. */
export function routeSpec(route: ResultRoute, oif: LinkRef, gateway = route.gw): RouteSpec {
	return {
		dst: route.dst,
		oif,
		...(gateway === undefined ? {} : {gateway}),
		...(route.priority === undefined ? {} : {metric: route.priority}),
		...(route.mtu === undefined ? {} : {mtu: route.mtu}),
		...(route.advmss === undefined ? {} : {advmss: route.advmss}),
		...(route.table === undefined ? {} : {table: route.table}),
		...(route.scope === undefined ? {} : {scope: scopeName(route.scope)}),
	};
}

/** `dst via gw`, for messages. */
export function describeRoute(dst: string, gateway: string | undefined): string {
	return gateway === undefined ? dst : `${dst} via ${gateway}`;
}

/**
 * Adds a route. An identical route already there (same destination, gateway and device in the
 * same table) is success; any other failure is a CniError naming the route and the device.
 */
export function addRouteOnce(nl: Netlink, spec: RouteSpec, ifname: string): void {
	try {
		nl.addRoute(spec);
	} catch (err) {
		if (isExists(err) && hasRoute(nl, spec)) return;
		throw new CniError(
			CniErrorCode.internal,
			`failed to add route "${describeRoute(spec.dst, spec.gateway)}" on "${ifname}": ${message(err)}`,
			{cause: err},
		);
	}
}

/** True when a route with the spec's destination, gateway and device exists in its table. */
function hasRoute(nl: Netlink, spec: RouteSpec): boolean {
	const oif = spec.oif === undefined ? undefined : nl.findLink(spec.oif)?.index;
	return nl
		.listRoutes({table: spec.table ?? RT_TABLE.main, dst: canonicalPrefix(spec.dst)})
		.some((r) => sameAddress(r.gateway, spec.gateway) && (oif === undefined || r.oif === oif));
}

export function message(err: unknown): string {
	return err instanceof Error ? err.message : String(err);
}
