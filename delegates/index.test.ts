import {describe, expect, it} from 'vitest';
import {FakePluginExec} from '../src/chain/testing/fake-exec.ts';
import {NetlinkModel} from '../src/netlink/model.ts';
import {pluginRequest} from './common/request.ts';
import {BUILTIN_TYPES, createBuiltins} from './index.ts';

describe('createBuiltins', () => {
	const deps = () => ({openNetlink: new NetlinkModel().open, exec: new FakePluginExec({})});

	it('maps each built-in type to its plugin', () => {
		const builtins = createBuiltins(deps());
		expect([...builtins.keys()]).toEqual([...BUILTIN_TYPES]);
		for (const [type, plugin] of builtins) expect(plugin.type).toBe(type);
	});

	it('leaves out the types the Plexus conf disables', () => {
		expect([...createBuiltins(deps(), {disable: ['vlan', 'unknown']}).keys()]).toEqual([
			'vrf',
			'route-override',
		]);
	});

	it('vlan forwards STATUS and GC to its IPAM plugin with the exact config bytes', async () => {
		const exec = new FakePluginExec({'host-local': () => undefined});
		const vlan = createBuiltins({openNetlink: new NetlinkModel().open, exec}).get('vlan');
		const config = {cniVersion: '1.1.0', name: 'n', type: 'vlan', master: 'eth0', ipam: {type: 'host-local'}};
		const status = pluginRequest('STATUS', config, {path: ['/fake/cni/bin']});
		await vlan?.status?.(status);
		await vlan?.gc?.(
			pluginRequest('GC', {...config, 'cni.dev/valid-attachments': []}, {path: ['/fake/cni/bin']}),
		);
		expect(exec.calls.map((c) => c.command)).toEqual(['STATUS', 'GC']);
		expect(exec.calls[0]?.stdin).toBe(Buffer.from(status.stdin).toString());
		expect(exec.calls[1]?.config['cni.dev/valid-attachments']).toEqual([]);
	});
});
