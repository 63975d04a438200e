/**
 * The OCI image writer against GNU tar (the archive format) and the image-layout rules containerd
 * checks on import: every blob named by its sha256, the index naming the image, the config's
 * diff_id matching the (uncompressed) layer.
 */
import {createHash} from 'node:crypto';
import {mkdtemp, readFile, rm, stat} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {containerdConfig} from './containerd-config.ts';
import {writeOciArchive} from './oci-image.ts';

let dir: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-oci-'));
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const blob = (digest: string) =>
	readFile(join(dir, 'out', 'blobs', 'sha256', digest.slice('sha256:'.length)));

describe('writeOciArchive', () => {
	it('writes an image layout GNU tar extracts, with content-addressed blobs and the image name', async () => {
		const content = Buffer.from('#!/bin/sh\nexit 0\n'.repeat(100));
		await writeOciArchive(join(dir, 'image.tar'), {
			name: 'localhost/x:t1',
			entries: [
				{path: 'bin', type: 'dir'},
				{path: 'bin/run', type: 'file', mode: 0o755, content},
			],
			config: {Entrypoint: ['/bin/run'], Env: ['A=b']},
		});
		await execa('mkdir', [join(dir, 'out')]);
		await execa('tar', ['-xf', join(dir, 'image.tar'), '-C', join(dir, 'out')]);

		const index = JSON.parse(await readFile(join(dir, 'out', 'index.json'), 'utf8'));
		expect(index.manifests).toHaveLength(1);
		expect(index.manifests[0].annotations['io.containerd.image.name']).toBe('localhost/x:t1');
		const manifestBytes = await blob(index.manifests[0].digest);
		expect(sha256(manifestBytes)).toBe(index.manifests[0].digest);
		expect(manifestBytes.length).toBe(index.manifests[0].size);

		const manifest = JSON.parse(manifestBytes.toString());
		const configBytes = await blob(manifest.config.digest);
		expect(sha256(configBytes)).toBe(manifest.config.digest);
		const config = JSON.parse(configBytes.toString());
		expect(config.config).toEqual({Entrypoint: ['/bin/run'], Env: ['A=b']});

		const layerBytes = await blob(manifest.layers[0].digest);
		expect(sha256(layerBytes)).toBe(manifest.layers[0].digest);
		expect(config.rootfs.diff_ids).toEqual([manifest.layers[0].digest]);
		await execa('mkdir', [join(dir, 'layer')]);
		await execa('tar', ['-xf', '-', '-C', join(dir, 'layer')], {input: layerBytes});
		expect(await readFile(join(dir, 'layer', 'bin', 'run'))).toEqual(content);
		expect((await stat(join(dir, 'layer', 'bin', 'run'))).mode & 0o777).toBe(0o755);
	});
});

describe('containerdConfig', () => {
	it('keeps every path the test owns and sets the settings the sandbox needs', () => {
		const toml = containerdConfig({
			root: '/t/root',
			state: '/t/state',
			address: '/t/c.sock',
			optDir: '/t/opt',
			runcRoot: '/t/state/runc',
			confDir: '/t/net.d',
			binDir: '/t/bin',
			sandboxImage: 'localhost/p:t',
			snapshotter: 'overlayfs',
			netnsInHostDir: false,
		});
		for (const line of [
			'root = "/t/root"',
			'address = "/t/c.sock"',
			'restrict_oom_score_adj = true',
			'netns_mounts_under_state_dir = true',
			'runtime_type = "io.containerd.runc.v2"',
			'Root = "/t/state/runc"',
			'bin_dir = "/t/bin"',
			'conf_dir = "/t/net.d"',
			'sandbox_image = "localhost/p:t"',
		]) {
			expect(toml).toContain(line);
		}
		expect(toml).not.toMatch(/\/etc\/cni|\/opt\/cni|\/var\/lib\/containerd|\/run\/containerd/);
	});
});
