/**
 * The corpus cases that need the kernel kinds the development host lacks (vrf, 8021q): valid vrf
 * and vlan chains, whose real ADD creates those links. Run by ../../corpus-kernel.vm.test.ts in the
 * vm project; seeded as the main corpus (./generate.ts).
 */
import {caseSeed, Rng} from '../../../../src/cli/testing/fuzz/rng.ts';
import {
	baseConf,
	type CorpusCase,
	type CorpusHost,
	clusterNad,
	listNad,
	macvlan,
	podWith,
	staticIpam,
} from './pieces.ts';

/** One valid chain that makes a vrf or a vlan, as the `k`th case. */
function kernelChain(rng: Rng, h: CorpusHost, k: number): {what: string; plugins: unknown[]} {
	return rng.pick([
		() => ({what: 'macvlan + vrf', plugins: [macvlan(h, 1), {type: 'vrf', vrfname: `blue${k}`}]}),
		() => ({
			what: 'macvlan + vrf with a table',
			plugins: [macvlan(h, 1), {type: 'vrf', vrfname: `red${k}`, table: 1000 + k}],
		}),
		() => ({
			what: 'macvlan + chained vlan',
			plugins: [
				macvlan(h, 1),
				{type: 'vlan', vlanId: 100 + (k % 900), linkInContainer: true, ipam: staticIpam('10.50.0.5/24')},
			],
		}),
		() => ({
			what: 'vlan on the host master',
			plugins: [{type: 'vlan', master: h.master, vlanId: 10 + k, ipam: staticIpam('10.51.0.5/24')}],
		}),
		() => ({
			what: 'macvlan + route-override + vrf',
			plugins: [
				macvlan(h, 1),
				{type: 'route-override', flushroutes: true},
				{type: 'vrf', vrfname: `green${k}`},
			],
		}),
	])();
}

/** `count` valid vrf/vlan cases for `seed`. */
export function generateKernelCorpus(seed: number, host: CorpusHost, count: number): CorpusCase[] {
	return Array.from({length: count}, (_, index) => {
		const {what, plugins} = kernelChain(new Rng(caseSeed(seed, index)), host, index);
		return {
			index,
			category: 'kernel-valid',
			intent: 'valid',
			what,
			conf: JSON.stringify(baseConf(host)),
			pod: podWith(index, 'net-a'),
			nads: [clusterNad(host), listNad('net-a', plugins)],
		};
	});
}
