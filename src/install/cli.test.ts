import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {parseAllDocuments} from 'yaml';
import {INSTALL_USAGE, runInstallCommand} from './cli.ts';

describe('plexus install / uninstall command', () => {
	let root: string;

	beforeEach(() => {
		root = mkdtempSync(join(tmpdir(), 'plexus-install-cli-'));
		mkdirSync(join(root, 'net.d'));
		mkdirSync(join(root, 'bin'));
		writeFileSync(join(root, 'shim'), 'shim');
	});

	afterEach(() => {
		rmSync(root, {recursive: true, force: true});
	});

	it('installs and uninstalls with the given dirs', async () => {
		writeFileSync(
			join(root, 'net.d/10-a.conflist'),
			'{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"ptp"}]}',
		);
		const args = [
			'--conf-dir',
			join(root, 'net.d'),
			'--bin-dir',
			join(root, 'bin'),
			'--shim',
			join(root, 'shim'),
		];
		const installed = await runInstallCommand('install', [...args, '--kubeconfig', '/k']);
		expect(installed).toEqual({
			stdout: '',
			stderr: `plexus: wrote ${join(root, 'net.d/00-plexus.conflist')} (cniVersion 1.0.0) wrapping ${join(root, 'net.d/10-a.conflist')}; installed ${join(root, 'bin/plexus-shim')}\n`,
			exitCode: 0,
		});
		expect(existsSync(join(root, 'bin/plexus-shim'))).toBe(true);
		const removed = await runInstallCommand('uninstall', ['--conf-dir', join(root, 'net.d')]);
		expect(removed.exitCode).toBe(0);
		expect(readdirSync(join(root, 'net.d'))).toEqual(['10-a.conflist']);
		expect(readdirSync(join(root, 'bin'))).toEqual([]);
	});

	it('over Multus: reports the takeover and what stays behind; uninstall brings 00-multus.conf back', async () => {
		const netd = join(root, 'net.d');
		writeFileSync(
			join(netd, '10-a.conflist'),
			'{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"ptp"}]}',
		);
		const multus =
			'{"cniVersion":"1.0.0","name":"multus-cni-network","type":"multus","cniConf":"/x","clusterNetwork":"a"}';
		writeFileSync(join(netd, '00-multus.conf'), multus);
		const args = ['--conf-dir', netd, '--bin-dir', join(root, 'bin'), '--shim', join(root, 'shim')];
		const installed = await runInstallCommand('install', args);
		expect(installed.stderr).toBe(
			`plexus: wrote ${join(netd, '00-plexus.conflist')} (cniVersion 1.0.0) taking over ${join(netd, '00-multus.conf')} (kept as ${join(netd, '00-multus.conf.plexus-backup')}; Multus-only keys left behind: cniConf); installed ${join(root, 'bin/plexus-shim')}\n`,
		);
		expect(readdirSync(netd).sort()).toEqual([
			'.plexus-install.state',
			'00-multus.conf.plexus-backup',
			'00-plexus.conflist',
			'10-a.conflist',
		]);
		expect((await runInstallCommand('uninstall', ['--conf-dir', netd])).exitCode).toBe(0);
		expect(readdirSync(netd).sort()).toEqual(['00-multus.conf', '10-a.conflist']);
	});

	it('renders the plexus-conf ConfigMap and the key flags into the conf; a changed key lands on reinstall', async () => {
		writeFileSync(
			join(root, 'net.d/10-a.conflist'),
			'{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"ptp"}]}',
		);
		const [configMap] = parseAllDocuments(
			readFileSync(join(import.meta.dirname, '../../conf/deploy/configmap.yaml'), 'utf8'),
		).map((doc) => doc.toJS() as {data: Record<string, string>});
		const confFile = join(root, 'plexus.json');
		writeFileSync(confFile, configMap?.data['plexus.json'] ?? '');
		const args = [
			'--conf-dir',
			join(root, 'net.d'),
			'--bin-dir',
			join(root, 'bin'),
			'--shim',
			join(root, 'shim'),
		];
		const flags = ['--conf', confFile, '--namespace-isolation', 'true', '--default-networks', 'mon, logs'];
		expect((await runInstallCommand('install', [...args, ...flags])).exitCode).toBe(0);
		const written = () =>
			JSON.parse(readFileSync(join(root, 'net.d/00-plexus.conflist'), 'utf8')).plugins[0] as Record<
				string,
				unknown
			>;
		expect(written()).toEqual({
			type: 'plexus-shim',
			daemonSocketDir: '/run/plexus',
			clusterNetwork: join(root, 'net.d/10-a.conflist'),
			...(JSON.parse(configMap?.data['plexus.json'] ?? '{}') as Record<string, unknown>),
			namespaceIsolation: true,
			defaultNetworks: ['mon', 'logs'],
		});
		// The operator edits the ConfigMap; the next rollout's init container renders it.
		writeFileSync(confFile, JSON.stringify({globalNamespaces: 'default,shared', logLevel: 'debug'}));
		expect((await runInstallCommand('install', [...args, '--conf', confFile])).exitCode).toBe(0);
		expect(written()).toMatchObject({globalNamespaces: 'default,shared', logLevel: 'debug'});
		expect(written()).not.toHaveProperty('namespaceIsolation');
	});

	it('refuses a bad conf key by name, before writing anything', async () => {
		writeFileSync(
			join(root, 'net.d/10-a.conflist'),
			'{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"ptp"}]}',
		);
		const args = [
			'--conf-dir',
			join(root, 'net.d'),
			'--bin-dir',
			join(root, 'bin'),
			'--shim',
			join(root, 'shim'),
		];
		const bad = await runInstallCommand('install', [...args, '--log-level', 'loud']);
		expect(bad.exitCode).toBe(1);
		expect(bad.stderr).toContain('key "logLevel": unknown level "loud"');
		const notBool = await runInstallCommand('install', [...args, '--namespace-isolation', 'yes']);
		expect(notBool.stderr).toContain('expected --namespace-isolation to be true or false, got "yes"');
		writeFileSync(join(root, 'bad.json'), '{"name": "x"}');
		const named = await runInstallCommand('install', [...args, '--conf', join(root, 'bad.json')]);
		expect(named.stderr).toContain('key "name" is the conflist\'s own');
		expect(readdirSync(join(root, 'net.d'))).toEqual(['10-a.conflist']);
	});

	it("over a thick Multus: its daemon config's chrootDir is named with the daemon flag that replaces it", async () => {
		const netd = join(root, 'net.d');
		writeFileSync(
			join(netd, '10-a.conflist'),
			'{"cniVersion":"1.0.0","name":"a","plugins":[{"type":"ptp"}]}',
		);
		writeFileSync(
			join(netd, '00-multus.conf'),
			'{"cniVersion":"1.0.0","name":"multus-cni-network","type":"multus-shim","daemonSocketDir":"/run/multus"}',
		);
		mkdirSync(join(netd, 'multus.d'));
		writeFileSync(
			join(netd, 'multus.d/daemon-config.json'),
			'{"chrootDir":"/hostroot","clusterNetwork":"a"}',
		);
		const args = ['--conf-dir', netd, '--bin-dir', join(root, 'bin'), '--shim', join(root, 'shim')];
		const installed = await runInstallCommand('install', args);
		expect(installed.exitCode).toBe(0);
		expect(installed.stderr).toContain(
			'Multus-only keys left behind: chrootDir (plexus daemon --chroot-dir does this; the DaemonSet sets it), daemonSocketDir)',
		);
	});

	it('reports a failure naming the cause, exit 1', async () => {
		const failed = await runInstallCommand('install', [
			'--conf-dir',
			join(root, 'net.d'),
			'--shim',
			join(root, 'shim'),
		]);
		expect(failed.exitCode).toBe(1);
		expect(failed.stderr).toBe(
			`plexus: failed to install: no CNI network conf to wrap in "${join(root, 'net.d')}": install the cluster network first\n`,
		);
	});

	it('prints usage on --help and a usage error on an unknown option', async () => {
		expect(await runInstallCommand('install', ['--help'])).toEqual({
			stdout: INSTALL_USAGE,
			stderr: '',
			exitCode: 0,
		});
		const bad = await runInstallCommand('install', ['--bogus']);
		expect(bad.exitCode).toBe(2);
		expect(bad.stderr).toContain("Unknown option '--bogus'");
	});
});
