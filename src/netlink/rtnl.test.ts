import {describe, expect, it} from 'vitest';
import {concat, strAttr} from './codec/attrs.ts';
import {NLM_F, NLMSG, RTM} from './codec/constants.ts';
import {encodeMessage} from './codec/nlmsg.ts';
import {NetlinkError} from './errors.ts';
import {RtnlSocket, type RtnlTransport} from './rtnl.ts';

/** A scripted kernel: for each request it answers with the datagrams `reply(seq, request#)` returns. */
class FakeTransport implements RtnlTransport {
	readonly sent: Uint8Array[] = [];
	closed = 0;
	private queue: Uint8Array[] = [];
	private readonly reply: (seq: number, n: number) => Uint8Array[];

	constructor(reply: (seq: number, n: number) => Uint8Array[]) {
		this.reply = reply;
	}

	open(): number {
		return 42;
	}

	send(_fd: number, buf: Uint8Array): void {
		this.sent.push(buf.slice());
		const seq = new DataView(buf.buffer, buf.byteOffset).getUint32(8, true);
		this.queue.push(...this.reply(seq, this.sent.length));
	}

	recv(_fd: number, buf: Uint8Array): number {
		const next = this.queue.shift();
		if (next === undefined)
			throw Object.assign(new Error('recvmsg: timed out'), {errno: 11, syscall: 'recvmsg'});
		buf.set(next);
		return next.length;
	}

	close(): void {
		this.closed++;
	}
}

const link = (seq: number, name: string, flags: number = NLM_F.multi): Uint8Array =>
	encodeMessage(RTM.newLink, flags, seq, [new Uint8Array(16), strAttr(3, name)]);
const done = (seq: number, flags: number = NLM_F.multi): Uint8Array =>
	encodeMessage(NLMSG.done, flags, seq, [new Uint8Array(4)]);
function ack(seq: number, errno: number, extack?: string): Uint8Array {
	const status = new Uint8Array(4);
	new DataView(status.buffer).setInt32(0, -errno, true);
	const echoed = encodeMessage(RTM.newLink, 0, seq, []);
	const tlv = extack === undefined ? [] : [strAttr(1, extack)];
	const flags = NLM_F.capped | (extack === undefined ? 0 : NLM_F.ackTlvs);
	return encodeMessage(NLMSG.error, flags, seq, [status, echoed, ...tlv]);
}

describe('RtnlSocket', () => {
	it('collects a multipart dump across datagrams until NLMSG_DONE, dropping replies of other sequence numbers', () => {
		const fake = new FakeTransport((seq) => [
			concat([link(seq - 1, 'stale'), link(seq, 'a')]),
			concat([link(seq, 'b'), done(seq)]),
		]);
		const socket = new RtnlSocket(undefined, {transport: fake});
		const replies = socket.dump(RTM.getLink, new Uint8Array(16), 'list links');
		expect(replies.map((r) => r.payload.length)).toEqual([24, 24]);
		const flags = new DataView(fake.sent[0]!.buffer).getUint16(6, true);
		expect(flags).toBe(NLM_F.request | NLM_F.dump);
	});

	it('restarts a dump the kernel flags with NLM_F_DUMP_INTR, and gives up after the retries', () => {
		const flaky = new FakeTransport((seq, n) =>
			n === 1
				? [concat([link(seq, 'a', NLM_F.multi | NLM_F.dumpIntr), done(seq)])]
				: [concat([link(seq, 'a'), done(seq)])],
		);
		expect(
			new RtnlSocket(undefined, {transport: flaky}).dump(RTM.getLink, new Uint8Array(16), 'list links'),
		).toHaveLength(1);
		expect(flaky.sent).toHaveLength(2);
		const broken = new FakeTransport((seq) => [
			concat([link(seq, 'a', NLM_F.multi | NLM_F.dumpIntr), done(seq)]),
		]);
		let err: unknown;
		try {
			new RtnlSocket(undefined, {transport: broken}).dump(RTM.getLink, new Uint8Array(16), 'list links');
		} catch (e) {
			err = e;
		}
		expect(err).toBeInstanceOf(NetlinkError);
		expect((err as NetlinkError).errnoName).toBe('EINTR');
		expect(broken.sent).toHaveLength(6);
	});

	it('waits for the ACK after a GET reply, so the next request is not desynchronised', () => {
		const fake = new FakeTransport((seq) => [link(seq, 'eth0', 0), ack(seq, 0)]);
		const socket = new RtnlSocket(undefined, {transport: fake});
		expect(socket.request(RTM.getLink, 0, new Uint8Array(16), 'find link')).toHaveLength(1);
		expect(socket.request(RTM.getLink, 0, new Uint8Array(16), 'find link')).toHaveLength(1);
	});

	it('turns an NLMSG_ERROR into a NetlinkError with the ext-ack text, and a silent kernel into ETIMEDOUT', () => {
		const fake = new FakeTransport((seq, n) => (n === 1 ? [ack(seq, 95, 'Unknown device type')] : []));
		const socket = new RtnlSocket(undefined, {transport: fake, rcvTimeoutMs: 250});
		expect(() => socket.request(RTM.newLink, 0, new Uint8Array(16), 'add link "blue"')).toThrow(
			'failed to add link "blue": operation not supported (EOPNOTSUPP): Unknown device type',
		);
		expect(() => socket.request(RTM.newLink, 0, new Uint8Array(16), 'add link "red"')).toThrow(
			'failed to add link "red": connection timed out (ETIMEDOUT): no reply from the kernel within 250 ms',
		);
	});

	it('closes once and refuses requests afterwards', () => {
		const fake = new FakeTransport(() => []);
		const socket = new RtnlSocket(undefined, {transport: fake});
		socket.close();
		socket.close();
		expect(fake.closed).toBe(1);
		expect(() => socket.dump(RTM.getLink, new Uint8Array(16), 'list links')).toThrow(/handle is closed/);
	});
});
