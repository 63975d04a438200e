// With --check-host, a master link the node lacks is a finding with the message the plugin's ADD
// fails with: the reference macvlan and ipvlan binaries (Debian's /usr/lib/cni; with a master
// that does not exist they fail at its lookup, before creating anything) and the vlan built-in's.
import {randomBytes} from 'node:crypto';
import {describe, expect, test} from 'vitest';
import {findMaster} from '../../../delegates/vlan/vlan.ts';
import {buildDelegateConf} from '../../chain/delegate-conf.ts';
import {ProcessPluginExec} from '../../chain/plugin-exec.ts';
import {FakePluginExec} from '../../chain/testing/fake-exec.ts';
import {toCniError} from '../../cni/errors.ts';
import {NetlinkModel} from '../../netlink/model.ts';
import {ManifestKubeClient, parseManifests} from './manifests.ts';
import {missingMaster} from './master-check.ts';
import {dryRunPod} from './plan.ts';

/** The message the real binary's ADD fails with for `config`. */
async function realAdd(type: string, config: Record<string, unknown>): Promise<string> {
	const stdin = Buffer.from(JSON.stringify({cniVersion: '1.0.0', name: 'n', type, ...config}));
	const env = {
		CNI_COMMAND: 'ADD',
		CNI_CONTAINERID: 'c1',
		// ipvlan opens the netns before the lookup; nothing is created in it.
		CNI_NETNS: '/proc/self/ns/net',
		CNI_IFNAME: 'eth0',
		CNI_PATH: '/usr/lib/cni',
	};
	const pluginPath = `/usr/lib/cni/${type}`;
	return new ProcessPluginExec({busyRetries: 0}).exec({pluginPath, stdin, env, timeoutMs: 10_000}).then(
		() => '',
		(error: unknown) => toCniError(error).message,
	);
}

describe('--check-host: master links', () => {
	test.each(['macvlan', 'ipvlan'])("%s: the reference binary's message", async (type) => {
		const config = {master: `pxno${randomBytes(4).toString('hex')}`};
		const mine = missingMaster(type, JSON.stringify(config), new Set(['lo']));
		expect(mine?.message).toBe(await realAdd(type, config));
		expect(missingMaster(type, JSON.stringify({master: 'lo'}), new Set(['lo']))).toBeUndefined();
	});

	test("vlan: the built-in's message; linkInContainer and chained mode are not the node's", () => {
		const nl = new NetlinkModel().open();
		let real = '';
		try {
			findMaster(nl, 'pxnothere0');
		} catch (error) {
			real = toCniError(error).message;
		} finally {
			nl.close();
		}
		expect(missingMaster('vlan', '{"master":"pxnothere0"}', new Set())?.message).toBe(real);
		expect(missingMaster('vlan', '{"master":"eth9","linkInContainer":true}', new Set())).toBeUndefined();
		expect(missingMaster('vlan', '{"linkInContainer":true}', new Set())).toBeUndefined();
	});

	test('in a pod dry-run: a finding as ADD reports it, only when the node is checked', async () => {
		const config = JSON.stringify({cniVersion: '1.0.0', name: 'm', type: 'macvlan', master: 'eth9'});
		const manifests = parseManifests(
			[
				`kind: NetworkAttachmentDefinition\nmetadata: {name: cluster, namespace: ns1}\nspec: {config: '{"cniVersion":"1.0.0","name":"cluster","type":"bridge"}'}`,
				`kind: NetworkAttachmentDefinition\nmetadata: {name: m, namespace: ns1}\nspec: {config: '${config}'}`,
				'kind: Pod\nmetadata: {name: web, namespace: ns1, annotations: {k8s.v1.cni.cncf.io/networks: m}}',
			].join('\n---\n'),
			'pod.yaml',
		);
		const conf = {type: 'plexus', clusterNetwork: 'ns1/cluster', cniDir: '/nonexistent', logToStderr: false};
		const run = (hostLinks?: Set<string>) =>
			dryRunPod({
				confStdin: buildDelegateConf({name: 'plexus', cniVersion: '1.0.0', plugin: conf}).stdin,
				pod: manifests.pods[0]!,
				path: ['/fake/cni/bin'],
				env: {},
				containerId: 'c1',
				netns: '/var/run/netns/c1',
				ifname: 'eth0',
				kube: new ManifestKubeClient(manifests),
				exec: new FakePluginExec({bridge: () => ({}), macvlan: () => ({})}),
				queryVersions: false,
				hostLinks,
			});
		expect((await run()).findings).toEqual([]);
		expect((await run(new Set(['lo', 'eth9']))).findings).toEqual([]);
		expect((await run(new Set(['lo', 'eth0']))).findings.map((f) => f.message)).toEqual([
			'failed to add network "ns1/m" (element 1 of annotation "k8s.v1.cni.cncf.io/networks") as interface "net1" of pod "ns1/web": plugin type="macvlan" name="m" failed (add): Link not found',
		]);
	});
});
