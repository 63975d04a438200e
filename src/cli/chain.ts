/**
 * `plexus chain add|check|del|gc|status <network-name> [<netns>]`: cnitool's behaviour on the
 * libcni-exact executor. Config from NETCONFPATH (default /etc/cni/net.d), delegates from
 * CNI_PATH, CNI_ARGS and CAP_ARGS (JSON) from the environment, `-i`/CNI_IFNAME (default eth0),
 * containerID "cnitool-" + hex of the first 10 bytes of sha512(absolute netns path). The built-in
 * delegates (vrf, vlan, route-override) run in-process through the same exec seam as in the
 * meta-plugin, unless `--disable-builtins` / PLEXUS_DISABLE_BUILTINS leaves them to CNI_PATH.
 */
import {createHash} from 'node:crypto';
import {resolve} from 'node:path';
import {parseArgs} from 'node:util';
import {BUILTIN_TYPES} from '../../delegates/builtin-types.ts';
import type {RuntimeConf} from '../chain/executor.ts';
import type {PluginExec} from '../chain/plugin-exec.ts';
import {parseCniArgs, splitPath} from '../cni/env.ts';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {MAX_JSON_DEPTH, nestsDeeperThan} from '../cni/json.ts';
import type {OpenNetlink} from '../netlink/netlink.ts';
import {type CliOutcome, errorOutcome, usageError} from './outcome.ts';

export const CHAIN_USAGE = `Usage: plexus chain <add|check|del|gc|status> [options] <network-name> [<netns>]

Runs the delegate chain of one CNI network against a network namespace, exactly as libcni
(and cnitool) would, and prints the ADD result as JSON. The built-in delegates (vrf, vlan,
route-override) run in-process, as in the meta-plugin; any other type is a binary on CNI_PATH.

Arguments:
  network-name    the "name" of a .conflist/.conf in NETCONFPATH
  netns           path of the network namespace (required for add, check, del)

Options:
  -i, --ifname <name>     interface name in the namespace (default: $CNI_IFNAME or eth0)
      --cache-dir <dir>   result cache directory (default: /var/lib/cni, as libcni)
      --disable-builtins <types>
                          built-in types to look up on CNI_PATH instead, comma-separated
                          (e.g. "vlan,vrf"), or "all" (the conf key disableBuiltins)
  -h, --help              show this help

Environment:
  NETCONFPATH   config directory (default: /etc/cni/net.d)
  CNI_PATH      ":"-separated directories searched for plugin binaries
  CNI_ARGS      "K=V;K=V" arguments passed to every plugin
  CAP_ARGS      JSON object of capability arguments (each plugin gets the ones it declares)
  PLEXUS_DISABLE_BUILTINS   as --disable-builtins (the option wins)
`;

export const CHAIN_VERBS = ['add', 'check', 'del', 'gc', 'status'] as const;
export type ChainVerb = (typeof CHAIN_VERBS)[number];

export interface ChainIo {
	env: Readonly<Record<string, string | undefined>>;
	/** Overrides the binaries' exec (tests); the built-ins run in front of it. */
	exec?: PluginExec | undefined;
	/** Overrides the built-ins' netlink (tests; default: the kernel's). */
	openNetlink?: OpenNetlink | undefined;
}

/** cnitool's container ID for a netns path. */
export function cnitoolContainerId(netnsPath: string): string {
	const digest = createHash('sha512').update(resolve(netnsPath)).digest();
	return `cnitool-${digest.subarray(0, 10).toString('hex')}`;
}

/** Parses CAP_ARGS (code 4 when it is neither a JSON object nor null). */
export function parseCapArgs(text: string | undefined): Record<string, unknown> {
	if (text === undefined || text === '') return {};
	if (nestsDeeperThan(text, MAX_JSON_DEPTH))
		throw new CniError(
			CniErrorCode.invalidEnv,
			`invalid CAP_ARGS: JSON nests deeper than the limit of ${MAX_JSON_DEPTH} levels`,
		);
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch (err) {
		throw new CniError(CniErrorCode.invalidEnv, `invalid CAP_ARGS: ${(err as Error).message}`);
	}
	// cnitool decodes into a map, and JSON null leaves a map empty.
	if (value === null) return {};
	if (typeof value !== 'object' || Array.isArray(value)) {
		throw new CniError(CniErrorCode.invalidEnv, 'invalid CAP_ARGS: expected a JSON object');
	}
	return value as Record<string, unknown>;
}

/**
 * CNI_ARGS as cnitool's parseArgs reads it: `K=V` pairs split on ";", each with exactly one "=" and
 * neither side empty (code 4 naming the pair otherwise).
 */
export function parseCnitoolArgs(text: string | undefined): [string, string][] {
	const pairs = parseCniArgs(text ?? '');
	for (const [key, value] of pairs) {
		if (key === '' || value === '') {
			throw new CniError(
				CniErrorCode.invalidEnv,
				`invalid CNI_ARGS pair "${key}=${value}": key and value must not be empty`,
			);
		}
	}
	return pairs;
}

/**
 * CNI_ARGS and CAP_ARGS from the environment, as cnitool reads them; `plexus dry-run` of a bare
 * conflist reads them the same way.
 */
export function envRuntimeArgs(env: ChainIo['env']): Pick<RuntimeConf, 'args' | 'capabilityArgs'> {
	return {args: parseCnitoolArgs(env['CNI_ARGS']), capabilityArgs: parseCapArgs(env['CAP_ARGS'])};
}

/**
 * The built-in types `--disable-builtins` (else PLEXUS_DISABLE_BUILTINS) leaves to CNI_PATH: a
 * comma-separated list of built-in types, or "all". Throws an Error naming an unknown type.
 */
export function disabledBuiltins(option: string | undefined, env: ChainIo['env']): readonly string[] {
	const text = option ?? env['PLEXUS_DISABLE_BUILTINS'] ?? '';
	const types = text
		.split(',')
		.map((t) => t.trim())
		.filter((t) => t !== '');
	if (types.includes('all')) return [...BUILTIN_TYPES];
	const unknown = types.find((t) => !(BUILTIN_TYPES as readonly string[]).includes(t));
	if (unknown !== undefined) {
		throw new Error(
			`invalid --disable-builtins: "${unknown}" is not a built-in delegate, expected "all" or some of ${BUILTIN_TYPES.join(', ')}`,
		);
	}
	return types;
}

/** Runs `plexus chain ...` (argv after "chain"). */
export async function runChain(argv: readonly string[], io: ChainIo): Promise<CliOutcome> {
	let parsed: ReturnType<typeof parse>;
	try {
		parsed = parse(argv);
	} catch (err) {
		return usageError((err as Error).message, CHAIN_USAGE);
	}
	const {values, positionals} = parsed;
	if (values.help === true) return {stdout: CHAIN_USAGE, stderr: '', exitCode: 0};
	const [verb, network, netnsArg, ...extra] = positionals;
	if (verb === undefined) return usageError('missing command', CHAIN_USAGE);
	if (!(CHAIN_VERBS as readonly string[]).includes(verb)) {
		return usageError(`unknown command "${verb}": expected one of ${CHAIN_VERBS.join(', ')}`, CHAIN_USAGE);
	}
	if (network === undefined) return usageError('missing <network-name>', CHAIN_USAGE);
	const needsNetns = verb === 'add' || verb === 'check' || verb === 'del';
	if (needsNetns && netnsArg === undefined) return usageError('missing <netns>', CHAIN_USAGE);
	if (extra.length > 0) return usageError(`unexpected argument "${extra[0]}"`, CHAIN_USAGE);
	let disable: readonly string[];
	try {
		disable = disabledBuiltins(values['disable-builtins'], io.env);
	} catch (err) {
		return usageError((err as Error).message, CHAIN_USAGE);
	}

	// The executor, loader and built-ins are only needed past argument checks; import them lazily.
	const [{ChainExecutor}, {loadNetworkConf}, {ProcessPluginExec}, {withBuiltins}, {openNetlink}] =
		await Promise.all([
			import('../chain/executor.ts'),
			import('../chain/network-list.ts'),
			import('../chain/plugin-exec.ts'),
			import('../../delegates/index.ts'),
			import('../netlink/kernel.ts'),
		]);
	const list = await loadNetworkConf(io.env['NETCONFPATH'] || '/etc/cni/net.d', network);
	const executor = new ChainExecutor({
		path: splitPath(io.env['CNI_PATH']),
		cacheDir: values['cache-dir'],
		exec: withBuiltins(io.exec ?? new ProcessPluginExec(), io.openNetlink ?? openNetlink, {disable}),
		env: io.env,
	});
	const netns = netnsArg === undefined ? '' : resolve(netnsArg);
	const rt: RuntimeConf = {
		containerId: netns === '' ? '' : cnitoolContainerId(netns),
		netns,
		ifname: values.ifname ?? io.env['CNI_IFNAME'] ?? 'eth0',
		...envRuntimeArgs(io.env),
	};
	try {
		switch (verb as ChainVerb) {
			case 'add': {
				const result = await executor.addNetworkList(list, rt);
				return {stdout: `${JSON.stringify(result, null, 4)}\n`, stderr: '', exitCode: 0};
			}
			case 'check':
				await executor.checkNetworkList(list, rt);
				break;
			case 'del':
				await executor.delNetworkList(list, rt);
				break;
			case 'gc':
				await executor.gcNetworkList(list);
				break;
			case 'status':
				await executor.statusNetworkList(list);
				break;
		}
	} catch (err) {
		// Once the network is known, its error JSON carries the network's version (as a plugin's does).
		return errorOutcome(err, list.cniVersion);
	}
	return {stdout: '', stderr: '', exitCode: 0};
}

function parse(argv: readonly string[]) {
	return parseArgs({
		args: [...argv],
		allowPositionals: true,
		strict: true,
		options: {
			ifname: {type: 'string', short: 'i'},
			'cache-dir': {type: 'string'},
			'disable-builtins': {type: 'string'},
			help: {type: 'boolean', short: 'h'},
		},
	});
}
