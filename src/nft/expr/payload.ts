/**
 * The `payload` expression: loads bytes of a packet header into a register, or writes a
 * register into the packet (with checksum fix-up). nft: `ip saddr`, `tcp dport`, `th dport`
 * load; `ip ttl set 1` writes.
 * Debug line: `[ payload load 4b @ network header + 12 => reg 1 ]`.
 * @module
 */
import { ValidationError } from '../../errors.js';
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import {
  NFTA_PAYLOAD_BASE,
  NFTA_PAYLOAD_CSUM_FLAGS,
  NFTA_PAYLOAD_CSUM_OFFSET,
  NFTA_PAYLOAD_CSUM_TYPE,
  NFTA_PAYLOAD_DREG,
  NFTA_PAYLOAD_LEN,
  NFTA_PAYLOAD_OFFSET,
  NFTA_PAYLOAD_SREG,
  NFT_PAYLOAD_CSUM_INET,
  NFT_PAYLOAD_CSUM_NONE,
  NFT_PAYLOAD_CSUM_SCTP,
  NFT_PAYLOAD_INNER_HEADER,
  NFT_PAYLOAD_LL_HEADER,
  NFT_PAYLOAD_NETWORK_HEADER,
  NFT_PAYLOAD_TRANSPORT_HEADER,
} from '../constants.js';
import { type ExprCodec, checkEnum, checkReg, checkUint, enumName, need } from './common.js';

/** enum nft_payload_bases by name: link layer, network (IP) and transport (TCP/UDP) headers. */
export const PAYLOAD_BASES = {
  ll: NFT_PAYLOAD_LL_HEADER,
  network: NFT_PAYLOAD_NETWORK_HEADER,
  transport: NFT_PAYLOAD_TRANSPORT_HEADER,
  inner: NFT_PAYLOAD_INNER_HEADER,
} as const;
export type PayloadBase = keyof typeof PAYLOAD_BASES;

/** enum nft_payload_csum_types by name. */
export const PAYLOAD_CSUM_TYPES = { none: NFT_PAYLOAD_CSUM_NONE, inet: NFT_PAYLOAD_CSUM_INET, sctp: NFT_PAYLOAD_CSUM_SCTP } as const;

/** Loads `len` bytes at `offset` of header `base` into `dreg`, or (with `sreg`) writes them. */
export interface Payload {
  kind: 'payload';
  base: PayloadBase;
  offset: number;
  len: number;
  /** Destination register of a load. */
  dreg?: number;
  /** Source register of a write. */
  sreg?: number;
  /** Checksum to fix after a write. */
  csumType?: keyof typeof PAYLOAD_CSUM_TYPES;
  /** Offset of that checksum in the header. */
  csumOffset?: number;
  /** NFT_PAYLOAD_L4CSUM_PSEUDOHDR when the pseudo-header checksum must be updated too. */
  csumFlags?: number;
}

export const payload: ExprCodec<Payload> = {
  name: 'payload',
  known: new Set([
    NFTA_PAYLOAD_DREG,
    NFTA_PAYLOAD_BASE,
    NFTA_PAYLOAD_OFFSET,
    NFTA_PAYLOAD_LEN,
    NFTA_PAYLOAD_SREG,
    NFTA_PAYLOAD_CSUM_TYPE,
    NFTA_PAYLOAD_CSUM_OFFSET,
    NFTA_PAYLOAD_CSUM_FLAGS,
  ]),
  encode(w: Writer, e: Payload, field: string) {
    if ((e.dreg === undefined) === (e.sreg === undefined)) throw new ValidationError(field, 'needs exactly one of dreg (load) and sreg (write)');
    const base = checkEnum(e.base, PAYLOAD_BASES, `${field}.base`);
    const offset = checkUint(e.offset, `${field}.offset`);
    const len = checkUint(e.len, `${field}.len`, 64);
    if (e.sreg !== undefined) w.attrBe32(NFTA_PAYLOAD_SREG, checkReg(e.sreg, `${field}.sreg`));
    if (e.dreg !== undefined) w.attrBe32(NFTA_PAYLOAD_DREG, checkReg(e.dreg, `${field}.dreg`));
    w.attrBe32(NFTA_PAYLOAD_BASE, base);
    w.attrBe32(NFTA_PAYLOAD_OFFSET, offset);
    w.attrBe32(NFTA_PAYLOAD_LEN, len);
    if (e.csumType !== undefined) w.attrBe32(NFTA_PAYLOAD_CSUM_TYPE, checkEnum(e.csumType, PAYLOAD_CSUM_TYPES, `${field}.csumType`));
    if (e.csumOffset !== undefined) w.attrBe32(NFTA_PAYLOAD_CSUM_OFFSET, checkUint(e.csumOffset, `${field}.csumOffset`));
    if (e.csumFlags !== undefined) w.attrBe32(NFTA_PAYLOAD_CSUM_FLAGS, checkUint(e.csumFlags, `${field}.csumFlags`));
  },
  decode(a: Attributes): Payload {
    const e: Payload = {
      kind: 'payload',
      base: enumName(PAYLOAD_BASES, a.be32(NFTA_PAYLOAD_BASE), 'payload base'),
      offset: need(a.be32(NFTA_PAYLOAD_OFFSET), 'NFTA_PAYLOAD_OFFSET'),
      len: need(a.be32(NFTA_PAYLOAD_LEN), 'NFTA_PAYLOAD_LEN'),
    };
    const dreg = a.be32(NFTA_PAYLOAD_DREG);
    const sreg = a.be32(NFTA_PAYLOAD_SREG);
    if (dreg !== undefined) e.dreg = dreg;
    if (sreg !== undefined) {
      e.sreg = sreg;
      // The kernel reports "no checksum" explicitly on writes; leave it out as nft does.
      const type = a.be32(NFTA_PAYLOAD_CSUM_TYPE) ?? NFT_PAYLOAD_CSUM_NONE;
      const off = a.be32(NFTA_PAYLOAD_CSUM_OFFSET) ?? 0;
      const flags = a.be32(NFTA_PAYLOAD_CSUM_FLAGS) ?? 0;
      if (type !== NFT_PAYLOAD_CSUM_NONE || off !== 0 || flags !== 0) {
        e.csumType = enumName(PAYLOAD_CSUM_TYPES, type, 'checksum type');
        e.csumOffset = off;
        e.csumFlags = flags;
      }
    }
    need(dreg ?? sreg, 'NFTA_PAYLOAD_DREG or NFTA_PAYLOAD_SREG');
    return e;
  },
};
