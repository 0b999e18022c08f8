/**
 * The `notrack` expression: exempts the packet from connection tracking. nft: `notrack`
 * (valid in chains hooked before conntrack, priority raw).
 * Debug line: `[ notrack ]`.
 * @module
 */
import type { ExprCodec } from './common.js';

/** Skips conntrack for this packet. */
export interface Notrack {
  kind: 'notrack';
}

/** libnftnl sends no NFTA_EXPR_DATA for notrack, so there is no encoder. */
export const notrack: ExprCodec<Notrack> = {
  name: 'notrack',
  known: new Set(),
  decode: (): Notrack => ({ kind: 'notrack' }),
};
