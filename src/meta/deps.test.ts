import {mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {waitReadiness} from './deps.ts';

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
