/**
 * The `bitwise` expression: `dreg = (sreg & mask) ^ xor`. nft uses it for prefixes that
 * do not end on a byte (`ip saddr 10.1.2.0/23`) and flag tests (`ct state established,related`).
 * Debug line: `[ bitwise reg 1 = ( reg 1 & 0x00feffff ) ^ 0x00000000 ]`.
 * Shift operations (NFT_BITWISE_LSHIFT/RSHIFT) decode as raw.
 * @module
 */
import { DecodeError, ValidationError } from '../../errors.js';
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import { NFTA_BITWISE_DATA, NFTA_BITWISE_DREG, NFTA_BITWISE_LEN, NFTA_BITWISE_MASK, NFTA_BITWISE_OP, NFTA_BITWISE_SREG, NFTA_BITWISE_XOR, NFT_BITWISE_MASK_XOR } from '../constants.js';
import { checkBytes, putValueData, readValueData } from '../data.js';
import { type ExprCodec, checkReg, need } from './common.js';

/** `dreg = (sreg & mask) ^ xor` over `len` bytes (mask and xor are `len` bytes long). */
export interface Bitwise {
  kind: 'bitwise';
  sreg: number;
  dreg: number;
  len: number;
  mask: Uint8Array;
  xor: Uint8Array;
}

export const bitwise: ExprCodec<Bitwise> = {
  name: 'bitwise',
  known: new Set([NFTA_BITWISE_SREG, NFTA_BITWISE_DREG, NFTA_BITWISE_LEN, NFTA_BITWISE_MASK, NFTA_BITWISE_XOR, NFTA_BITWISE_OP]),
  encode(w: Writer, e: Bitwise, field: string) {
    const mask = checkBytes(e.mask, `${field}.mask`);
    const xor = checkBytes(e.xor, `${field}.xor`);
    if (e.len !== mask.length || e.len !== xor.length) throw new ValidationError(field, `len ${e.len} must equal the lengths of mask (${mask.length}) and xor (${xor.length})`);
    w.attrBe32(NFTA_BITWISE_SREG, checkReg(e.sreg, `${field}.sreg`));
    w.attrBe32(NFTA_BITWISE_DREG, checkReg(e.dreg, `${field}.dreg`));
    w.attrBe32(NFTA_BITWISE_LEN, e.len);
    putValueData(w, NFTA_BITWISE_MASK, mask);
    putValueData(w, NFTA_BITWISE_XOR, xor);
  },
  decode(a: Attributes): Bitwise {
    const op = a.be32(NFTA_BITWISE_OP) ?? NFT_BITWISE_MASK_XOR;
    if (op !== NFT_BITWISE_MASK_XOR || a.has(NFTA_BITWISE_DATA)) throw new DecodeError(`bitwise op ${op} is not mask-and-xor`, 0);
    return {
      kind: 'bitwise',
      sreg: need(a.be32(NFTA_BITWISE_SREG), 'NFTA_BITWISE_SREG'),
      dreg: need(a.be32(NFTA_BITWISE_DREG), 'NFTA_BITWISE_DREG'),
      len: need(a.be32(NFTA_BITWISE_LEN), 'NFTA_BITWISE_LEN'),
      mask: readValueData(a, NFTA_BITWISE_MASK),
      xor: readValueData(a, NFTA_BITWISE_XOR),
    };
  },
};
