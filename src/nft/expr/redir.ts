/**
 * The `redir` expression: destination NAT to the local host, to a port held in a
 * register. nft: `redirect to :80`.
 * Debug line: `[ redir proto_min reg 1 flags 0x2 ]`.
 * @module
 */
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import { NFTA_REDIR_FLAGS, NFTA_REDIR_REG_PROTO_MAX, NFTA_REDIR_REG_PROTO_MIN } from '../constants.js';
import { type ExprCodec, checkFlags, checkReg } from './common.js';
import { NAT_FLAGS, type NatFlag, readNatFlags, readRegPair } from './nat.js';

/** Redirect to this host, to ports in [protoMin, protoMax] when given. */
export interface Redir {
  kind: 'redir';
  flags?: NatFlag[];
  protoMin?: number;
  protoMax?: number;
}

export const redir: ExprCodec<Redir> = {
  name: 'redir',
  known: new Set([NFTA_REDIR_FLAGS, NFTA_REDIR_REG_PROTO_MIN, NFTA_REDIR_REG_PROTO_MAX]),
  encode(w: Writer, e: Redir, field: string) {
    if (e.protoMin !== undefined) w.attrBe32(NFTA_REDIR_REG_PROTO_MIN, checkReg(e.protoMin, `${field}.protoMin`));
    if (e.protoMax !== undefined) w.attrBe32(NFTA_REDIR_REG_PROTO_MAX, checkReg(e.protoMax, `${field}.protoMax`));
    if (e.flags !== undefined) w.attrBe32(NFTA_REDIR_FLAGS, checkFlags(e.flags, NAT_FLAGS, `${field}.flags`));
  },
  decode(a: Attributes): Redir {
    const e: Redir = { kind: 'redir' };
    readRegPair(a, NFTA_REDIR_REG_PROTO_MIN, NFTA_REDIR_REG_PROTO_MAX, e as unknown as { [k: string]: unknown }, 'protoMin', 'protoMax');
    const flags = readNatFlags(a.be32(NFTA_REDIR_FLAGS), false, e.protoMin !== undefined);
    if (flags) e.flags = flags;
    return e;
  },
};
