/**
 * The IPAM stand-in of the vlan suites (./vlan.test.ts on the model, e2e/delegates/vlan.vm.test.ts
 * on a real kernel): what `static` IPAM would answer, through the exec seam's fake.
 */
import {FakePluginExec} from '../../../src/chain/testing/fake-exec.ts';
import {convertResult, parseResult} from '../../../src/cni/result.ts';

/** A fake `static` IPAM answering ADD with `ips` and `routes`, in the caller's cniVersion; other verbs succeed silently. */
export function fakeStaticIpam(
	ips: readonly {address: string; gateway?: string}[],
	routes: readonly {dst: string; gw?: string}[] = [],
): FakePluginExec {
	return new FakePluginExec({
		static: (call) => {
			if (call.command !== 'ADD') return undefined;
			return convertResult(
				parseResult({cniVersion: '1.1.0', ips, routes}),
				String(call.config['cniVersion']),
			);
		},
	});
}
