import {readdirSync, readFileSync, readlinkSync, statSync} from 'node:fs';
import {execa} from 'execa';
import {afterAll, describe, expect, it} from 'vitest';
import {openNetlink} from '../../src/netlink/kernel.ts';
import {netlinkContract} from '../../src/netlink/testing/contract.ts';
import {kernelHarness} from './testing/harness.ts';

// The host kernel has veth, bridge and macvlan but no vrf/8021q/dummy: the l3 group runs in the
// vm project (netlink.vm.test.ts).
netlinkContract(kernelHarness('host kernel'), ['core', 'no-vrf']);

describe('netns isolation of the main thread', () => {
	const prefix = `pxnl-k-${process.pid}-`;
	const count = 1000;
	const names = Array.from({length: count}, (_, i) => `${prefix}${i}`);

	afterAll(async () => {
		await execa('ip', ['-force', '-batch', '-'], {
			input: names.map((n) => `netns del ${n}`).join('\n'),
			reject: false,
		});
	});

	it(`opens sockets and sysctl files in ${count} namespaces without the main thread leaving its own`, async () => {
		await execa('ip', ['-batch', '-'], {input: names.map((n) => `netns add ${n}`).join('\n')});
		const ownNs = `/proc/self/task/${process.pid}/ns/net`;
		const before = readlinkSync(ownNs);
		// The thread running this test (the main thread under the forks pool; thread-self either way).
		expect(readlinkSync('/proc/thread-self/ns/net')).toBe(before);
		/** Threads of this process that sit in another netns (the addon's setns threads are joined). */
		const strayThreads = () =>
			readdirSync('/proc/self/task').filter((tid) => {
				try {
					return readlinkSync(`/proc/self/task/${tid}/ns/net`) !== before;
				} catch {
					return false; // a thread that exited between readdir and readlink
				}
			});
		const hostForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();
		const flipped = hostForward === '1' ? '0' : '1';
		const inodes = new Set<number>();
		for (const name of names) {
			const path = `/var/run/netns/${name}`;
			const nl = openNetlink(path);
			try {
				// A fresh netns has only lo: the socket lives in that netns, not the host's.
				expect(nl.listLinks().map((l) => l.name)).toEqual(['lo']);
				nl.writeSysctl('net.ipv4.ip_forward', flipped);
				expect(nl.readSysctl('net.ipv4.ip_forward')).toBe(flipped);
			} finally {
				nl.close();
			}
			inodes.add(statSync(path).ino);
			expect(readlinkSync(ownNs)).toBe(before);
			expect(readlinkSync('/proc/thread-self/ns/net')).toBe(before);
		}
		expect(inodes.size).toBe(count);
		expect(readlinkSync(ownNs)).toBe(before);
		expect(strayThreads()).toEqual([]);
		// 1,000 writes of the opposite value went to the namespaces, none to the host.
		expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe(hostForward);
	}, 120_000);
});
