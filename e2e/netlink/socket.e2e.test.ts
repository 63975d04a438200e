// The socket layer on the host kernel, beyond what the fake transport of rtnl.test.ts proves: a
// dump far larger than one kernel datagram arrives whole (multipart, 128 KiB receive buffer), and
// SO_RCVTIMEO set by the addon really ends a wait for a reply that never comes; a netns path that
// is missing or no netns fails with code 8 before anything is opened in the wrong namespace.
import {constants as fsConstants, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {execa} from 'execa';
import {afterEach, describe, expect, test} from 'vitest';
import {NetlinkError, NetnsNotFoundError} from '../../src/netlink/errors.ts';
import {openNetlink} from '../../src/netlink/kernel.ts';
import {RtnlSocket, type RtnlTransport} from '../../src/netlink/rtnl.ts';
import {
	closeFd,
	openFileInNetns,
	openRouteSocket,
	receiveDatagram,
	sendDatagram,
} from '../../src/netlink/socket.ts';
import {createNetns, ipJson, type Netns, randomName, removeNetns} from '../helpers/netns.ts';

const RTM_GETLINK = 18;
let netns: Netns | undefined;

afterEach(async () => {
	if (netns !== undefined) await removeNetns(netns);
	netns = undefined;
});

describe('netlink socket on the host kernel', () => {
	test('a route dump of several hundred KiB comes back whole and equal to ip -json route', async () => {
		netns = await createNetns('pxsock');
		const count = 3000;
		const table = 4242;
		// Set-up through iproute2 (the oracle), so the dump is the only thing under test.
		const commands = ['link add va type veth peer name vb', 'link set va up', 'addr add 10.77.0.1/16 dev va'];
		for (let i = 0; i < count; i++) {
			commands.push(`route add 10.${100 + (i >> 8)}.${i & 255}.0/24 via 10.77.0.2 dev va table ${table}`);
		}
		await execa('ip', ['-n', netns.name, '-batch', '-'], {input: commands.join('\n')});

		const nl = openNetlink(netns.path);
		try {
			const routes = nl.listRoutes({table, family: 4});
			// About 100 bytes a route: far more than one 32 KiB dump datagram.
			expect(routes).toHaveLength(count);
			const oracle = await ipJson<{dst: string}[]>(netns, 'route', 'show', 'table', String(table));
			expect(routes.map((r) => r.dst).sort()).toEqual(oracle.map((r) => r.dst).sort());
			expect(new Set(routes.map((r) => r.gateway))).toEqual(new Set(['10.77.0.2']));
			// The socket is still in step: the next request gets its own answer.
			expect(nl.getLink('va').name).toBe('va');
		} finally {
			nl.close();
		}
	}, 60_000);

	test('a reply that never comes fails after the receive timeout with ETIMEDOUT', async () => {
		netns = await createNetns('pxsock');
		// The native transport, except that the request is never sent: the kernel stays silent.
		const silent: RtnlTransport = {
			open: openRouteSocket,
			send: () => {},
			recv: receiveDatagram,
			close: closeFd,
		};
		const socket = new RtnlSocket(netns.path, {rcvTimeoutMs: 300, transport: silent});
		try {
			const started = performance.now();
			let caught: unknown;
			try {
				socket.dump(RTM_GETLINK, new Uint8Array(16), 'list links');
			} catch (err) {
				caught = err;
			}
			const waited = performance.now() - started;
			expect(caught).toBeInstanceOf(NetlinkError);
			expect(caught).toMatchObject({
				errno: 110,
				errnoName: 'ETIMEDOUT',
				message:
					'failed to list links: connection timed out (ETIMEDOUT): no reply from the kernel within 300 ms',
			});
			expect(waited).toBeGreaterThanOrEqual(250);
			expect(waited).toBeLessThan(5000);
		} finally {
			socket.close();
		}
		// The same socket kind with the real send answers at once.
		const live = new RtnlSocket(netns.path, {
			rcvTimeoutMs: 300,
			transport: {open: openRouteSocket, send: sendDatagram, recv: receiveDatagram, close: closeFd},
		});
		try {
			expect(live.dump(RTM_GETLINK, new Uint8Array(16), 'list links').length).toBeGreaterThanOrEqual(1);
		} finally {
			live.close();
		}
	});

	test('a netns path that is missing or not a netns is a code-8 error naming it, for sockets and files', () => {
		const scratch = mkdtempSync(join(tmpdir(), 'pxsock-'));
		try {
			const missing = `/var/run/netns/${randomName('pxnone-')}`;
			const plain = join(scratch, 'not-a-netns');
			writeFileSync(plain, '');
			const opens = [
				(ns: string) => openNetlink(ns),
				(ns: string) => openFileInNetns(ns, '/proc/sys/net/ipv4/ip_forward', fsConstants.O_RDONLY),
			];
			for (const open of opens) {
				const gone = thrown(() => open(missing));
				expect(gone).toBeInstanceOf(NetnsNotFoundError);
				expect(gone).toMatchObject({
					code: 8,
					message: `failed to open netns ${JSON.stringify(missing)}: no such network namespace`,
				});
				for (const notNetns of [plain, scratch]) {
					expect(thrown(() => open(notNetns))).toMatchObject({
						code: 8,
						message: `failed to open netns ${JSON.stringify(notNetns)}: not a network namespace`,
					});
				}
			}
		} finally {
			rmSync(scratch, {recursive: true, force: true});
		}
	});
});

function thrown(fn: () => unknown): unknown {
	try {
		fn();
	} catch (err) {
		return err;
	}
	throw new Error('expected a failure');
}
