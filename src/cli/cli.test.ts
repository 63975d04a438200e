import {createHash} from 'node:crypto';
import {mkdtemp, readdir, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {FakePluginExec} from '../chain/testing/fake-exec.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import {cnitoolContainerId} from './chain.ts';
import {type CliIo, runCli} from './cli.ts';

let dir: string;
beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-cli-'));
	await writeFile(
		join(dir, '10-blue.conflist'),
		JSON.stringify({
			cniVersion: '1.0.0',
			name: 'blue',
			plugins: [{type: 'main'}, {type: 'meta', capabilities: {mac: true}}],
		}),
	);
});
afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

function fake() {
	return new FakePluginExec(
		{
			main: (c) =>
				c.command === 'ADD'
					? {
							cniVersion: '1.0.0',
							interfaces: [{name: c.env['CNI_IFNAME']}],
							ips: [{address: '10.9.0.2/24', interface: 0}],
							dns: {},
						}
					: undefined,
			meta: (c) => (c.command === 'ADD' ? c.config['prevResult'] : undefined),
		},
		'/bin-dir',
	);
}

function io(argv: string[], env: Record<string, string> = {}, exec = fake()): CliIo & {exec: FakePluginExec} {
	return {
		argv,
		env: {NETCONFPATH: dir, CNI_PATH: '/bin-dir', ...env},
		exec,
		readStdin: async () => Buffer.from(''),
	};
}

test('containerID is cnitool-<hex of the first 10 bytes of sha512(abs netns)>', () => {
	const expected = createHash('sha512').update('/var/run/netns/x').digest('hex').slice(0, 20);
	expect(cnitoolContainerId('/var/run/netns/x')).toBe(`cnitool-${expected}`);
	expect(cnitoolContainerId('/var/run/netns/../netns/x')).toBe(`cnitool-${expected}`);
});

describe('plexus chain', () => {
	test('add prints the result, runs like cnitool and caches it', async () => {
		const cache = join(dir, 'cache');
		const run = io(['chain', 'add', '--cache-dir', cache, '-i', 'net7', 'blue', '/var/run/netns/x'], {
			CNI_ARGS: 'IgnoreUnknown=1',
			CAP_ARGS: '{"mac":"0a:00:00:00:00:07","ips":["x"]}',
			HOME: '/root',
		});
		const out = await runCli(run);
		expect(out.exitCode).toBe(0);
		expect(JSON.parse(out.stdout)).toEqual({
			cniVersion: '1.0.0',
			interfaces: [{name: 'net7'}],
			ips: [{interface: 0, address: '10.9.0.2/24'}],
		});
		const [first, second] = run.exec.calls;
		expect(first!.env).toMatchObject({
			CNI_CONTAINERID: cnitoolContainerId('/var/run/netns/x'),
			CNI_NETNS: '/var/run/netns/x',
			CNI_IFNAME: 'net7',
			CNI_ARGS: 'IgnoreUnknown=1',
			CNI_PATH: '/bin-dir',
			HOME: '/root',
		});
		expect(second!.config['runtimeConfig']).toEqual({mac: '0a:00:00:00:00:07'});
		expect(await readdir(join(cache, 'results'))).toEqual([
			`blue-${cnitoolContainerId('/var/run/netns/x')}-net7`,
		]);

		const del = io(['chain', 'del', '--cache-dir', cache, '-i', 'net7', 'blue', '/var/run/netns/x']);
		expect(await runCli(del)).toEqual({stdout: '', stderr: '', exitCode: 0});
		expect(del.exec.calls.map((c) => `${c.command} ${c.type}`)).toEqual(['DEL meta', 'DEL main']);
		expect(await readdir(join(cache, 'results'))).toEqual([]);
	});

	test('ifname defaults to $CNI_IFNAME, then eth0', async () => {
		const a = io(['chain', 'add', '--cache-dir', join(dir, 'c'), 'blue', '/n1']);
		await runCli(a);
		expect(a.exec.calls[0]!.env['CNI_IFNAME']).toBe('eth0');
		const b = io(['chain', 'add', '--cache-dir', join(dir, 'c'), 'blue', '/n2'], {CNI_IFNAME: 'net3'});
		await runCli(b);
		expect(b.exec.calls[0]!.env['CNI_IFNAME']).toBe('net3');
	});

	test('status and gc need no netns', async () => {
		const status = io(['chain', 'status', 'blue']);
		expect((await runCli(status)).exitCode).toBe(0);
		const gc = io(['chain', 'gc', '--cache-dir', join(dir, 'c'), 'blue']);
		expect((await runCli(gc)).exitCode).toBe(0);
	});

	test('a failure is one CNI error JSON on stdout with exit 1', async () => {
		const out = await runCli(
			io(['chain', 'add', '--cache-dir', join(dir, 'c'), 'blue', '/n'], {CNI_PATH: '/a:/b'}),
		);
		expect(out.exitCode).toBe(1);
		expect(out.stderr).toBe('');
		// The error carries the network's cniVersion, as a plugin's error does.
		expect(JSON.parse(out.stdout)).toEqual({
			cniVersion: '1.0.0',
			code: 7,
			msg: 'plugin type="main" failed (add): failed to find plugin "main" in path [/a /b]',
		});
		const missing = await runCli(io(['chain', 'add', 'nope', '/n']));
		expect(JSON.parse(missing.stdout)).toMatchObject({
			code: 7,
			msg: `no net configuration with name "nope" in ${dir}`,
		});
		for (const [args, pair] of [
			['K8S_POD_NAME=', 'K8S_POD_NAME='],
			['A=1;=2', '=2'],
		]) {
			const badArgs = io(['chain', 'add', 'blue', '/n'], {CNI_ARGS: args!});
			expect(JSON.parse((await runCli(badArgs)).stdout)).toMatchObject({
				code: 4,
				msg: `invalid CNI_ARGS pair "${pair}": key and value must not be empty`,
			});
			expect(badArgs.exec.calls).toEqual([]);
		}
		const nullCap = io(['chain', 'add', '--cache-dir', join(dir, 'c'), 'blue', '/n'], {CAP_ARGS: 'null'});
		expect((await runCli(nullCap)).exitCode).toBe(0);
		expect(nullCap.exec.calls[1]!.config['runtimeConfig']).toBeUndefined();
		const badCap = await runCli(io(['chain', 'add', 'blue', '/n'], {CAP_ARGS: '[1]'}));
		expect(JSON.parse(badCap.stdout)).toMatchObject({
			code: 4,
			msg: 'invalid CAP_ARGS: expected a JSON object',
		});
	});

	test.each([
		[['chain'], 'missing command'],
		[['chain', 'up', 'blue', '/n'], 'unknown command "up"'],
		[['chain', 'add'], 'missing <network-name>'],
		[['chain', 'del', 'blue'], 'missing <netns>'],
		[['chain', 'add', 'blue', '/n', 'extra'], 'unexpected argument "extra"'],
		[['chain', 'add', '--bogus', 'blue', '/n'], "Unknown option '--bogus'"],
		[[], 'missing command'],
		[['frobnicate'], 'unknown command "frobnicate"'],
	])('%j is a usage error (exit 2)', async (argv, message) => {
		const out = await runCli(io(argv));
		expect(out).toMatchObject({stdout: '', exitCode: 2});
		expect(out.stderr).toContain(message);
		expect(out.stderr).toContain('Usage: plexus');
	});

	test.each([
		[['--help']],
		[['chain', '--help']],
		[['chain', 'add', '-h']],
		[['chain', 'gc', 'blue', '--help']],
	])('%j prints help on stdout', async (argv) => {
		const out = await runCli(io(argv));
		expect(out.exitCode).toBe(0);
		expect(out.stdout).toMatch(/^Usage: plexus/);
	});
});

describe('plugin mode (CNI_COMMAND set)', () => {
	const echo: CniPlugin = {
		type: 'echo',
		supportedVersions: ['1.0.0'],
		add: async (req) => ({cniVersion: '1.0.0', interfaces: [{name: req.ifname}]}),
		del: async () => undefined,
		check: async () => undefined,
	};
	const plugins = new Map([['plexus', async () => echo]]);
	const env = {CNI_CONTAINERID: 'c', CNI_NETNS: '/n', CNI_IFNAME: 'eth1', CNI_PATH: '/p'};

	test('dispatches the verb to the registered plugin with stdin', async () => {
		const out = await runCli({
			argv: [],
			env: {...env, CNI_COMMAND: 'ADD'},
			plugins,
			readStdin: async () => Buffer.from('{"cniVersion":"1.0.0","name":"n","type":"plexus"}'),
		});
		expect(out).toEqual({
			stdout: '{"cniVersion":"1.0.0","interfaces":[{"name":"eth1"}]}',
			stderr: '',
			exitCode: 0,
		});
	});

	test('errors are the CNI error JSON in the config version, exit 1', async () => {
		const out = await runCli({
			argv: [],
			env: {...env, CNI_COMMAND: 'ADD'},
			plugins,
			readStdin: async () => Buffer.from('{"cniVersion":"0.4.0","name":"n","type":"plexus"}'),
		});
		expect(out.exitCode).toBe(1);
		expect(JSON.parse(out.stdout)).toMatchObject({
			cniVersion: '0.4.0',
			code: 1,
			msg: 'incompatible CNI versions',
		});
	});

	test('an invocation name with no plugin is code 7', async () => {
		const out = await runCli({
			argv: [],
			env: {CNI_COMMAND: 'VERSION', PLEXUS_PLUGIN: 'nothing'},
			plugins,
			readStdin: async () => Buffer.from(''),
		});
		expect(JSON.parse(out.stdout)).toMatchObject({
			code: 7,
			msg: 'no CNI plugin is registered as "nothing" in this build of plexus',
		});
	});
});

describe('plexus --version', () => {
	test("prints package.json's version and the Node version, exit 0", async () => {
		const {version} = JSON.parse(
			await (await import('node:fs/promises')).readFile(
				join(import.meta.dirname, '../../package.json'),
				'utf8',
			),
		) as {version: string};
		for (const argv of [['--version'], ['version']]) {
			const out = await runCli({argv, env: {}, readStdin: async () => new Uint8Array()});
			expect(out).toEqual({
				stdout: `plexus ${version} (node ${process.versions.node})\n`,
				stderr: '',
				exitCode: 0,
			});
		}
	});
});
