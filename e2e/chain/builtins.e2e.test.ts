// `plexus chain` runs the built-in delegates in-process through the same exec seam as the
// meta-plugin: route-override chained after Debian's real bridge + host-local, in a real netns.
// With --disable-builtins / PLEXUS_DISABLE_BUILTINS the type is looked up on CNI_PATH instead.
import {chmod, mkdir, readFile, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {
	CNI_BIN,
	createScratch,
	expectNothingLeft,
	installConf,
	plexus,
	randomSubnet,
	removeScratch,
	type Scratch,
} from '../helpers/cni.ts';
import {createNetns, ipJson, type Netns, randomName, removeLink, removeNetns} from '../helpers/netns.ts';

const CONF = 'bridge-host-local-route-override.conflist';
const ROUTE_OVERRIDE_BIN = fileURLToPath(new URL('../../bin/plexus-route-override', import.meta.url));

let scratch: Scratch;
let netns: Netns;
let bridge: string;

beforeEach(async () => {
	bridge = randomName('pxbr');
	scratch = await createScratch({NETWORK: randomName('pxnet'), BRIDGE: bridge, SUBNET: randomSubnet()});
	netns = await createNetns('pxbi');
});

afterEach(async () => {
	await removeNetns(netns);
	await removeLink(bridge);
	await removeScratch(scratch);
});

interface Route {
	dst: string;
	gateway?: string;
	dev?: string;
}

/** The IPv4 routes of the main table in `ns`, as `dst via gw dev` strings. */
async function routes(ns: Netns): Promise<string[]> {
	const list = await ipJson<Route[]>(ns, '-4', 'route', 'show', 'table', 'main');
	return list
		.map((r) => [r.dst, r.gateway === undefined ? '' : `via ${r.gateway}`, r.dev ?? ''].join(' '))
		.sort();
}

function chain(verb: string, env: Record<string, string>, ...options: string[]) {
	return plexus(
		['chain', verb, '--cache-dir', scratch.cacheDir, ...options, scratch.vars['NETWORK']!, netns.path],
		{NETCONFPATH: scratch.confDir, ...env},
	);
}

/** A `route-override` on CNI_PATH: logs each CNI_COMMAND, then runs the standalone built-in binary. */
async function routeOverrideBinary(): Promise<{dir: string; log: string}> {
	const dir = join(scratch.dir, 'bin');
	const log = join(scratch.dir, 'route-override.log');
	await mkdir(dir, {recursive: true});
	const script = `#!/bin/sh\necho "$CNI_COMMAND" >> '${log}'\nexec '${ROUTE_OVERRIDE_BIN}' "$@"\n`;
	await writeFile(join(dir, 'route-override'), script);
	await chmod(join(dir, 'route-override'), 0o755);
	return {dir, log};
}

describe('plexus chain with the built-ins', () => {
	test('route-override after bridge/host-local runs in-process: ADD rewrites the routes, CHECK passes, DEL leaves nothing', async () => {
		await installConf(scratch, CONF);
		const subnet = scratch.vars['SUBNET']!;
		// CNI_PATH has no route-override binary: the built-in must be what runs.
		const env = {CNI_PATH: CNI_BIN};
		const add = await chain('add', env);
		expect(add.stderr).toBe('');
		expect(add.exitCode).toBe(0);
		const result = JSON.parse(add.stdout) as {routes?: {dst: string; gw?: string}[]};
		expect(result.routes).toEqual([{dst: '198.18.7.0/24', gw: `${subnet}.1`}]);
		expect(await routes(netns)).toEqual([`${subnet}.0/24  eth0`, `198.18.7.0/24 via ${subnet}.1 eth0`]);

		const check = await chain('check', env);
		expect({exitCode: check.exitCode, stdout: check.stdout}).toEqual({exitCode: 0, stdout: ''});

		const del = await chain('del', env);
		expect({exitCode: del.exitCode, stdout: del.stdout}).toEqual({exitCode: 0, stdout: ''});
		await expectNothingLeft({netns, bridge, scratch});
	});

	test('--disable-builtins leaves route-override to CNI_PATH: not found there, ADD fails naming the path', async () => {
		await installConf(scratch, CONF);
		const add = await chain('add', {CNI_PATH: CNI_BIN}, '--disable-builtins', 'route-override');
		expect(add.exitCode).toBe(1);
		expect(JSON.parse(add.stdout)).toEqual({
			cniVersion: '1.0.0',
			code: 7,
			msg: `plugin type="route-override" failed (add): failed to find plugin "route-override" in path [${CNI_BIN}]`,
		});
		// libcni does not roll back a failed ADD (bridge ran); the runtime's DEL, with the built-in back, undoes it.
		const del = await chain('del', {CNI_PATH: CNI_BIN});
		expect(del.exitCode).toBe(0);
		await expectNothingLeft({netns, bridge, scratch});
	});

	test('PLEXUS_DISABLE_BUILTINS runs the route-override binary found on CNI_PATH instead', async () => {
		await installConf(scratch, CONF);
		const subnet = scratch.vars['SUBNET']!;
		const binary = await routeOverrideBinary();
		const env = {CNI_PATH: `${binary.dir}:${CNI_BIN}`, PLEXUS_DISABLE_BUILTINS: 'all'};
		const add = await chain('add', env);
		expect(add.exitCode).toBe(0);
		expect(await routes(netns)).toEqual([`${subnet}.0/24  eth0`, `198.18.7.0/24 via ${subnet}.1 eth0`]);
		const del = await chain('del', env);
		expect(del.exitCode).toBe(0);
		expect((await readFile(binary.log, 'utf8')).split('\n').filter((l) => l !== '')).toEqual(['ADD', 'DEL']);
		await expectNothingLeft({netns, bridge, scratch});
	});

	test('an unknown type for --disable-builtins is a usage error (exit 2) naming it', async () => {
		await installConf(scratch, CONF);
		const add = await chain('add', {CNI_PATH: CNI_BIN}, '--disable-builtins', 'route-overide');
		expect(add.exitCode).toBe(2);
		expect(add.stderr).toContain('"route-overide" is not a built-in delegate');
	});
});
