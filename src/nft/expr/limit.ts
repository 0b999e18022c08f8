/**
 * The `limit` expression: a token bucket; the rule continues while under the rate (or,
 * inverted, while over it). nft: `limit rate 10/second`, `limit rate over 1 mbytes/second`.
 * Debug line: `[ limit rate 10/second burst 5 type packets flags 0x0 ]`.
 * @module
 */
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import { NFTA_LIMIT_BURST, NFTA_LIMIT_FLAGS, NFTA_LIMIT_PAD, NFTA_LIMIT_RATE, NFTA_LIMIT_TYPE, NFTA_LIMIT_UNIT, NFT_LIMIT_F_INV, NFT_LIMIT_PKTS, NFT_LIMIT_PKT_BYTES } from '../constants.js';
import { DecodeError } from '../../errors.js';
import { type ExprCodec, checkEnum, checkUint, enumName, need } from './common.js';

/** enum nft_limit_type by nft's names. */
export const LIMIT_TYPES = { packets: NFT_LIMIT_PKTS, bytes: NFT_LIMIT_PKT_BYTES } as const;

/** At most `rate` packets (or bytes) per `unit` seconds, with `burst` extra. */
export interface Limit {
  kind: 'limit';
  rate: number;
  /** Seconds: 1 second, 60 minute, 3600 hour, 86400 day, 604800 week. */
  unit: number;
  burst: number;
  type: keyof typeof LIMIT_TYPES;
  /** Match when OVER the rate (`limit rate over`). */
  invert?: boolean;
}

function readU64(a: Attributes, type: number, what: string): number {
  const v = need(a.be64(type), what);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`${what} ${v} is too large`, 0);
  return Number(v);
}

export const limit: ExprCodec<Limit> = {
  name: 'limit',
  known: new Set([NFTA_LIMIT_RATE, NFTA_LIMIT_UNIT, NFTA_LIMIT_BURST, NFTA_LIMIT_TYPE, NFTA_LIMIT_FLAGS, NFTA_LIMIT_PAD]),
  encode(w: Writer, e: Limit, field: string) {
    w.attrBe64(NFTA_LIMIT_RATE, BigInt(checkUint(e.rate, `${field}.rate`, Number.MAX_SAFE_INTEGER)));
    w.attrBe64(NFTA_LIMIT_UNIT, BigInt(checkUint(e.unit, `${field}.unit`, Number.MAX_SAFE_INTEGER)));
    w.attrBe32(NFTA_LIMIT_BURST, checkUint(e.burst, `${field}.burst`));
    w.attrBe32(NFTA_LIMIT_TYPE, checkEnum(e.type, LIMIT_TYPES, `${field}.type`));
    w.attrBe32(NFTA_LIMIT_FLAGS, e.invert ? NFT_LIMIT_F_INV : 0);
  },
  decode(a: Attributes): Limit {
    const e: Limit = {
      kind: 'limit',
      rate: readU64(a, NFTA_LIMIT_RATE, 'NFTA_LIMIT_RATE'),
      unit: readU64(a, NFTA_LIMIT_UNIT, 'NFTA_LIMIT_UNIT'),
      burst: a.be32(NFTA_LIMIT_BURST) ?? 0,
      type: enumName(LIMIT_TYPES, a.be32(NFTA_LIMIT_TYPE) ?? NFT_LIMIT_PKTS, 'limit type'),
    };
    const flags = a.be32(NFTA_LIMIT_FLAGS) ?? 0;
    if (flags & ~NFT_LIMIT_F_INV) throw new DecodeError(`unknown limit flags 0x${flags.toString(16)}`, 0);
    if (flags & NFT_LIMIT_F_INV) e.invert = true;
    return e;
  },
};
