/**
 * Layer 2 (nftables): user data, the opaque bytes the kernel stores with tables, chains,
 * rules, sets and elements for userspace. nft (through libnftnl) writes TLVs there —
 * `u8 type, u8 len, value` with no padding — holding comments and, for sets, how to
 * print keys. netplumb writes exactly what nft writes so `nft list ruleset` shows our
 * comments and prints our set keys as `tcp . 8080`. The type numbers are libnftnl's
 * (include/libnftnl/udata.h), not the kernel's.
 * @module
 */
import { DecodeError, ValidationError } from '../errors.js';
import { HOST_LE } from '../netlink/writer.js';
import { NFT_USERDATA_MAXLEN } from './constants.js';

/** enum nftnl_udata_table_types / nftnl_udata_chain_types / nftnl_udata_rule_types. */
export const NFTNL_UDATA_TABLE_COMMENT = 0;
export const NFTNL_UDATA_CHAIN_COMMENT = 0;
export const NFTNL_UDATA_RULE_COMMENT = 0;

/** enum nftnl_udata_set_types. */
export const NFTNL_UDATA_SET_KEYBYTEORDER = 0;
export const NFTNL_UDATA_SET_DATABYTEORDER = 1;
export const NFTNL_UDATA_SET_MERGE_ELEMENTS = 2;
export const NFTNL_UDATA_SET_KEY_TYPEOF = 3;
export const NFTNL_UDATA_SET_DATA_TYPEOF = 4;
export const NFTNL_UDATA_SET_EXPR = 5;
export const NFTNL_UDATA_SET_DATA_INTERVAL = 6;
export const NFTNL_UDATA_SET_COMMENT = 7;

/** Inside NFTNL_UDATA_SET_KEY_TYPEOF / DATA_TYPEOF. */
export const NFTNL_UDATA_SET_TYPEOF_EXPR = 0;
export const NFTNL_UDATA_SET_TYPEOF_DATA = 1;

/** enum nftnl_udata_set_elem_types and nftnl_udata_set_elem_flags. */
export const NFTNL_UDATA_SET_ELEM_COMMENT = 0;
export const NFTNL_UDATA_SET_ELEM_FLAGS = 1;
export const NFTNL_SET_ELEM_F_INTERVAL_OPEN = 0x1;

/** One user-data TLV. */
export interface UdataTlv {
  type: number;
  value: Uint8Array;
}

/** Builds a user-data buffer out of TLVs; ValidationError past NFT_USERDATA_MAXLEN. */
export function buildUdata(tlvs: readonly UdataTlv[], field: string): Uint8Array {
  let size = 0;
  for (const t of tlvs) {
    if (t.value.length > 255) throw new ValidationError(field, `user data item of ${t.value.length} bytes exceeds 255`);
    size += 2 + t.value.length;
  }
  if (size > NFT_USERDATA_MAXLEN) throw new ValidationError(field, `user data of ${size} bytes exceeds ${NFT_USERDATA_MAXLEN}`);
  const out = new Uint8Array(size);
  let off = 0;
  for (const t of tlvs) {
    out[off] = t.type;
    out[off + 1] = t.value.length;
    out.set(t.value, off + 2);
    off += 2 + t.value.length;
  }
  return out;
}

/** Splits user data into TLVs; DecodeError when a TLV runs past the end. */
export function parseUdata(data: Uint8Array): UdataTlv[] {
  const out: UdataTlv[] = [];
  let off = 0;
  while (off < data.length) {
    if (off + 2 > data.length) throw new DecodeError('truncated user data TLV', off);
    const len = data[off + 1] as number;
    if (off + 2 + len > data.length) throw new DecodeError(`user data TLV claims ${len} bytes`, off);
    out.push({ type: data[off] as number, value: data.subarray(off + 2, off + 2 + len) });
    off += 2 + len;
  }
  return out;
}

/** A NUL-terminated string value, as nft stores comments. */
export function udataString(s: string): Uint8Array {
  return Buffer.from(`${s}\0`, 'utf8');
}

/** A u32 value in host byte order, as libnftnl's nftnl_udata_put_u32 writes it. */
export function udataU32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, HOST_LE);
  return b;
}

/** Reads a string value, dropping the NUL terminator. */
export function readUdataString(v: Uint8Array): string {
  const nul = v.indexOf(0);
  return Buffer.from(v.buffer, v.byteOffset, nul === -1 ? v.length : nul).toString('utf8');
}

/** Reads a u32 value; undefined when it is not 4 bytes long. */
export function readUdataU32(v: Uint8Array): number | undefined {
  return v.length === 4 ? new DataView(v.buffer, v.byteOffset, 4).getUint32(0, HOST_LE) : undefined;
}

/** User data holding only a comment (tables, chains, rules, elements). */
export function commentUdata(type: number, comment: string, field: string): Uint8Array {
  if (typeof comment !== 'string') throw new ValidationError(field, 'must be a string');
  return buildUdata([{ type, value: udataString(comment) }], field);
}

/** The comment in user data, if any; undefined for user data that is not TLVs. */
export function readComment(data: Uint8Array | undefined, type: number): string | undefined {
  if (!data) return undefined;
  try {
    const t = parseUdata(data).find((x) => x.type === type);
    return t && readUdataString(t.value);
  } catch {
    // Someone else's user data that is not TLVs: it has no comment for us.
    return undefined;
  }
}
