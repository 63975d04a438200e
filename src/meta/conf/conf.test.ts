import {describe, expect, test} from 'vitest';
import {DEFAULT_CNI_DIR, DEFAULT_CONF_DIR, PATH_KEYS, parsePlexusConf} from './conf.ts';

const base = {cniVersion: '1.0.0', name: 'plexus-cni-network', type: 'plexus'};

describe('parsePlexusConf', () => {
	test('applies Multus defaults', () => {
		const conf = parsePlexusConf({...base, clusterNetwork: 'cbr0'});
		expect(conf).toMatchObject({
			confDir: DEFAULT_CONF_DIR,
			cniDir: DEFAULT_CNI_DIR,
			binDir: '/opt/cni/bin',
			systemNamespaces: ['kube-system'],
			multusNamespace: 'kube-system',
			namespaceIsolation: false,
			globalNamespaces: ['default'],
			kubeconfig: '',
			readinessIndicatorFile: '',
			defaultNetworks: [],
			retryDeleteOnError: false,
		});
	});

	test('accepts a full Multus thin conf unchanged except for type', () => {
		const multus = {
			...base,
			capabilities: {portMappings: true, bandwidth: true},
			kubeconfig: '/etc/cni/net.d/multus.d/multus.kubeconfig',
			confDir: '/etc/cni/multus/net.d',
			cniDir: '/var/lib/cni/multus',
			binDir: '/opt/cni/bin',
			logFile: '/var/log/multus.log',
			logLevel: 'verbose',
			logToStderr: false,
			logOptions: {maxAge: 5, maxSize: 100, maxBackups: 5, compress: true},
			readinessindicatorfile: '/run/flannel/subnet.env',
			systemNamespaces: ['kube-system', 'openshift-sdn'],
			multusNamespace: 'multus',
			namespaceIsolation: true,
			globalNamespaces: 'default, shared ,',
			retryDeleteOnError: true,
			defaultNetworks: ['extra'],
			delegates: [{cniVersion: '1.0.0', name: 'cbr0', plugins: [{type: 'bridge'}]}],
			runtimeConfig: {portMappings: [{hostPort: 80, containerPort: 8080, protocol: 'tcp'}]},
			'io.kubernetes.cri.pod-annotations': {a: 'b'},
		};
		const conf = parsePlexusConf(multus);
		expect(conf.globalNamespaces).toEqual(['default', 'shared']);
		expect(conf.logLevel).toBe('info');
		expect(conf.delegates).toHaveLength(1);
		expect(conf.raw).toBe(multus);
		expect(conf.runtimeConfig).toEqual(multus.runtimeConfig);
	});

	test('auxiliaryCNIChainName needs clusterNetwork as a path and a valid network name', () => {
		expect(
			parsePlexusConf({
				...base,
				clusterNetwork: '/etc/cni/net.d/10-a.conf',
				auxiliaryCNIChainName: 'vendor-cni-chain',
			}).auxiliaryCNIChainName,
		).toBe('vendor-cni-chain');
		expect(() => parsePlexusConf({...base, clusterNetwork: 'cbr0', auxiliaryCNIChainName: 'aux'})).toThrow(
			'key "auxiliaryCNIChainName" needs "clusterNetwork" to be a file path',
		);
		expect(() =>
			parsePlexusConf({...base, clusterNetwork: '/a.conf', auxiliaryCNIChainName: '../x'}),
		).toThrow('key "auxiliaryCNIChainName": "../x" is not a valid network name');
	});

	test("accepts the conf Multus' thin entrypoint generates (with its dead cniConf key)", () => {
		const generated = {
			cniVersion: '0.3.1',
			name: 'multus-cni-network',
			type: 'plexus',
			capabilities: {portMappings: true},
			logLevel: 'verbose',
			cniConf: '/host/etc/cni/multus/net.d',
			kubeconfig: '/etc/cni/net.d/multus.d/multus.kubeconfig',
			delegates: [
				{
					name: 'cbr0',
					cniVersion: '0.3.1',
					plugins: [
						{type: 'flannel', delegate: {hairpinMode: true, isDefaultGateway: true}},
						{type: 'portmap', capabilities: {portMappings: true}},
					],
				},
			],
		};
		expect(parsePlexusConf(generated)).toMatchObject({
			confDir: DEFAULT_CONF_DIR,
			delegates: generated.delegates,
			logLevel: 'info',
		});
	});

	test('disableBuiltins names built-in delegates', () => {
		expect(
			parsePlexusConf({...base, clusterNetwork: 'x', disableBuiltins: ['vlan', 'passthru']}),
		).toMatchObject({
			disableBuiltins: ['vlan', 'passthru'],
		});
	});

	test('reads GC valid attachments under either key', () => {
		const valid = [{containerID: 'c1', ifname: 'eth0'}];
		expect(
			parsePlexusConf({...base, clusterNetwork: 'x', 'cni.dev/valid-attachments': valid}).validAttachments,
		).toEqual(valid);
		expect(
			parsePlexusConf({...base, clusterNetwork: 'x', 'cni.dev/attachments': valid}).validAttachments,
		).toEqual(valid);
	});

	test.each([
		[{clusterNetwork: 'x', clusterNetwrok: 'y'}, 'invalid plexus config: unknown key "clusterNetwrok"'],
		[{clusterNetwork: 'x', 'cni.dev/bogus': 1}, 'invalid plexus config: unknown key "cni.dev/bogus"'],
		[{clusterNetwork: 'x', namespaceIsolation: 'yes'}, 'invalid plexus config: key "namespaceIsolation"'],
		[{clusterNetwork: 'x', defaultNetworks: 'a,b'}, 'invalid plexus config: key "defaultNetworks"'],
		[{clusterNetwork: 'x', logLevel: 'chatty'}, 'key "logLevel": unknown level "chatty"'],
		[{}, 'key "clusterNetwork" or "delegates" is required'],
		[{delegates: []}, 'key "clusterNetwork" or "delegates" is required'],
		[
			{clusterNetwork: 'x', delegates: [{type: 'bridge'}]},
			'keys "clusterNetwork" and "delegates" contradict',
		],
		[{clusterNetwork: 'x', cniVersion: 1}, 'key "cniVersion"'],
		[
			{clusterNetwork: 'x', disableBuiltins: ['vlan', 'vlna']},
			'key "disableBuiltins": "vlna" is not a built-in delegate, expected one of vrf, vlan, route-override, passthru',
		],
	])('%j is refused with code 7: %s', (extra, message) => {
		let error: unknown;
		try {
			parsePlexusConf({...base, ...extra});
		} catch (e) {
			error = e;
		}
		expect(error).toMatchObject({code: 7});
		expect((error as Error).message).toContain(message);
	});
});

describe('path keys must be absolute (issue 12)', () => {
	const named = {...base, clusterNetwork: 'cbr0'};

	test.each(PATH_KEYS)('a relative "%s" is code 7 naming the key and the value', (key) => {
		for (const value of ['rel/dir', './x', '../x', 'x']) {
			expect(() => parsePlexusConf({...named, [key]: value})).toThrow(
				expect.objectContaining({
					code: 7,
					message: `invalid plexus config: key "${key}": ${JSON.stringify(value)} is a relative path; it must be absolute`,
				}),
			);
		}
		expect(() => parsePlexusConf({...named, [key]: '/abs/a\u0000b'})).toThrow(
			expect.objectContaining({code: 7, message: expect.stringContaining(`key "${key}"`)}),
		);
		expect(() => parsePlexusConf({...named, [key]: '/an/absolute/path'})).not.toThrow();
	});

	test('an empty path keeps its meaning where it has one', () => {
		const conf = parsePlexusConf({...named, kubeconfig: '', readinessindicatorfile: '', logFile: ''});
		expect([conf.kubeconfig, conf.readinessIndicatorFile, conf.logFile]).toEqual(['', '', undefined]);
	});
});
