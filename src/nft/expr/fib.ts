/**
 * The `fib` expression: looks the packet up in the routing table and loads the output
 * interface or the address type. nft: `fib daddr type local` (Docker's "addrtype
 * dst-type LOCAL"), `fib saddr . iif oif missing`.
 * Debug line: `[ fib daddr type => reg 1 ]`.
 * @module
 */
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import * as C from '../constants.js';
import { type ExprCodec, checkEnum, checkFlags, checkReg, enumName, flagNames, need } from './common.js';

/** enum nft_fib_result by nft's names. */
export const FIB_RESULTS = { oif: C.NFT_FIB_RESULT_OIF, oifname: C.NFT_FIB_RESULT_OIFNAME, type: C.NFT_FIB_RESULT_ADDRTYPE } as const;

/** enum nft_fib_flags by nft's names (`present` is what `missing`/`exists` test). */
export const FIB_FLAGS = {
  saddr: C.NFTA_FIB_F_SADDR,
  daddr: C.NFTA_FIB_F_DADDR,
  mark: C.NFTA_FIB_F_MARK,
  iif: C.NFTA_FIB_F_IIF,
  oif: C.NFTA_FIB_F_OIF,
  present: C.NFTA_FIB_F_PRESENT,
} as const;
export type FibFlag = keyof typeof FIB_FLAGS;

/** Route lookup keyed by `flags`, loading `result` into `dreg`. */
export interface Fib {
  kind: 'fib';
  result: keyof typeof FIB_RESULTS;
  flags: FibFlag[];
  dreg: number;
}

export const fib: ExprCodec<Fib> = {
  name: 'fib',
  known: new Set([C.NFTA_FIB_DREG, C.NFTA_FIB_RESULT, C.NFTA_FIB_FLAGS]),
  encode(w: Writer, e: Fib, field: string) {
    w.attrBe32(C.NFTA_FIB_FLAGS, checkFlags(e.flags, FIB_FLAGS, `${field}.flags`));
    w.attrBe32(C.NFTA_FIB_RESULT, checkEnum(e.result, FIB_RESULTS, `${field}.result`));
    w.attrBe32(C.NFTA_FIB_DREG, checkReg(e.dreg, `${field}.dreg`));
  },
  decode: (a: Attributes): Fib => ({
    kind: 'fib',
    result: enumName(FIB_RESULTS, a.be32(C.NFTA_FIB_RESULT), 'fib result'),
    flags: flagNames(FIB_FLAGS, a.be32(C.NFTA_FIB_FLAGS) ?? 0, 'fib flags'),
    dreg: need(a.be32(C.NFTA_FIB_DREG), 'NFTA_FIB_DREG'),
  }),
};

/** RTN_* address types as `fib ... type` compares them (rtnetlink.h), by nft's names. */
export const FIB_ADDR_TYPES = {
  unspec: 0,
  unicast: 1,
  local: 2,
  broadcast: 3,
  anycast: 4,
  multicast: 5,
  blackhole: 6,
  unreachable: 7,
  prohibit: 8,
} as const;
export type FibAddrType = keyof typeof FIB_ADDR_TYPES;
