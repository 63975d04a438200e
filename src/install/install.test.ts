import {
	existsSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	statSync,
	writeFileSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {type InstallOptions, install, listConfs, PLEXUS_CONF_NAME, STATE_NAME, uninstall} from './install.ts';

/** Every file under `dir` with its bytes and mode, for before/after comparisons. */
function snapshot(dir: string): Record<string, {data: string; mode: number}> {
	const out: Record<string, {data: string; mode: number}> = {};
	for (const name of readdirSync(dir, {recursive: true}) as string[]) {
		const path = join(dir, name);
		if (statSync(path).isFile())
			out[name] = {data: readFileSync(path, 'utf8'), mode: statSync(path).mode & 0o777};
	}
	return out;
}

describe('install / uninstall', () => {
	let root: string;
	let options: InstallOptions;

	const writeConf = (name: string, conf: unknown) =>
		writeFileSync(join(options.confDir, name), JSON.stringify(conf), {mode: 0o644});

	beforeEach(() => {
		root = mkdtempSync(join(tmpdir(), 'plexus-install-'));
		const confDir = join(root, 'etc/cni/net.d');
		const binDir = join(root, 'opt/cni/bin');
		mkdirSync(confDir, {recursive: true});
		mkdirSync(binDir, {recursive: true});
		mkdirSync(join(root, 'build'));
		writeFileSync(join(root, 'build/plexus-shim'), 'shim-binary');
		writeFileSync(join(root, 'build/route-override'), 'delegate-binary');
		options = {
			confDir,
			binDir,
			shimPath: join(root, 'build/plexus-shim'),
			delegates: [join(root, 'build/route-override')],
			socketDir: '/run/plexus',
		};
	});

	afterEach(() => {
		rmSync(root, {recursive: true, force: true});
	});

	it('wraps the first conf by name: clusterNetwork path, capabilities union, its cniVersion', async () => {
		writeConf('20-other.conf', {cniVersion: '0.4.0', name: 'other', type: 'bridge'});
		writeConf('10-flannel.conflist', {
			cniVersion: '1.0.0',
			name: 'cbr0',
			plugins: [
				{type: 'flannel', capabilities: {portMappings: false}},
				{type: 'portmap', capabilities: {portMappings: true}},
				{type: 'bandwidth', capabilities: {bandwidth: true}},
			],
		});
		writeFileSync(join(options.confDir, 'README'), 'not a conf');
		const result = await install({...options, extraConf: {kubeconfig: '/etc/cni/net.d/plexus.d/kubeconfig'}});
		expect(result.masterPath).toBe(join(options.confDir, '10-flannel.conflist'));
		const written = JSON.parse(readFileSync(join(options.confDir, PLEXUS_CONF_NAME), 'utf8'));
		expect(written).toEqual({
			cniVersion: '1.0.0',
			name: 'plexus-cni-network',
			plugins: [
				{
					type: 'plexus-shim',
					capabilities: {portMappings: true, bandwidth: true},
					daemonSocketDir: '/run/plexus',
					clusterNetwork: join(options.confDir, '10-flannel.conflist'),
					kubeconfig: '/etc/cni/net.d/plexus.d/kubeconfig',
				},
			],
		});
		expect(statSync(join(options.confDir, PLEXUS_CONF_NAME)).mode & 0o777).toBe(0o600);
		expect(readFileSync(join(options.binDir, 'plexus-shim'), 'utf8')).toBe('shim-binary');
		expect(statSync(join(options.binDir, 'plexus-shim')).mode & 0o777).toBe(0o755);
		expect(readFileSync(join(options.binDir, 'route-override'), 'utf8')).toBe('delegate-binary');
		expect(await listConfs(options.confDir)).toEqual(['10-flannel.conflist', '20-other.conf']);
		expect(readdirSync(options.confDir).filter((n) => n.includes('.tmp-'))).toEqual([]);
	});

	it('reads a single .conf master and a cniVersions list (highest supported wins)', async () => {
		writeConf('05-single.conf', {
			cniVersion: '0.4.0',
			cniVersions: ['0.4.0', '1.0.0', '9.9.9'],
			name: 'single',
			type: 'bridge',
			capabilities: {ips: true},
		});
		const result = await install(options);
		expect(result.cniVersion).toBe('1.0.0');
		expect(result.capabilities).toEqual({ips: true});
	});

	it('uses the named master when given', async () => {
		writeConf('10-a.conflist', {cniVersion: '1.0.0', name: 'a', plugins: [{type: 'bridge'}]});
		writeConf('20-b.conflist', {cniVersion: '0.4.0', name: 'b', plugins: [{type: 'ptp'}]});
		const result = await install({...options, master: '20-b.conflist'});
		expect(result.masterPath).toBe(join(options.confDir, '20-b.conflist'));
		expect(result.cniVersion).toBe('0.4.0');
	});

	it('refuses a cniVersion that differs from the master unless forced', async () => {
		writeConf('10-a.conflist', {cniVersion: '0.4.0', name: 'a', plugins: [{type: 'bridge'}]});
		await expect(install({...options, cniVersion: '1.0.0'})).rejects.toThrow(
			'plexus cni version is 1.0.0 while master plugin cni version is 0.4.0',
		);
		expect(readdirSync(options.binDir)).toEqual([]);
		const forced = await install({...options, cniVersion: '1.0.0', forceCniVersion: true});
		expect(forced.cniVersion).toBe('1.0.0');
	});

	it('refuses a master older than conflists, an empty conf dir and a missing shim', async () => {
		await expect(install(options)).rejects.toThrow('no CNI network conf to wrap in');
		writeConf('10-old.conf', {cniVersion: '0.2.0', name: 'old', type: 'bridge'});
		await expect(install(options)).rejects.toThrow('predates conflists');
		writeConf('01-new.conf', {cniVersion: '1.0.0', name: 'new', type: 'bridge'});
		await expect(install({...options, shimPath: join(root, 'nope')})).rejects.toThrow(
			`failed to install "${join(root, 'nope')}": no such file`,
		);
		await expect(install({...options, master: 'missing.conf'})).rejects.toMatchObject({code: 7});
	});

	it('refuses to wrap a Plexus conf (a one-shot 00-plexus.conf) and leaves the host untouched', async () => {
		writeConf('10-flannel.conflist', {cniVersion: '1.0.0', name: 'cbr0', plugins: [{type: 'flannel'}]});
		writeConf('00-plexus.conf', {cniVersion: '1.0.0', name: 'plexus-cni-network', type: 'plexus'});
		const before = snapshot(root);
		await expect(install(options)).rejects.toMatchObject({
			code: 7,
			message: expect.stringContaining(
				`master CNI conf "${join(options.confDir, '00-plexus.conf')}" runs "plexus" itself: Plexus cannot wrap Plexus`,
			),
		});
		expect(snapshot(root)).toEqual(before);
		await expect(install({...options, master: '00-plexus.conf'})).rejects.toMatchObject({code: 7});
		rmSync(join(options.confDir, '00-plexus.conf'));
		const result = await install(options);
		expect(result.masterPath).toBe(join(options.confDir, '10-flannel.conflist'));
	});

	it('uninstall restores the host exactly, including files it replaced; both are idempotent', async () => {
		writeConf('10-flannel.conflist', {cniVersion: '1.0.0', name: 'cbr0', plugins: [{type: 'flannel'}]});
		writeFileSync(join(options.binDir, 'plexus-shim'), 'old-shim', {mode: 0o700});
		writeFileSync(join(options.binDir, 'bridge'), 'bridge-binary', {mode: 0o755});
		const before = snapshot(root);
		await install(options);
		await install(options);
		expect(readFileSync(join(options.binDir, 'plexus-shim'), 'utf8')).toBe('shim-binary');
		expect(readdirSync(options.confDir)).toContain(STATE_NAME);
		const undone = await uninstall({confDir: options.confDir});
		expect(undone).toContain(join(options.confDir, PLEXUS_CONF_NAME));
		expect(snapshot(root)).toEqual(before);
		expect(await uninstall({confDir: options.confDir})).toEqual([]);
	});

	/** Runs `work` while checking, between every step of it, that the runtime's view never has a gap. */
	async function watchGaps(work: () => Promise<unknown>, present: string[], absent: string[]) {
		const seen: string[] = [];
		let done = false;
		const watching = (async () => {
			let turns = 0;
			while (!done) {
				turns++;
				for (const path of present) if (!existsSync(path)) seen.push(`missing ${path}`);
				for (const path of absent) if (existsSync(path)) seen.push(`present ${path}`);
				await new Promise((resolve) => setImmediate(resolve));
			}
			return turns;
		})();
		await work();
		done = true;
		return {gaps: [...new Set(seen)], turns: await watching};
	}

	it('a reinstall replaces every file in place: the conf and the shim never go missing', async () => {
		writeConf('10-flannel.conflist', {cniVersion: '1.0.0', name: 'cbr0', plugins: [{type: 'flannel'}]});
		writeFileSync(join(options.binDir, 'plexus-shim'), 'old-shim', {mode: 0o700});
		const before = [snapshot(options.confDir), snapshot(options.binDir)];
		const conf = join(options.confDir, PLEXUS_CONF_NAME);
		const shim = join(options.binDir, 'plexus-shim');
		const first = await watchGaps(() => install(options), [shim], []);
		expect(first.gaps).toEqual([]);
		writeFileSync(join(root, 'build/plexus-shim'), 'new-shim-binary');
		const again = await watchGaps(() => install(options), [conf, shim], []);
		expect(again.gaps).toEqual([]);
		expect(again.turns).toBeGreaterThan(3);
		expect(readFileSync(shim, 'utf8')).toBe('new-shim-binary');
		await uninstall({confDir: options.confDir});
		expect([snapshot(options.confDir), snapshot(options.binDir)]).toEqual(before);
	});

	it('a reinstall without a delegate puts that delegate back as the host had it', async () => {
		writeConf('10-flannel.conflist', {cniVersion: '1.0.0', name: 'cbr0', plugins: [{type: 'flannel'}]});
		writeFileSync(join(options.binDir, 'route-override'), 'host-route-override', {mode: 0o755});
		const before = snapshot(root);
		await install(options);
		expect(readFileSync(join(options.binDir, 'route-override'), 'utf8')).toBe('delegate-binary');
		const result = await install({...options, delegates: []});
		expect(result.written).toEqual([
			join(options.binDir, 'plexus-shim'),
			join(options.confDir, PLEXUS_CONF_NAME),
		]);
		expect(readFileSync(join(options.binDir, 'route-override'), 'utf8')).toBe('host-route-override');
		await uninstall({confDir: options.confDir});
		expect(snapshot(root)).toEqual(before);
	});

	it('a reinstall that fails its checks leaves the previous install as it was', async () => {
		writeConf('10-flannel.conflist', {cniVersion: '1.0.0', name: 'cbr0', plugins: [{type: 'flannel'}]});
		await install(options);
		const installed = snapshot(root);
		await expect(install({...options, shimPath: join(root, 'nope')})).rejects.toMatchObject({code: 7});
		await expect(install({...options, cniVersion: '0.4.0'})).rejects.toMatchObject({code: 7});
		expect(snapshot(root)).toEqual(installed);
	});

	describe('over an existing Multus', () => {
		/** A thin Multus conf as its entrypoint auto-generates it (reference §1.3). */
		const multusConf = (extra: Record<string, unknown> = {}) => ({
			cniVersion: '0.4.0',
			name: 'multus-cni-network',
			type: 'multus',
			capabilities: {portMappings: true},
			cniConf: '/host/etc/cni/multus/net.d',
			kubeconfig: '/etc/cni/net.d/multus.d/multus.kubeconfig',
			clusterNetwork: '/etc/cni/net.d/10-flannel.conflist',
			defaultNetworks: ['kube-system/monitoring'],
			namespaceIsolation: true,
			globalNamespaces: 'default,shared',
			cniDir: '/var/lib/cni/multus',
			readinessindicatorfile: '/run/flannel/subnet.env',
			...extra,
		});

		beforeEach(() => {
			writeConf('10-flannel.conflist', {cniVersion: '0.4.0', name: 'cbr0', plugins: [{type: 'flannel'}]});
		});

		it.each(['00-multus.conf', '00-multus.conflist'])(
			'takes over %s: its settings, name, version and capabilities; the file is kept aside',
			async (file) => {
				const {cniVersion: _v, name: _n, ...plugin} = multusConf();
				writeConf(
					file,
					file.endsWith('.conflist')
						? {cniVersion: '0.4.0', name: 'multus-cni-network', plugins: [plugin]}
						: multusConf(),
				);
				const multusText = readFileSync(join(options.confDir, file), 'utf8');
				const result = await install(options);
				expect(result.multus).toEqual({
					path: join(options.confDir, file),
					backup: join(options.confDir, `${file}.plexus-backup`),
					dropped: ['cniConf'],
					mapped: [],
				});
				expect(JSON.parse(readFileSync(join(options.confDir, PLEXUS_CONF_NAME), 'utf8'))).toEqual({
					cniVersion: '0.4.0',
					name: 'multus-cni-network',
					plugins: [
						{
							type: 'plexus-shim',
							capabilities: {portMappings: true},
							daemonSocketDir: '/run/plexus',
							kubeconfig: '/etc/cni/net.d/multus.d/multus.kubeconfig',
							clusterNetwork: '/etc/cni/net.d/10-flannel.conflist',
							defaultNetworks: ['kube-system/monitoring'],
							namespaceIsolation: true,
							globalNamespaces: 'default,shared',
							cniDir: '/var/lib/cni/multus',
							readinessindicatorfile: '/run/flannel/subnet.env',
						},
					],
				});
				// The runtime now reads the Plexus conf first; the Multus file is out of libcni's sight.
				expect(await listConfs(options.confDir)).toEqual(['10-flannel.conflist']);
				expect(readFileSync(join(options.confDir, `${file}.plexus-backup`), 'utf8')).toBe(multusText);
				expect(result.written).toEqual([
					join(options.binDir, 'plexus-shim'),
					join(options.binDir, 'route-override'),
					join(options.confDir, PLEXUS_CONF_NAME),
				]);
			},
		);

		it('uninstall puts the Multus conf back first, then removes the rest: the host is as before', async () => {
			writeConf('00-multus.conf', multusConf());
			const before = snapshot(root);
			await install(options);
			await install(options);
			const undone = await uninstall({confDir: options.confDir});
			expect(undone[0]).toBe(join(options.confDir, '00-multus.conf'));
			expect(undone[1]).toBe(join(options.confDir, PLEXUS_CONF_NAME));
			expect(snapshot(root)).toEqual(before);
		});

		it('a reinstall keeps the Multus conf aside and reads its settings from there', async () => {
			writeConf('00-multus.conf', multusConf());
			const before = snapshot(root);
			await install(options);
			const firstConf = readFileSync(join(options.confDir, PLEXUS_CONF_NAME), 'utf8');
			const multus = join(options.confDir, '00-multus.conf');
			const again = await watchGaps(
				() => install(options),
				[join(options.confDir, PLEXUS_CONF_NAME)],
				[multus],
			);
			expect(again.gaps).toEqual([]);
			expect(readFileSync(join(options.confDir, PLEXUS_CONF_NAME), 'utf8')).toBe(firstConf);
			await uninstall({confDir: options.confDir});
			expect(snapshot(root)).toEqual(before);
		});

		it('--kubeconfig and --network-name still win over the taken-over values', async () => {
			writeConf('00-multus.conf', multusConf());
			await install({...options, networkName: 'pods', extraConf: {kubeconfig: '/etc/plexus/kubeconfig'}});
			const written = JSON.parse(readFileSync(join(options.confDir, PLEXUS_CONF_NAME), 'utf8'));
			expect([written.name, written.plugins[0].kubeconfig]).toEqual(['pods', '/etc/plexus/kubeconfig']);
		});

		it('a thick Multus: the daemon config supplies the settings', async () => {
			writeConf('00-multus.conf', {
				cniVersion: '0.4.0',
				name: 'multus-cni-network',
				type: 'multus-shim',
				daemonSocketDir: '/run/multus',
			});
			mkdirSync(join(options.confDir, 'multus.d'));
			writeConf('multus.d/daemon-config.json', {
				chrootDir: '/hostroot',
				clusterNetwork: '/host/etc/cni/net.d/10-flannel.conflist',
				multusConfigFile: 'auto',
			});
			const result = await install(options);
			expect(result.multus?.dropped).toEqual(['chrootDir', 'daemonSocketDir', 'multusConfigFile']);
			// Multus's pod sees the host under /host; Plexus's pod mounts /etc/cni/net.d as itself.
			expect(result.multus?.mapped).toEqual([
				{
					key: 'clusterNetwork',
					from: '/host/etc/cni/net.d/10-flannel.conflist',
					to: '/etc/cni/net.d/10-flannel.conflist',
				},
			]);
			const written = JSON.parse(readFileSync(join(options.confDir, PLEXUS_CONF_NAME), 'utf8'));
			expect(written.plugins[0].clusterNetwork).toBe('/etc/cni/net.d/10-flannel.conflist');
			expect(written.plugins[0].daemonSocketDir).toBe('/run/plexus');
		});

		it('a thick Multus: <chrootDir>/... paths are mapped, a path Plexus does not mount is refused by key', async () => {
			writeConf('00-multus.conf', {cniVersion: '0.4.0', name: 'multus-cni-network', type: 'multus-shim'});
			mkdirSync(join(options.confDir, 'multus.d'));
			writeConf('multus.d/daemon-config.json', {
				chrootDir: '/hostroot',
				clusterNetwork: '/hostroot/etc/cni/net.d/10-flannel.conflist',
				cniDir: '/host/var/lib/cni/multus',
				readinessindicatorfile: '/host/run/flannel/subnet.env',
				logFile: '/host/var/log/multus.log',
			});
			const before = snapshot(root);
			await expect(install(options)).rejects.toThrow(
				`failed to take over multus conf "${join(options.confDir, 'multus.d/daemon-config.json')}": key "logFile" is "/host/var/log/multus.log", the host's "/var/log/multus.log" as Multus's pod sees it, and Plexus's pod does not mount it`,
			);
			expect(snapshot(root)).toEqual(before);
			// The operator's value for that key (install flag or ConfigMap) replaces Multus's.
			const result = await install({...options, extraConf: {logFile: ''}});
			const written = JSON.parse(readFileSync(join(options.confDir, PLEXUS_CONF_NAME), 'utf8'));
			expect(written.plugins[0]).toMatchObject({
				clusterNetwork: '/etc/cni/net.d/10-flannel.conflist',
				cniDir: '/var/lib/cni/multus',
				// Read in the host's root (plexus daemon --chroot-dir): any host path works.
				readinessindicatorfile: '/run/flannel/subnet.env',
				logFile: '',
			});
			expect(result.multus?.mapped.map((m) => m.key)).toEqual([
				'cniDir',
				'clusterNetwork',
				'readinessindicatorfile',
			]);
		});

		it('refuses --master, a Multus conf Plexus cannot carry, and leaves the host untouched', async () => {
			writeConf('00-multus.conf', multusConf({clusterNetwork: undefined}));
			const before = snapshot(root);
			await expect(install({...options, master: '10-flannel.conflist'})).rejects.toThrow(
				`"${join(options.confDir, '00-multus.conf')}" is taken over (its clusterNetwork or delegates become the Plexus conf's); a master conf "10-flannel.conflist" contradicts it`,
			);
			await expect(install(options)).rejects.toThrow(
				`failed to take over multus conf "${join(options.confDir, '00-multus.conf')}": invalid plexus config: key "clusterNetwork" or "delegates" is required`,
			);
			expect(snapshot(root)).toEqual(before);
		});
	});
});
