import {chmod, mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import type {CniPlugin} from '../cni/plugin.ts';
import {BuiltinPluginExec} from './builtin-exec.ts';
import {ChainExecutor} from './executor.ts';
import {checkHostRoot, findInRoot, HostRootPluginExec, resolveInRoot} from './host-root.ts';
import {parseNetworkList} from './network-list.ts';
import {type FakeHandler, FakePluginExec} from './testing/fake-exec.ts';

let root: string;
beforeEach(async () => {
	root = await mkdtemp(join(tmpdir(), 'plexus-hostroot-'));
	await mkdir(join(root, 'opt/cni/bin'), {recursive: true});
	await mkdir(join(root, 'usr/lib/cni'), {recursive: true});
});
afterEach(async () => {
	await rm(root, {recursive: true, force: true});
});

/** A file of the root (as the chrooted plugin names it). */
const file = async (path: string) => {
	await writeFile(join(root, path), '#!/bin/sh\n');
	await chmod(join(root, path), 0o755);
};

describe('resolveInRoot', () => {
	test('restarts absolute symlinks at the root, not at our own /', async () => {
		await file('usr/lib/cni/bridge');
		await symlink('/usr/lib/cni/bridge', join(root, 'opt/cni/bin/bridge'));
		expect(await resolveInRoot(root, '/opt/cni/bin/bridge')).toBe(join(root, 'usr/lib/cni/bridge'));
	});

	test('follows relative symlinks and stops ".." at the root', async () => {
		await file('usr/lib/cni/macvlan');
		await symlink('../../../../../../usr/lib/cni/macvlan', join(root, 'opt/cni/bin/macvlan'));
		expect(await resolveInRoot(root, '/opt/cni/bin/macvlan')).toBe(join(root, 'usr/lib/cni/macvlan'));
		expect(await resolveInRoot(root, '/../../opt/./cni/bin/macvlan')).toBe(join(root, 'usr/lib/cni/macvlan'));
	});

	test('is undefined for a missing component or a symlink loop', async () => {
		expect(await resolveInRoot(root, '/opt/cni/bin/nope')).toBeUndefined();
		await symlink('/opt/cni/bin/b', join(root, 'opt/cni/bin/a'));
		await symlink('/opt/cni/bin/a', join(root, 'opt/cni/bin/b'));
		expect(await resolveInRoot(root, '/opt/cni/bin/a')).toBeUndefined();
	});
});

describe('findInRoot', () => {
	test('returns the path inside the root of the first CNI_PATH directory that has the plugin', async () => {
		await file('usr/lib/cni/tuning');
		await symlink('/usr/lib/cni/tuning', join(root, 'opt/cni/bin/tuning'));
		await mkdir(join(root, 'opt/cni/bin/dir-named-like-a-plugin'));
		expect(await findInRoot(root, 'tuning', ['/nowhere', '/opt/cni/bin', '/usr/lib/cni'])).toBe(
			'/opt/cni/bin/tuning',
		);
		await expect(findInRoot(root, 'dir-named-like-a-plugin', ['/opt/cni/bin'])).rejects.toMatchObject({
			code: 7,
		});
	});

	test('a plugin only in our own root is not found; the error names the host root (code 7)', async () => {
		// /usr/lib/cni/bridge exists on the test host, not in this root.
		await expect(findInRoot(root, 'bridge', ['/usr/lib/cni'])).rejects.toMatchObject({
			code: 7,
			message: `failed to find plugin "bridge" in path [/usr/lib/cni] under host root "${root}"`,
		});
	});

	test('refuses a type that could walk out of CNI_PATH (code 7)', async () => {
		await expect(findInRoot(root, '../../bin/sh', ['/opt/cni/bin'])).rejects.toMatchObject({code: 7});
	});
});

describe('HostRootPluginExec', () => {
	const echoPrev: FakeHandler = (call) =>
		call.command === 'ADD'
			? (call.config['prevResult'] ?? {cniVersion: '1.0.0', interfaces: [{name: 'eth0'}]})
			: undefined;
	const builtin: CniPlugin = {
		type: 'inproc',
		supportedVersions: ['1.0.0'],
		add: async (request) => request.config['prevResult'] as Record<string, unknown>,
		del: async () => undefined,
		check: async () => undefined,
	};

	test('runs binary delegates chrooted in the root with the same stdin and env; built-ins in-process', async () => {
		await file('opt/cni/bin/main');
		await file('opt/cni/bin/meta');
		const fake = new FakePluginExec({main: echoPrev, meta: echoPrev}, '/opt/cni/bin');
		const cacheDir = join(root, 'cache');
		const executor = new ChainExecutor({
			path: ['/opt/cni/bin'],
			cacheDir,
			exec: new BuiltinPluginExec(new HostRootPluginExec(fake, root), new Map([['inproc', builtin]])),
			env: {HOME: '/root'},
		});
		const conf = parseNetworkList(
			Buffer.from(
				JSON.stringify({
					cniVersion: '1.0.0',
					name: 'n',
					plugins: [{type: 'main'}, {type: 'inproc'}, {type: 'meta'}],
				}),
			),
		);
		const rt = {containerId: 'c1', netns: '/var/run/netns/c1', ifname: 'eth0', args: [], capabilityArgs: {}};
		await executor.addNetworkList(conf, rt);
		expect(fake.calls.map((c) => [c.pluginPath, c.root])).toEqual([
			['/opt/cni/bin/main', root],
			['/opt/cni/bin/meta', root],
		]);
		const [main] = fake.calls;
		expect(main?.env).toMatchObject({CNI_COMMAND: 'ADD', CNI_PATH: '/opt/cni/bin', HOME: '/root'});
		expect(main?.config).toEqual({cniVersion: '1.0.0', name: 'n', type: 'main'});
		// The daemon's own cache stays on our side of the root.
		await executor.delNetworkList(conf, rt);
		expect(fake.callsOf('DEL').map((c) => c.root)).toEqual([root, root]);
	});

	test('a delegate missing from the root fails before anything runs', async () => {
		const fake = new FakePluginExec({main: echoPrev}, '/opt/cni/bin');
		const exec = new HostRootPluginExec(fake, root);
		await expect(exec.find('main', ['/opt/cni/bin'])).rejects.toMatchObject({
			code: 7,
			message: expect.stringContaining(`under host root "${root}"`),
		});
		expect(fake.calls).toEqual([]);
	});
});

describe('checkHostRoot', () => {
	test('accepts a directory when the helper is executable', async () => {
		await file('opt/cni/bin/helper');
		await expect(checkHostRoot(root, join(root, 'opt/cni/bin/helper'))).resolves.toBeUndefined();
	});

	test.each([
		['relative', 'hostroot', 'is not an absolute path'],
		['missing', '/nonexistent-plexus-root', 'ENOENT'],
	])('refuses a %s root', async (_what, dir, message) => {
		await expect(checkHostRoot(dir)).rejects.toThrow(message);
	});

	test('refuses a file as the root, and a missing helper', async () => {
		await file('opt/cni/bin/x');
		await expect(checkHostRoot(join(root, 'opt/cni/bin/x'))).rejects.toThrow('is not a directory');
		await expect(checkHostRoot(root, join(root, 'no-helper'))).rejects.toThrow(
			`the chroot helper "${join(root, 'no-helper')}" is missing`,
		);
	});
});
