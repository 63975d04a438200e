import {describe, expect, test} from 'vitest';
import type {PluginRequest} from '../cni/plugin.ts';
import {lazyPlugin, loadPlexusPlugin, PLUGINS} from './plugins.ts';

describe('the plugin table', () => {
	test('the lazy "plexus" entry has the versions and verbs of the meta-plugin it loads', async () => {
		const lazy = await PLUGINS.get('plexus')?.();
		const real = await loadPlexusPlugin();
		expect(lazy?.type).toBe(real.type);
		expect(lazy?.supportedVersions).toEqual(real.supportedVersions);
		expect(typeof real.status).toBe('function');
		expect(typeof real.gc).toBe('function');
	});

	test('a lazy plugin loads its code once, on the first verb, and forwards every verb', async () => {
		const seen: string[] = [];
		let loads = 0;
		const lazy = lazyPlugin('t', ['1.0.0'], async () => {
			loads++;
			return {
				type: 't',
				supportedVersions: ['1.0.0'],
				add: async (r) => {
					seen.push(`add ${r.containerId}`);
					return {cniVersion: '1.0.0'};
				},
				del: async (r) => void seen.push(`del ${r.containerId}`),
				check: async (r) => void seen.push(`check ${r.containerId}`),
				status: async () => void seen.push('status'),
			};
		});
		expect(loads).toBe(0);
		const request = {containerId: 'c1'} as PluginRequest;
		await expect(lazy.add(request)).resolves.toEqual({cniVersion: '1.0.0'});
		await lazy.del(request);
		await lazy.check(request);
		await lazy.status?.(request);
		// The loaded plugin has no GC: nothing to collect, as dispatch treats a missing gc.
		await expect(lazy.gc?.(request)).resolves.toBeUndefined();
		expect(seen).toEqual(['add c1', 'del c1', 'check c1', 'status']);
		expect(loads).toBe(1);
	});
});
