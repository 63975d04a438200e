/**
 * nlmsghdr framing: building a request, splitting a received datagram into messages, and decoding
 * NLMSG_ERROR (errno, and the extended-ack TLVs: message text and offending attribute offset).
 */
import {align, parseAttrs, reader, readStr, readU32} from './attrs.ts';
import {NLM_F, NLMSG_HDRLEN, NLMSGERR_ATTR} from './constants.ts';

/** One netlink message: header fields and the payload after the 16-byte header. */
export interface NlMessage {
	readonly type: number;
	readonly flags: number;
	readonly seq: number;
	readonly pid: number;
	readonly payload: Uint8Array;
}

/** A request: nlmsghdr (length, type, flags, seq, pid 0) followed by the body parts. */
export function encodeMessage(
	type: number,
	flags: number,
	seq: number,
	parts: readonly Uint8Array[],
): Uint8Array {
	let bodyLen = 0;
	for (const part of parts) bodyLen += part.length;
	const out = new Uint8Array(NLMSG_HDRLEN + bodyLen);
	const view = new DataView(out.buffer);
	view.setUint32(0, out.length, true);
	view.setUint16(4, type, true);
	view.setUint16(6, flags, true);
	view.setUint32(8, seq >>> 0, true);
	view.setUint32(12, 0, true);
	let offset = NLMSG_HDRLEN;
	for (const part of parts) {
		out.set(part, offset);
		offset += part.length;
	}
	return out;
}

/** Splits a datagram into its messages; a truncated tail is an error (the buffer was too small). */
export function splitMessages(buf: Uint8Array): NlMessage[] {
	const view = reader(buf);
	const messages: NlMessage[] = [];
	let offset = 0;
	while (offset + NLMSG_HDRLEN <= buf.length) {
		const len = view.getUint32(offset, true);
		if (len < NLMSG_HDRLEN || offset + len > buf.length) {
			throw new RangeError(`malformed netlink message at offset ${offset} (length ${len} of ${buf.length})`);
		}
		messages.push({
			type: view.getUint16(offset + 4, true),
			flags: view.getUint16(offset + 6, true),
			seq: view.getUint32(offset + 8, true),
			pid: view.getUint32(offset + 12, true),
			payload: buf.subarray(offset + NLMSG_HDRLEN, offset + len),
		});
		offset += align(len);
	}
	return messages;
}

/** A decoded NLMSG_ERROR: errno 0 is an ACK. */
export interface NlError {
	/** Positive errno; 0 for an ACK. */
	readonly errno: number;
	/** NLMSGERR_ATTR_MSG: the kernel's human-readable reason. */
	readonly extack: string | undefined;
	/** NLMSGERR_ATTR_OFFS: byte offset of the offending attribute in the request. */
	readonly offset: number | undefined;
}

/** Decodes an NLMSG_ERROR message (struct nlmsgerr, then ext-ack TLVs when NLM_F_ACK_TLVS is set). */
export function decodeError(message: NlMessage): NlError {
	const p = message.payload;
	if (p.length < 4 + NLMSG_HDRLEN) throw new RangeError('short NLMSG_ERROR message');
	const errno = -reader(p).getInt32(0, true) || 0;
	if ((message.flags & NLM_F.ackTlvs) === 0) return {errno, extack: undefined, offset: undefined};
	// The echoed request: its header only when capped, else the whole request.
	const echoedLen = message.flags & NLM_F.capped ? NLMSG_HDRLEN : reader(p).getUint32(4, true);
	const tlvStart = 4 + align(echoedLen);
	const attrs = parseAttrs(p, tlvStart);
	const text = readStr(attrs.get(NLMSGERR_ATTR.msg));
	return {errno, extack: text === '' ? undefined : text, offset: readU32(attrs.get(NLMSGERR_ATTR.offs))};
}

/** Decodes NLMSG_DONE: an int status (0, or a negative errno), then ext-ack TLVs when NLM_F_ACK_TLVS. */
export function decodeDone(message: NlMessage): NlError {
	const p = message.payload;
	if (p.length < 4) return {errno: 0, extack: undefined, offset: undefined};
	const errno = -reader(p).getInt32(0, true) || 0;
	if ((message.flags & NLM_F.ackTlvs) === 0) return {errno, extack: undefined, offset: undefined};
	const attrs = parseAttrs(p, 4);
	const text = readStr(attrs.get(NLMSGERR_ATTR.msg));
	return {errno, extack: text === '' ? undefined : text, offset: readU32(attrs.get(NLMSGERR_ATTR.offs))};
}
