/**
 * Layer 2 (nftables): sets and maps — NFT_MSG_NEWSET/DELSET attributes, the user data nft
 * writes with them (byte orders and `typeof` markers, so `nft list` prints keys as
 * `tcp . 8080`), element list messages, and the decoding of dumped sets.
 * @module
 */
import { ValidationError } from '../errors.js';
import type { Writer } from '../netlink/writer.js';
import * as C from './constants.js';
import { checkFlags, flagNames } from './expr/common.js';
import { type CompositeType, type KeyType, TYPE_VERDICT, compositeType, typeFromId, typeName } from './datatypes.js';
import type { SetShape } from './elements.js';
import { type Family, checkName, parsePayload } from './family.js';
import { handleOf } from './handle.js';
import {
  NFTNL_UDATA_SET_COMMENT,
  NFTNL_UDATA_SET_DATABYTEORDER,
  NFTNL_UDATA_SET_DATA_INTERVAL,
  NFTNL_UDATA_SET_DATA_TYPEOF,
  NFTNL_UDATA_SET_KEYBYTEORDER,
  NFTNL_UDATA_SET_KEY_TYPEOF,
  NFTNL_UDATA_SET_TYPEOF_DATA,
  NFTNL_UDATA_SET_TYPEOF_EXPR,
  type UdataTlv,
  buildUdata,
  parseUdata,
  readUdataString,
  udataString,
  udataU32,
} from './udata.js';

/** Flags a caller may give a set: nft's `flags interval, timeout, constant, dynamic`. */
export type SetFlag = 'constant' | 'interval' | 'timeout' | 'dynamic';
const SET_FLAGS = { constant: C.NFT_SET_CONSTANT, interval: C.NFT_SET_INTERVAL, timeout: C.NFT_SET_TIMEOUT, dynamic: C.NFT_SET_EVAL } as const;

/** enum nft_set_flags by name, as read back. */
export const SET_FLAGS_READ = {
  anonymous: C.NFT_SET_ANONYMOUS,
  constant: C.NFT_SET_CONSTANT,
  interval: C.NFT_SET_INTERVAL,
  map: C.NFT_SET_MAP,
  timeout: C.NFT_SET_TIMEOUT,
  dynamic: C.NFT_SET_EVAL,
  object: C.NFT_SET_OBJECT,
  concat: C.NFT_SET_CONCAT,
  expr: C.NFT_SET_EXPR,
} as const;
export type SetFlagRead = keyof typeof SET_FLAGS_READ;

/**
 * A set or map to create: like `nft add set FAMILY TABLE NAME { type ipv4_addr; }` or
 * `nft add map ... { type inet_proto . inet_service : ipv4_addr . inet_service; }`.
 */
export interface SetSpec {
  family: Family;
  table: string;
  name: string;
  /** One type, or several for a concatenation (`['inet_proto', 'inet_service']`). */
  keyType: KeyType | KeyType[];
  /** Makes it a map: the type of its values, or `verdict` for a verdict map. */
  dataType?: KeyType | KeyType[] | 'verdict';
  flags?: SetFlag[];
  /** Default element lifetime in milliseconds (needs the `timeout` flag). */
  timeout?: number;
  comment?: string;
}

/** A set or map read back from the kernel. */
export interface NftSet {
  family: Family;
  table: string;
  name: string;
  handle: number;
  /** Undefined when the type is not one netplumb knows (see keyTypeId). */
  keyType?: KeyType | KeyType[];
  keyTypeId: number;
  keyLen: number;
  dataType?: KeyType | KeyType[] | 'verdict';
  dataTypeId?: number;
  dataLen?: number;
  flags: SetFlagRead[];
  timeout?: number;
  comment?: string;
  /** Filled by listings that ask for elements. */
  elements?: import('./elements.js').SetElement[];
}

/** NFT_DATA_VERDICT: the NFTA_SET_DATA_TYPE of a verdict map. */
const NFT_DATA_VERDICT = 0xffffff00;

/** A SetSpec with its types resolved (validated). */
export interface ResolvedSet {
  spec: SetSpec;
  key: CompositeType;
  data: CompositeType | 'verdict' | undefined;
  flags: number;
}

/** Validates a set declaration. */
export function resolveSet(s: SetSpec, field: string): ResolvedSet {
  if (!s || typeof s !== 'object') throw new ValidationError(field, 'must be an object');
  checkName(s.table, `${field}.table`);
  checkName(s.name, `${field}.name`);
  const key = compositeType(s.keyType, `${field}.keyType`);
  if (key.len > C.NFT_DATA_VALUE_MAXLEN) throw new ValidationError(`${field}.keyType`, `a key of ${key.len} bytes exceeds ${C.NFT_DATA_VALUE_MAXLEN}`);
  const data = s.dataType === undefined ? undefined : s.dataType === 'verdict' ? 'verdict' : compositeType(s.dataType, `${field}.dataType`);
  let flags = s.flags === undefined ? 0 : checkFlags(s.flags, SET_FLAGS, `${field}.flags`);
  if (data !== undefined) flags |= C.NFT_SET_MAP;
  if (flags & C.NFT_SET_INTERVAL && key.fields.length > 1) flags |= C.NFT_SET_CONCAT;
  if (s.timeout !== undefined) {
    if (!Number.isInteger(s.timeout) || s.timeout <= 0) throw new ValidationError(`${field}.timeout`, 'must be a positive number of milliseconds');
    if (!(flags & C.NFT_SET_TIMEOUT)) throw new ValidationError(`${field}.timeout`, 'needs the timeout flag');
  }
  return { spec: s, key, data, flags };
}

/** What element encoding needs to know of a resolved set. */
export function shapeOf(r: ResolvedSet): SetShape {
  return {
    key: r.key,
    keyLen: r.key.len,
    data: r.data,
    dataLen: r.data === undefined || r.data === 'verdict' ? 0 : r.data.len,
    interval: (r.flags & C.NFT_SET_INTERVAL) !== 0,
  };
}

/** nft's `typeof` marker for a concatenation declared by type: EXPR_CONCAT with no sub-expressions. */
function concatTypeof(type: number): UdataTlv {
  const EXPR_CONCAT = 13;
  const value = new Uint8Array(8);
  value.set([NFTNL_UDATA_SET_TYPEOF_EXPR, 4]);
  value.set(udataU32(EXPR_CONCAT), 2);
  value.set([NFTNL_UDATA_SET_TYPEOF_DATA, 0], 6);
  return { type, value };
}

/** The user data nft 1.0.6 writes for a set declared with `type` (or an anonymous set). */
function setUdata(r: ResolvedSet, anonymous: boolean, field: string): Uint8Array {
  const key = r.key.fields.length > 1 ? 0 : (r.key.fields[0]?.byteorder ?? 0);
  const tlvs: UdataTlv[] = [{ type: NFTNL_UDATA_SET_KEYBYTEORDER, value: udataU32(key) }];
  if (r.data !== undefined) {
    const d = r.data === 'verdict' || r.data.fields.length > 1 ? 0 : (r.data.fields[0]?.byteorder ?? 0);
    tlvs.push({ type: NFTNL_UDATA_SET_DATABYTEORDER, value: udataU32(d) });
  }
  if (!anonymous && r.key.fields.length > 1) tlvs.push(concatTypeof(NFTNL_UDATA_SET_KEY_TYPEOF));
  if (r.data !== undefined && r.data !== 'verdict' && r.data.fields.length > 1) tlvs.push(concatTypeof(NFTNL_UDATA_SET_DATA_TYPEOF));
  if (r.data !== undefined) tlvs.push({ type: NFTNL_UDATA_SET_DATA_INTERVAL, value: udataU32(0) });
  if (r.spec.comment !== undefined) {
    if (typeof r.spec.comment !== 'string') throw new ValidationError(`${field}.comment`, 'must be a string');
    tlvs.push({ type: NFTNL_UDATA_SET_COMMENT, value: udataString(r.spec.comment) });
  }
  return buildUdata(tlvs, `${field}.comment`);
}

/**
 * Writes NEWSET's attributes in libnftnl's order. `anonymous` gives an inline set of a
 * rule (`__set%d`, flags anonymous and constant, with its size).
 */
export function encodeSet(w: Writer, r: ResolvedSet, setId: number, anonymous: { size: number } | undefined, field: string): void {
  w.attrString(C.NFTA_SET_TABLE, r.spec.table);
  w.attrString(C.NFTA_SET_NAME, r.spec.name);
  const flags = anonymous ? r.flags | C.NFT_SET_ANONYMOUS | C.NFT_SET_CONSTANT : r.flags;
  w.attrBe32(C.NFTA_SET_FLAGS, flags);
  w.attrBe32(C.NFTA_SET_KEY_TYPE, r.key.id);
  w.attrBe32(C.NFTA_SET_KEY_LEN, r.key.len);
  if (r.data !== undefined) {
    w.attrBe32(C.NFTA_SET_DATA_TYPE, r.data === 'verdict' ? NFT_DATA_VERDICT : r.data.id);
    w.attrBe32(C.NFTA_SET_DATA_LEN, r.data === 'verdict' ? 0 : r.data.len);
  }
  w.attrBe32(C.NFTA_SET_ID, setId);
  if (anonymous || flags & C.NFT_SET_CONCAT) {
    const desc = w.beginNest(C.NFTA_SET_DESC);
    if (anonymous) w.attrBe32(C.NFTA_SET_DESC_SIZE, anonymous.size);
    if (flags & C.NFT_SET_CONCAT) {
      // The pipapo backend needs each field's length to match ranges field by field.
      const concat = w.beginNest(C.NFTA_SET_DESC_CONCAT);
      for (const f of r.key.fields) {
        const elem = w.beginNest(C.NFTA_LIST_ELEM);
        w.attrBe32(C.NFTA_SET_FIELD_LEN, f.len);
        w.endNest(elem);
      }
      w.endNest(concat);
    }
    w.endNest(desc);
  }
  if (r.spec.timeout !== undefined) w.attrBe64(C.NFTA_SET_TIMEOUT, BigInt(r.spec.timeout));
  w.attrBytes(C.NFTA_SET_USERDATA, setUdata(r, anonymous !== undefined, field));
}

/** Writes the attributes naming a set (DELSET). */
export function encodeSetRef(w: Writer, table: string, name: string, field: string): void {
  w.attrString(C.NFTA_SET_TABLE, checkName(table, `${field}.table`));
  w.attrString(C.NFTA_SET_NAME, checkName(name, `${field}.set`));
}

/** A decoded set and the shape its elements decode with. */
export interface DecodedSet {
  set: NftSet;
  shape: SetShape;
}

/** Decodes a NEWSET message payload. */
export function decodeSet(payload: Buffer): DecodedSet {
  const { family, attrs: a } = parsePayload(payload);
  const flagBits = a.be32(C.NFTA_SET_FLAGS) ?? 0;
  const keyTypeId = a.be32(C.NFTA_SET_KEY_TYPE) ?? 0;
  const keyLen = a.be32(C.NFTA_SET_KEY_LEN) ?? 0;
  const set: NftSet = {
    family,
    table: a.string(C.NFTA_SET_TABLE) ?? '',
    name: a.string(C.NFTA_SET_NAME) ?? '',
    handle: handleOf(a.be64(C.NFTA_SET_HANDLE)),
    keyTypeId,
    keyLen,
    // Flags newer than this code are dropped rather than failing the whole listing.
    flags: flagNames(SET_FLAGS_READ, flagBits & Object.values(SET_FLAGS_READ).reduce((x, y) => x | y, 0), 'set flags'),
  };
  const key = typeFromId(keyTypeId, keyLen);
  if (key) set.keyType = typeName(key);
  let data: CompositeType | 'verdict' | undefined;
  const dataTypeId = a.be32(C.NFTA_SET_DATA_TYPE);
  const dataLen = a.be32(C.NFTA_SET_DATA_LEN) ?? 0;
  if (dataTypeId !== undefined) {
    set.dataTypeId = dataTypeId;
    set.dataLen = dataLen;
    if (dataTypeId === NFT_DATA_VERDICT || dataTypeId === TYPE_VERDICT) {
      data = 'verdict';
      set.dataType = 'verdict';
    } else {
      data = typeFromId(dataTypeId, dataLen);
      if (data) set.dataType = typeName(data);
    }
  }
  const timeout = a.be64(C.NFTA_SET_TIMEOUT);
  if (timeout !== undefined) set.timeout = Number(timeout);
  const udata = a.get(C.NFTA_SET_USERDATA);
  if (udata) {
    try {
      const c = parseUdata(udata).find((t) => t.type === NFTNL_UDATA_SET_COMMENT);
      if (c) set.comment = readUdataString(c.value);
    } catch {
      // Someone else's user data that is not TLVs: no comment to read.
    }
  }
  const shape: SetShape = {
    key,
    keyLen,
    data,
    dataLen: data === 'verdict' ? 0 : dataLen,
    interval: (flagBits & C.NFT_SET_INTERVAL) !== 0,
  };
  return { set, shape };
}
