/**
 * The `immediate` expression: loads a constant into a register — a verdict into register 0
 * (`accept`, `drop`, `jump CHAIN` ...) or data for a later expression (a NAT address).
 * Debug lines: `[ immediate reg 0 jump -> docker ]`, `[ immediate reg 1 0x020011ac ]`.
 * @module
 */
import { ValidationError } from '../../errors.js';
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import { NFTA_DATA_VERDICT, NFTA_IMMEDIATE_DATA, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT } from '../constants.js';
import { type Verdict, checkBytes, checkVerdict, putValueData, putVerdictData, readValueData, readVerdict } from '../data.js';
import { type ExprCodec, checkReg, need } from './common.js';

/** Loads `verdict` (into register 0) or `data` (into `dreg`). */
export interface Immediate {
  kind: 'immediate';
  dreg: number;
  verdict?: Verdict;
  data?: Uint8Array;
}

export const immediate: ExprCodec<Immediate> = {
  name: 'immediate',
  known: new Set([NFTA_IMMEDIATE_DREG, NFTA_IMMEDIATE_DATA]),
  encode(w: Writer, e: Immediate, field: string) {
    if ((e.verdict === undefined) === (e.data === undefined)) throw new ValidationError(field, 'needs exactly one of verdict and data');
    if (e.verdict !== undefined) {
      if (e.dreg !== NFT_REG_VERDICT) throw new ValidationError(`${field}.dreg`, 'a verdict goes to register 0');
      const v = checkVerdict(e.verdict, `${field}.verdict`);
      w.attrBe32(NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
      putVerdictData(w, NFTA_IMMEDIATE_DATA, v);
    } else {
      w.attrBe32(NFTA_IMMEDIATE_DREG, checkReg(e.dreg, `${field}.dreg`));
      putValueData(w, NFTA_IMMEDIATE_DATA, checkBytes(e.data, `${field}.data`));
    }
  },
  decode(a: Attributes): Immediate {
    const dreg = need(a.be32(NFTA_IMMEDIATE_DREG), 'NFTA_IMMEDIATE_DREG');
    const data = need(a.nested(NFTA_IMMEDIATE_DATA), 'NFTA_IMMEDIATE_DATA');
    if (data.has(NFTA_DATA_VERDICT)) return { kind: 'immediate', dreg, verdict: readVerdict(data) };
    return { kind: 'immediate', dreg, data: readValueData(a, NFTA_IMMEDIATE_DATA) };
  },
};
