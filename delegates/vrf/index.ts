/**
 * The `vrf` delegate: puts CNI_IFNAME into a VRF inside the pod's netns (chained after an
 * interface-creating plugin). Wiring only; the kernel work is in ./vrf.ts.
 */
import type {CniPlugin} from '../../src/cni/plugin.ts';
import type {OpenNetlink} from '../../src/netlink/netlink.ts';
import {
	assertCheckAllowed,
	cloneResult,
	configLoader,
	ignoreMissingNetns,
	requirePrevResult,
	withNetns,
	writeResult,
} from '../common/cni.ts';
import {parseVrfConfig} from './config.ts';
import {assertMember, enslave, ensureVrf, findVrf, release} from './vrf.ts';

/** The versions the reference vrf plugin supports (VersionsStartingFrom("0.3.1")). */
export const VRF_VERSIONS = ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** What the vrf delegate needs from the outside world. */
export interface VrfDeps {
	readonly openNetlink: OpenNetlink;
}

/** The reference's text for ADD without prevResult. */
const MISSING_PREV_RESULT = 'missing prevResult from earlier plugin';

/** Builds the vrf plugin over a Netlink opener (the kernel's, or the in-memory model's). */
export function createVrfPlugin(deps: VrfDeps): CniPlugin {
	const load = configLoader('vrf', VRF_VERSIONS, parseVrfConfig);

	return {
		type: 'vrf',
		supportedVersions: VRF_VERSIONS,

		async add(request) {
			const config = load(request);
			const prev = requirePrevResult(config, MISSING_PREV_RESULT);
			await withNetns(deps.openNetlink, request.netns, async (nl) => {
				const created = findVrf(nl, config.vrfname) === undefined;
				// enslave refuses an interface with a master; only a free one can be moved by this ADD.
				const masterBefore = nl.findLink(request.ifname)?.masterIndex ?? 0;
				const vrf = ensureVrf(nl, config.vrfname, config.table);
				try {
					await enslave(nl, vrf, request.ifname);
				} catch (err) {
					// A failed ADD leaves nothing of its own: the interface leaves the VRF again and a
					// VRF this ADD created goes with it (the reference leaves both behind). An interface
					// that already had a master (a repeated ADD) is not touched.
					try {
						if (masterBefore === 0) release(nl, config.vrfname, request.ifname, created);
						else if (created) release(nl, config.vrfname, undefined, true);
					} catch {
						// Best effort: the enslave error is the one the runtime needs to see.
					}
					throw err;
				}
			});
			return writeResult(cloneResult(prev), config.cniVersion);
		},

		async del(request) {
			const config = load(request);
			if (request.netns === '') return;
			await ignoreMissingNetns(
				withNetns(deps.openNetlink, request.netns, (nl) => release(nl, config.vrfname, request.ifname)),
			);
		},

		async check(request) {
			const config = load(request);
			assertCheckAllowed(config.cniVersion);
			requirePrevResult(config, MISSING_PREV_RESULT);
			await withNetns(deps.openNetlink, request.netns, (nl) =>
				assertMember(nl, config.vrfname, request.ifname),
			);
		},

		async status(request) {
			load(request);
		},
	};
}
