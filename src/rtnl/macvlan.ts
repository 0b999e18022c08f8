/**
 * Layer 2 (rtnetlink): the macvlan and macvtap link kinds (IFLA_MACVLAN_*), what `ip link
 * add link eth0 name mv0 type macvlan mode bridge` sends and `ip -d link` prints.
 * @module
 */
import { ValidationError } from '../errors.js';
import type { Attributes, UnknownAttribute } from '../netlink/attributes.js';
import { type FieldTable, type Put, decodeFields, decodeName, prepareFields, putBytes, putNest, putU32, tableTypes } from './attrs.js';
import * as C from './constants.js';
import { formatHw, parseMac } from './ip.js';

/** IFLA_MACVLAN_MODE (enum macvlan_mode). */
export type MacvlanMode = 'private' | 'vepa' | 'bridge' | 'passthru' | 'source';
const MACVLAN_MODE: Record<MacvlanMode, number> = {
  private: C.MACVLAN_MODE_PRIVATE,
  vepa: C.MACVLAN_MODE_VEPA,
  bridge: C.MACVLAN_MODE_BRIDGE,
  passthru: C.MACVLAN_MODE_PASSTHRU,
  source: C.MACVLAN_MODE_SOURCE,
};

/** Options of a new macvlan/macvtap link. */
export interface MacvlanOptions {
  /** IFLA_MACVLAN_MODE; the kernel's default is vepa. */
  mode?: MacvlanMode;
  /** IFLA_MACVLAN_FLAGS: MACVLAN_FLAG_NOPROMISC, MACVLAN_FLAG_NODST. */
  flags?: number;
  /**
   * Source MACs accepted in `source` mode: sent as IFLA_MACVLAN_MACADDR_MODE
   * MACVLAN_MACADDR_SET with the list in IFLA_MACVLAN_MACADDR_DATA (`macaddr set ...`).
   */
  macaddrs?: string[];
  /** IFLA_MACVLAN_BC_QUEUE_LEN: broadcast queue length. */
  bcQueueLen?: number;
}

/** A macvlan/macvtap link's options as the kernel reports them. */
export interface MacvlanInfo {
  /** IFLA_MACVLAN_MODE. */
  mode?: MacvlanMode;
  /** IFLA_MACVLAN_FLAGS. */
  flags?: number;
  /** IFLA_MACVLAN_MACADDR_COUNT: number of source MACs. */
  macaddrCount?: number;
  /** IFLA_MACVLAN_MACADDR_DATA: the source MACs (source mode). */
  macaddrs?: string[];
  /** IFLA_MACVLAN_BC_QUEUE_LEN. */
  bcQueueLen?: number;
  /** IFLA_MACVLAN_BC_QUEUE_LEN_USED. */
  bcQueueLenUsed?: number;
  /** IFLA_MACVLAN_* attributes netplumb does not model. */
  unknown: UnknownAttribute[];
}

const MACVLAN_SETTABLE: FieldTable = [
  ['flags', C.IFLA_MACVLAN_FLAGS, 'u16'],
  ['bcQueueLen', C.IFLA_MACVLAN_BC_QUEUE_LEN, 'u32'],
];
const MACVLAN_STATE: FieldTable = [
  ['macaddrCount', C.IFLA_MACVLAN_MACADDR_COUNT, 'u32'],
  ['bcQueueLenUsed', C.IFLA_MACVLAN_BC_QUEUE_LEN_USED, 'u32'],
];
const MACVLAN_KNOWN = new Set([
  ...tableTypes(MACVLAN_SETTABLE),
  ...tableTypes(MACVLAN_STATE),
  C.IFLA_MACVLAN_MODE,
  C.IFLA_MACVLAN_MACADDR_DATA,
]);

/** IFLA_INFO_DATA of a macvlan/macvtap → {@link MacvlanInfo}. */
export function decodeMacvlanInfo(attrs: Attributes): MacvlanInfo {
  const out: MacvlanInfo = { unknown: attrs.unknown(MACVLAN_KNOWN) };
  decodeFields(attrs, MACVLAN_SETTABLE, out);
  decodeFields(attrs, MACVLAN_STATE, out);
  const mode = attrs.u32(C.IFLA_MACVLAN_MODE);
  if (mode !== undefined) out.mode = decodeName(MACVLAN_MODE, mode, 'IFLA_MACVLAN_MODE');
  const data = attrs.nested(C.IFLA_MACVLAN_MACADDR_DATA);
  if (data) out.macaddrs = data.all(C.IFLA_MACVLAN_MACADDR).map((a) => formatHw(a.data));
  return out;
}

/** Validated IFLA_INFO_DATA children for a macvlan/macvtap. */
export function prepareMacvlanData(options: MacvlanOptions, field: string): Put[] {
  const puts: Put[] = [];
  if (options.mode !== undefined) {
    const v = MACVLAN_MODE[options.mode];
    if (v === undefined) throw new ValidationError(`${field}.mode`, `"${String(options.mode)}" is not one of ${Object.keys(MACVLAN_MODE).join(', ')}`);
    puts.push(putU32(C.IFLA_MACVLAN_MODE, v));
  }
  puts.push(...prepareFields(MACVLAN_SETTABLE, options, field));
  if (options.macaddrs !== undefined) {
    if (options.mode !== 'source') throw new ValidationError(`${field}.macaddrs`, 'only applies to mode "source"');
    const macs = options.macaddrs.map((m, i) => putBytes(C.IFLA_MACVLAN_MACADDR, parseMac(m, `${field}.macaddrs[${i}]`)));
    puts.push(putU32(C.IFLA_MACVLAN_MACADDR_MODE, C.MACVLAN_MACADDR_SET), putNest(C.IFLA_MACVLAN_MACADDR_DATA, macs));
  }
  return puts;
}
