// createNetns/deleteNetns on the host kernel (root), with iproute2 as the oracle: the namespace
// `ip netns add` would make (only lo, visible to `ip netns list` and `ip -n`), links made in it
// through openNetlink seen by `ip -n`, gone after delete, EEXIST on a duplicate, and the main
// thread never leaving its own netns.
import {existsSync, mkdtempSync, readlinkSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {execa} from 'execa';
import {afterEach, describe, expect, test} from 'vitest';
import {NetlinkError, NetnsNotFoundError} from '../../src/netlink/errors.ts';
import {openNetlink} from '../../src/netlink/kernel.ts';
import {createNetns, deleteNetns, netnsExists} from '../../src/netlink/netns.ts';
import {createNetnsFile, deleteNetnsFile} from '../../src/netlink/socket.ts';
import {randomName} from '../helpers/netns.ts';

const made: string[] = [];

afterEach(async () => {
	for (const name of made.splice(0)) await execa('ip', ['netns', 'del', name], {reject: false});
});

/** A random name, deleted after the test if the test did not. */
function scratchName(): string {
	const name = `pxnsc-${randomName('')}`;
	made.push(name);
	return name;
}

async function ipNetnsList(): Promise<string[]> {
	const {stdout} = await execa('ip', ['-json', 'netns', 'list']);
	return (JSON.parse(stdout === '' ? '[]' : stdout) as {name: string}[]).map((n) => n.name);
}

async function ipLinks(name: string): Promise<string[]> {
	const {stdout} = await execa('ip', ['-n', name, '-json', 'link', 'show']);
	return (JSON.parse(stdout) as {ifname: string}[]).map((l) => l.ifname);
}

describe('createNetns / deleteNetns', () => {
	test('creates a netns iproute2 sees, with only lo, and deletes it', async () => {
		const name = scratchName();
		const path = createNetns(name);
		expect(path).toBe(`/var/run/netns/${name}`);
		expect(netnsExists(path)).toBe(true);
		expect(await ipNetnsList()).toContain(name);
		expect(await ipLinks(name)).toEqual(['lo']);
		// Its own namespace, not the host's: another inode than ours.
		const {stdout: inNs} = await execa('ip', ['netns', 'exec', name, 'readlink', '/proc/self/ns/net']);
		expect(inNs).not.toBe(readlinkSync('/proc/self/ns/net'));

		deleteNetns(name);
		expect(existsSync(path)).toBe(false);
		expect(await ipNetnsList()).not.toContain(name);
	});

	test('links made in it through openNetlink(path) are what `ip -n` shows; delete by path', async () => {
		const name = scratchName();
		const path = createNetns(name);
		const nl = openNetlink(path);
		try {
			nl.setLink('lo', {up: true});
			nl.addLink({kind: 'veth', name: 'pxa0', peer: {name: 'pxb0'}, up: true});
			nl.addAddress('pxa0', '10.77.0.1/24');
		} finally {
			nl.close();
		}
		expect((await ipLinks(name)).sort()).toEqual(['lo', 'pxa0', 'pxb0']);
		const {stdout} = await execa('ip', ['-n', name, '-json', 'addr', 'show', 'dev', 'pxa0']);
		const [addr] = JSON.parse(stdout) as {addr_info: {local: string; prefixlen: number}[]}[];
		expect(addr?.addr_info).toEqual(
			expect.arrayContaining([expect.objectContaining({local: '10.77.0.1', prefixlen: 24})]),
		);

		deleteNetns(path);
		expect(existsSync(path)).toBe(false);
		expect(await ipNetnsList()).not.toContain(name);
		// The veth went with the namespace; none of it reached the host.
		expect((await execa('ip', ['link', 'show', 'pxa0'], {reject: false})).exitCode).not.toBe(0);
	});

	test('a duplicate name is EEXIST, and the first netns is left as it was', async () => {
		const name = scratchName();
		const path = createNetns(name);
		const inode = statSync(path).ino;
		let error: unknown;
		try {
			createNetns(name);
		} catch (e) {
			error = e;
		}
		expect(error).toBeInstanceOf(NetlinkError);
		expect(error).toMatchObject({
			exists: true,
			errno: 17,
			message: `failed to create netns "${path}": file already exists (EEXIST)`,
		});
		expect(netnsExists(path)).toBe(true);
		expect(statSync(path).ino).toBe(inode);
		expect(await ipLinks(name)).toEqual(['lo']);
	});

	test('deleting a netns that is not there is NetnsNotFoundError', async () => {
		const name = scratchName();
		expect(() => deleteNetns(name)).toThrow(NetnsNotFoundError);
		expect(() => deleteNetns(name)).toThrow(
			`failed to open netns "/var/run/netns/${name}": no such network namespace`,
		);
	});

	test('the main thread stays in its own netns across 200 creates and deletes', async () => {
		const ownNs = `/proc/self/task/${process.pid}/ns/net`;
		const before = readlinkSync(ownNs);
		for (let i = 0; i < 200; i++) {
			const name = scratchName();
			const path = createNetns(name);
			const nl = openNetlink(path);
			try {
				expect(nl.listLinks().map((l) => l.name)).toEqual(['lo']);
			} finally {
				nl.close();
			}
			// A namespace of its own (nsfs inode), while the main thread's stays what it was.
			expect(`net:[${statSync(path).ino}]`).not.toBe(before);
			expect(readlinkSync(ownNs)).toBe(before);
			deleteNetns(name);
			expect(existsSync(path)).toBe(false);
		}
		expect(readlinkSync(ownNs)).toBe(before);
		const left = (await ipNetnsList()).filter((n) => made.includes(n));
		expect(left).toEqual([]);
	}, 120_000);

	test('a run directory that is not a mount point is bound onto itself and made shared first', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'pxnsdir-'));
		const findmnt = async () =>
			(
				await execa('findmnt', ['-n', '-o', 'PROPAGATION', '--mountpoint', dir], {reject: false})
			).stdout.trim();
		try {
			expect(await findmnt()).toBe('');
			const path = createNetnsFile(dir, 'ns1');
			expect(path).toBe(`${dir}/ns1`);
			expect(await findmnt()).toBe('shared');
			expect(netnsExists(path)).toBe(true);
			// A second one reuses the mount point as it is (no second bind mount).
			const second = createNetnsFile(dir, 'ns2');
			expect(
				(await execa('findmnt', ['-n', '-o', 'TARGET', '--mountpoint', dir])).stdout.split('\n'),
			).toHaveLength(1);
			deleteNetnsFile(path);
			deleteNetnsFile(second);
			expect(existsSync(path) || existsSync(second)).toBe(false);
		} finally {
			await execa('umount', ['-l', dir], {reject: false});
			rmSync(dir, {recursive: true, force: true});
		}
	});
});
