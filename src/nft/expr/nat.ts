/**
 * The `nat` expression: source or destination NAT to the address (and port) held in
 * registers. nft: `snat to 203.0.113.128`, `dnat to 172.17.0.2:80`,
 * `dnat to meta l4proto . th dport map @ports` (registers filled by a map lookup).
 * Debug line: `[ nat dnat ip addr_min reg 1 proto_min reg 9 ]`.
 * @module
 */
import { DecodeError } from '../../errors.js';
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import * as C from '../constants.js';
import { type ExprCodec, checkEnum, checkFlags, checkReg, enumName, flagNames, need } from './common.js';

/** enum nft_nat_types by name. */
export const NAT_TYPES = { snat: C.NFT_NAT_SNAT, dnat: C.NFT_NAT_DNAT } as const;

/** The address family of a NAT: `ip` or `ip6` (an inet table must say which, as `dnat ip to`). */
export const NAT_FAMILIES = { ip: C.NFPROTO_IPV4, ip6: C.NFPROTO_IPV6 } as const;

/**
 * nf_nat.h NF_NAT_RANGE_* flags by nft's names. NF_NAT_RANGE_MAP_IPS and
 * NF_NAT_RANGE_PROTO_SPECIFIED are implied by address and port registers: the kernel
 * sets them itself, so netplumb leaves them out when decoding (nft sends
 * `proto-specified` with a constant port; sending it is harmless).
 */
export const NAT_FLAGS = {
  'proto-specified': C.NF_NAT_RANGE_PROTO_SPECIFIED,
  random: C.NF_NAT_RANGE_PROTO_RANDOM,
  persistent: C.NF_NAT_RANGE_PERSISTENT,
  'fully-random': C.NF_NAT_RANGE_PROTO_RANDOM_FULLY,
  netmap: C.NF_NAT_RANGE_NETMAP,
} as const;
export type NatFlag = keyof typeof NAT_FLAGS;

/** Rewrites the source (`snat`) or destination (`dnat`) to the address/port range in registers. */
export interface Nat {
  kind: 'nat';
  type: keyof typeof NAT_TYPES;
  family: keyof typeof NAT_FAMILIES;
  addrMin?: number;
  addrMax?: number;
  protoMin?: number;
  protoMax?: number;
  flags?: NatFlag[];
}

/** Reads the NF_NAT_RANGE_* flags of nat, masq and redir, dropping those the registers imply. */
export function readNatFlags(bits: number | undefined, hasAddr: boolean, hasProto: boolean): NatFlag[] | undefined {
  if (bits === undefined) return undefined;
  let rest = bits;
  if (hasAddr) rest &= ~C.NF_NAT_RANGE_MAP_IPS;
  if (hasProto) rest &= ~C.NF_NAT_RANGE_PROTO_SPECIFIED;
  if (rest & C.NF_NAT_RANGE_MAP_IPS) throw new DecodeError('NF_NAT_RANGE_MAP_IPS without an address register', 0);
  return rest === 0 ? undefined : flagNames(NAT_FLAGS, rest, 'nat flags');
}

/** Reads a register pair, leaving out a max equal to the min (the kernel reports both). */
export function readRegPair(a: Attributes, minType: number, maxType: number, e: { [k: string]: unknown }, minKey: string, maxKey: string): void {
  const min = a.be32(minType);
  const max = a.be32(maxType);
  if (min !== undefined) e[minKey] = min;
  if (max !== undefined && max !== min) e[maxKey] = max;
}

export const nat: ExprCodec<Nat> = {
  name: 'nat',
  known: new Set([
    C.NFTA_NAT_TYPE,
    C.NFTA_NAT_FAMILY,
    C.NFTA_NAT_REG_ADDR_MIN,
    C.NFTA_NAT_REG_ADDR_MAX,
    C.NFTA_NAT_REG_PROTO_MIN,
    C.NFTA_NAT_REG_PROTO_MAX,
    C.NFTA_NAT_FLAGS,
  ]),
  encode(w: Writer, e: Nat, field: string) {
    w.attrBe32(C.NFTA_NAT_TYPE, checkEnum(e.type, NAT_TYPES, `${field}.type`));
    w.attrBe32(C.NFTA_NAT_FAMILY, checkEnum(e.family, NAT_FAMILIES, `${field}.family`));
    if (e.addrMin !== undefined) w.attrBe32(C.NFTA_NAT_REG_ADDR_MIN, checkReg(e.addrMin, `${field}.addrMin`));
    if (e.addrMax !== undefined) w.attrBe32(C.NFTA_NAT_REG_ADDR_MAX, checkReg(e.addrMax, `${field}.addrMax`));
    if (e.protoMin !== undefined) w.attrBe32(C.NFTA_NAT_REG_PROTO_MIN, checkReg(e.protoMin, `${field}.protoMin`));
    if (e.protoMax !== undefined) w.attrBe32(C.NFTA_NAT_REG_PROTO_MAX, checkReg(e.protoMax, `${field}.protoMax`));
    if (e.flags !== undefined) w.attrBe32(C.NFTA_NAT_FLAGS, checkFlags(e.flags, NAT_FLAGS, `${field}.flags`));
  },
  decode(a: Attributes): Nat {
    const e: Nat = {
      kind: 'nat',
      type: enumName(NAT_TYPES, a.be32(C.NFTA_NAT_TYPE), 'nat type'),
      family: enumName(NAT_FAMILIES, need(a.be32(C.NFTA_NAT_FAMILY), 'NFTA_NAT_FAMILY'), 'nat family'),
    };
    readRegPair(a, C.NFTA_NAT_REG_ADDR_MIN, C.NFTA_NAT_REG_ADDR_MAX, e as unknown as { [k: string]: unknown }, 'addrMin', 'addrMax');
    readRegPair(a, C.NFTA_NAT_REG_PROTO_MIN, C.NFTA_NAT_REG_PROTO_MAX, e as unknown as { [k: string]: unknown }, 'protoMin', 'protoMax');
    const flags = readNatFlags(a.be32(C.NFTA_NAT_FLAGS), e.addrMin !== undefined, e.protoMin !== undefined);
    if (flags) e.flags = flags;
    return e;
  },
};
