/**
 * The `ct` expression: loads conntrack state of the packet's connection (state, mark,
 * original addresses ...) into a register, or sets a writable key from one. nft:
 * `ct state established,related`, `ct mark 0x1`, `ct original ip saddr`, `ct mark set 1`.
 * Debug lines: `[ ct load state => reg 1 ]`, `[ ct load src_ip => reg 1 , dir original ]`.
 * @module
 */
import { ValidationError } from '../../errors.js';
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import * as C from '../constants.js';
import { type ExprCodec, checkEnum, checkReg, enumName, need } from './common.js';

/** enum nft_ct_keys by nft's names. */
export const CT_KEYS = {
  state: C.NFT_CT_STATE,
  direction: C.NFT_CT_DIRECTION,
  status: C.NFT_CT_STATUS,
  mark: C.NFT_CT_MARK,
  secmark: C.NFT_CT_SECMARK,
  expiration: C.NFT_CT_EXPIRATION,
  helper: C.NFT_CT_HELPER,
  l3proto: C.NFT_CT_L3PROTOCOL,
  saddr: C.NFT_CT_SRC,
  daddr: C.NFT_CT_DST,
  protocol: C.NFT_CT_PROTOCOL,
  'proto-src': C.NFT_CT_PROTO_SRC,
  'proto-dst': C.NFT_CT_PROTO_DST,
  label: C.NFT_CT_LABELS,
  packets: C.NFT_CT_PKTS,
  bytes: C.NFT_CT_BYTES,
  avgpkt: C.NFT_CT_AVGPKT,
  zone: C.NFT_CT_ZONE,
  event: C.NFT_CT_EVENTMASK,
  'ip saddr': C.NFT_CT_SRC_IP,
  'ip daddr': C.NFT_CT_DST_IP,
  'ip6 saddr': C.NFT_CT_SRC_IP6,
  'ip6 daddr': C.NFT_CT_DST_IP6,
  id: C.NFT_CT_ID,
} as const;
export type CtKey = keyof typeof CT_KEYS;

/** enum ip_conntrack_dir: IP_CT_DIR_ORIGINAL 0, IP_CT_DIR_REPLY 1. */
export const CT_DIRECTIONS = { original: 0, reply: 1 } as const;

/** Loads conntrack `key` (of `direction`, for per-direction keys) into `dreg`, or sets it from `sreg`. */
export interface Ct {
  kind: 'ct';
  key: CtKey;
  dreg?: number;
  sreg?: number;
  direction?: keyof typeof CT_DIRECTIONS;
}

export const ct: ExprCodec<Ct> = {
  name: 'ct',
  known: new Set([C.NFTA_CT_DREG, C.NFTA_CT_KEY, C.NFTA_CT_DIRECTION, C.NFTA_CT_SREG]),
  encode(w: Writer, e: Ct, field: string) {
    if ((e.dreg === undefined) === (e.sreg === undefined)) throw new ValidationError(field, 'needs exactly one of dreg (load) and sreg (set)');
    w.attrBe32(C.NFTA_CT_KEY, checkEnum(e.key, CT_KEYS, `${field}.key`));
    if (e.dreg !== undefined) w.attrBe32(C.NFTA_CT_DREG, checkReg(e.dreg, `${field}.dreg`));
    if (e.sreg !== undefined) w.attrBe32(C.NFTA_CT_SREG, checkReg(e.sreg, `${field}.sreg`));
    if (e.direction !== undefined) w.attrU8(C.NFTA_CT_DIRECTION, checkEnum(e.direction, CT_DIRECTIONS, `${field}.direction`));
  },
  decode(a: Attributes): Ct {
    const e: Ct = { kind: 'ct', key: enumName(CT_KEYS, a.be32(C.NFTA_CT_KEY), 'ct key') };
    const dreg = a.be32(C.NFTA_CT_DREG);
    const sreg = a.be32(C.NFTA_CT_SREG);
    if (dreg !== undefined) e.dreg = dreg;
    if (sreg !== undefined) e.sreg = sreg;
    need(dreg ?? sreg, 'NFTA_CT_DREG or NFTA_CT_SREG');
    const dir = a.u8(C.NFTA_CT_DIRECTION);
    if (dir !== undefined) e.direction = enumName(CT_DIRECTIONS, dir, 'ct direction');
    return e;
  },
};
