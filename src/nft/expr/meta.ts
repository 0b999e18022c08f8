/**
 * The `meta` expression: loads packet metadata (interface names, protocol, mark ...) into
 * a register, or sets it from one. nft: `meta oifname`, `iifname`, `meta l4proto`,
 * `meta mark set 0x2a`.
 * Debug lines: `[ meta load oifname => reg 1 ]`, `[ meta set mark with reg 1 ]`.
 * @module
 */
import { ValidationError } from '../../errors.js';
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import * as C from '../constants.js';
import { type ExprCodec, checkEnum, checkReg, enumName, need } from './common.js';

/** enum nft_meta_keys by nft's names for them. */
export const META_KEYS = {
  length: C.NFT_META_LEN,
  protocol: C.NFT_META_PROTOCOL,
  priority: C.NFT_META_PRIORITY,
  mark: C.NFT_META_MARK,
  iif: C.NFT_META_IIF,
  oif: C.NFT_META_OIF,
  iifname: C.NFT_META_IIFNAME,
  oifname: C.NFT_META_OIFNAME,
  iiftype: C.NFT_META_IFTYPE,
  oiftype: C.NFT_META_OIFTYPE,
  skuid: C.NFT_META_SKUID,
  skgid: C.NFT_META_SKGID,
  nftrace: C.NFT_META_NFTRACE,
  rtclassid: C.NFT_META_RTCLASSID,
  secmark: C.NFT_META_SECMARK,
  nfproto: C.NFT_META_NFPROTO,
  l4proto: C.NFT_META_L4PROTO,
  ibrname: C.NFT_META_BRI_IIFNAME,
  obrname: C.NFT_META_BRI_OIFNAME,
  pkttype: C.NFT_META_PKTTYPE,
  cpu: C.NFT_META_CPU,
  iifgroup: C.NFT_META_IIFGROUP,
  oifgroup: C.NFT_META_OIFGROUP,
  cgroup: C.NFT_META_CGROUP,
  random: C.NFT_META_PRANDOM,
  secpath: C.NFT_META_SECPATH,
  iifkind: C.NFT_META_IIFKIND,
  oifkind: C.NFT_META_OIFKIND,
  ibrpvid: C.NFT_META_BRI_IIFPVID,
  ibrvproto: C.NFT_META_BRI_IIFVPROTO,
  time: C.NFT_META_TIME_NS,
  day: C.NFT_META_TIME_DAY,
  hour: C.NFT_META_TIME_HOUR,
  sdif: C.NFT_META_SDIF,
  sdifname: C.NFT_META_SDIFNAME,
} as const;
export type MetaKey = keyof typeof META_KEYS;

/** Loads metadata `key` into `dreg`, or (with `sreg`) sets it. */
export interface Meta {
  kind: 'meta';
  key: MetaKey;
  dreg?: number;
  sreg?: number;
}

export const meta: ExprCodec<Meta> = {
  name: 'meta',
  known: new Set([C.NFTA_META_DREG, C.NFTA_META_KEY, C.NFTA_META_SREG]),
  encode(w: Writer, e: Meta, field: string) {
    if ((e.dreg === undefined) === (e.sreg === undefined)) throw new ValidationError(field, 'needs exactly one of dreg (load) and sreg (set)');
    w.attrBe32(C.NFTA_META_KEY, checkEnum(e.key, META_KEYS, `${field}.key`));
    if (e.dreg !== undefined) w.attrBe32(C.NFTA_META_DREG, checkReg(e.dreg, `${field}.dreg`));
    if (e.sreg !== undefined) w.attrBe32(C.NFTA_META_SREG, checkReg(e.sreg, `${field}.sreg`));
  },
  decode(a: Attributes): Meta {
    const e: Meta = { kind: 'meta', key: enumName(META_KEYS, a.be32(C.NFTA_META_KEY), 'meta key') };
    const dreg = a.be32(C.NFTA_META_DREG);
    const sreg = a.be32(C.NFTA_META_SREG);
    if (dreg !== undefined) e.dreg = dreg;
    if (sreg !== undefined) e.sreg = sreg;
    need(dreg ?? sreg, 'NFTA_META_DREG or NFTA_META_SREG');
    return e;
  },
};
