/**
 * The `cmp` expression: compares a register with constant bytes; the rule stops when the
 * comparison fails. nft: the `==`, `!=`, `<`, `>=` ... of every match.
 * Debug line: `[ cmp eq reg 1 0x000011ac ]`.
 * @module
 */
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import { NFTA_CMP_DATA, NFTA_CMP_OP, NFTA_CMP_SREG, NFT_CMP_EQ, NFT_CMP_GT, NFT_CMP_GTE, NFT_CMP_LT, NFT_CMP_LTE, NFT_CMP_NEQ } from '../constants.js';
import { checkBytes, putValueData, readValueData } from '../data.js';
import { type ExprCodec, checkEnum, checkReg, enumName, need } from './common.js';

/** enum nft_cmp_ops by name. */
export const CMP_OPS = { eq: NFT_CMP_EQ, neq: NFT_CMP_NEQ, lt: NFT_CMP_LT, lte: NFT_CMP_LTE, gt: NFT_CMP_GT, gte: NFT_CMP_GTE } as const;
export type CmpOp = keyof typeof CMP_OPS;

/** Continues the rule only when `sreg` `op` `data` holds (memcmp order: big-endian for numbers). */
export interface Cmp {
  kind: 'cmp';
  op: CmpOp;
  sreg: number;
  data: Uint8Array;
}

export const cmp: ExprCodec<Cmp> = {
  name: 'cmp',
  known: new Set([NFTA_CMP_SREG, NFTA_CMP_OP, NFTA_CMP_DATA]),
  encode(w: Writer, e: Cmp, field: string) {
    w.attrBe32(NFTA_CMP_SREG, checkReg(e.sreg, `${field}.sreg`));
    w.attrBe32(NFTA_CMP_OP, checkEnum(e.op, CMP_OPS, `${field}.op`));
    putValueData(w, NFTA_CMP_DATA, checkBytes(e.data, `${field}.data`));
  },
  decode: (a: Attributes): Cmp => ({
    kind: 'cmp',
    op: enumName(CMP_OPS, a.be32(NFTA_CMP_OP), 'cmp op'),
    sreg: need(a.be32(NFTA_CMP_SREG), 'NFTA_CMP_SREG'),
    data: readValueData(a, NFTA_CMP_DATA),
  }),
};
