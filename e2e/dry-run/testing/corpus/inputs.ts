/**
 * The values the dry-run corpus draws from: Plexus conf keys ADD refuses or takes, annotation
 * texts, broken NAD configs, built-in configs their parser refuses, static IPAM sections the
 * `static` plugin refuses, and valid chains that run on the host kernel.
 */
import type {Rng} from '../../../../src/cli/testing/fuzz/rng.ts';
import {
	bridge,
	type CorpusHost,
	type CorpusNad,
	macvlan,
	routeOverride,
	staticIpam,
	tuning,
} from './pieces.ts';

/** Plexus conf keys and values ADD refuses, and values it takes. */
export const CONF_BROKEN: readonly Record<string, unknown>[] = [
	{cniVersion: '2.0.0'},
	{cniVersion: ''},
	{cniVersion: '1.0'},
	{cniVersion: 'abc'},
	{cniVersion: '0.0.9'},
	{name: ''},
	{name: 'bad name'},
	{name: 'a/b'},
	{logLevel: 'x'},
	{logLevel: 5},
	{logLevel: 'LOUD'},
	{logFile: 1},
	{logFile: true},
	{logToStderr: 'x'},
	{logToStderr: 1},
	{logOptions: {maxAge: -1}},
	{logOptions: {bogus: 1}},
	{logOptions: 'x'},
	{clusterNetwrok: 'cluster-net'},
	{namespaceIsolaton: true},
	{logLevle: 'info'},
	{cniDri: '/x'},
	{clusterNetwork: ''},
	{clusterNetwork: 5},
	{clusterNetwork: 'nowhere'},
	{clusterNetwork: undefined},
	{namespaceIsolation: 'yes'},
	{delegates: 'x'},
	{delegates: [5]},
	{cniDir: ''},
	{cniDir: 7},
	{binDir: ''},
	{confDir: 3},
	{apiTimeoutMs: 0},
	{apiTimeoutMs: 70_000},
	{apiTimeoutMs: '1'},
	{delegateTimeoutMs: -1},
	{delegateTimeoutMs: 1.5},
	{defaultNetworks: ['nowhere']},
	{defaultNetworks: ['']},
	{defaultNetworks: 'x'},
	{systemNamespaces: ['']},
	{multusNamespace: ''},
	{disableBuiltins: ['']},
	{disableBuiltins: 'vrf'},
	{readinessindicatorfile: '/nonexistent/plexus-corpus-ready'},
	{globalNamespaces: 5},
];
export const CONF_VALID: readonly Record<string, unknown>[] = [
	{cniVersion: '0.3.1'},
	{cniVersion: '0.4.0'},
	{cniVersion: '1.1.0'},
	{logLevel: 'debug'},
	{logLevel: 'verbose'},
	{namespaceIsolation: true},
	{apiTimeoutMs: 5000},
	{delegateTimeoutMs: 30_000},
	{disableBuiltins: ['vlan']},
	{name: 'other-net'},
	{systemNamespaces: ['kube-system', 'ns9']},
	{globalNamespaces: 'ns1'},
];

/** Conf keys with a JSON type libcni's NetConf refuses (the runtime never loads the file). */
export const CONF_UNLOADABLE: readonly Record<string, unknown>[] = [
	{name: 5},
	{cniVersion: 1},
	{type: ''},
	{type: 7},
	{capabilities: {ips: 'yes'}},
	{capabilities: 'x'},
];

/** Annotation texts ADD refuses (the pod has NADs net-a and net-b). */
export const ANNOTATION_BROKEN: readonly string[] = [
	'[{"name": ',
	'{"name":"net-a"}',
	'[5]',
	'[{"interface":"net1"}]',
	'[{"name":"net-a","ips":"10.1.0.9/24"}]',
	'net-a@',
	'@net1',
	'ns1/net-a/x',
	'[{"name":"net-a","default-route":["notip"]}]',
	'[{"name":"net-a","mac":"zz"}]',
	'[{"name":"net-a","interface":"net9"},{"name":"net-b","interface":"net9"}]',
	'[{"name":"net-a","interface":"a-name-longer-than-15"}]',
	'[{"name":"net-a","interface":"eth0"}]',
	'[{"name":"net-a","interface":"a/b"}]',
	'[{"name":"net-a","ips":["10.1.0.9/24"]}]',
	'[{"name":"net-a","default-route":["10.1.0.1"]},{"name":"net-b","default-route":["10.2.0.1"]}]',
	'missing-a',
	'missing-a, missing-b',
	'net-a, missing-b, missing-c',
	'other/net-a',
	'[{"name":""}]',
	' , ',
	'[{"name":"net-a","namespace":5}]',
	'[{"name":"net-a","cni-args":"x"}]',
	'net-a,net-a',
];
export const ANNOTATION_VALID: readonly string[] = [
	'',
	'net-a',
	'net-a, net-b',
	'ns1/net-a',
	'net-a@net7',
	'[{"name":"net-a","interface":"left0"}]',
	'[{"name":"net-a"},{"name":"net-b","interface":"right0"}]',
	'[{"name":"net-a","namespace":"ns1"}]',
	'[{"name":"net-b","default-route":["10.2.0.1"]}]',
];

/** NAD configs ADD refuses, as the second network of the pod. */
export function nadBroken(rng: Rng, h: CorpusHost): CorpusNad {
	const m = macvlan(h, 2);
	const configs: (string | undefined)[] = [
		'{"cniVersion":',
		undefined,
		'{}',
		'[]',
		'{"cniVersion":"1.0.0","name":"net-b","plugins":[]}',
		'{"cniVersion":"1.0.0","name":"net-b","plugins":[{}]}',
		'{"cniVersion":"1.0.0","name":"net-b","plugins":"x"}',
		JSON.stringify({cniVersion: '1.0.0', name: 'net-b', plugins: [{type: 'sriov'}]}),
		JSON.stringify({cniVersion: '1.0.0', name: 'net-b', plugins: [{type: '../../bin/sh'}]}),
		JSON.stringify({cniVersion: '1.1.0', name: 'net-b', plugins: [m]}),
		JSON.stringify({cniVersion: '9.9.9', name: 'net-b', plugins: [m]}),
		JSON.stringify({cniVersion: '', name: 'net-b', plugins: [m]}),
		JSON.stringify({cniVersion: '0.3.0', name: 'net-b', plugins: [m, {type: 'vrf', vrfname: 'blue'}]}),
		JSON.stringify({cniVersion: '1.0.0', name: 'net-b', plugins: [m, {type: 'nothere'}]}),
		JSON.stringify({cniVersion: '1.0.0', name: '', plugins: [m]}),
		JSON.stringify({cniVersion: '1.0.0', name: 'net-b', type: 'macvlan', master: h.master, plugins: [m]}),
		JSON.stringify({cniVersion: '1.0.0', name: 'net-b'}),
	];
	return {namespace: 'ns1', name: 'net-b', config: configs[rng.int(configs.length)]};
}

/** Built-in configs their parser refuses, chained after a macvlan. */
export function builtinBroken(rng: Rng): Record<string, unknown> {
	return rng.pick<Record<string, unknown>>([
		{type: 'vrf', vrfnmae: 'blue'},
		{type: 'vrf'},
		{type: 'vrf', vrfname: ''},
		{type: 'vrf', vrfname: 5},
		{type: 'vrf', vrfname: 'blue', table: 'x'},
		{type: 'vrf', vrfname: 'blue', table: -1},
		{type: 'vrf', VRFNAME: ''},
		{type: 'vlan', vlanId: 5000, master: 'x'},
		{type: 'vlan', vlanId: -1, linkInContainer: true},
		{type: 'vlan', vlanId: 'x', linkInContainer: true},
		{type: 'vlan', vlanId: 5, mtu: 'x', linkInContainer: true},
		{type: 'vlan', vlanId: 5},
		{type: 'vlan', vlanid: 5000, linkInContainer: true},
		{type: 'vlan', linkInContainer: 'yes'},
		{type: 'route-override', flushroutes: 'x'},
		{type: 'route-override', addroutes: 'x'},
		{type: 'route-override', addroutes: [{dst: 'bad'}]},
		{type: 'route-override', delroutes: [{dst: 5}]},
		{type: 'route-override', addroutes: [{dst: '10.0.0.0/8', gw: 'x'}]},
		{type: 'route-override', flushgateway: 1},
	]);
}

/** Static IPAM blocks the static plugin refuses. */
export function ipamBroken(rng: Rng, n: number): Record<string, unknown> {
	return rng.pick<Record<string, unknown>>([
		staticIpam(`10.${n}.0.5`),
		staticIpam('x'),
		staticIpam(`10.${n}.0.5/33`),
		staticIpam('fd00::5'),
		staticIpam(`10.${n}.0.5/24`, {routes: [{dst: 'x'}]}),
		{type: 'static', addresses: 'x'},
		{type: 'static', addresses: [{address: `10.${n}.0.5/24`, gateway: 'x'}]},
		{type: 'static', addresses: [{}]},
		{type: 'static', addresses: [{address: `10.${n}.0.5/24`}, {address: `10.${n}.0.6`}]},
		{type: 'static', addresses: [{address: 5}]},
		{type: 'static'},
		{type: 'static', addresses: []},
	]);
}

/** Valid secondary chains (everything here runs on the host kernel). */
export function validChain(rng: Rng, h: CorpusHost, n: number): unknown[] {
	return rng.pick<() => unknown[]>([
		() => [macvlan(h, n)],
		() => [macvlan(h, n), routeOverride(n)],
		() => [macvlan(h, n), tuning()],
		() => [bridge(h, n)],
		() => [bridge(h, n), routeOverride(n, {flushroutes: rng.chance(0.5)})],
		() => [macvlan(h, n), {type: 'route-override', addrotues: []}],
	])();
}
