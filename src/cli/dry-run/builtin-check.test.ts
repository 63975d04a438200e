// A built-in's config is checked in plain dry-run with the built-in's own parser: what the real
// ADD (real built-ins, in-process) fails with is dry-run's error finding, same message; an
// unknown key close to a known one is a "did you mean" warning; a valid config has no finding.
import {describe, expect, test} from 'vitest';
import {buildDelegateConf} from '../../chain/delegate-conf.ts';
import {type FakeCall, FakePluginExec} from '../../chain/testing/fake-exec.ts';
import {toCniError} from '../../cni/errors.ts';
import {FakeKubeClient} from '../../k8s/testing/fake-client.ts';
import {createPlexusPlugin} from '../../meta/plugin.ts';
import {anyPathIsNetns} from '../../meta/testing/netns.ts';
import {ManifestKubeClient, parseManifests} from './manifests.ts';
import {dryRunPod, podAddRequest} from './plan.ts';

/** A bridge binary that creates the interface and answers with it. */
const bridge = (call: FakeCall) => ({
	cniVersion: String(call.config['cniVersion']),
	interfaces: [{name: call.env['CNI_IFNAME'], sandbox: call.env['CNI_NETNS']}],
	ips: [{interface: 0, address: '10.9.0.2/24'}],
});

/** Dry-run findings and the real ADD's error for a pod whose one NAD chains `builtin` after bridge. */
async function both(builtin: Record<string, unknown>, networks = 'n') {
	const config = JSON.stringify({cniVersion: '1.0.0', name: 'n', plugins: [{type: 'bridge'}, builtin]});
	const manifests = parseManifests(
		[
			'kind: NetworkAttachmentDefinition',
			'metadata: {name: cluster, namespace: kube-system}',
			`spec: {config: '${JSON.stringify({cniVersion: '1.0.0', name: 'cluster', type: 'bridge'})}'}`,
			'---',
			'kind: NetworkAttachmentDefinition',
			'metadata: {name: n, namespace: ns1}',
			`spec: {config: '${config}'}`,
			'---',
			'kind: Pod',
			`metadata: {name: web, namespace: ns1, annotations: {k8s.v1.cni.cncf.io/networks: '${networks}'}}`,
		].join('\n'),
		'pod.yaml',
	);
	const pod = manifests.pods[0]!;
	const conf = {
		type: 'plexus',
		clusterNetwork: 'cluster',
		cniDir: '/nonexistent/cache',
		logToStderr: false,
		binDir: '/fake/cni/bin',
	};
	const input = {
		confStdin: buildDelegateConf({name: 'plexus', cniVersion: '1.0.0', plugin: conf}).stdin,
		pod,
		path: ['/fake/cni/bin'],
		env: {},
		containerId: 'c1',
		netns: '/var/run/netns/c1',
		ifname: 'eth0',
	};
	const report = await dryRunPod({
		...input,
		kube: new ManifestKubeClient(manifests),
		exec: new FakePluginExec({bridge}),
		queryVersions: false,
	});
	const kube = new FakeKubeClient();
	kube.addPod(pod);
	for (const n of manifests.nads) kube.addNad(n.namespace, n.name, n.config);
	const meta = createPlexusPlugin({
		kube: () => kube,
		exec: new FakePluginExec({bridge}),
		openNetlink: () => {
			throw new Error('a config check must fail before any netlink work');
		},
		readinessTimeoutMs: 0,
		probeNetns: anyPathIsNetns,
	});
	const add = await meta.add(podAddRequest(input)).then(
		() => undefined,
		(error: unknown) => toCniError(error).message,
	);
	return {findings: report.findings, add};
}

describe('built-in configs in plain dry-run', () => {
	test.each([
		[{type: 'vrf', vrfnmae: 'blue'}, 'vrfname'],
		[{type: 'vlan', vlanId: 5, mtu: 'x', master: 'eth0'}, undefined],
		[{type: 'route-override', addroutes: 'x'}, undefined],
	])("%j is an error with ADD's message", async (builtin, suggested) => {
		const {findings, add} = await both(builtin);
		expect(add).toMatch(/plugin type="[a-z-]+" failed \(add\): invalid [a-z-]+ config: /);
		expect(findings.filter((f) => f.severity === 'error').map((f) => f.message)).toEqual([add]);
		const hints = findings.filter((f) => f.severity === 'warning').map((f) => f.message);
		if (suggested === undefined) expect(hints).toEqual([]);
		else expect(hints).toEqual([`plugin type="vrf": unknown key "vrfnmae": did you mean "${suggested}"?`]);
	});

	test("a chained vlan name over the kernel's limit is an error with ADD's message", async () => {
		const vlan = {type: 'vlan', linkInContainer: true, vlanId: 55};
		const {findings, add} = await both(vlan, '[{"name": "n", "interface": "averylongname1"}]');
		expect(add).toContain('vlan interface name "averylongname1.55" is 17 characters');
		expect(findings.map((f) => f.message)).toEqual([add]);
		expect((await both(vlan, '[{"name": "n", "interface": "short"}]')).findings).toEqual([]);
	});

	test('a misspelled optional key ADD ignores is a warning only', async () => {
		const {findings} = await both({type: 'vrf', vrfname: 'blue', tabel: 5});
		expect(findings).toEqual([
			{
				severity: 'warning',
				message: 'plugin type="vrf": unknown key "tabel": did you mean "table"?',
				network: 'ns1/n',
				plugin: 2,
			},
		]);
	});

	test('valid configs, other spellings Go accepts (vrfName) included, have no finding', async () => {
		for (const builtin of [
			{type: 'vrf', vrfName: 'blue', table: 7},
			{type: 'vlan', vlanId: 5, linkInContainer: true},
			{type: 'route-override', flushroutes: true, addroutes: [{dst: '10.0.0.0/8'}]},
		])
			expect((await both(builtin)).findings).toEqual([]);
	});
});
