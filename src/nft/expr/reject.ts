/**
 * The `reject` expression: drops the packet and answers with an ICMP error or a TCP reset.
 * nft: `reject` (ip: ICMP port unreachable; inet: ICMPX port unreachable), `reject with tcp reset`.
 * Debug line: `[ reject type 0 code 3 ]`.
 * @module
 */
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import { NFTA_REJECT_ICMP_CODE, NFTA_REJECT_TYPE, NFT_REJECT_ICMPX_UNREACH, NFT_REJECT_ICMP_UNREACH, NFT_REJECT_TCP_RST } from '../constants.js';
import { type ExprCodec, checkEnum, checkUint, enumName } from './common.js';

/** enum nft_reject_types by name. */
export const REJECT_TYPES = { 'icmp-unreach': NFT_REJECT_ICMP_UNREACH, 'tcp-rst': NFT_REJECT_TCP_RST, 'icmpx-unreach': NFT_REJECT_ICMPX_UNREACH } as const;

/**
 * Rejects with `type`; `code` is the ICMP code (icmp-unreach, e.g. 3 port unreachable) or
 * enum nft_reject_inet_code (icmpx-unreach, e.g. 1 port unreachable).
 */
export interface Reject {
  kind: 'reject';
  type: keyof typeof REJECT_TYPES;
  code?: number;
}

export const reject: ExprCodec<Reject> = {
  name: 'reject',
  known: new Set([NFTA_REJECT_TYPE, NFTA_REJECT_ICMP_CODE]),
  encode(w: Writer, e: Reject, field: string) {
    w.attrBe32(NFTA_REJECT_TYPE, checkEnum(e.type, REJECT_TYPES, `${field}.type`));
    if (e.code !== undefined) w.attrU8(NFTA_REJECT_ICMP_CODE, checkUint(e.code, `${field}.code`, 255));
  },
  decode(a: Attributes): Reject {
    const e: Reject = { kind: 'reject', type: enumName(REJECT_TYPES, a.be32(NFTA_REJECT_TYPE), 'reject type') };
    const code = a.u8(NFTA_REJECT_ICMP_CODE);
    if (code !== undefined) e.code = code;
    return e;
  },
};
