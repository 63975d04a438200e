/**
 * What the vrf delegate's two test suites share, so the model (./vrf.test.ts) and the real kernel
 * (e2e/delegates/vrf.vm.test.ts) run the same vrf_test.go cases from one definition.
 */

/** The prevResult an earlier plugin hands vrf: one interface in `sandbox` holding `addrs`, in `cniVersion`'s shape. */
export function vrfPrevResult(cniVersion: string, sandbox: string, ifname: string, addrs: readonly string[]) {
	const old = cniVersion.startsWith('0.');
	return {
		cniVersion,
		interfaces: [{name: ifname, sandbox}],
		ips: addrs.map((address) => ({
			...(old ? {version: address.includes(':') ? '6' : '4'} : {}),
			interface: 0,
			address,
		})),
		...(old ? {dns: {}} : {}),
	};
}

/** vrf_test.go's table id conflicts: label, two VRF names, their tables, and the error the second ADD gives (if any). */
export const TABLE_ID_CONFLICTS: readonly (readonly [
	string,
	string,
	string,
	number,
	number,
	string | undefined,
])[] = [
	['same vrf with same tableid', 'vrf0', 'vrf0', 1001, 1001, undefined],
	['different vrf with same tableid', 'vrf0', 'vrf1', 1001, 1001, undefined],
	[
		'same vrf with different tableids',
		'vrf0',
		'vrf0',
		1001,
		1002,
		'already exist with different routing table',
	],
];
