import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {parsePlexusConf} from '../meta/conf/conf.ts';
import {findMultusConf, readMultusConf} from './multus-conf.ts';

let dir: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-multus-conf-'));
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

const write = (name: string, value: unknown) => writeFile(join(dir, name), JSON.stringify(value));

/** What Multus' thin entrypoint writes with `--multus-conf-file=auto` (reference §1.3). */
const thinAuto = {
	cniVersion: '0.3.1',
	name: 'multus-cni-network',
	type: 'multus',
	capabilities: {portMappings: true, bandwidth: false},
	cniConf: '/host/etc/cni/multus/net.d',
	kubeconfig: '/etc/cni/net.d/multus.d/multus.kubeconfig',
	logLevel: 'verbose',
	logToStderr: true,
	namespaceIsolation: true,
	globalNamespaces: 'default,infra',
	delegates: [{cniVersion: '0.3.1', name: 'cbr0', plugins: [{type: 'flannel'}]}],
};

describe('readMultusConf', () => {
	test('a thin auto conf: every Multus setting carried over, identity kept, entrypoint keys left behind', async () => {
		await write('00-multus.conf', thinAuto);
		const t = await readMultusConf(join(dir, '00-multus.conf'), dir);
		expect(t).toEqual({
			path: join(dir, '00-multus.conf'),
			daemonConfig: undefined,
			type: 'multus',
			name: 'multus-cni-network',
			cniVersion: '0.3.1',
			capabilities: {portMappings: true},
			settings: {
				kubeconfig: '/etc/cni/net.d/multus.d/multus.kubeconfig',
				logLevel: 'verbose',
				logToStderr: true,
				namespaceIsolation: true,
				globalNamespaces: 'default,infra',
				delegates: thinAuto.delegates,
			},
			dropped: ['cniConf'],
		});
		// The settings make a valid Plexus conf as they are.
		const conf = parsePlexusConf({cniVersion: t.cniVersion, name: t.name, type: 'plexus', ...t.settings});
		expect(conf.namespaceIsolation).toBe(true);
		expect(conf.globalNamespaces).toEqual(['default', 'infra']);
	});

	test('the conflist form (cniVersion ≥ 1.0.0): name and version from the list, settings from its plugin', async () => {
		const {cniVersion: _v, name: _n, ...plugin} = thinAuto;
		await write('00-multus.conflist', {cniVersion: '1.0.0', name: 'k8s-pod-network', plugins: [plugin]});
		const t = await readMultusConf(join(dir, '00-multus.conflist'), dir);
		expect([t.name, t.cniVersion, t.settings['kubeconfig']]).toEqual([
			'k8s-pod-network',
			'1.0.0',
			'/etc/cni/net.d/multus.d/multus.kubeconfig',
		]);
	});

	test('a thick shim conf takes its settings from the daemon config, which wins', async () => {
		await write('00-multus.conf', {
			cniVersion: '0.3.1',
			name: 'multus-cni-network',
			type: 'multus-shim',
			logLevel: 'debug',
			daemonSocketDir: '/run/multus',
		});
		await mkdir(join(dir, 'multus.d'));
		await write('multus.d/daemon-config.json', {
			chrootDir: '/hostroot',
			cniVersion: '0.3.1',
			logLevel: 'verbose',
			clusterNetwork: '/host/etc/cni/net.d/10-calico.conflist',
			defaultNetworks: ['kube-system/extra'],
			multusConfigFile: 'auto',
			multusAutoconfigDir: '/host/etc/cni/net.d',
			socketDir: '/host/run/multus/',
			readinessindicatorfile: '/host/etc/cni/net.d/10-calico.conflist',
		});
		const t = await readMultusConf(join(dir, '00-multus.conf'), dir);
		expect(t.daemonConfig).toBe(join(dir, 'multus.d/daemon-config.json'));
		expect(t.settings).toEqual({
			logLevel: 'verbose',
			clusterNetwork: '/host/etc/cni/net.d/10-calico.conflist',
			defaultNetworks: ['kube-system/extra'],
			readinessindicatorfile: '/host/etc/cni/net.d/10-calico.conflist',
		});
		expect(t.dropped).toEqual([
			'chrootDir',
			'daemonSocketDir',
			'multusAutoconfigDir',
			'multusConfigFile',
			'socketDir',
		]);
	});

	test.each([
		[
			{cniVersion: '1.0.0', name: 'x', type: 'bridge'},
			'its plugin type is "bridge", not "multus" or "multus-shim"',
		],
		[
			{cniVersion: '1.0.0', name: 'x', plugins: [{type: 'multus'}, {type: 'portmap'}]},
			'a Multus conflist chains further plugins; plexus cannot carry them over',
		],
		[{name: 'x', type: 'multus'}, 'no "cniVersion"'],
		[[1], 'not a JSON object'],
	])('refuses %j: %s', async (value, reason) => {
		await write('00-multus.conf', value);
		await expect(readMultusConf(join(dir, '00-multus.conf'), dir)).rejects.toThrow(
			`failed to take over multus conf "${join(dir, '00-multus.conf')}": ${reason}`,
		);
	});

	test('findMultusConf: 00-multus.conf before 00-multus.conflist, nothing without either', async () => {
		expect(await findMultusConf(dir, ['10-flannel.conflist'])).toBeUndefined();
		expect(await findMultusConf(dir, ['00-multus.conflist', '00-multus.conf'])).toBe(
			join(dir, '00-multus.conf'),
		);
	});
});
