// Netns names and paths (no privileges: every case here fails before the addon is called), and
// the model's named namespaces. The kernel side is proven in e2e/netlink/netns.e2e.test.ts.
import {describe, expect, test} from 'vitest';
import {CniErrorCode} from '../cni/errors.ts';
import {NetlinkError, NetnsNotFoundError} from './errors.ts';
import {NetlinkModel} from './model.ts';
import {checkNetnsName, createNetns, deleteNetns, NETNS_NAME_MAX, netnsPathOf} from './netns.ts';

describe('netns names', () => {
	test.each([
		['', 'invalid netns name "": empty'],
		['.', 'invalid netns name ".": not a file name'],
		['..', 'invalid netns name "..": not a file name'],
		['a/b', 'invalid netns name "a/b": contains "/"'],
		['a\0b', 'invalid netns name "a\\u0000b": contains a NUL byte'],
		['x'.repeat(NETNS_NAME_MAX + 1), `longer than ${NETNS_NAME_MAX} bytes`],
		['é'.repeat(NETNS_NAME_MAX / 2 + 1), `longer than ${NETNS_NAME_MAX} bytes`],
	])('%j is refused', (name, message) => {
		expect(() => checkNetnsName(name)).toThrow(message);
		expect(() => createNetns(name)).toThrow(expect.objectContaining({code: CniErrorCode.invalidNetns}));
	});

	test.each(['pod', 'plexus-dryrun-0a1b2c3d', '..a', 'a.b', 'x'.repeat(NETNS_NAME_MAX)])(
		'%j is a name',
		(name) => {
			expect(() => checkNetnsName(name)).not.toThrow();
			expect(netnsPathOf(name)).toBe(`/var/run/netns/${name}`);
		},
	);

	test.each([
		['/tmp/x', 'failed to delete netns "/tmp/x": not in /var/run/netns'],
		['/proc/1/ns/net', 'failed to delete netns "/proc/1/ns/net": not in /var/run/netns'],
		['/var/run/netns/..', 'invalid netns name "..": not a file name'],
		['/var/run/netns/', 'failed to delete netns "/var/run/netns/": not in /var/run/netns'],
		['../x', 'failed to delete netns "../x": not in /var/run/netns'],
	])('deleteNetns refuses %j', (path, message) => {
		expect(() => deleteNetns(path)).toThrow(message);
	});
});

describe('NetlinkModel named namespaces', () => {
	test('createNetns makes /var/run/netns/<name> with only lo; deleteNetns by name removes it', () => {
		const model = new NetlinkModel();
		const path = model.createNetns('pod1');
		expect(path).toBe('/var/run/netns/pod1');
		const nl = model.open(path);
		expect(nl.listLinks().map((l) => [l.name, l.up])).toEqual([['lo', false]]);
		nl.close();
		model.deleteNetns('pod1');
		expect(model.hasNetns(path)).toBe(false);
		expect(() => model.deleteNetns('pod1')).toThrow(NetnsNotFoundError);
	});

	test('a second createNetns of the same name is EEXIST, as on the kernel', () => {
		const model = new NetlinkModel();
		model.createNetns('pod1');
		let error: unknown;
		try {
			model.createNetns('pod1');
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(NetlinkError);
		expect(error).toMatchObject({
			exists: true,
			errnoName: 'EEXIST',
			message: 'failed to create netns "/var/run/netns/pod1": file already exists (EEXIST)',
		});
	});

	test('the model checks names like the kernel side', () => {
		expect(() => new NetlinkModel().createNetns('a/b')).toThrow('invalid netns name "a/b": contains "/"');
	});
});
