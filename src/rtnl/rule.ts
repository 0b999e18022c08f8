/**
 * Layer 2 (rtnetlink): policy routing rules — struct fib_rule_hdr and FRA_* decoded into
 * {@link Rule} (what `ip -j rule show` prints), and the encoders of RTM_NEWRULE /
 * RTM_DELRULE / RTM_GETRULE, which write what `ip rule add|del|show` sends.
 * @module
 */
import { DecodeError, ValidationError } from '../errors.js';
import { Attributes, type UnknownAttribute } from '../netlink/attributes.js';
import type { Batch } from '../netlink/batch.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL } from '../netlink/constants.js';
import type { NetlinkMessage } from '../netlink/message.js';
import type { Writer } from '../netlink/writer.js';
import {
  type FieldTable,
  type Put,
  decodeFields,
  decodeName,
  ipText,
  needHeader,
  prepareFields,
  putBytes,
  putU32,
  putU8,
  structU16,
  structU32,
  tableTypes,
  u16Struct,
  u32Struct,
  writeAll,
} from './attrs.js';
import * as C from './constants.js';
import { type IpFamily, afOf, ipFamilyOf, networkOf, parseCidr } from './ip.js';
import { PROTOCOLS, type ProtocolName, RULE_ACTIONS, type RuleAction, TABLES, type TableName } from './names.js';
import { checkBool, checkIfname, checkNamed, checkU16, checkU32, checkU8 } from './validate.js';

/** A range of ports or uids. */
export interface Range {
  start: number;
  end: number;
}

/** Fields a rule spec and a decoded rule share. */
interface RuleCommon {
  /** FRA_PRIORITY (`pref`): rules are tried in increasing order. */
  priority?: number;
  /** FRA_IIFNAME: match packets arriving on this interface. */
  iifname?: string;
  /** FRA_OIFNAME: match packets leaving through this interface (locally generated). */
  oifname?: string;
  /** FRA_FWMARK. */
  fwmark?: number;
  /** FRA_FWMASK. */
  fwmask?: number;
  /** FRA_GOTO: the priority of the rule to jump to (action goto). */
  goto?: number;
  /** FRA_FLOW: realms. */
  flow?: number;
  /** FRA_TUN_ID. */
  tunId?: bigint;
  /** FRA_SUPPRESS_IFGROUP: ignore routing results through links of this group. */
  suppressIfgroup?: number;
  /** FRA_SUPPRESS_PREFIXLEN: ignore routing results with a prefix this long or shorter. */
  suppressPrefixlen?: number;
  /** FRA_L3MDEV: look up the table of the l3mdev (VRF) the packet is in. */
  l3mdev?: boolean;
  /** FRA_UID_RANGE. */
  uidRange?: Range;
  /** FRA_IP_PROTO. */
  ipProto?: number;
  /** FRA_SPORT_RANGE. */
  sportRange?: Range;
  /** FRA_DPORT_RANGE. */
  dportRange?: Range;
  /** FIB_RULE_INVERT: `not`. */
  invert?: boolean;
}

/** A decoded rule. */
export interface Rule extends RuleCommon {
  /** family. */
  family: IpFamily;
  /** FRA_PRIORITY; the kernel leaves it out when it is 0. */
  priority: number;
  /** FRA_SRC with src_len (`from`), absent for `from all`. */
  src?: string;
  /** FRA_DST with dst_len (`to`). */
  dst?: string;
  /** tos. */
  tos: number;
  /** FRA_TABLE (or the header's table). */
  table: number;
  /** action. */
  action: RuleAction;
  /** flags: FIB_RULE_* bits. */
  flags: number;
  /** FRA_PROTOCOL: who added it (RTPROT_*). */
  protocol?: number;
  /** FRA_* attributes netplumb does not model. */
  unknown: UnknownAttribute[];
}

/** A rule to add or delete (`ip rule add from 10.0.0.0/8 table 100 pref 1000`). */
export interface RuleSpec extends RuleCommon {
  /** IP version, needed only when neither src nor dst says; default 4. */
  family?: IpFamily;
  /** FRA_SRC: source prefix. */
  src?: string;
  /** FRA_DST: destination prefix. */
  dst?: string;
  /** tos. */
  tos?: number;
  /** Table to look up; default main for an add with action to_tbl (as `ip rule add`). */
  table?: TableName | number;
  /** Default to_tbl (goto when `goto` is given) for an add; unspecified for a delete. */
  action?: RuleAction;
  /** FRA_PROTOCOL. */
  protocol?: ProtocolName | number;
}

const RULE_FIELDS: FieldTable = [
  ['priority', C.FRA_PRIORITY, 'u32'],
  ['iifname', C.FRA_IIFNAME, 'string'],
  ['oifname', C.FRA_OIFNAME, 'string'],
  ['fwmark', C.FRA_FWMARK, 'u32'],
  ['fwmask', C.FRA_FWMASK, 'u32'],
  ['goto', C.FRA_GOTO, 'u32'],
  ['flow', C.FRA_FLOW, 'u32'],
  ['tunId', C.FRA_TUN_ID, 'be64'],
  ['suppressIfgroup', C.FRA_SUPPRESS_IFGROUP, 'u32'],
  ['suppressPrefixlen', C.FRA_SUPPRESS_PREFIXLEN, 'u32'],
  ['l3mdev', C.FRA_L3MDEV, 'bool'],
  ['ipProto', C.FRA_IP_PROTO, 'u8'],
];

const RULE_KNOWN = new Set([
  ...tableTypes(RULE_FIELDS),
  C.FRA_SRC,
  C.FRA_DST,
  C.FRA_TABLE,
  C.FRA_PROTOCOL,
  C.FRA_UID_RANGE,
  C.FRA_SPORT_RANGE,
  C.FRA_DPORT_RANGE,
  C.FRA_PAD,
]);

function u32Range(d: Buffer | undefined, what: string): Range | undefined {
  return d === undefined ? undefined : { start: structU32(d, 0, what), end: structU32(d, 4, what) };
}

function u16Range(d: Buffer | undefined, what: string): Range | undefined {
  return d === undefined ? undefined : { start: structU16(d, 0, what), end: structU16(d, 2, what) };
}

/** Decodes an RTM_NEWRULE/RTM_DELRULE message; DecodeError when truncated or malformed. */
export function decodeRule(msg: NetlinkMessage): Rule {
  const p = msg.payload;
  needHeader(p, C.FIB_RULE_HDR_LEN, 'fib_rule_hdr');
  const family = ipFamilyOf(p[0] as number);
  if (family === undefined) throw new DecodeError(`rule of family ${p[0]}`, 0);
  const a = Attributes.parse(p, C.FIB_RULE_HDR_LEN);
  const flags = structU32(p, 8, 'fib_rule_hdr');
  const out: Rule = {
    family,
    tos: p[3] as number,
    table: a.u32(C.FRA_TABLE) ?? (p[4] as number),
    action: decodeName(RULE_ACTIONS, p[7] as number, 'rule action'),
    priority: 0,
    flags,
    invert: (flags & C.FIB_RULE_INVERT) !== 0,
    unknown: a.unknown(RULE_KNOWN),
  };
  decodeFields(a, RULE_FIELDS, out);
  // The kernel reports a suppress_prefixlen that was never set as 0xffffffff (-1).
  if (out.suppressPrefixlen === 0xffffffff) delete out.suppressPrefixlen;
  const src = a.get(C.FRA_SRC);
  if (src !== undefined) out.src = `${ipText(src, C.FRA_SRC)}/${p[2]}`;
  const dst = a.get(C.FRA_DST);
  if (dst !== undefined) out.dst = `${ipText(dst, C.FRA_DST)}/${p[1]}`;
  const proto = a.u8(C.FRA_PROTOCOL);
  if (proto !== undefined) out.protocol = proto;
  const uid = u32Range(a.get(C.FRA_UID_RANGE), 'FRA_UID_RANGE');
  if (uid) out.uidRange = uid;
  const sport = u16Range(a.get(C.FRA_SPORT_RANGE), 'FRA_SPORT_RANGE');
  if (sport) out.sportRange = sport;
  const dport = u16Range(a.get(C.FRA_DPORT_RANGE), 'FRA_DPORT_RANGE');
  if (dport) out.dportRange = dport;
  return out;
}

function writeHdr(w: Writer, family: number, dstLen: number, srcLen: number, tos: number, table: number, action: number, flags: number): void {
  w.putU8(family);
  w.putU8(dstLen);
  w.putU8(srcLen);
  w.putU8(tos);
  w.putU8(table);
  w.putU8(0);
  w.putU8(0);
  w.putU8(action);
  w.putU32(flags);
}

function rangeBytes(r: Range, field: string, wide: boolean): Uint8Array {
  if (r === null || typeof r !== 'object') throw new ValidationError(field, 'must be { start, end }');
  const check = wide ? checkU32 : checkU16;
  const start = check(r.start, `${field}.start`);
  const end = check(r.end, `${field}.end`);
  if (start > end) throw new ValidationError(field, `start ${start} is above end ${end}`);
  // struct fib_rule_uid_range (two u32) and struct fib_rule_port_range (two u16), host order.
  return wide ? u32Struct([start, end]) : u16Struct([start, end]);
}

function encode(batch: Batch, type: number, flags: number, spec: RuleSpec): void {
  if (spec === null || typeof spec !== 'object') throw new ValidationError('spec', 'must be a rule spec object');
  const add = type === C.RTM_NEWRULE;
  let family: IpFamily | undefined = spec.family;
  if (family !== undefined && family !== 4 && family !== 6) throw new ValidationError('family', `${String(family)} is not 4 or 6`);
  const src = spec.src === undefined ? undefined : parseCidr(spec.src, 'src', family);
  family ??= src?.family;
  const dst = spec.dst === undefined ? undefined : parseCidr(spec.dst, 'dst', family);
  family ??= dst?.family ?? 4;
  const action =
    spec.action !== undefined
      ? checkNamed(spec.action, 'action', RULE_ACTIONS, C.FR_ACT_PROHIBIT)
      : add
        ? spec.goto !== undefined
          ? C.FR_ACT_GOTO
          : C.FR_ACT_TO_TBL
        : C.FR_ACT_UNSPEC;
  const tableId =
    spec.table !== undefined ? checkNamed(spec.table, 'table', TABLES, 0xffffffff) : add && action === C.FR_ACT_TO_TBL ? C.RT_TABLE_MAIN : 0;
  const { tos, protocol, invert, uidRange, sportRange, dportRange } = spec;
  if (spec.iifname !== undefined) checkIfname(spec.iifname, 'iifname');
  if (spec.oifname !== undefined) checkIfname(spec.oifname, 'oifname');
  const attrs: Put[] = [];
  if (src) attrs.push(putBytes(C.FRA_SRC, networkOf(src.bytes, src.prefixlen)));
  if (dst) attrs.push(putBytes(C.FRA_DST, networkOf(dst.bytes, dst.prefixlen)));
  attrs.push(...prepareFields(RULE_FIELDS, spec, ''));
  // fib_rule_hdr.table has 8 bits; larger ids go in FRA_TABLE, as `ip rule` sends them.
  if (tableId > 255) attrs.push(putU32(C.FRA_TABLE, tableId));
  if (protocol !== undefined) attrs.push(putU8(C.FRA_PROTOCOL, checkNamed(protocol, 'protocol', PROTOCOLS, 255)));
  if (uidRange !== undefined) attrs.push(putBytes(C.FRA_UID_RANGE, rangeBytes(uidRange, 'uidRange', true)));
  if (sportRange !== undefined) attrs.push(putBytes(C.FRA_SPORT_RANGE, rangeBytes(sportRange, 'sportRange', false)));
  if (dportRange !== undefined) attrs.push(putBytes(C.FRA_DPORT_RANGE, rangeBytes(dportRange, 'dportRange', false)));
  const hdrFlags = invert !== undefined && checkBool(invert, 'invert') ? C.FIB_RULE_INVERT : 0;
  const tosValue = tos === undefined ? 0 : checkU8(tos, 'tos');
  const label = `${add ? 'RTM_NEWRULE add' : 'RTM_DELRULE del'}${spec.priority !== undefined ? ` pref ${spec.priority}` : ''}${spec.src ? ` from ${spec.src}` : ''}`;
  const w = batch.begin(type, NLM_F_ACK | flags, label);
  writeHdr(w, afOf(family), dst?.prefixlen ?? 0, src?.prefixlen ?? 0, tosValue, tableId > 255 ? C.RT_TABLE_UNSPEC : tableId, action, hdrFlags);
  writeAll(w, attrs);
  batch.end();
}

/** Writes `ip rule add ...` (RTM_NEWRULE, NLM_F_CREATE|NLM_F_EXCL); EEXIST for an identical rule. */
export function encodeRuleAdd(batch: Batch, spec: RuleSpec): void {
  encode(batch, C.RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, spec);
}

/**
 * Writes `ip rule del ...` (RTM_DELRULE): the kernel deletes the first rule matching
 * every field given and answers ENOENT when none does.
 */
export function encodeRuleDelete(batch: Batch, spec: RuleSpec): void {
  encode(batch, C.RTM_DELRULE, 0, spec);
}

/** Writes `ip [-4|-6] rule show` as an RTM_GETRULE dump. */
export function encodeRuleDump(batch: Batch, family?: IpFamily): void {
  const w = batch.begin(C.RTM_GETRULE, NLM_F_DUMP, 'RTM_GETRULE dump');
  writeHdr(w, family === undefined ? C.AF_UNSPEC : afOf(family), 0, 0, 0, 0, 0, 0);
  batch.end();
}
