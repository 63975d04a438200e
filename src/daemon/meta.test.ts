import {describe, expect, it} from 'vitest';
import {FakeKubeClient} from '../k8s/testing/fake-client.ts';
import {parsePlexusConf} from '../meta/conf/conf.ts';
import {KubeClients} from './meta.ts';

const conf = (extra: Record<string, unknown> = {}) =>
	parsePlexusConf({cniVersion: '1.0.0', name: 'n', type: 'plexus', clusterNetwork: 'cbr0', ...extra});

describe('KubeClients', () => {
	it('keeps one client per kubeconfig and bound, DEL bounded to 2 s', () => {
		const made: {kubeconfig: string; callTimeoutMs?: number}[] = [];
		const clients = new KubeClients((options) => {
			made.push(options);
			return new FakeKubeClient();
		});
		const a = clients.get(conf({kubeconfig: '/k1'}), {}, 'ADD');
		expect(clients.get(conf({kubeconfig: '/k1'}), {}, 'ADD')).toBe(a);
		const del = clients.get(conf({kubeconfig: '/k1'}), {}, 'DEL');
		expect(del).not.toBe(a);
		clients.get(conf({kubeconfig: '/k2', apiTimeoutMs: 500}), {}, 'ADD');
		expect(made).toEqual([
			{kubeconfig: '/k1'},
			{kubeconfig: '/k1', callTimeoutMs: 2000, requestTimeoutMs: 2000},
			{kubeconfig: '/k2', callTimeoutMs: 500, requestTimeoutMs: 500},
		]);
		expect(clients.size).toBe(3);
	});

	it('has no client without a kubeconfig or the in-cluster variables', () => {
		const clients = new KubeClients(() => new FakeKubeClient());
		expect(clients.get(conf(), {}, 'ADD')).toBeUndefined();
		expect(
			clients.get(conf(), {KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443'}, 'ADD'),
		).toBeDefined();
	});
});
