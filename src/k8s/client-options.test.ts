import {describe, expect, test} from 'vitest';
import {DEL_API_TIMEOUT_MS, kubeClientOptions} from './client-options.ts';

const inCluster = {KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443'};

describe('kubeClientOptions', () => {
	test('none without a kubeconfig or the in-cluster variables', () => {
		expect(kubeClientOptions({kubeconfig: ''}, {}, 'ADD')).toBeUndefined();
		expect(kubeClientOptions({kubeconfig: ''}, inCluster, 'ADD')).toEqual({kubeconfig: ''});
	});

	test.each([
		['ADD', undefined, {kubeconfig: '/k'}],
		['ADD', 500, {kubeconfig: '/k', callTimeoutMs: 500, requestTimeoutMs: 500}],
		['ADD', 10_000, {kubeconfig: '/k', callTimeoutMs: 10_000, requestTimeoutMs: 2000}],
		['DEL', undefined, {kubeconfig: '/k', callTimeoutMs: DEL_API_TIMEOUT_MS, requestTimeoutMs: 2000}],
		['DEL', 10_000, {kubeconfig: '/k', callTimeoutMs: DEL_API_TIMEOUT_MS, requestTimeoutMs: 2000}],
		['DEL', 300, {kubeconfig: '/k', callTimeoutMs: 300, requestTimeoutMs: 300}],
	] as const)('%s with apiTimeoutMs %s', (verb, apiTimeoutMs, expected) => {
		expect(kubeClientOptions({kubeconfig: '/k', apiTimeoutMs}, {}, verb)).toEqual(expected);
	});
});
