/**
 * The `range` expression: is a register within [from, to] (or outside it)? nft uses it for
 * `tcp dport != 1000-2000`; a positive range is written as two cmp (gte, lte) instead.
 * Debug line: `[ range neq reg 1 0x0000e803 0x0000d007 ]`.
 * @module
 */
import { ValidationError } from '../../errors.js';
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import { NFTA_RANGE_FROM_DATA, NFTA_RANGE_OP, NFTA_RANGE_SREG, NFTA_RANGE_TO_DATA, NFT_RANGE_EQ, NFT_RANGE_NEQ } from '../constants.js';
import { checkBytes, putValueData, readValueData } from '../data.js';
import { type ExprCodec, checkEnum, checkReg, enumName, need } from './common.js';

/** enum nft_range_ops by name. */
export const RANGE_OPS = { eq: NFT_RANGE_EQ, neq: NFT_RANGE_NEQ } as const;

/** Continues when `sreg` is within [from, to] (`eq`) or outside it (`neq`). */
export interface Range {
  kind: 'range';
  op: keyof typeof RANGE_OPS;
  sreg: number;
  from: Uint8Array;
  to: Uint8Array;
}

export const range: ExprCodec<Range> = {
  name: 'range',
  known: new Set([NFTA_RANGE_SREG, NFTA_RANGE_OP, NFTA_RANGE_FROM_DATA, NFTA_RANGE_TO_DATA]),
  encode(w: Writer, e: Range, field: string) {
    const from = checkBytes(e.from, `${field}.from`);
    const to = checkBytes(e.to, `${field}.to`);
    if (from.length !== to.length) throw new ValidationError(field, 'from and to must have the same length');
    w.attrBe32(NFTA_RANGE_SREG, checkReg(e.sreg, `${field}.sreg`));
    w.attrBe32(NFTA_RANGE_OP, checkEnum(e.op, RANGE_OPS, `${field}.op`));
    putValueData(w, NFTA_RANGE_FROM_DATA, from);
    putValueData(w, NFTA_RANGE_TO_DATA, to);
  },
  decode: (a: Attributes): Range => ({
    kind: 'range',
    op: enumName(RANGE_OPS, a.be32(NFTA_RANGE_OP), 'range op'),
    sreg: need(a.be32(NFTA_RANGE_SREG), 'NFTA_RANGE_SREG'),
    from: readValueData(a, NFTA_RANGE_FROM_DATA),
    to: readValueData(a, NFTA_RANGE_TO_DATA),
  }),
};
