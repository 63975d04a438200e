import {mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {builtinPath} from '../chain/builtin-exec.ts';
import type {PluginExec} from '../chain/plugin-exec.ts';
import {RecordingPluginExec} from '../chain/recording-exec.ts';
import {FakePluginExec} from '../chain/testing/fake-exec.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import {parsePlexusConf} from './conf/conf.ts';
import {delegateExec, waitReadiness} from './deps.ts';

const BIN = '/opt/cni/bin';

let dir: string;
beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-ready-'));
});
afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

describe('waitReadiness', () => {
	test('an empty path never waits; an existing file is ready', async () => {
		await expect(waitReadiness('', 0, 1)).resolves.toBeUndefined();
		await writeFile(join(dir, 'subnet.env'), 'FLANNEL_SUBNET=10.1.0.1/24\n');
		await expect(waitReadiness(join(dir, 'subnet.env'), 0, 1)).resolves.toBeUndefined();
	});

	test('a missing file fails with code 50 naming it', async () => {
		await expect(waitReadiness(join(dir, 'nope'), 0, 1)).rejects.toMatchObject({
			code: 50,
			message: `plexus is not ready: readiness indicator file "${join(dir, 'nope')}" does not exist (the cluster network is not up yet)`,
		});
	});

	test('with a host root, the file is the one inside that root (symlinks resolved there)', async () => {
		const root = join(dir, 'hostroot');
		await mkdir(join(root, 'run/flannel'), {recursive: true});
		await writeFile(join(root, 'run/flannel/subnet.env'), 'FLANNEL_SUBNET=10.1.0.1/24\n');
		await mkdir(join(root, 'var'));
		await symlink('/run', join(root, 'var/run'));
		await expect(waitReadiness('/var/run/flannel/subnet.env', 0, 1, root)).resolves.toBeUndefined();
		await expect(waitReadiness('/run/flannel/other.env', 0, 1, root)).rejects.toMatchObject({
			code: 50,
			message: `plexus is not ready: readiness indicator file "/run/flannel/other.env" does not exist under host root "${root}" (the cluster network is not up yet)`,
		});
	});
});

describe('delegateExec', () => {
	const conf = (extra: Record<string, unknown> = {}) =>
		parsePlexusConf({cniVersion: '1.0.0', name: 'n', type: 'plexus', clusterNetwork: '/x.conf', ...extra});
	const env = {
		CNI_COMMAND: 'ADD',
		CNI_CONTAINERID: 'c1',
		CNI_NETNS: '/run/netns/c1',
		CNI_IFNAME: 'net1',
		CNI_PATH: BIN,
	};
	const stdin = (type: string) =>
		Buffer.from(JSON.stringify({cniVersion: '1.0.0', name: 'n', type, ipam: {type: 'static'}}));

	/** A built-in that runs its IPAM binary through the exec it was given, as vlan does. */
	const withIpam = (exec: PluginExec): CniPlugin => ({
		type: 'vlan',
		supportedVersions: ['1.0.0'],
		add: async (request) => {
			const path = await exec.find('static', request.path);
			await exec.exec({pluginPath: path, stdin: request.stdin, env: request.env});
			return {cniVersion: '1.0.0'};
		},
		del: async () => undefined,
		check: async () => undefined,
	});

	test('built-ins (passthru included) before CNI_PATH; wrapExec sees built-ins and their IPAM runs alike', async () => {
		const binaries = new FakePluginExec({static: () => ({cniVersion: '1.0.0', ips: []})}, BIN);
		const runs: string[] = [];
		const exec = await delegateExec(conf(), {
			exec: binaries,
			inProcess: async (_conf, ipam) => new Map([['vlan', withIpam(ipam)]]),
			wrapExec: (inner) => new RecordingPluginExec(inner, (r) => runs.push(`${r.type}:${r.builtin}`)),
		});
		expect(await exec.find('passthru', [BIN])).toBe(builtinPath('passthru'));
		await exec.exec({pluginPath: await exec.find('vlan', [BIN]), stdin: stdin('vlan'), env});
		// The IPAM run finishes first (inside vlan's ADD), and is found among the binaries only.
		expect(runs).toEqual(['static:false', 'vlan:true']);
		expect(binaries.calls.map((c) => c.type)).toEqual(['static']);
	});

	test('disableBuiltins of passthru leaves it to CNI_PATH', async () => {
		const exec = await delegateExec(conf({disableBuiltins: ['passthru']}), {
			exec: new FakePluginExec({}, BIN),
			inProcess: async () => new Map(),
		});
		await expect(exec.find('passthru', [BIN])).rejects.toMatchObject({code: 7});
	});
});
