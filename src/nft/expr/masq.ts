/**
 * The `masq` expression: source NAT to the address of the outgoing interface, optionally
 * to a port range held in registers. nft: `masquerade`, `masquerade to :1024-65535 random`.
 * Debug lines: `[ masq ]`, `[ masq proto_min reg 1 proto_max reg 2 flags 0x6 ]`.
 * @module
 */
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import { NFTA_MASQ_FLAGS, NFTA_MASQ_REG_PROTO_MAX, NFTA_MASQ_REG_PROTO_MIN } from '../constants.js';
import { type ExprCodec, checkFlags, checkReg } from './common.js';
import { NAT_FLAGS, type NatFlag, readNatFlags, readRegPair } from './nat.js';

/** Masquerade, to ports in [protoMin, protoMax] when given. */
export interface Masq {
  kind: 'masq';
  flags?: NatFlag[];
  protoMin?: number;
  protoMax?: number;
}

export const masq: ExprCodec<Masq> = {
  name: 'masq',
  known: new Set([NFTA_MASQ_FLAGS, NFTA_MASQ_REG_PROTO_MIN, NFTA_MASQ_REG_PROTO_MAX]),
  encode(w: Writer, e: Masq, field: string) {
    if (e.flags !== undefined) w.attrBe32(NFTA_MASQ_FLAGS, checkFlags(e.flags, NAT_FLAGS, `${field}.flags`));
    if (e.protoMin !== undefined) w.attrBe32(NFTA_MASQ_REG_PROTO_MIN, checkReg(e.protoMin, `${field}.protoMin`));
    if (e.protoMax !== undefined) w.attrBe32(NFTA_MASQ_REG_PROTO_MAX, checkReg(e.protoMax, `${field}.protoMax`));
  },
  decode(a: Attributes): Masq {
    const e: Masq = { kind: 'masq' };
    readRegPair(a, NFTA_MASQ_REG_PROTO_MIN, NFTA_MASQ_REG_PROTO_MAX, e as unknown as { [k: string]: unknown }, 'protoMin', 'protoMax');
    const flags = readNatFlags(a.be32(NFTA_MASQ_FLAGS), false, e.protoMin !== undefined);
    if (flags) e.flags = flags;
    return e;
  },
};
