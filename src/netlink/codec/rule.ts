/** Policy rules: struct fib_rule_hdr (12 bytes) + FRA_* attributes. */
import {type IpFamily, RULE_ACTIONS, type Rule, type RuleAction, type RuleSpec} from '../netlink.ts';
import {
	attr,
	concat,
	parseAttrs,
	reader,
	readStr,
	readU8,
	readU32,
	Struct,
	strAttr,
	u32Attr,
} from './attrs.ts';
import {AF_INET, AF_INET6, FIB_RULE_INVERT, FR_ACT, FRA} from './constants.ts';
import {formatAddress, parsePrefix} from './ip.ts';

export const FIB_RULE_HDR_LEN = 12;

/** A rule request: the RuleSpec that `addRule`/`deleteRule` take, sent as it is. */
export type RuleMessage = RuleSpec;

const ACTION_BY_NUMBER = new Map<number, RuleAction>(RULE_ACTIONS.map((name) => [FR_ACT[name], name]));

/**
 * The body of RTM_NEWRULE/RTM_DELRULE. For `forDelete`, an unset action is sent as 0 (match any),
 * as iproute2 does.
 */
export function encodeRuleBody(msg: RuleMessage, forDelete = false): Uint8Array {
	const src = msg.src === undefined ? undefined : parsePrefix(msg.src);
	const dst = msg.dst === undefined ? undefined : parsePrefix(msg.dst);
	for (const p of [src, dst]) {
		if (p !== undefined && p.family !== msg.family)
			throw new TypeError(`rule prefix is not IPv${msg.family}`);
	}
	const action = msg.action === undefined ? (forDelete ? 0 : FR_ACT.lookup) : FR_ACT[msg.action];
	const table = msg.table ?? 0;
	const header = new Struct(FIB_RULE_HDR_LEN)
		.u8(0, msg.family === 4 ? AF_INET : AF_INET6)
		.u8(1, dst?.length ?? 0)
		.u8(2, src?.length ?? 0)
		.u8(4, table < 256 ? table : 0)
		.u8(7, action)
		.u32(8, msg.invert === true ? FIB_RULE_INVERT : 0).bytes;
	const parts = [header];
	if (msg.priority !== undefined) parts.push(u32Attr(FRA.priority, msg.priority));
	if (msg.table !== undefined) parts.push(u32Attr(FRA.table, msg.table));
	if (src !== undefined) parts.push(attr(FRA.src, src.bytes));
	if (dst !== undefined) parts.push(attr(FRA.dst, dst.bytes));
	if (msg.iif !== undefined) parts.push(strAttr(FRA.iifname, msg.iif));
	if (msg.oif !== undefined) parts.push(strAttr(FRA.oifname, msg.oif));
	if (msg.fwmark !== undefined) parts.push(u32Attr(FRA.fwmark, msg.fwmark));
	if (msg.fwmask !== undefined) parts.push(u32Attr(FRA.fwmask, msg.fwmask));
	if (msg.l3mdev === true) parts.push(attr(FRA.l3mdev, Uint8Array.of(1)));
	return concat(parts);
}

/** The body of an RTM_GETRULE dump for one family (or both). */
export function encodeRuleQuery(family: IpFamily | undefined): Uint8Array {
	return new Struct(FIB_RULE_HDR_LEN).u8(0, family === 4 ? AF_INET : family === 6 ? AF_INET6 : 0).bytes;
}

/** Decodes an RTM_NEWRULE payload; undefined for families other than IPv4/IPv6. */
export function decodeRule(payload: Uint8Array): Rule | undefined {
	const view = reader(payload);
	const familyNum = view.getUint8(0);
	if (familyNum !== AF_INET && familyNum !== AF_INET6) return undefined;
	const attrs = parseAttrs(payload, FIB_RULE_HDR_LEN);
	const src = attrs.get(FRA.src);
	const dst = attrs.get(FRA.dst);
	return {
		family: familyNum === AF_INET ? 4 : 6,
		priority: readU32(attrs.get(FRA.priority)) ?? 0,
		action: ACTION_BY_NUMBER.get(view.getUint8(7)) ?? 'nop',
		table: readU32(attrs.get(FRA.table)) ?? view.getUint8(4),
		src: src === undefined ? undefined : `${formatAddress(src)}/${view.getUint8(2)}`,
		dst: dst === undefined ? undefined : `${formatAddress(dst)}/${view.getUint8(1)}`,
		iif: readStr(attrs.get(FRA.iifname)),
		oif: readStr(attrs.get(FRA.oifname)),
		fwmark: readU32(attrs.get(FRA.fwmark)),
		fwmask: readU32(attrs.get(FRA.fwmask)),
		l3mdev: (readU8(attrs.get(FRA.l3mdev)) ?? 0) !== 0,
		invert: (view.getUint32(8, true) & FIB_RULE_INVERT) !== 0,
		protocol: readU8(attrs.get(FRA.protocol)) ?? 0,
	};
}
