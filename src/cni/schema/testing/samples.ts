/**
 * Valid samples of each real schema, the seeds of the parity corpus: one with every key set (so
 * every key gets its wrong values) and a minimal one (so absent keys and defaults are exercised).
 */

const dns = {
	nameservers: ['10.0.0.53'],
	domain: 'example.com',
	search: ['example.com'],
	options: ['ndots:5'],
};

const plexusConf = {
	cniVersion: '1.1.0',
	name: 'plexus',
	type: 'plexus',
	capabilities: {portMappings: true},
	runtimeConfig: {portMappings: []},
	prevResult: {cniVersion: '1.1.0'},
	args: {cni: {}},
	'cni.dev/valid-attachments': [{containerID: 'c1', ifname: 'eth0'}],
	'cni.dev/attachments': [{containerID: 'c1', ifname: 'eth0', extra: 1}],
	kubeconfig: '/etc/cni/net.d/plexus.kubeconfig',
	confDir: '/etc/cni/multus/net.d',
	cniDir: '/var/lib/cni/multus',
	binDir: '/opt/cni/bin',
	clusterNetwork: 'cbr0',
	defaultNetworks: ['extra-net'],
	delegates: [{type: 'bridge'}],
	systemNamespaces: ['kube-system'],
	multusNamespace: 'kube-system',
	namespaceIsolation: true,
	globalNamespaces: 'default,shared',
	readinessindicatorfile: '',
	logFile: '/var/log/plexus.log',
	logLevel: 'verbose',
	logToStderr: true,
	logOptions: {maxAge: 5, maxSize: 100, maxBackups: 3, compress: true},
	retryDeleteOnError: false,
	auxiliaryCNIChainName: '',
	daemonSocketDir: '/run/plexus',
	cniConf: '/etc/cni/net.d/00-multus.conf',
	apiTimeoutMs: 10_000,
	delegateTimeoutMs: 60_000,
	deviceInfoDir: '/var/run/k8s.cni.cncf.io/devinfo/cni',
	deviceCheckpointFile: '/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint',
	devicePluginInfoDir: '/var/run/k8s.cni.cncf.io/devinfo/dp',
	podResourcesSocket: '/var/lib/kubelet/pod-resources/kubelet.sock',
	disableBuiltins: ['vlan'],
};

const route = {dst: '0.0.0.0/0', gw: '10.0.0.1', mtu: 1500, advmss: 1460, priority: 10, table: 100, scope: 0};

const result100 = {
	cniVersion: '1.1.0',
	interfaces: [
		{
			name: 'eth0',
			mac: '0a:58:0a:00:00:02',
			mtu: 1500,
			sandbox: '/var/run/netns/x',
			socketPath: '/s',
			pciID: '0000:00:01.0',
		},
	],
	ips: [{interface: 0, address: '10.0.0.2/24', gateway: '10.0.0.1'}],
	routes: [route],
	dns,
};

/** The samples of each schema, under the name the parity test loads it by. */
export const SAMPLES: Record<string, readonly unknown[]> = {
	PlexusConfSchema: [plexusConf, {cniVersion: '1.0.0', type: 'plexus', clusterNetwork: 'cbr0'}],
	PluginConfSchema: [
		{
			cniVersion: '1.0.0',
			name: 'net',
			type: 'bridge',
			capabilities: {ips: true},
			ipam: {type: 'host-local', subnet: '10.0.0.0/24'},
			dns,
			args: {cni: {ips: ['10.0.0.2']}},
			runtimeConfig: {ips: []},
			prevResult: {cniVersion: '1.0.0'},
			bridge: 'br0',
		},
		{type: 'bridge'},
	],
	ConfListSchema: [
		{
			cniVersion: '1.1.0',
			cniVersions: ['1.0.0', '1.1.0'],
			name: 'net',
			disableCheck: 'TRUE',
			disableGC: false,
			loadOnlyInlinedPlugins: 'false',
			plugins: [{type: 'bridge'}, {type: 'tuning'}],
			extra: {a: 1},
		},
		{name: 'net'},
	],
	Result100Schema: [result100, {cniVersion: '1.0.0'}],
	Result040Schema: [
		{
			...result100,
			cniVersion: '0.4.0',
			ips: [{version: '4', interface: 0, address: '10.0.0.2/24', gateway: '10.0.0.1'}],
		},
		{cniVersion: '0.3.1', ips: [{version: '6', address: 'fd00::2/64'}]},
	],
	Result020Schema: [
		{
			cniVersion: '0.2.0',
			ip4: {ip: '10.0.0.2/24', gateway: '10.0.0.1', routes: [{dst: '0.0.0.0/0', gw: '10.0.0.1'}]},
			ip6: {ip: 'fd00::2/64'},
			dns,
		},
		{cniVersion: '0.1.0'},
	],
	ErrorSchema: [
		{cniVersion: '1.0.0', code: 7, msg: 'invalid config', details: 'key "x"'},
		{code: 0, msg: ''},
	],
	VersionReplySchema: [{cniVersion: '1.1.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0']}],
	GcAttachmentSchema: [{containerID: 'c1', ifname: 'eth0', extra: true}],
	DnsSchema: [dns, {}],
	vlanConfigSchema: [
		{
			cniVersion: '1.0.0',
			name: 'vlan-net',
			type: 'vlan',
			master: 'eth0',
			vlanId: 100,
			mtu: 1500,
			linkInContainer: false,
			ipam: {type: 'static', addresses: []},
			dns,
			prevResult: {cniVersion: '1.0.0'},
		},
		{cniVersion: '1.0.0'},
	],
	vrfConfigSchema: [
		{cniVersion: '1.0.0', name: 'vrf-net', type: 'vrf', vrfname: 'red', table: 100, prevResult: {}},
		{cniVersion: '1.0.0', vrfname: 'blue'},
	],
	routeOverrideConfigSchema: [
		{
			cniVersion: '1.0.0',
			name: 'ro',
			type: 'route-override',
			flushroutes: true,
			flushgateway: false,
			delroutes: [{dst: '10.0.0.0/24'}],
			addroutes: [route, {dst: 'fd00::/64', gw: 'fd00::1'}],
			skipcheck: false,
			prevResult: {cniVersion: '1.0.0'},
		},
		{cniVersion: '1.0.0'},
	],
};
