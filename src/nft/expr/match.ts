/**
 * `match`: an x_tables match (`-m comment`, `-m conntrack` ...) that iptables-nft puts
 * into a rule and the kernel's nft_compat runs; `nft list` prints it as `xt match "NAME"`.
 * iptables-nft 1.8.9: `[ match name comment rev 0 ]`.
 * @module
 */
import { ValidationError } from '../../errors.js';
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import { NFTA_MATCH_INFO, NFTA_MATCH_NAME, NFTA_MATCH_REV } from '../constants.js';
import { type ExprCodec, checkUint, need } from './common.js';

/** An x_tables match: its name, revision and the bytes of its `struct xt_*_info`. */
export interface Match {
  kind: 'match';
  /** The xt extension, e.g. `comment` (XT_EXTENSION_MAXNAMELEN 29 bytes with NUL). */
  name: string;
  /** Its revision, e.g. 0. */
  rev: number;
  /** The match's info struct as the kernel module reads it (e.g. `struct xt_comment_info`). */
  info: Uint8Array;
}

/** XT_EXTENSION_MAXNAMELEN, NUL included. */
const XT_EXTENSION_MAXNAMELEN = 29;

export const match: ExprCodec<Match> = {
  name: 'match',
  known: new Set([NFTA_MATCH_NAME, NFTA_MATCH_REV, NFTA_MATCH_INFO]),
  encode(w: Writer, e: Match, field: string) {
    if (typeof e.name !== 'string' || e.name.length === 0 || Buffer.byteLength(e.name) >= XT_EXTENSION_MAXNAMELEN) {
      throw new ValidationError(`${field}.name`, `must be an x_tables extension name of 1-${XT_EXTENSION_MAXNAMELEN - 1} bytes`);
    }
    if (!(e.info instanceof Uint8Array)) throw new ValidationError(`${field}.info`, 'must be a Uint8Array');
    w.attrString(NFTA_MATCH_NAME, e.name);
    w.attrBe32(NFTA_MATCH_REV, checkUint(e.rev, `${field}.rev`));
    w.attrBytes(NFTA_MATCH_INFO, e.info);
  },
  decode: (a: Attributes): Match => ({
    kind: 'match',
    name: need(a.string(NFTA_MATCH_NAME), 'NFTA_MATCH_NAME'),
    rev: need(a.be32(NFTA_MATCH_REV), 'NFTA_MATCH_REV'),
    info: Uint8Array.from(need(a.get(NFTA_MATCH_INFO), 'NFTA_MATCH_INFO')),
  }),
};
