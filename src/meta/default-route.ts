/**
 * `default-route` (multi-net spec v1.3 §4.1.2.1.9): the element that sets it gets the pod's default
 * route, which moves off every other interface (the cluster network's included). The kernel routes
 * are changed through Netlink in the pod's netns, and the attachments' cached results are rewritten
 * to match, so CHECK (which compares routes against prevResult) and DEL see the truth, as Multus
 * does with its DeleteDefaultGWCache/AddDefaultGWCache. An empty gateway list keeps the
 * attachment's own gateways from its result.
 */

import {CniError, CniErrorCode} from '../cni/errors.ts';
import {isIP} from '../cni/is-ip.ts';
import {type CniResult, convertResult, parseResult, type Result100} from '../cni/result.ts';
import {ENETUNREACH, NetlinkError} from '../netlink/errors.ts';
import type {IpFamily, Netlink} from '../netlink/netlink.ts';

const DEFAULT_DST: Record<IpFamily, string> = {4: '0.0.0.0/0', 6: '::/0'};

/** The gateways the chosen attachment's default routes use. */
export function defaultGateways(requested: readonly string[], result: CniResult): string[] {
	if (requested.length > 0) return [...requested];
	const r = convertResult(result, '1.1.0') as Result100;
	const fromIps = (r.ips ?? []).flatMap((ip) =>
		ip.gateway === undefined || ip.gateway === '' ? [] : [ip.gateway],
	);
	// One gateway per family, as the spec's "default route" is one route per family.
	const seen = new Set<number>();
	return fromIps.filter((gw) => {
		const family = isIP(gw);
		if (seen.has(family)) return false;
		seen.add(family);
		return true;
	});
}

/**
 * Moves the default routes of the gateways' families onto `ifname`: deletes every default route of
 * those families through another interface, then installs `default via <gw> dev <ifname>`.
 *
 * @throws CniError code 7 when there is no gateway or a gateway is not reachable through `ifname`,
 * 999 when the kernel refuses otherwise.
 */
export function moveDefaultRoute(
	nl: Netlink,
	ifname: string,
	gateways: readonly string[],
	network: string,
): void {
	if (gateways.length === 0) {
		throw new CniError(
			CniErrorCode.invalidConfig,
			`network "${network}" asks for the default route but neither "default-route" nor its result names a gateway`,
		);
	}
	const link = nl.getLink(ifname);
	const families = new Set(gateways.map((gw) => (isIP(gw) === 6 ? 6 : 4) as IpFamily));
	for (const family of families) {
		for (const route of nl.listRoutes({family, dst: DEFAULT_DST[family]})) {
			if (route.oif === link.index) continue;
			nl.deleteRoute({
				dst: route.dst,
				...(route.gateway === undefined ? {} : {gateway: route.gateway}),
				...(route.oif === undefined ? {} : {oif: route.oif}),
				table: route.table,
			});
		}
	}
	for (const gw of gateways) {
		const family = (isIP(gw) === 6 ? 6 : 4) as IpFamily;
		try {
			nl.replaceRoute({dst: DEFAULT_DST[family], gateway: gw, oif: ifname});
		} catch (error) {
			// The kernel's "Nexthop has invalid gateway": the element named a gateway that is not on
			// any subnet of the interface. That is the element's mistake, not Plexus' (code 7).
			if (error instanceof NetlinkError && error.errno === ENETUNREACH) {
				throw new CniError(
					CniErrorCode.invalidConfig,
					`network "${network}" asks for the default route via gateway "${gw}", which is not reachable through interface "${ifname}" (no subnet of it contains the gateway)`,
					{cause: error},
				);
			}
			throw error;
		}
	}
}

/**
 * A result with its default routes of `families` removed (`gateways` undefined) or replaced by
 * routes through `gateways`.
 */
export function rewriteDefaultRoutes(
	result: CniResult,
	families: ReadonlySet<IpFamily>,
	gateways: readonly string[] | undefined,
): CniResult {
	const version = result.cniVersion;
	const r = convertResult(result, '1.1.0') as Result100;
	const isDefault = (dst: string) =>
		(families.has(4) && dst === DEFAULT_DST[4]) || (families.has(6) && dst === DEFAULT_DST[6]);
	const routes = (r.routes ?? []).filter((route) => !isDefault(route.dst));
	for (const gw of gateways ?? []) routes.push({dst: DEFAULT_DST[isIP(gw) === 6 ? 6 : 4], gw});
	const rewritten = parseResult({...r, routes});
	return version === '1.1.0' ? rewritten : convertResult(rewritten, version);
}

/** The address families of a gateway list. */
export function familiesOf(gateways: readonly string[]): Set<IpFamily> {
	return new Set(gateways.map((gw) => (isIP(gw) === 6 ? 6 : 4) as IpFamily));
}
