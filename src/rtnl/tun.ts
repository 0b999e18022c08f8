/**
 * Layer 2 (rtnetlink): what the kernel reports about tun/tap devices (IFLA_TUN_*, `ip -d
 * link` prints it). Read-only: the kernel refuses to create tun/tap devices over
 * rtnetlink ("tun/tap creation via rtnetlink is not supported"); they are made with the
 * TUNSETIFF ioctl on /dev/net/tun.
 * @module
 */
import type { Attributes, UnknownAttribute } from '../netlink/attributes.js';
import { type FieldTable, decodeFields, decodeName, tableTypes } from './attrs.js';
import * as C from './constants.js';

/** A tun/tap device's settings as the kernel reports them. */
export interface TunInfo {
  /** IFLA_TUN_TYPE: IFF_TUN (layer 3) or IFF_TAP (layer 2). */
  type?: 'tun' | 'tap';
  /** IFLA_TUN_OWNER: uid allowed to attach (absent: anyone with CAP_NET_ADMIN). */
  owner?: number;
  /** IFLA_TUN_GROUP: gid allowed to attach. */
  group?: number;
  /** IFLA_TUN_PI: packets carry struct tun_pi (no IFF_NO_PI). */
  pi?: boolean;
  /** IFLA_TUN_VNET_HDR. */
  vnetHdr?: boolean;
  /** IFLA_TUN_PERSIST: the device outlives the fd that made it. */
  persist?: boolean;
  /** IFLA_TUN_MULTI_QUEUE. */
  multiQueue?: boolean;
  /** IFLA_TUN_NUM_QUEUES. */
  numQueues?: number;
  /** IFLA_TUN_NUM_DISABLED_QUEUES. */
  numDisabledQueues?: number;
  /** IFLA_TUN_* attributes netplumb does not model. */
  unknown: UnknownAttribute[];
}

const TUN_FIELDS: FieldTable = [
  ['owner', C.IFLA_TUN_OWNER, 'u32'],
  ['group', C.IFLA_TUN_GROUP, 'u32'],
  ['pi', C.IFLA_TUN_PI, 'bool'],
  ['vnetHdr', C.IFLA_TUN_VNET_HDR, 'bool'],
  ['persist', C.IFLA_TUN_PERSIST, 'bool'],
  ['multiQueue', C.IFLA_TUN_MULTI_QUEUE, 'bool'],
  ['numQueues', C.IFLA_TUN_NUM_QUEUES, 'u32'],
  ['numDisabledQueues', C.IFLA_TUN_NUM_DISABLED_QUEUES, 'u32'],
];
const TUN_KNOWN = new Set([...tableTypes(TUN_FIELDS), C.IFLA_TUN_TYPE]);
const TUN_TYPE = { tun: C.IFF_TUN, tap: C.IFF_TAP };

/** IFLA_INFO_DATA of a tun/tap → {@link TunInfo}. */
export function decodeTunInfo(attrs: Attributes): TunInfo {
  const out: TunInfo = { unknown: attrs.unknown(TUN_KNOWN) };
  decodeFields(attrs, TUN_FIELDS, out);
  const type = attrs.u8(C.IFLA_TUN_TYPE);
  if (type !== undefined) out.type = decodeName(TUN_TYPE, type, 'IFLA_TUN_TYPE');
  return out;
}
