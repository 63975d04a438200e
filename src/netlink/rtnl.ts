/**
 * One rtnetlink conversation at a time over a socket inside a netns: sequence numbers, waiting for
 * the ACK or NLMSG_DONE of *our* request (stale replies from an earlier timed-out request are
 * dropped), multipart dumps, NLM_F_DUMP_INTR retries, the receive timeout, and turning NLMSG_ERROR
 * into a NetlinkError with the kernel's ext-ack text.
 */

import {NLM_F, NLMSG} from './codec/constants.ts';
import {decodeDone, decodeError, encodeMessage, type NlMessage, splitMessages} from './codec/nlmsg.ts';
import {NetlinkError} from './errors.ts';
import type {NetnsPath} from './netlink.ts';
import {closeFd, isSyscallError, openRouteSocket, receiveDatagram, sendDatagram} from './socket.ts';

const EINTR = 4;
const EAGAIN = 11;
const ETIMEDOUT = 110;

/** How often a dump interrupted by a concurrent change (NLM_F_DUMP_INTR) is restarted. */
export const DUMP_RETRIES = 5;
/** Receive buffer: at least 64 KiB, above the kernel's 32 KiB dump datagrams. */
const RECV_BYTES = 128 * 1024;

/** One received reply, copied out of the receive buffer. */
export type Reply = NlMessage;

/** How datagrams move; the default is the native socket (./socket.ts). Tests inject a fake. */
export interface RtnlTransport {
	open(netns: NetnsPath | undefined, rcvTimeoutMs: number): number;
	send(fd: number, buf: Uint8Array): void;
	/** Fills `buf` with one datagram and returns its length; throws errno EAGAIN on timeout. */
	recv(fd: number, buf: Uint8Array): number;
	close(fd: number): void;
}

const nativeTransport: RtnlTransport = {
	open: openRouteSocket,
	send: sendDatagram,
	recv: receiveDatagram,
	close: closeFd,
};

export interface RtnlOptions {
	/** SO_RCVTIMEO for every reply. Default 5000 ms. */
	readonly rcvTimeoutMs?: number;
	readonly transport?: RtnlTransport;
}

/** Closes the fd of a socket that was dropped without close() (a leak guard, not the normal path). */
const leaked = new FinalizationRegistry<{transport: RtnlTransport; fd: number}>(({transport, fd}) => {
	try {
		transport.close(fd);
	} catch {
		// Nothing to report to: the handle is long gone.
	}
});

/** A NETLINK_ROUTE socket bound to one netns. */
export class RtnlSocket {
	readonly netns: NetnsPath | undefined;
	private fd: number | undefined;
	private seq: number;
	private readonly buf = new Uint8Array(RECV_BYTES);
	private readonly timeoutMs: number;
	private readonly transport: RtnlTransport;

	constructor(netns?: NetnsPath, options: RtnlOptions = {}) {
		this.netns = netns;
		this.timeoutMs = options.rcvTimeoutMs ?? 5000;
		this.transport = options.transport ?? nativeTransport;
		this.fd = this.transport.open(netns, this.timeoutMs);
		leaked.register(this, {transport: this.transport, fd: this.fd}, this);
		this.seq = Math.floor(Math.random() * 0x7fffffff);
	}

	get closed(): boolean {
		return this.fd === undefined;
	}

	close(): void {
		if (this.fd === undefined) return;
		const fd = this.fd;
		this.fd = undefined;
		leaked.unregister(this);
		this.transport.close(fd);
	}

	/**
	 * Sends a request that changes state (or GETs one object) with NLM_F_ACK and returns the replies
	 * of its sequence number that came before the ACK. Throws NetlinkError on a kernel error.
	 */
	request(type: number, flags: number, body: Uint8Array, operation: string): Reply[] {
		return this.exchange(type, NLM_F.request | NLM_F.ack | flags, body, operation, false).replies;
	}

	/**
	 * Runs a dump (NLM_F_DUMP) and returns every message until NLMSG_DONE; restarts up to
	 * DUMP_RETRIES times when the kernel flags the dump as interrupted by a concurrent change.
	 */
	dump(type: number, body: Uint8Array, operation: string): Reply[] {
		for (let attempt = 0; ; attempt++) {
			const {replies, interrupted} = this.exchange(type, NLM_F.request | NLM_F.dump, body, operation, true);
			if (!interrupted) return replies;
			if (attempt >= DUMP_RETRIES) {
				throw new NetlinkError(
					operation,
					EINTR,
					`dump interrupted ${DUMP_RETRIES + 1} times by concurrent changes`,
				);
			}
		}
	}

	private exchange(
		type: number,
		flags: number,
		body: Uint8Array,
		operation: string,
		isDump: boolean,
	): {replies: Reply[]; interrupted: boolean} {
		const fd = this.fd;
		if (fd === undefined) throw new Error(`failed to ${operation}: the netlink handle is closed`);
		this.seq = (this.seq + 1) >>> 0 || 1;
		const seq = this.seq;
		try {
			this.transport.send(fd, encodeMessage(type, flags, seq, [body]));
		} catch (err) {
			throw this.syscallFailure(operation, err);
		}
		const replies: Reply[] = [];
		let interrupted = false;
		for (;;) {
			let n: number;
			try {
				n = this.transport.recv(fd, this.buf);
			} catch (err) {
				throw this.syscallFailure(operation, err);
			}
			for (const message of splitMessages(this.buf.slice(0, n))) {
				if (message.seq !== seq) continue; // a late reply to an earlier request
				if ((message.flags & NLM_F.dumpIntr) !== 0) interrupted = true;
				if (message.type === NLMSG.error) {
					const error = decodeError(message);
					if (error.errno !== 0) throw new NetlinkError(operation, error.errno, error.extack);
					return {replies, interrupted};
				}
				if (message.type === NLMSG.done) {
					const done = decodeDone(message);
					if (done.errno !== 0) throw new NetlinkError(operation, done.errno, done.extack);
					return {replies, interrupted};
				}
				if (message.type === NLMSG.noop || message.type === NLMSG.overrun) continue;
				replies.push(message);
				if (!isDump && (message.flags & NLM_F.multi) === 0 && (flags & NLM_F.ack) === 0) {
					return {replies, interrupted};
				}
			}
		}
	}

	private syscallFailure(operation: string, err: unknown): Error {
		if (isSyscallError(err) && err.errno === EAGAIN) {
			return new NetlinkError(operation, ETIMEDOUT, `no reply from the kernel within ${this.timeoutMs} ms`, {
				cause: err,
			});
		}
		if (isSyscallError(err)) return new NetlinkError(operation, err.errno, err.message, {cause: err});
		return err instanceof Error ? err : new Error(String(err));
	}
}
