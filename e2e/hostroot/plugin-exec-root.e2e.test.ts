/**
 * ProcessPluginExec with `root` (needs root: chroot): the plugin runs through plexus-chroot-exec
 * inside the root with the same stdin and environment, sees only the root's files, and a busy
 * binary is retried as without a root. fake-flannel is the plugin (static: it needs nothing else
 * in the root).
 */
import {mkdir, mkdtemp, open, readFile, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {ProcessPluginExec} from '../../src/chain/plugin-exec.ts';
import {buildFakeFlannel, FAKE_FLANNEL, subnetEnv} from './testing/fake-flannel.ts';

let dir: string;
let root: string;
beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-exec-root-'));
	root = join(dir, 'root');
	await buildFakeFlannel(join(root, 'opt/cni/bin'));
});
afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

const exec = new ProcessPluginExec({busyDelayMs: 50});
const plugin = `/opt/cni/bin/${FAKE_FLANNEL}`;

describe('ProcessPluginExec with a root', () => {
	it('runs the plugin chrooted there with the same stdin and environment', async () => {
		const out = await exec.exec({
			pluginPath: plugin,
			stdin: Buffer.from('{}'),
			env: {CNI_COMMAND: 'VERSION'},
			root,
		});
		expect(JSON.parse(Buffer.from(out).toString())).toMatchObject({
			supportedVersions: ['0.3.1', '0.4.0', '1.0.0'],
		});
	});

	it('the plugin sees the root, not ours: a file outside it does not exist for the plugin', async () => {
		await writeFile(join(dir, 'subnet.env'), subnetEnv('10.9.8.0/24'));
		const stdin = Buffer.from(
			JSON.stringify({cniVersion: '1.0.0', name: 'n', subnetFile: join(dir, 'subnet.env')}),
		);
		await expect(
			exec.exec({pluginPath: plugin, stdin, env: {CNI_COMMAND: 'ADD'}, root}),
		).rejects.toMatchObject({
			code: 11,
			message: `failed to load flannel 'subnet.env' file: open ${join(dir, 'subnet.env')}: No such file or directory`,
		});
	});

	it('a plugin missing from the root fails with the helper naming the plugin and the root', async () => {
		await expect(
			exec.exec({pluginPath: '/opt/cni/bin/none', stdin: Buffer.from('{}'), env: {}, root}),
		).rejects.toMatchObject({
			code: 999,
			message: `netplugin failed: ${JSON.stringify(`plexus-chroot-exec: failed to exec "/opt/cni/bin/none" in host root "${root}": No such file or directory`)}`,
		});
	});

	it('retries a busy binary ("text file busy") until it is closed for writing', async () => {
		const busy = join(root, 'opt/cni/bin/busy');
		await mkdir(join(root, 'opt/cni/bin'), {recursive: true});
		const handle = await open(busy, 'w', 0o755);
		await handle.write(await readFile(join(root, plugin)));
		const closing = new Promise((resolve) => setTimeout(resolve, 200)).then(() => handle.close());
		const out = await exec.exec({
			pluginPath: '/opt/cni/bin/busy',
			stdin: Buffer.from('{}'),
			env: {CNI_COMMAND: 'VERSION'},
			root,
		});
		await closing;
		expect(JSON.parse(Buffer.from(out).toString())).toMatchObject({cniVersion: '1.0.0'});
	});
});
