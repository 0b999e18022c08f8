/**
 * Layer 2 (rtnetlink): the vxlan link kind (IFLA_VXLAN_*), what `ip link add NAME type
 * vxlan id VNI ...` sends and `ip -d link show` prints. The kernel carries a remote
 * unicast peer and a multicast group in the same attribute (IFLA_VXLAN_GROUP/GROUP6);
 * here they are `remote` and `group`, told apart by the address, as iproute2 does.
 * @module
 */
import { DecodeError, ValidationError } from '../errors.js';
import type { Attributes, UnknownAttribute } from '../netlink/attributes.js';
import {
  type FieldTable,
  type Put,
  decodeFields,
  decodeName,
  ipAttr,
  ipText,
  prepareFields,
  putBytes,
  putU32,
  putU8,
  tableTypes,
} from './attrs.js';
import * as C from './constants.js';
import { isMulticast, parseIp } from './ip.js';
import { checkIndexRef, checkU16, checkInt, type LinkRef } from './validate.js';

/** IFLA_VXLAN_DF: how the outer header's don't-fragment bit is set. */
export type VxlanDf = 'unset' | 'set' | 'inherit';
const VXLAN_DF: Record<VxlanDf, number> = { unset: C.VXLAN_DF_UNSET, set: C.VXLAN_DF_SET, inherit: C.VXLAN_DF_INHERIT };

/** A UDP source port range (struct ifla_vxlan_port_range). */
export interface PortRange {
  low: number;
  high: number;
}

/** Fields that are the same in options and decoded info. */
interface VxlanCommon {
  /** IFLA_VXLAN_ID: the VNI (0 - 16777215). */
  id?: number;
  /** Multicast group to flood to (IFLA_VXLAN_GROUP / GROUP6 with a multicast address). */
  group?: string;
  /** Unicast remote to flood to (IFLA_VXLAN_GROUP / GROUP6 with a unicast address). */
  remote?: string;
  /** IFLA_VXLAN_LOCAL / LOCAL6: source address of the outer header. */
  local?: string;
  /** IFLA_VXLAN_TTL of the outer header (0: the route's hop limit; see also ttlInherit). */
  ttl?: number;
  /** IFLA_VXLAN_TTL_INHERIT. */
  ttlInherit?: boolean;
  /** IFLA_VXLAN_TOS (1 = inherit). */
  tos?: number;
  /** IFLA_VXLAN_DF. */
  df?: VxlanDf;
  /** IFLA_VXLAN_LABEL: IPv6 flow label. */
  label?: number;
  /** IFLA_VXLAN_LEARNING: learn remote MACs into the FDB. */
  learning?: boolean;
  /** IFLA_VXLAN_AGEING: FDB entry lifetime in seconds. */
  ageing?: number;
  /** IFLA_VXLAN_LIMIT: maximum FDB entries (0 = no limit). */
  limit?: number;
  /** IFLA_VXLAN_PORT_RANGE: UDP source ports. */
  portRange?: PortRange;
  /** IFLA_VXLAN_PROXY: ARP/ND proxy. */
  proxy?: boolean;
  /** IFLA_VXLAN_RSC: route short circuit. */
  rsc?: boolean;
  /** IFLA_VXLAN_L2MISS. */
  l2miss?: boolean;
  /** IFLA_VXLAN_L3MISS. */
  l3miss?: boolean;
  /** IFLA_VXLAN_PORT: UDP destination port (4789 is IANA's; the kernel's default is 8472). */
  port?: number;
  /** IFLA_VXLAN_UDP_CSUM. */
  udpCsum?: boolean;
  /** IFLA_VXLAN_UDP_ZERO_CSUM6_TX. */
  udpZeroCsum6Tx?: boolean;
  /** IFLA_VXLAN_UDP_ZERO_CSUM6_RX. */
  udpZeroCsum6Rx?: boolean;
  /** IFLA_VXLAN_REMCSUM_TX. */
  remcsumTx?: boolean;
  /** IFLA_VXLAN_REMCSUM_RX. */
  remcsumRx?: boolean;
  /** IFLA_VXLAN_GBP: group based policy extension. */
  gbp?: boolean;
  /** IFLA_VXLAN_REMCSUM_NOPARTIAL. */
  remcsumNopartial?: boolean;
  /** IFLA_VXLAN_COLLECT_METADATA: external control plane (`external`). */
  collectMetadata?: boolean;
  /** IFLA_VXLAN_GPE: generic protocol extension. */
  gpe?: boolean;
  /** IFLA_VXLAN_VNIFILTER: per-VNI filtering (needs collectMetadata). */
  vnifilter?: boolean;
}

/** Options of a new vxlan link. */
export interface VxlanOptions extends VxlanCommon {
  /** IFLA_VXLAN_LINK: underlying device, by ifindex (Links.add() also takes a name). */
  link?: LinkRef;
}

/** A vxlan link's options as the kernel reports them. */
export interface VxlanInfo extends VxlanCommon {
  /** IFLA_VXLAN_LINK: ifindex of the underlying device. */
  link?: number;
  /** IFLA_VXLAN_* attributes netplumb does not model. */
  unknown: UnknownAttribute[];
}

const VXLAN_FIELDS: FieldTable = [
  ['id', C.IFLA_VXLAN_ID, 'u32'],
  ['link', C.IFLA_VXLAN_LINK, 'u32'],
  ['ttl', C.IFLA_VXLAN_TTL, 'u8'],
  ['ttlInherit', C.IFLA_VXLAN_TTL_INHERIT, 'flag'],
  ['tos', C.IFLA_VXLAN_TOS, 'u8'],
  ['label', C.IFLA_VXLAN_LABEL, 'be32'],
  ['learning', C.IFLA_VXLAN_LEARNING, 'bool'],
  ['ageing', C.IFLA_VXLAN_AGEING, 'u32'],
  ['limit', C.IFLA_VXLAN_LIMIT, 'u32'],
  ['proxy', C.IFLA_VXLAN_PROXY, 'bool'],
  ['rsc', C.IFLA_VXLAN_RSC, 'bool'],
  ['l2miss', C.IFLA_VXLAN_L2MISS, 'bool'],
  ['l3miss', C.IFLA_VXLAN_L3MISS, 'bool'],
  ['port', C.IFLA_VXLAN_PORT, 'be16'],
  ['udpCsum', C.IFLA_VXLAN_UDP_CSUM, 'bool'],
  ['udpZeroCsum6Tx', C.IFLA_VXLAN_UDP_ZERO_CSUM6_TX, 'bool'],
  ['udpZeroCsum6Rx', C.IFLA_VXLAN_UDP_ZERO_CSUM6_RX, 'bool'],
  ['remcsumTx', C.IFLA_VXLAN_REMCSUM_TX, 'bool'],
  ['remcsumRx', C.IFLA_VXLAN_REMCSUM_RX, 'bool'],
  ['gbp', C.IFLA_VXLAN_GBP, 'flag'],
  ['remcsumNopartial', C.IFLA_VXLAN_REMCSUM_NOPARTIAL, 'flag'],
  ['collectMetadata', C.IFLA_VXLAN_COLLECT_METADATA, 'bool'],
  ['gpe', C.IFLA_VXLAN_GPE, 'flag'],
  ['vnifilter', C.IFLA_VXLAN_VNIFILTER, 'bool'],
];

// The fields prepareVxlanData() checks itself (the VNI's 24-bit range, link by reference).
const VXLAN_PLAIN = VXLAN_FIELDS.filter(([k]) => k !== 'id' && k !== 'link');

const VXLAN_KNOWN = new Set([
  ...tableTypes(VXLAN_FIELDS),
  C.IFLA_VXLAN_GROUP,
  C.IFLA_VXLAN_GROUP6,
  C.IFLA_VXLAN_LOCAL,
  C.IFLA_VXLAN_LOCAL6,
  C.IFLA_VXLAN_PORT_RANGE,
  C.IFLA_VXLAN_DF,
]);

/** IFLA_INFO_DATA of a vxlan → {@link VxlanInfo}. */
export function decodeVxlanInfo(attrs: Attributes): VxlanInfo {
  const out: VxlanInfo = { unknown: attrs.unknown(VXLAN_KNOWN) };
  decodeFields(attrs, VXLAN_FIELDS, out);
  const peer = attrs.get(C.IFLA_VXLAN_GROUP) ?? attrs.get(C.IFLA_VXLAN_GROUP6);
  if (peer !== undefined) {
    const text = ipText(peer, C.IFLA_VXLAN_GROUP);
    if (isMulticast({ family: peer.length === 4 ? 4 : 6, bytes: peer })) out.group = text;
    else out.remote = text;
  }
  const local = ipAttr(attrs, C.IFLA_VXLAN_LOCAL) ?? ipAttr(attrs, C.IFLA_VXLAN_LOCAL6);
  if (local !== undefined) out.local = local;
  const range = attrs.get(C.IFLA_VXLAN_PORT_RANGE);
  if (range !== undefined) {
    if (range.length < 4) throw new DecodeError(`IFLA_VXLAN_PORT_RANGE of ${range.length} bytes`, 0);
    out.portRange = { low: range.readUInt16BE(0), high: range.readUInt16BE(2) };
  }
  const df = attrs.u8(C.IFLA_VXLAN_DF);
  if (df !== undefined) out.df = decodeName(VXLAN_DF, df, 'IFLA_VXLAN_DF');
  return out;
}

/** Validated IFLA_INFO_DATA children for a vxlan. */
export function prepareVxlanData(options: VxlanOptions, field: string): Put[] {
  const { link, group, remote, local, portRange, df, id, ...rest } = options;
  const puts: Put[] = [];
  if (id !== undefined) puts.push(putU32(C.IFLA_VXLAN_ID, checkInt(id, `${field}.id`, 0, 0xffffff)));
  if (group !== undefined && remote !== undefined) {
    throw new ValidationError(`${field}.group`, 'give either group (multicast) or remote (unicast), not both');
  }
  if (group !== undefined) {
    const ip = parseIp(group, `${field}.group`);
    if (!isMulticast(ip)) throw new ValidationError(`${field}.group`, `${group} is not a multicast address; use remote`);
    puts.push(putBytes(ip.family === 4 ? C.IFLA_VXLAN_GROUP : C.IFLA_VXLAN_GROUP6, ip.bytes));
  }
  if (remote !== undefined) {
    const ip = parseIp(remote, `${field}.remote`);
    if (isMulticast(ip)) throw new ValidationError(`${field}.remote`, `${remote} is a multicast address; use group`);
    puts.push(putBytes(ip.family === 4 ? C.IFLA_VXLAN_GROUP : C.IFLA_VXLAN_GROUP6, ip.bytes));
  }
  if (local !== undefined) {
    const ip = parseIp(local, `${field}.local`);
    puts.push(putBytes(ip.family === 4 ? C.IFLA_VXLAN_LOCAL : C.IFLA_VXLAN_LOCAL6, ip.bytes));
  }
  if (link !== undefined) puts.push(putU32(C.IFLA_VXLAN_LINK, checkIndexRef(link, `${field}.link`)));
  if (portRange !== undefined) {
    const low = checkU16(portRange.low, `${field}.portRange.low`);
    const high = checkU16(portRange.high, `${field}.portRange.high`);
    if (low > high) throw new ValidationError(`${field}.portRange`, `low ${low} is above high ${high}`);
    const b = Buffer.alloc(4);
    b.writeUInt16BE(low, 0);
    b.writeUInt16BE(high, 2);
    puts.push(putBytes(C.IFLA_VXLAN_PORT_RANGE, b));
  }
  if (df !== undefined) {
    const v = VXLAN_DF[df];
    if (v === undefined) throw new ValidationError(`${field}.df`, `"${String(df)}" is not one of unset, set, inherit`);
    puts.push(putU8(C.IFLA_VXLAN_DF, v));
  }
  puts.push(...prepareFields(VXLAN_PLAIN, rest, field));
  return puts;
}
