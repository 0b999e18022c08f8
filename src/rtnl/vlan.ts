/**
 * Layer 2 (rtnetlink): the 802.1Q/802.1ad vlan link kind (IFLA_VLAN_*), what `ip link add
 * link eth0 name eth0.5 type vlan id 5` sends and `ip -d link` prints.
 * @module
 */
import { ValidationError } from '../errors.js';
import type { Attributes, UnknownAttribute } from '../netlink/attributes.js';
import { type Put, putBe16, putBytes, putNest, putU16, structU32, u32Struct } from './attrs.js';
import * as C from './constants.js';
import { checkBool, checkInt, checkU32 } from './validate.js';

/** One priority mapping (struct ifla_vlan_qos_mapping): skb priority ↔ 802.1p PCP. */
export interface VlanQosMapping {
  from: number;
  to: number;
}

/** The IFLA_VLAN_FLAGS bits, one boolean each. */
export interface VlanFlags {
  /** VLAN_FLAG_REORDER_HDR (on by default). */
  reorderHdr?: boolean;
  /** VLAN_FLAG_GVRP. */
  gvrp?: boolean;
  /** VLAN_FLAG_LOOSE_BINDING. */
  looseBinding?: boolean;
  /** VLAN_FLAG_MVRP. */
  mvrp?: boolean;
  /** VLAN_FLAG_BRIDGE_BINDING. */
  bridgeBinding?: boolean;
}

/** Options of a new vlan link. */
export interface VlanOptions extends VlanFlags {
  /** IFLA_VLAN_ID: 0 - 4094. */
  id: number;
  /** IFLA_VLAN_PROTOCOL: ETH_P_8021Q (0x8100, the default) or ETH_P_8021AD (0x88a8). */
  protocol?: number;
  /** IFLA_VLAN_EGRESS_QOS mappings. */
  egressQos?: VlanQosMapping[];
  /** IFLA_VLAN_INGRESS_QOS mappings. */
  ingressQos?: VlanQosMapping[];
}

/** A vlan link's options as the kernel reports them. */
export interface VlanInfo extends VlanFlags {
  /** IFLA_VLAN_ID. */
  id?: number;
  /** IFLA_VLAN_PROTOCOL. */
  protocol?: number;
  /** IFLA_VLAN_EGRESS_QOS. */
  egressQos?: VlanQosMapping[];
  /** IFLA_VLAN_INGRESS_QOS. */
  ingressQos?: VlanQosMapping[];
  /** IFLA_VLAN_* attributes netplumb does not model. */
  unknown: UnknownAttribute[];
}

const FLAG_BITS: ReadonlyArray<readonly [keyof VlanFlags, number]> = [
  ['reorderHdr', C.VLAN_FLAG_REORDER_HDR],
  ['gvrp', C.VLAN_FLAG_GVRP],
  ['looseBinding', C.VLAN_FLAG_LOOSE_BINDING],
  ['mvrp', C.VLAN_FLAG_MVRP],
  ['bridgeBinding', C.VLAN_FLAG_BRIDGE_BINDING],
];
const VLAN_KNOWN = new Set([C.IFLA_VLAN_ID, C.IFLA_VLAN_FLAGS, C.IFLA_VLAN_EGRESS_QOS, C.IFLA_VLAN_INGRESS_QOS, C.IFLA_VLAN_PROTOCOL]);

function decodeQos(attrs: Attributes, type: number): VlanQosMapping[] | undefined {
  const nest = attrs.nested(type);
  if (!nest) return undefined;
  return nest.all(C.IFLA_VLAN_QOS_MAPPING).map((a) => {
    return { from: structU32(a.data, 0, 'IFLA_VLAN_QOS_MAPPING'), to: structU32(a.data, 4, 'IFLA_VLAN_QOS_MAPPING') };
  });
}

/** IFLA_INFO_DATA of a vlan → {@link VlanInfo}. */
export function decodeVlanInfo(attrs: Attributes): VlanInfo {
  const out: VlanInfo = { unknown: attrs.unknown(VLAN_KNOWN) };
  const id = attrs.u16(C.IFLA_VLAN_ID);
  if (id !== undefined) out.id = id;
  const protocol = attrs.be16(C.IFLA_VLAN_PROTOCOL);
  if (protocol !== undefined) out.protocol = protocol;
  const flags = attrs.get(C.IFLA_VLAN_FLAGS);
  if (flags !== undefined) {
    const bits = structU32(flags, 0, 'IFLA_VLAN_FLAGS');
    for (const [key, bit] of FLAG_BITS) out[key] = (bits & bit) !== 0;
  }
  const egress = decodeQos(attrs, C.IFLA_VLAN_EGRESS_QOS);
  if (egress) out.egressQos = egress;
  const ingress = decodeQos(attrs, C.IFLA_VLAN_INGRESS_QOS);
  if (ingress) out.ingressQos = ingress;
  return out;
}

function prepareQos(list: VlanQosMapping[], type: number, field: string): Put {
  if (!Array.isArray(list)) throw new ValidationError(field, 'must be an array of { from, to }');
  return putNest(
    type,
    list.map((m, i) =>
      putBytes(C.IFLA_VLAN_QOS_MAPPING, u32Struct([checkU32(m.from, `${field}[${i}].from`), checkU32(m.to, `${field}[${i}].to`)])),
    ),
  );
}

/**
 * Validated IFLA_INFO_DATA children for a vlan, in the order iproute2 sends them (so a
 * request compares byte for byte with `ip link add ... type vlan`).
 */
export function prepareVlanData(options: VlanOptions, field: string): Put[] {
  const puts: Put[] = [putU16(C.IFLA_VLAN_ID, checkInt(options.id, `${field}.id`, 0, 4094))];
  if (options.protocol !== undefined) {
    const p = options.protocol;
    if (p !== C.ETH_P_8021Q && p !== C.ETH_P_8021AD) throw new ValidationError(`${field}.protocol`, `${String(p)} is neither ETH_P_8021Q (0x8100) nor ETH_P_8021AD (0x88a8)`);
    puts.push(putBe16(C.IFLA_VLAN_PROTOCOL, p));
  }
  let flags = 0;
  let mask = 0;
  for (const [key, bit] of FLAG_BITS) {
    const v = options[key];
    if (v === undefined) continue;
    mask |= bit;
    if (checkBool(v, `${field}.${key}`)) flags |= bit;
  }
  if (mask !== 0) puts.push(putBytes(C.IFLA_VLAN_FLAGS, u32Struct([flags, mask])));
  if (options.egressQos !== undefined) puts.push(prepareQos(options.egressQos, C.IFLA_VLAN_EGRESS_QOS, `${field}.egressQos`));
  if (options.ingressQos !== undefined) puts.push(prepareQos(options.ingressQos, C.IFLA_VLAN_INGRESS_QOS, `${field}.ingressQos`));
  return puts;
}
