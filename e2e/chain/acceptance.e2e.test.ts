import {createHash} from 'node:crypto';
import {rm} from 'node:fs/promises';
import {join} from 'node:path';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {
	CNI_BIN,
	createScratch,
	expectNothingLeft,
	filesUnder,
	installConf,
	plexus,
	randomSubnet,
	removeScratch,
	type Scratch,
} from '../helpers/cni.ts';
import {createNetns, ipJson, type Netns, randomName, removeLink, removeNetns} from '../helpers/netns.ts';

// Acceptance: `plexus chain add` of bridge+static → tuning gives the result and the kernel state
// libcni (cnitool) would. There is no cnitool binary here, so the oracle is written out below:
// exec Debian's plugins in sequence by hand, with the stdin libcni builds (name and cniVersion
// injected, prevResult = previous plugin's result, runtimeConfig = declared capabilities only).

type Json = Record<string, unknown>;

let scratch: Scratch;
let netns: Netns;
let bridge: string;

beforeEach(async () => {
	bridge = randomName('pxab');
	scratch = await createScratch({NETWORK: randomName('pxacc'), BRIDGE: bridge, SUBNET: randomSubnet()});
	netns = await createNetns('pxacc');
});

afterEach(async () => {
	await removeNetns(netns);
	await removeLink(bridge);
	await removeScratch(scratch);
});

const CAP_ARGS = {
	mac: '0a:58:0a:00:00:99',
	portMappings: [{hostPort: 8080, containerPort: 80, protocol: 'tcp'}],
};

/** cnitool's containerID, computed independently of src/cli. */
const containerIdFor = (path: string) =>
	`cnitool-${createHash('sha512').update(path).digest('hex').slice(0, 20)}`;

/** One plugin's stdin as libcni builds it. */
function libcniStdin(plugin: Json, list: Json, prevResult: Json | undefined): string {
	const conf: Json = {...plugin, name: list['name'], cniVersion: list['cniVersion']};
	if (prevResult !== undefined) conf['prevResult'] = prevResult;
	const runtimeConfig: Json = {};
	for (const [capability, on] of Object.entries((plugin['capabilities'] ?? {}) as Record<string, boolean>)) {
		if (on && capability in CAP_ARGS)
			runtimeConfig[capability] = CAP_ARGS[capability as keyof typeof CAP_ARGS];
	}
	if (Object.keys(runtimeConfig).length > 0) conf['runtimeConfig'] = runtimeConfig;
	return JSON.stringify(conf);
}

/** Runs a Debian plugin binary the way libcni's RawExec does. */
async function execPlugin(type: string, command: string, stdin: string): Promise<string> {
	const {stdout} = await execa(join(CNI_BIN, type), [], {
		input: stdin,
		env: {
			PATH: '/usr/bin:/bin',
			CNI_COMMAND: command,
			CNI_CONTAINERID: containerIdFor(netns.path),
			CNI_NETNS: netns.path,
			CNI_ARGS: '',
			CNI_IFNAME: 'eth0',
			CNI_PATH: CNI_BIN,
		},
		extendEnv: false,
	});
	return stdout;
}

/** The oracle ADD: every plugin in order, threading prevResult; returns the final result. */
async function oracleAdd(list: Json): Promise<Json> {
	let result: Json | undefined;
	for (const plugin of list['plugins'] as Json[]) {
		result = JSON.parse(
			await execPlugin(plugin['type'] as string, 'ADD', libcniStdin(plugin, list, result)),
		) as Json;
	}
	return result!;
}

/** The oracle DEL: reverse order, the final ADD result as prevResult. */
async function oracleDel(list: Json, result: Json): Promise<void> {
	for (const plugin of [...(list['plugins'] as Json[])].reverse()) {
		await execPlugin(plugin['type'] as string, 'DEL', libcniStdin(plugin, list, result));
	}
}

/**
 * `ip -j addr` and `ip -j route` (v4 and v6) in the netns, without what differs between any two
 * runs: interface indexes, and IPv6 link-local addresses (derived from the veth's random MAC
 * before tuning replaced it).
 */
async function kernelState(ns: Netns) {
	const links = await ipJson<Json[]>(ns, 'addr', 'show');
	const addr = links.map((link) => {
		const {ifindex: _i, link_index: _l, link_netnsid: _n, addr_info, ...rest} = link;
		const kept = (addr_info as Json[]).filter((a) => !(a['family'] === 'inet6' && a['scope'] === 'link'));
		return {...rest, addr_info: kept};
	});
	return {
		addr,
		route4: await ipJson(ns, '-4', 'route', 'show'),
		route6: await ipJson(ns, '-6', 'route', 'show'),
	};
}

/**
 * A result without the parts chosen at random per run (the host veth's name and the host-side
 * MACs). An empty `dns` block is dropped: libcni's 1.x result marshalling omits it, the plugins
 * (built on an older library) print it.
 */
function stable(result: Json): Json {
	const {dns, interfaces, ...rest} = result;
	const out: Json = {...rest};
	out['interfaces'] = (interfaces as Json[]).map((i) =>
		i['sandbox'] === undefined
			? {...i, name: /^veth/.test(i['name'] as string) ? '<veth>' : i['name'], mac: '<host mac>'}
			: i,
	);
	if (dns !== undefined && Object.keys(dns as Json).length > 0) out['dns'] = dns;
	return out;
}

describe('plexus chain (acceptance)', () => {
	test('add of bridge+static → tuning matches the libcni oracle; check passes; del leaves nothing', async () => {
		const list = JSON.parse(await installConf(scratch, 'bridge-static-tuning.conflist')) as Json;
		const env = {NETCONFPATH: scratch.confDir, CNI_PATH: CNI_BIN, CAP_ARGS: JSON.stringify(CAP_ARGS)};
		const cacheArgs = ['--cache-dir', scratch.cacheDir];

		const expectedResult = await oracleAdd(list);
		const expectedState = await kernelState(netns);
		await oracleDel(list, expectedResult);
		await expectNothingLeft({netns, bridge, scratch});
		expect(await filesUnder(scratch.dataDir)).toEqual([]);

		const add = await plexus(['chain', 'add', ...cacheArgs, String(list['name']), netns.path], env);
		expect(add.stderr).toBe('');
		expect(add.exitCode).toBe(0);
		const result = JSON.parse(add.stdout) as Json;
		expect(stable(result)).toEqual(stable(expectedResult));
		expect(await kernelState(netns)).toEqual(expectedState);
		expect(await filesUnder(scratch.cacheDir)).toEqual([
			`results/${list['name']}-${containerIdFor(netns.path)}-eth0`,
		]);

		const check = await plexus(['chain', 'check', ...cacheArgs, String(list['name']), netns.path], env);
		expect({exitCode: check.exitCode, stdout: check.stdout}).toEqual({exitCode: 0, stdout: ''});

		const del = await plexus(['chain', 'del', ...cacheArgs, String(list['name']), netns.path], env);
		expect({exitCode: del.exitCode, stdout: del.stdout}).toEqual({exitCode: 0, stdout: ''});
		await expectNothingLeft({netns, bridge, scratch});
		expect(await filesUnder(scratch.dataDir)).toEqual([]);
	});

	test('gc DELs every cached attachment of the network, as cnitool gc does; status is a no-op below 1.1.0', async () => {
		const list = JSON.parse(await installConf(scratch, 'bridge-static-tuning.conflist')) as Json;
		const env = {NETCONFPATH: scratch.confDir, CNI_PATH: CNI_BIN, CAP_ARGS: JSON.stringify(CAP_ARGS)};
		const cacheArgs = ['--cache-dir', scratch.cacheDir];
		const add = await plexus(['chain', 'add', ...cacheArgs, String(list['name']), netns.path], env);
		expect(add.exitCode).toBe(0);
		const status = await plexus(['chain', 'status', String(list['name'])], env);
		expect({exitCode: status.exitCode, stdout: status.stdout}).toEqual({exitCode: 0, stdout: ''});
		const gc = await plexus(['chain', 'gc', ...cacheArgs, String(list['name'])], env);
		expect({exitCode: gc.exitCode, stdout: gc.stdout}).toEqual({exitCode: 0, stdout: ''});
		await expectNothingLeft({netns, bridge, scratch});
		expect(await filesUnder(scratch.dataDir)).toEqual([]);
	});

	test('failures are one CNI error JSON on stdout with a non-zero exit', async () => {
		const name = scratch.vars['NETWORK']!;
		const env = {NETCONFPATH: scratch.confDir, CNI_PATH: `/nonexistent:${CNI_BIN}`};
		const args = (verb: string) => ['chain', verb, '--cache-dir', scratch.cacheDir, name, netns.path];

		await installConf(scratch, 'missing-binary.conflist');
		const missing = await plexus(args('add'), env);
		expect(missing.exitCode).toBe(1);
		expect(JSON.parse(missing.stdout)).toEqual({
			cniVersion: '1.0.0',
			code: 7,
			msg: `plugin type="no-such-plugin" failed (add): failed to find plugin "no-such-plugin" in path [/nonexistent ${CNI_BIN}]`,
		});
		await expectNothingLeft({netns, scratch});
		await rm(join(scratch.confDir, 'missing-binary.conflist'));

		// The 2nd plugin's own error (Go's plugins report plain errors as 999) comes back wrapped.
		await installConf(scratch, 'bridge-then-failing-tuning.conflist');
		const failing = await plexus(args('add'), env);
		expect(failing.exitCode).toBe(1);
		expect(JSON.parse(failing.stdout)).toEqual({
			cniVersion: '1.0.0',
			code: 999,
			msg: expect.stringMatching(/^plugin type="tuning" failed \(add\): .*not-a-mac/),
		});
		const del = await plexus(args('del'), env);
		expect({exitCode: del.exitCode, stdout: del.stdout}).toEqual({exitCode: 0, stdout: ''});
		await expectNothingLeft({netns, bridge, scratch});

		const usage = await plexus(['chain', 'add', name], env);
		expect(usage.exitCode).toBe(2);
		expect(usage.stdout).toBe('');
		expect(usage.stderr).toContain('missing <netns>');
	});
});
