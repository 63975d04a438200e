/**
 * The seeded generator of the dry-run consistency corpus: per category a number of cases, each
 * drawn from its own seed (caseSeed(seed, index)), so a seed and an index reproduce a case. The
 * cases of issue 13's list come first, as they are written there; then valid pods and one broken
 * thing at a time in the Plexus conf, the networks annotation, a NAD, a built-in's config, static
 * IPAM and the master link.
 *
 * The host kernel lacks the vrf and 8021q kinds: every vrf and vlan case here is refused before
 * the built-in makes a kernel call (its config, its version, or a master lookup on the node).
 */
import {caseSeed, Rng} from '../../../../src/cli/testing/fuzz/rng.ts';
import {
	ANNOTATION_BROKEN,
	ANNOTATION_VALID,
	builtinBroken,
	CONF_BROKEN,
	CONF_UNLOADABLE,
	CONF_VALID,
	ipamBroken,
	nadBroken,
	validChain,
} from './inputs.ts';
import {
	baseConf,
	bridge,
	type CorpusCase,
	type CorpusHost,
	type CorpusNad,
	clusterNad,
	listNad,
	macvlan,
	podWith,
	singleNad,
	staticIpam,
} from './pieces.ts';

/** A case before it gets its index and category. */
type Draft = Omit<CorpusCase, 'index' | 'category'>;
type Make = (rng: Rng, host: CorpusHost, index: number) => Draft;

/** A pod on the cluster network plus `nads` (all in the annotation, in order). */
function withNads(
	host: CorpusHost,
	index: number,
	intent: Draft['intent'],
	what: string,
	nads: CorpusNad[],
): Draft {
	const networks = nads.map((n) => n.name).join(', ');
	return {
		intent,
		what,
		conf: JSON.stringify(baseConf(host)),
		pod: podWith(index, networks === '' ? undefined : networks),
		nads: [clusterNad(host), ...nads],
	};
}

/** A pod whose only secondary network is one chain. */
function withChain(
	host: CorpusHost,
	index: number,
	intent: Draft['intent'],
	what: string,
	plugins: unknown[],
	version = '1.0.0',
): Draft {
	return withNads(host, index, intent, what, [listNad('net-a', plugins, version)]);
}

/**
 * A pod whose cluster network is `plugins`: the broken plugin comes first in ADD's order, so ADD
 * refuses it before any delegate runs (the cheap way to reach a delegate's config check).
 */
function asCluster(
	host: CorpusHost,
	index: number,
	intent: Draft['intent'],
	what: string,
	plugins: unknown[],
	version = '1.0.0',
): Draft {
	const cluster = {...listNad('cluster-net', plugins, version), namespace: 'kube-system'};
	return {
		intent,
		what,
		conf: JSON.stringify(baseConf(host)),
		pod: podWith(index, undefined),
		nads: [cluster],
	};
}

/** The conf with `keys` set (undefined deletes). */
function confWith(
	host: CorpusHost,
	index: number,
	intent: Draft['intent'],
	what: string,
	keys: Record<string, unknown>,
): Draft {
	const conf = baseConf(host);
	for (const [k, v] of Object.entries(keys)) {
		if (v === undefined) delete conf[k];
		else conf[k] = v;
	}
	const d = withNads(host, index, intent, what, [listNad('net-a', [macvlan(host, 1)])]);
	// Most keep the pod on the cluster network only: a conf ADD takes then costs one delegate run.
	return {
		...d,
		conf: JSON.stringify(conf),
		pod: intent === 'valid' && index % 2 === 0 ? d.pod : podWith(index, undefined),
	};
}

/** The cases issue 13 lists, each as written there. */
const LISTED: readonly Make[] = [
	(_r, h, i) =>
		withChain(h, i, 'broken', 'vrf key misspelled "vrfnmae"', [
			macvlan(h, 1),
			{type: 'vrf', vrfnmae: 'blue'},
		]),
	(_r, h, i) => ({
		...withNads(h, i, 'broken', 'chained vlan name over the kernel limit', [
			listNad('net-a', [macvlan(h, 1), {type: 'vlan', vlanId: 1000, linkInContainer: true}]),
		]),
		pod: podWith(i, '[{"name":"net-a","interface":"longifname12"}]'),
	}),
	(_r, h, i) => confWith(h, i, 'broken', 'conf cniVersion "2.0.0"', {cniVersion: '2.0.0'}),
	(_r, h, i) => confWith(h, i, 'broken', 'conf cniVersion ""', {cniVersion: ''}),
	(_r, h, i) => confWith(h, i, 'broken', 'conf name ""', {name: ''}),
	(_r, h, i) => confWith(h, i, 'broken', 'conf logLevel "x"', {logLevel: 'x'}),
	(_r, h, i) => confWith(h, i, 'broken', 'conf logFile 1', {logFile: 1}),
	(_r, h, i) => confWith(h, i, 'broken', 'conf logToStderr "x"', {logToStderr: 'x'}),
	(_r, h, i) => ({
		...withNads(h, i, 'broken', 'two missing NADs', []),
		pod: podWith(i, 'missing-a, missing-b'),
	}),
	(_r, h, i) =>
		withChain(h, i, 'broken', 'static address without prefix', [
			{...macvlan(h, 1), ipam: staticIpam('10.1.0.5')},
		]),
];

/** The categories with their sizes, in corpus order. */
const CATEGORIES: readonly (readonly [string, number, Make])[] = [
	...LISTED.map((make) => ['listed', 1, make] as const),
	[
		'conf-broken',
		270,
		(r, h, i) => {
			const keys = r.pick(CONF_BROKEN);
			return confWith(h, i, 'broken', `conf ${JSON.stringify(keys)}`, keys);
		},
	],
	[
		'conf-unloadable',
		12,
		(r, h, i) => {
			const keys = r.pick(CONF_UNLOADABLE);
			return {...confWith(h, i, 'broken', `conf ${JSON.stringify(keys)}`, keys), unloadable: true};
		},
	],
	[
		'conf-valid',
		16,
		(r, h, i) => {
			const keys = r.pick(CONF_VALID);
			return confWith(h, i, 'valid', `conf ${JSON.stringify(keys)}`, keys);
		},
	],
	[
		'annotation-broken',
		310,
		(r, h, i) => {
			const networks = r.pick(ANNOTATION_BROKEN);
			const d = withNads(h, i, 'broken', `annotation ${networks}`, [
				listNad('net-a', [macvlan(h, 1)]),
				listNad('net-b', [macvlan(h, 2)]),
				listNad('net-a', [macvlan(h, 3)], '1.0.0', 'other'),
			]);
			return {
				...d,
				conf: JSON.stringify({...baseConf(h), namespaceIsolation: r.chance(0.5)}),
				pod: podWith(i, networks),
			};
		},
	],
	[
		'annotation-valid',
		20,
		(r, h, i) => {
			const networks = r.pick(ANNOTATION_VALID);
			const d = withNads(h, i, 'valid', `annotation ${networks}`, [
				listNad('net-a', validChain(r, h, 1)),
				listNad('net-b', validChain(r, h, 2)),
			]);
			return {...d, pod: podWith(i, networks === '' ? undefined : networks)};
		},
	],
	[
		'nad-broken',
		180,
		(r, h, i) => {
			const b = nadBroken(r, h);
			if (r.chance(0.85))
				return {
					...asCluster(h, i, 'broken', `cluster network ${b.config ?? '(no config)'}`, []),
					nads: [{...b, namespace: 'kube-system', name: 'cluster-net'}],
				};
			return withNads(h, i, 'broken', `NAD ${b.config ?? '(no config)'}`, [b]);
		},
	],
	[
		'builtin-broken',
		130,
		(r, h, i) => {
			const b = builtinBroken(r);
			if (r.chance(0.85))
				return asCluster(h, i, 'broken', `built-in first ${JSON.stringify(b)}`, [b, macvlan(h, 1)]);
			return withChain(h, i, 'broken', `built-in chained ${JSON.stringify(b)}`, [macvlan(h, 1), b]);
		},
	],
	[
		'static-ipam-broken',
		30,
		(r, h, i) => {
			const ipam = ipamBroken(r, 1);
			const first = r.pick([macvlan(h, 1, {ipam}), {...bridge(h, 1), ipam}]);
			return asCluster(h, i, 'broken', `ipam ${JSON.stringify(ipam)}`, [first]);
		},
	],
	[
		'master-missing',
		18,
		(r, h, i) => {
			const plugin = r.pick([
				macvlan(h, 1, {master: h.missingMaster}),
				{type: 'ipvlan', master: h.missingMaster, ipam: staticIpam('10.1.0.5/24')},
				{type: 'vlan', vlanId: 10, master: h.missingMaster, ipam: staticIpam('10.1.0.5/24')},
			]);
			return asCluster(h, i, 'broken', `master ${plugin['type']}`, [plugin]);
		},
	],
	[
		'duplicate-address',
		6,
		(r, h, i) =>
			withNads(h, i, 'valid', 'two attachments with one static address', [
				listNad('net-a', [macvlan(h, 1)]),
				r.chance(0.5) ? listNad('net-b', [macvlan(h, 1)]) : singleNad('net-b', macvlan(h, 1)),
			]),
	],
	[
		'valid',
		48,
		(r, h, i) => {
			const count = r.int(3);
			const nads = Array.from({length: count}, (_, k) =>
				r.chance(0.2)
					? singleNad(`net-${k}`, macvlan(h, k + 1))
					: listNad(`net-${k}`, validChain(r, h, k + 1), r.pick(['0.3.1', '0.4.0', '1.0.0'])),
			);
			if (count === 0)
				return asCluster(
					h,
					i,
					'valid',
					'a cluster network chain',
					validChain(r, h, 1),
					r.pick(['0.3.1', '0.4.0', '1.0.0']),
				);
			return withNads(h, i, 'valid', `${count} networks`, nads);
		},
	],
];

/** The corpus for `seed`: every category's cases, each from its own seed. */
export function generateCorpus(seed: number, host: CorpusHost): CorpusCase[] {
	const cases: CorpusCase[] = [];
	for (const [category, count, make] of CATEGORIES) {
		for (let k = 0; k < count; k++) {
			const index = cases.length;
			cases.push({index, category, ...make(new Rng(caseSeed(seed, index)), host, index)});
		}
	}
	return cases;
}
