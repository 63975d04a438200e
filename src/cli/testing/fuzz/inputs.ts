/**
 * Generators of whole fuzz cases for the meta-plugin: a Plexus conf (stdin), the NADs the fake
 * API serves, the pod and its annotations, conf files for confDir, and the CNI environment. Most
 * draws are valid, so the run reaches deep into ADD, DEL, CHECK, STATUS and GC; the rest break one
 * or a few things at a time, with the values of ./values.ts and the cases of issue 12.
 *
 * Every absolute path a generated conf may write to is kept inside the case's own directory.
 */
import type {Pod} from '../../../k8s/client.ts';
import {PATH_KEYS, PLEXUS_CONF_KEYS} from '../../../meta/conf/conf.ts';
import type {Rng} from './rng.ts';
import {nastyDocument, nastyName, nastyString, nastyValue, toJsonText} from './values.ts';

/** The pod's netns: it exists in the case's netlink model (and nowhere else). */
export const POD_NETNS = '/var/run/netns/plexus-fuzz-pod';
/** Where the fake delegate binaries live. */
export const FAKE_BIN = '/fake/cni/bin';
/** Delegates that attach an interface in the model and answer a result. */
export const GOOD_TYPES = ['bridge', 'macvlan', 'ipvlan'] as const;
/** Delegates that fail (with codes of their own) or answer a malformed result. */
export const BAD_TYPES = ['failing', 'failing-del', 'oddresult'] as const;

const VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const NAD_NAMES = ['a', 'b', 'cluster', 'other'];

/** One generated input set. */
export interface FuzzCase {
	env: Record<string, string>;
	stdin: string;
	nads: {namespace: string; name: string; config: string | undefined}[];
	pod: Pod | undefined;
	/** false: no API server at all. */
	kube: boolean;
	/** Files to write into the case's confDir. */
	confFiles: {name: string; text: string}[];
	/** Run an ADD with the same inputs before the verb (so DEL and CHECK find a cache). */
	addFirst: boolean;
}

function maybeMutate(rng: Rng, obj: Record<string, unknown>, keys: readonly string[], p: number): void {
	while (rng.chance(p)) {
		const key = rng.chance(0.85) ? rng.pick(keys) : nastyString(rng);
		if (rng.chance(0.15)) delete obj[key];
		else if (key === 'name' && rng.chance(0.6)) obj[key] = nastyName(rng);
		else obj[key] = nastyValue(rng, key === 'name');
	}
}

function pluginConf(rng: Rng): Record<string, unknown> {
	const type = rng.weighted<string>([
		[30, () => rng.pick(GOOD_TYPES)],
		[3, () => rng.pick(BAD_TYPES)],
		[2, () => rng.pick(['nonexistent-plugin', '..', 'a/b', '\u0001x', '', 'vrf', 'passthru', ' bridge'])],
	]);
	const plugin: Record<string, unknown> = {type};
	if (rng.chance(0.3)) plugin['ipam'] = {type: 'static', addresses: [{address: '10.9.9.9/24'}]};
	if (rng.chance(0.3))
		plugin['capabilities'] = {[rng.pick(['ips', 'mac', 'portMappings', 'bandwidth', 'deviceID'])]: true};
	maybeMutate(rng, plugin, ['type', 'ipam', 'capabilities', 'args', 'name', 'cniVersion'], 0.06);
	return plugin;
}

/** A network config object: a conflist (mostly) or a single conf. */
function networkObject(rng: Rng, name: string): Record<string, unknown> {
	const cniVersion = rng.chance(0.96) ? rng.pick(VERSIONS) : nastyString(rng);
	const plugins = Array.from({length: 1 + rng.int(3)}, () => pluginConf(rng));
	const conf: Record<string, unknown> = rng.chance(0.75)
		? {cniVersion, name, plugins}
		: {cniVersion, name, ...plugins[0]};
	maybeMutate(rng, conf, ['cniVersion', 'name', 'plugins', 'cniVersions', 'disableCheck'], 0.05);
	return conf;
}

/** A NAD's spec.config text (or undefined: an empty spec, found in confDir). */
function nadConfig(rng: Rng, name: string): string | undefined {
	return rng.weighted<string | undefined>([
		[25, () => toJsonText(networkObject(rng, rng.chance(0.95) ? name : nastyName(rng)))],
		[2, () => nastyDocument(rng)],
		[1, () => undefined],
	]);
}

/** A network selection element of the JSON annotation form. */
function element(rng: Rng): unknown {
	if (rng.chance(0.08)) return nastyValue(rng);
	const el: Record<string, unknown> = {name: rng.chance(0.85) ? rng.pick(NAD_NAMES) : nastyString(rng)};
	if (rng.chance(0.3))
		el['namespace'] = rng.chance(0.8) ? rng.pick(['ns1', 'ns2', 'kube-system']) : nastyString(rng);
	if (rng.chance(0.4))
		el['interface'] = rng.chance(0.7) ? rng.pick(['net5', 'eth9', 'net1']) : nastyString(rng);
	if (rng.chance(0.15)) el['ips'] = [rng.chance(0.7) ? '10.1.1.5/24' : nastyString(rng)];
	if (rng.chance(0.15)) el['mac'] = rng.chance(0.7) ? '02:00:00:00:00:aa' : nastyString(rng);
	if (rng.chance(0.15))
		el['default-route'] = [rng.chance(0.7) ? rng.pick(['10.0.1.1', '10.5.5.1']) : nastyString(rng)];
	if (rng.chance(0.15)) el['cni-args'] = {[rng.chance(0.8) ? 'k' : nastyString(rng)]: nastyValue(rng)};
	if (rng.chance(0.05)) el['portMappings'] = [{hostPort: 8080, containerPort: 80, protocol: 'tcp'}];
	if (rng.chance(0.05)) el['bandwidth'] = {ingressRate: nastyValue(rng)};
	if (rng.chance(0.05)) el['deviceID'] = nastyString(rng);
	if (rng.chance(0.05)) el['infiniband-guid'] = nastyString(rng);
	if (rng.chance(0.1)) el[nastyString(rng)] = nastyValue(rng);
	return el;
}

/** The value of a networks annotation: the shorthand list, the JSON form or something broken. */
function networksAnnotation(rng: Rng): string {
	return rng.weighted<string>([
		[
			6,
			() =>
				Array.from({length: rng.int(4)}, () =>
					rng.chance(0.8) ? rng.pick(['a', 'b', 'ns2/other', 'b@eth9', 'missing']) : nastyString(rng),
				).join(', '),
		],
		[8, () => toJsonText(Array.from({length: rng.int(4)}, () => element(rng)))],
		[1, () => nastyDocument(rng)],
		[1, () => nastyString(rng)],
	]);
}

/** A path value for a path key: absolute in the case directory, or relative, empty or hostile. */
function pathValue(rng: Rng, dir: string, leaf: string): unknown {
	return rng.weighted<unknown>([
		[8, () => `${dir}/${leaf}`],
		[2, () => rng.pick([leaf, `./${leaf}`, `../${leaf}`, 'rel/dir', '~/x'])],
		[1, () => rng.pick(['', `${dir}/a\u0000b`])],
		[1, () => nastyValue(rng)],
	]);
}

/** Keeps every absolute path key inside `dir` (a hostile value must never name a host path). */
function confine(conf: Record<string, unknown>, dir: string): void {
	// Keys whose default is a host directory Plexus writes (the cache, device info) stay in `dir`.
	for (const [key, inDir] of [
		['cniDir', `${dir}/cni`],
		['deviceInfoDir', `${dir}/devinfo`],
	] as const) {
		if (conf[key] === undefined || conf[key] === '') conf[key] = inDir;
	}
	for (const key of [...PATH_KEYS, 'clusterNetwork']) {
		const value = conf[key];
		if (typeof value === 'string' && value.startsWith('/') && !value.startsWith(`${dir}/`))
			conf[key] = `${dir}${value}`;
	}
}

/** Keys the fuzzer mutates: every conf key, and one runtime key of another namespace. */
const CONF_KEYS = [...PLEXUS_CONF_KEYS, 'io.example/runtime-key'];

/** A result object, as a runtime passes prevResult (sometimes broken). */
function prevResult(rng: Rng): unknown {
	if (rng.chance(0.3)) return nastyValue(rng);
	return {
		cniVersion: rng.pick(VERSIONS),
		interfaces: [{name: 'eth0', sandbox: POD_NETNS}],
		ips: [{address: rng.chance(0.8) ? '10.0.1.2/24' : nastyString(rng), interface: 0}],
	};
}

/** The Plexus conf on stdin. */
function plexusConf(rng: Rng, dir: string): string {
	if (rng.chance(0.04)) return nastyDocument(rng);
	const conf: Record<string, unknown> = {
		cniVersion: rng.weighted<string>([
			[16, () => rng.pick(['0.4.0', '1.0.0', '1.1.0'])],
			[3, () => rng.pick(VERSIONS)],
			[1, () => nastyString(rng)],
		]),
		name: rng.chance(0.95) ? 'plexus-net' : nastyName(rng),
		type: 'plexus',
		cniDir: `${dir}/cni`,
		confDir: `${dir}/conf`,
		binDir: FAKE_BIN,
	};
	if (rng.chance(0.7))
		conf['clusterNetwork'] = rng.pick([
			'cluster',
			'cluster',
			'cluster',
			'cluster',
			'cluster',
			`${dir}/conf/cluster.conflist`,
			`${dir}/conf`,
			'missing',
		]);
	else conf['delegates'] = [networkObject(rng, 'cbr0')];
	if (rng.chance(0.2)) conf['defaultNetworks'] = [rng.pick(['cluster', 'cluster', 'a', 'missing'])];
	if (rng.chance(0.1)) conf['namespaceIsolation'] = true;
	if (rng.chance(0.1))
		conf['runtimeConfig'] = {portMappings: [{hostPort: 80, containerPort: 80}], bandwidth: nastyValue(rng)};
	if (rng.chance(0.15)) conf['prevResult'] = prevResult(rng);
	if (rng.chance(0.1)) conf['readinessindicatorfile'] = `${dir}/${rng.pick(['ready', 'not-ready'])}`;
	if (rng.chance(0.1)) conf['deviceInfoDir'] = `${dir}/devinfo`;
	if (rng.chance(0.05) && String(conf['clusterNetwork']).startsWith('/'))
		conf['auxiliaryCNIChainName'] = rng.chance(0.7) ? 'aux' : nastyString(rng);
	if (rng.chance(0.08)) conf['cni.dev/valid-attachments'] = [{containerID: 'c0', ifname: 'eth0'}];
	if (rng.chance(0.15)) conf[rng.pick(PATH_KEYS)] = pathValue(rng, dir, rng.pick(['cni', 'conf', 'x']));
	maybeMutate(rng, conf, CONF_KEYS, 0.12);
	confine(conf, dir);
	return toJsonText(conf);
}

/** CNI_* variables: valid for the verb mostly, one of them hostile sometimes. */
function cniEnv(rng: Rng, dir: string): Record<string, string> {
	const verb = rng.weighted<string>([
		[35, () => 'ADD'],
		[25, () => 'DEL'],
		[15, () => 'CHECK'],
		[6, () => 'STATUS'],
		[6, () => 'GC'],
		[3, () => 'VERSION'],
		[3, () => rng.pick(['add', 'FOO', 'A\u0000DD', ' ADD'])],
	]);
	const env: Record<string, string> = {
		CNI_COMMAND: verb,
		CNI_CONTAINERID: `c${rng.int(4)}`,
		CNI_NETNS: POD_NETNS,
		CNI_IFNAME: 'eth0',
		CNI_ARGS: 'K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=web;K8S_POD_UID=u1',
		CNI_PATH: FAKE_BIN,
	};
	if (rng.chance(0.06))
		env['CNI_NETNS'] = rng.pick([
			'/dev/null',
			dir,
			`${dir}/regular-file`,
			`${dir}/missing`,
			'relative/ns',
			'',
			'/proc/self/ns/net',
			`${POD_NETNS}\u0000x`,
		]);
	if (rng.chance(0.05))
		env['CNI_IFNAME'] = rng.pick([
			'',
			'eth\u00000',
			'a'.repeat(16),
			'a/b',
			'e:1',
			'e 1',
			'.',
			'..',
			'é',
			'net\u0085',
			'eth\u0001',
		]);
	if (rng.chance(0.03)) env['CNI_CONTAINERID'] = nastyName(rng);
	if (rng.chance(0.05))
		env['CNI_ARGS'] = rng.pick([
			'',
			'IgnoreUnknown=1;K8S_POD_NAME=web',
			'a',
			'a=b=c',
			';;',
			'K8S_POD_NAMESPACE=ns1',
			`K8S_POD_NAMESPACE=${nastyString(rng)};K8S_POD_NAME=web`,
			nastyString(rng),
		]);
	if (rng.chance(0.02)) env['CNI_PATH'] = rng.pick(['', ':', 'relative/bin', nastyString(rng)]);
	if (rng.chance(0.015)) delete env[rng.pick(Object.keys(env).filter((k) => k !== 'CNI_COMMAND'))];
	return env;
}

/** One whole case for the case directory `dir` (absolute). */
export function generateCase(rng: Rng, dir: string): FuzzCase {
	const env = cniEnv(rng, dir);
	const stdin = plexusConf(rng, dir);
	const nads = NAD_NAMES.map((name) => ({
		namespace: name === 'cluster' ? 'kube-system' : name === 'other' ? 'ns2' : 'ns1',
		name,
		config: nadConfig(rng, name),
	}));
	const annotations: Record<string, string> = {};
	if (rng.chance(0.85)) annotations['k8s.v1.cni.cncf.io/networks'] = networksAnnotation(rng);
	if (rng.chance(0.08))
		annotations['v1.multus-cni.io/default-network'] = rng.chance(0.6)
			? 'kube-system/cluster'
			: nastyString(rng);
	const pod: Pod | undefined = rng.chance(0.93)
		? {namespace: 'ns1', name: 'web', uid: rng.chance(0.95) ? 'u1' : 'u2', annotations}
		: undefined;
	const confFiles = [{name: 'cluster.conflist', text: toJsonText(networkObject(rng, 'cluster'))}];
	if (rng.chance(0.2))
		confFiles.push({
			name: rng.pick(['b.conf', 'zz.conflist', 'x.json']),
			text: rng.chance(0.5) ? nastyDocument(rng) : toJsonText(networkObject(rng, 'b')),
		});
	if (rng.chance(0.05))
		confFiles.push({
			name: 'aux/10-a.conf',
			text: rng.chance(0.5) ? toJsonText({type: 'bridge'}) : nastyDocument(rng),
		});
	return {
		env,
		stdin,
		nads,
		pod,
		kube: rng.chance(0.9),
		confFiles,
		addFirst:
			(env['CNI_COMMAND'] === 'DEL' || env['CNI_COMMAND'] === 'CHECK' || env['CNI_COMMAND'] === 'GC') &&
			rng.chance(0.6),
	};
}
