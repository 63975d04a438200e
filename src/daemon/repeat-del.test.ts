import {describe, expect, test} from 'vitest';
import type {CniPlugin, PluginRequest} from '../cni/plugin.ts';
import {configureLog} from '../log.ts';
import {RepeatedDels} from './repeat-del.ts';

configureLog({logToStderr: false});

/** A plugin recording its calls; `failDel` makes DELs fail. */
function recording() {
	const calls: string[] = [];
	let failDel = false;
	let release: (() => void) | undefined;
	const plugin: CniPlugin = {
		type: 'plexus',
		supportedVersions: ['1.0.0'],
		add: async (r) => {
			calls.push(`ADD ${r.containerId}`);
			return {};
		},
		del: async (r) => {
			calls.push(`DEL ${r.containerId}`);
			if (release !== undefined) await new Promise<void>((resolve) => (release = resolve));
			if (failDel) throw new Error('busy');
		},
		check: async () => undefined,
	};
	return {
		plugin,
		calls,
		setFail: (v: boolean) => {
			failDel = v;
		},
		hold: () => {
			release = () => undefined;
		},
		release: () => release?.(),
	};
}

const req = (containerId: string, ifname = 'eth0'): PluginRequest => ({
	command: 'DEL',
	containerId,
	netns: '',
	ifname,
	args: '',
	path: [],
	stdin: new Uint8Array(),
	config: {name: 'plexus'},
	env: {},
});

describe('RepeatedDels', () => {
	test('a DEL repeated after a success is answered without running the plugin', async () => {
		const r = recording();
		const dels = new RepeatedDels();
		const plugin = dels.wrap(r.plugin);
		await plugin.del(req('c1'));
		await plugin.del(req('c1'));
		await plugin.del(req('c1'));
		await plugin.del(req('c1', 'net1'));
		expect(r.calls).toEqual(['DEL c1', 'DEL c1']);
		expect(dels.answered).toBe(2);
	});

	test('a failed DEL is not remembered: the retry runs the plugin', async () => {
		const r = recording();
		const plugin = new RepeatedDels().wrap(r.plugin);
		r.setFail(true);
		await expect(plugin.del(req('c1'))).rejects.toThrow('busy');
		r.setFail(false);
		await plugin.del(req('c1'));
		expect(r.calls).toEqual(['DEL c1', 'DEL c1']);
	});

	test('an ADD of the same container forgets the success', async () => {
		const r = recording();
		const plugin = new RepeatedDels().wrap(r.plugin);
		await plugin.del(req('c1'));
		await plugin.add({...req('c1'), command: 'ADD'});
		await plugin.del(req('c1'));
		expect(r.calls).toEqual(['DEL c1', 'ADD c1', 'DEL c1']);
	});

	test('a DEL arriving while the first runs shares its success', async () => {
		const r = recording();
		const plugin = new RepeatedDels().wrap(r.plugin);
		r.hold();
		const first = plugin.del(req('c1'));
		const second = plugin.del(req('c1'));
		r.release();
		await Promise.all([first, second]);
		expect(r.calls).toEqual(['DEL c1']);
	});

	test('remembers a bounded number of containers, oldest forgotten first', async () => {
		const r = recording();
		const plugin = new RepeatedDels(2).wrap(r.plugin);
		for (const id of ['a', 'b', 'c', 'a', 'c']) await plugin.del(req(id));
		expect(r.calls).toEqual(['DEL a', 'DEL b', 'DEL c', 'DEL a']);
	});
});
