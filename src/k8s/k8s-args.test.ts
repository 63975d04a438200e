import {describe, expect, test} from 'vitest';
import {delegateArgs, podRefFromArgs} from './k8s-args.ts';

describe('podRefFromArgs', () => {
	test('reads the K8S_POD_* keys', () => {
		expect(
			podRefFromArgs([
				['IgnoreUnknown', '1'],
				['K8S_POD_NAMESPACE', 'ns1'],
				['K8S_POD_NAME', 'web'],
				['K8S_POD_INFRA_CONTAINER_ID', 'abc'],
				['K8S_POD_UID', 'u-1'],
			]),
		).toEqual({namespace: 'ns1', name: 'web', infraContainerId: 'abc', uid: 'u-1'});
	});

	test('is undefined without a pod namespace and name', () => {
		expect(podRefFromArgs([['K8S_POD_NAME', 'web']])).toBeUndefined();
		expect(podRefFromArgs([])).toBeUndefined();
	});

	test('a missing UID is empty (older runtimes)', () => {
		expect(
			podRefFromArgs([
				['K8S_POD_NAMESPACE', 'a'],
				['K8S_POD_NAME', 'b'],
			])?.uid,
		).toBe('');
	});
});

describe('delegateArgs', () => {
	test('puts IgnoreUnknown first when missing and keeps the rest in order', () => {
		expect(
			delegateArgs([
				['K8S_POD_NAME', 'web'],
				['FOO', 'bar'],
			]),
		).toEqual([
			['IgnoreUnknown', 'true'],
			['K8S_POD_NAME', 'web'],
			['FOO', 'bar'],
		]);
	});

	test('keeps the runtime IgnoreUnknown as given', () => {
		expect(delegateArgs([['IgnoreUnknown', '1']])).toEqual([['IgnoreUnknown', '1']]);
	});
});
