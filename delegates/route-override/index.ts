/**
 * The `route-override` delegate: rewrites the routes of the interface a previous plugin set up,
 * in the kernel and in the result. Wiring only; the kernel work is in ./route-override.ts.
 */
import type {CniPlugin} from '../../src/cni/plugin.ts';
import {SUPPORTED_VERSIONS} from '../../src/cni/versions.ts';
import type {OpenNetlink} from '../../src/netlink/netlink.ts';
import {assertCheckAllowed, configLoader, requirePrevResult, withNetns, writeResult} from '../common/cni.ts';
import {parseRouteOverrideConfig} from './config.ts';
import {applyOverride, checkOverride} from './route-override.ts';

/** Every spec version, 1.1.0 included (the reference stops at 1.0.0 and drops 1.1 route fields). */
export const ROUTE_OVERRIDE_VERSIONS = SUPPORTED_VERSIONS;

/** What the route-override delegate needs from the outside world. */
export interface RouteOverrideDeps {
	readonly openNetlink: OpenNetlink;
}

const MISSING_PREV_RESULT = 'route-override: required prevResult missing';

/** Builds the route-override plugin over a Netlink opener. */
export function createRouteOverridePlugin(deps: RouteOverrideDeps): CniPlugin {
	const load = configLoader('route-override', ROUTE_OVERRIDE_VERSIONS, parseRouteOverrideConfig);

	return {
		type: 'route-override',
		supportedVersions: ROUTE_OVERRIDE_VERSIONS,

		async add(request) {
			const config = load(request);
			const prev = requirePrevResult(config, MISSING_PREV_RESULT);
			const result = await withNetns(deps.openNetlink, request.netns, (nl) =>
				applyOverride(nl, config, prev, request.ifname),
			);
			return writeResult(result, config.cniVersion);
		},

		// Nothing is reverted, as in the reference: the routes go with the interface or the netns.
		async del() {},

		async check(request) {
			const config = load(request);
			assertCheckAllowed(config.cniVersion);
			if (config.skipcheck) return;
			const prev = requirePrevResult(config, MISSING_PREV_RESULT);
			await withNetns(deps.openNetlink, request.netns, (nl) => checkOverride(nl, config, prev));
		},

		async status(request) {
			load(request);
		},
	};
}
