// The CNI_NETNS rules on real files (statfs, read-only: nothing is entered or created in the
// kernel). Real namespaces, delegates and DEL's cleanup are proven in e2e/meta/input.e2e.test.ts.
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, describe, expect, test} from 'vitest';
import {netnsForDel, probeNetnsIn, requireNetns} from './netns-guard.ts';

const dir = mkdtempSync(join(tmpdir(), 'plexus-netns-guard-'));
const file = join(dir, 'regular-file');
writeFileSync(file, 'not a netns');
afterAll(() => rmSync(dir, {recursive: true, force: true}));

const notNetns: [string, string, string][] = [
	['a regular file', file, 'not a network namespace file'],
	['a directory', dir, 'not a network namespace file'],
	['/dev/null', '/dev/null', 'not a network namespace file'],
	['a path that does not exist', join(dir, 'gone'), 'no such file'],
	['a path under a regular file', join(file, 'x'), 'no such file'],
	['a relative path', 'var/run/netns/x', 'not an absolute path'],
];

describe('ADD and CHECK need a network namespace', () => {
	test.each(notNetns)('%s is code 8 naming the path and why', (_what, path, why) => {
		for (const verb of ['ADD', 'CHECK'] as const) {
			expect(() => requireNetns(path, verb)).toThrow(
				expect.objectContaining({
					code: 8,
					message: `invalid netns ${JSON.stringify(path)} for ${verb}: ${why} (CNI_NETNS must name a network namespace)`,
				}),
			);
		}
	});

	test('a namespace file passes (this process own netns)', () => {
		expect(() => requireNetns('/proc/self/ns/net', 'ADD')).not.toThrow();
	});
});

describe('DEL hands its delegates an empty CNI_NETNS once the namespace is gone', () => {
	test.each(notNetns)('%s becomes ""', (_what, path) => {
		expect(netnsForDel(path)).toBe('');
	});

	test('a namespace stays, and "" stays ""', () => {
		expect(netnsForDel('/proc/self/ns/net')).toBe('/proc/self/ns/net');
		expect(netnsForDel('')).toBe('');
	});
});

describe('with delegates chrooted in a host root, CNI_NETNS is the host path', () => {
	test('looked up inside the root: the real netns through "/", missing under another root', () => {
		expect(probeNetnsIn('/')('/proc/self/ns/net')).toEqual({kind: 'netns'});
		expect(probeNetnsIn(dir)('/proc/self/ns/net')).toEqual({kind: 'missing'});
		expect(() => requireNetns('/proc/self/ns/net', 'ADD', probeNetnsIn(dir))).toThrow(
			expect.objectContaining({code: 8}),
		);
	});

	test('without a host root, on this process own file system', () => {
		expect(probeNetnsIn(undefined)('/proc/self/ns/net')).toEqual({kind: 'netns'});
	});
});
