/** The bench's request labels: verb and resource as an audit log names them, counts per operation. */
import {describe, expect, it} from 'vitest';
import {countByLabel, perOperation, rate, requestTarget} from './api-requests.ts';

const req = (method: string, path: string, query: Record<string, string> = {}) => ({method, path, query});

describe('requestTarget', () => {
	it.each([
		[req('GET', '/api/v1/namespaces/ns1/pods/p'), 'ns1', 'GET pods'],
		[req('PUT', '/api/v1/namespaces/ns1/pods/p/status'), 'ns1', 'PUT pods/status'],
		[req('POST', '/apis/events.k8s.io/v1/namespaces/ns1/events'), 'ns1', 'POST events'],
		[
			req('GET', '/apis/k8s.cni.cncf.io/v1/namespaces/a/network-attachment-definitions/n'),
			'a',
			'GET network-attachment-definitions',
		],
		[
			req('GET', '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions'),
			undefined,
			'LIST network-attachment-definitions',
		],
		[req('GET', '/api/v1/pods', {watch: '1', fieldSelector: 'spec.nodeName=n'}), undefined, 'WATCH pods'],
		[req('GET', '/api/v1/namespaces/x/pods', {watch: 'true'}), 'x', 'WATCH pods'],
	])('%j is %s %s', (record, namespace, label) => {
		expect(requestTarget(record)).toEqual({namespace, label});
	});
});

describe('counts', () => {
	const records = [
		req('GET', '/api/v1/namespaces/a/pods/p'),
		req('GET', '/api/v1/namespaces/a/pods/q'),
		req('PATCH', '/api/v1/namespaces/a/pods/p/status'),
	];
	it('counts by label and divides per operation', () => {
		const counts = countByLabel(records);
		expect(counts).toEqual(
			new Map([
				['GET pods', 2],
				['PATCH pods/status', 1],
			]),
		);
		expect(perOperation(counts, 2)).toBe('GET pods 1, PATCH pods/status 0.5');
		expect(perOperation(new Map(), 2)).toBe('none');
		expect(rate(counts, /^(PUT|PATCH) pods\/status$/, 2)).toBe(0.5);
	});
});
