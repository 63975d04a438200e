import {describe, expect, test} from 'vitest';
import {
	compareVersions,
	isSupportedVersion,
	negotiateVersion,
	SUPPORTED_VERSIONS,
	sniffVersion,
	versionAtLeast,
} from './versions.ts';

describe('versions', () => {
	test('lists every spec version from 0.1.0 to 1.1.0 in order', () => {
		expect(SUPPORTED_VERSIONS).toEqual(['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0']);
		expect([...SUPPORTED_VERSIONS].reverse().sort(compareVersions)).toEqual([...SUPPORTED_VERSIONS]);
	});

	test.each([
		['0.3.1', '0.3.0', 1],
		['0.4.0', '0.10.0', -1],
		['1.0.0', '1.0.0', 0],
		['2.0.0', '1.1.0', 1],
	])('compareVersions(%s, %s) has sign %d', (a, b, sign) => {
		expect(Math.sign(compareVersions(a, b))).toBe(sign);
	});

	test('rejects a malformed version with code 7 naming it', () => {
		expect(() => compareVersions('1.0', '1.0.0')).toThrow(/invalid cniVersion "1.0"/);
		expect(() => versionAtLeast('x', '0.4.0')).toThrow(expect.objectContaining({code: 7}));
	});

	test('isSupportedVersion', () => {
		expect(isSupportedVersion('0.3.1')).toBe(true);
		expect(isSupportedVersion('1.2.0')).toBe(false);
	});

	test.each([
		['cniVersion only', '0.4.0', undefined, '0.4.0'],
		['cniVersion above 1.1.0 without cniVersions is kept as written', '2.0.0', undefined, '2.0.0'],
		['highest of cniVersions', '0.4.0', ['1.0.0', '0.3.1'], '1.0.0'],
		['cniVersion wins when higher', '1.1.0', ['1.0.0'], '1.1.0'],
		['versions above 1.1.0 are skipped', '1.0.0', ['1.1.0', '1.2.0', '9.0.0'], '1.1.0'],
		['cniVersions alone', undefined, ['0.3.0', '0.4.0'], '0.4.0'],
		['nothing', undefined, undefined, ''],
	])('negotiateVersion: %s', (_title, version, versions, expected) => {
		expect(negotiateVersion(version, versions)).toBe(expected);
	});
});

describe('sniffVersion', () => {
	const bytes = (text: string) => new Uint8Array(Buffer.from(text));
	test.each([
		['{"cniVersion":"1.0.0","name":"n"}', '1.0.0'],
		['{"cniVersion":"0.3.1"}', '0.3.1'],
		['{"cniVersion":"1.0.0; rm -rf"}', undefined],
		['{"cniVersion":1}', undefined],
		['["1.0.0"]', undefined],
		['null', undefined],
		['not json', undefined],
	])('%s → %s', (text, expected) => {
		expect(sniffVersion(bytes(text))).toBe(expected);
	});

	test('with a depth limit, a deeper config is not read', () => {
		const deep = `{"cniVersion":"1.0.0","x":${'['.repeat(10)}${']'.repeat(10)}}`;
		expect(sniffVersion(bytes(deep))).toBe('1.0.0');
		expect(sniffVersion(bytes(deep), 5)).toBeUndefined();
	});
});
