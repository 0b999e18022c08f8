/**
 * Layer 2 (rtnetlink): the ipvlan and ipvtap link kinds (IFLA_IPVLAN_*), what `ip link add
 * link eth0 name ipv0 type ipvlan mode l3` sends and `ip -d link` prints.
 * @module
 */
import { ValidationError } from '../errors.js';
import type { Attributes, UnknownAttribute } from '../netlink/attributes.js';
import { type Put, decodeName, putU16 } from './attrs.js';
import * as C from './constants.js';
import { checkU16 } from './validate.js';

/** IFLA_IPVLAN_MODE (enum ipvlan_mode). */
export type IpvlanMode = 'l2' | 'l3' | 'l3s';
const IPVLAN_MODE: Record<IpvlanMode, number> = { l2: C.IPVLAN_MODE_L2, l3: C.IPVLAN_MODE_L3, l3s: C.IPVLAN_MODE_L3S };

/** Options of a new ipvlan/ipvtap link. */
export interface IpvlanOptions {
  /** IFLA_IPVLAN_MODE; the kernel's default is l3. */
  mode?: IpvlanMode;
  /** IFLA_IPVLAN_FLAGS: 0 (bridge), IPVLAN_F_PRIVATE or IPVLAN_F_VEPA. */
  flags?: number;
}

/** An ipvlan/ipvtap link's options as the kernel reports them. */
export interface IpvlanInfo extends IpvlanOptions {
  /** IFLA_IPVLAN_* attributes netplumb does not model. */
  unknown: UnknownAttribute[];
}

const IPVLAN_KNOWN = new Set([C.IFLA_IPVLAN_MODE, C.IFLA_IPVLAN_FLAGS]);

/** IFLA_INFO_DATA of an ipvlan/ipvtap → {@link IpvlanInfo}. */
export function decodeIpvlanInfo(attrs: Attributes): IpvlanInfo {
  const out: IpvlanInfo = { unknown: attrs.unknown(IPVLAN_KNOWN) };
  const mode = attrs.u16(C.IFLA_IPVLAN_MODE);
  if (mode !== undefined) out.mode = decodeName(IPVLAN_MODE, mode, 'IFLA_IPVLAN_MODE');
  const flags = attrs.u16(C.IFLA_IPVLAN_FLAGS);
  if (flags !== undefined) out.flags = flags;
  return out;
}

/** Validated IFLA_INFO_DATA children for an ipvlan/ipvtap. */
export function prepareIpvlanData(options: IpvlanOptions, field: string): Put[] {
  const puts: Put[] = [];
  if (options.mode !== undefined) {
    const v = IPVLAN_MODE[options.mode];
    if (v === undefined) throw new ValidationError(`${field}.mode`, `"${String(options.mode)}" is not one of l2, l3, l3s`);
    puts.push(putU16(C.IFLA_IPVLAN_MODE, v));
  }
  if (options.flags !== undefined) puts.push(putU16(C.IFLA_IPVLAN_FLAGS, checkU16(options.flags, `${field}.flags`)));
  return puts;
}
