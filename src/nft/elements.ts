/**
 * Layer 2 (nftables): set and map elements — typed keys and values to the kernel's
 * NFTA_SET_ELEM_* attributes and back. Interval sets of one field store a range as a
 * start element and an end element flagged NFT_SET_ELEM_INTERVAL_END one past its last
 * value (as nft does); concatenated interval sets store NFTA_SET_ELEM_KEY_END, inclusive.
 * @module
 */
import { DecodeError, ValidationError } from '../errors.js';
import { Attributes } from '../netlink/attributes.js';
import { NLA_F_NESTED, NLA_TYPE_MASK } from '../netlink/constants.js';
import { HOST_LE, Writer } from '../netlink/writer.js';
import {
  NFTA_DATA_VERDICT,
  NFTA_LIST_ELEM,
  NFTA_SET_ELEM_DATA,
  NFTA_SET_ELEM_EXPIRATION,
  NFTA_SET_ELEM_FLAGS,
  NFTA_SET_ELEM_KEY,
  NFTA_SET_ELEM_KEY_END,
  NFTA_SET_ELEM_LIST_ELEMENTS,
  NFTA_SET_ELEM_TIMEOUT,
  NFTA_SET_ELEM_USERDATA,
  NFT_SET_ELEM_INTERVAL_END,
} from './constants.js';
import { type Verdict, checkVerdict, putValueData, putVerdictData, readValueData, readVerdict } from './data.js';
import { type CompositeType, type SetValue, decodeValue, encodeValue, ipv4Bytes, ipv6Bytes } from './datatypes.js';
import {
  NFTNL_SET_ELEM_F_INTERVAL_OPEN,
  NFTNL_UDATA_SET_ELEM_COMMENT,
  NFTNL_UDATA_SET_ELEM_FLAGS,
  type UdataTlv,
  buildUdata,
  parseUdata,
  readUdataString,
  readUdataU32,
  udataString,
  udataU32,
} from './udata.js';

/** A key or value: one field's value, an array for a concatenation, or raw bytes of a type netplumb does not know. */
export type SetKey = SetValue | SetValue[] | Uint8Array;

/**
 * One element of a set or map, typed by the set's declared types: `key: ['tcp', 8080]`
 * for `inet_proto . inet_service`, `data: ['172.17.0.2', 80]` for a map to
 * `ipv4_addr . inet_service`, `data: 'accept'` or `{ jump: 'chain' }` in a verdict map.
 * In an interval set a key of an address type may be a prefix (`'10.0.0.0/8'`), and
 * `keyEnd` (inclusive) makes a range (`key: 1000, keyEnd: 2000`).
 */
export interface SetElement {
  key: SetKey;
  keyEnd?: SetKey;
  data?: SetKey | Verdict;
  /** Milliseconds until the element expires (the set needs the `timeout` flag). */
  timeout?: number;
  /** Read back: milliseconds left before it expires. */
  expires?: number;
  /** Stored as nft stores element comments, so `nft list` shows it. */
  comment?: string;
}

/** What the codec needs to know about a set to encode its elements. */
export interface SetShape {
  /** Key type, or undefined when netplumb does not know it (keys are then raw bytes). */
  key: CompositeType | undefined;
  keyLen: number;
  /** Value type of a map: a type, `verdict`, or undefined for a plain set (or an unknown type, see dataLen). */
  data: CompositeType | 'verdict' | undefined;
  /** Value length of a data map (bytes); 0 for a set or a verdict map. */
  dataLen: number;
  /** Whether elements are intervals. */
  interval: boolean;
}

/** One NFTA_LIST_ELEM worth of element. */
/**
 * One element as the kernel receives it: key, range end and data already in wire bytes.
 * What typed elements are encoded into; a hot path that knows its sets' types may build
 * these directly (see {@link Transaction.elementUnits}).
 */
export interface Unit {
  flags: number;
  key: Uint8Array;
  keyEnd?: Uint8Array;
  data?: Uint8Array | Verdict;
  timeout?: number;
  udata?: Uint8Array;
}

function isMap(s: SetShape): boolean {
  return s.data !== undefined || s.dataLen > 0;
}

function bytesOf(t: CompositeType | undefined, len: number, v: unknown, field: string): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length !== len) throw new ValidationError(field, `raw value has ${v.length} bytes, the set needs ${len}`);
    return v;
  }
  if (!t) throw new ValidationError(field, 'the set has a type netplumb does not know: give raw bytes (Uint8Array)');
  return encodeValue(t, v, field);
}

/** Adds one (big-endian) to a byte string; undefined on overflow. */
function increment(b: Uint8Array): Uint8Array | undefined {
  const out = Uint8Array.from(b);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i] = (out[i] as number) + 1;
      return out;
    }
    out[i] = 0;
  }
  return undefined;
}

/** Subtracts one (big-endian); the input is never all zeros here. */
function decrement(b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0) {
      out[i] = (out[i] as number) - 1;
      return out;
    }
    out[i] = 0xff;
  }
  return out;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

/** Parses `addr/len` for an address field: start and last address, or undefined when not a prefix. */
function prefixRange(t: CompositeType['fields'][number], v: unknown, field: string): [Uint8Array, Uint8Array] | undefined {
  if (typeof v !== 'string' || !v.includes('/') || (t.name !== 'ipv4_addr' && t.name !== 'ipv6_addr')) return undefined;
  const [addr, lenText] = v.split('/') as [string, string];
  const bytes = t.name === 'ipv4_addr' ? ipv4Bytes(addr, field) : ipv6Bytes(addr, field);
  const bits = bytes.length * 8;
  const plen = /^\d+$/.test(lenText) ? Number(lenText) : NaN;
  if (!(plen >= 0 && plen <= bits)) throw new ValidationError(field, `"${v}" has a bad prefix length`);
  const start = Uint8Array.from(bytes);
  const end = Uint8Array.from(bytes);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, plen - i * 8));
    const mask = (0xff << (8 - keep)) & 0xff;
    if (((bytes[i] as number) & ~mask & 0xff) !== 0) throw new ValidationError(field, `"${v}" has host bits set`);
    start[i] = (bytes[i] as number) & mask;
    end[i] = (start[i] as number) | (~mask & 0xff);
  }
  return [start, end];
}

/** Start and end (inclusive) of an interval element's key. */
function intervalBounds(s: SetShape, e: SetElement, field: string): [Uint8Array, Uint8Array] {
  if (e.key instanceof Uint8Array || !s.key) {
    const start = bytesOf(s.key, s.keyLen, e.key, `${field}.key`);
    return [start, e.keyEnd === undefined ? start : bytesOf(s.key, s.keyLen, e.keyEnd, `${field}.keyEnd`)];
  }
  const t = s.key;
  const keys = t.fields.length === 1 ? [e.key] : e.key;
  if (!Array.isArray(keys) || keys.length !== t.fields.length) {
    throw new ValidationError(`${field}.key`, `must be an array of ${t.fields.length} values (${t.fields.map((f) => f.name).join(' . ')})`);
  }
  // Encode each field on its own so that any of them may be a prefix.
  const startBytes = new Uint8Array(s.keyLen);
  const endBytes = new Uint8Array(s.keyLen);
  let off = 0;
  t.fields.forEach((f, i) => {
    const sub = t.fields.length === 1 ? `${field}.key` : `${field}.key[${i}]`;
    const p = prefixRange(f, keys[i], sub);
    const single: CompositeType = { fields: [f], id: f.id, len: f.len };
    const [a, b] = p ?? [encodeValue(single, keys[i], sub), encodeValue(single, keys[i], sub)];
    startBytes.set(a, off);
    endBytes.set(b, off);
    off += t.fields.length === 1 ? f.len : Math.ceil(f.len / 4) * 4;
  });
  if (e.keyEnd !== undefined) {
    const end = bytesOf(t, s.keyLen, e.keyEnd, `${field}.keyEnd`);
    if (compare(end, startBytes) < 0) throw new ValidationError(`${field}.keyEnd`, 'is before key');
    return [startBytes, end];
  }
  return [startBytes, endBytes];
}

function elementUdata(e: SetElement, open: boolean, field: string): Uint8Array | undefined {
  const tlvs: UdataTlv[] = [];
  if (e.comment !== undefined) {
    if (typeof e.comment !== 'string') throw new ValidationError(`${field}.comment`, 'must be a string');
    tlvs.push({ type: NFTNL_UDATA_SET_ELEM_COMMENT, value: udataString(e.comment) });
  }
  if (open) tlvs.push({ type: NFTNL_UDATA_SET_ELEM_FLAGS, value: udataU32(NFTNL_SET_ELEM_F_INTERVAL_OPEN) });
  return tlvs.length ? buildUdata(tlvs, `${field}.comment`) : undefined;
}

/** Turns one element into the wire units that represent it (two for a one-field interval). */
function toUnits(s: SetShape, e: SetElement, field: string, forDelete: boolean): Unit[] {
  if (!e || typeof e !== 'object') throw new ValidationError(field, 'must be an element object');
  let data: Uint8Array | Verdict | undefined;
  if (isMap(s) && !forDelete) {
    if (e.data === undefined) throw new ValidationError(`${field}.data`, 'a map element needs data');
    data = s.data === 'verdict' ? checkVerdict(e.data, `${field}.data`) : bytesOf(s.data, s.dataLen, e.data, `${field}.data`);
  } else if (e.data !== undefined && !forDelete) {
    throw new ValidationError(`${field}.data`, 'the set is not a map');
  }
  let timeout: number | undefined;
  if (e.timeout !== undefined && !forDelete) {
    if (!Number.isInteger(e.timeout) || e.timeout <= 0) throw new ValidationError(`${field}.timeout`, 'must be a positive number of milliseconds');
    timeout = e.timeout;
  }
  const base = (key: Uint8Array, udata: Uint8Array | undefined): Unit => {
    const u: Unit = { flags: 0, key };
    if (timeout !== undefined) u.timeout = timeout;
    if (data !== undefined) u.data = data;
    if (udata !== undefined && !forDelete) u.udata = udata;
    return u;
  };
  if (!s.interval) {
    if (e.keyEnd !== undefined) throw new ValidationError(`${field}.keyEnd`, 'the set has no interval flag');
    return [base(bytesOf(s.key, s.keyLen, e.key, `${field}.key`), elementUdata(e, false, field))];
  }
  const [start, end] = intervalBounds(s, e, field);
  if (s.key && s.key.fields.length > 1) {
    const u = base(start, elementUdata(e, false, field));
    u.keyEnd = end;
    return [u];
  }
  // One field: [start, end] becomes a start element and an end element at end + 1.
  const next = increment(end);
  const first = base(start, elementUdata(e, next === undefined, field));
  if (next === undefined) return [first];
  return [first, { flags: NFT_SET_ELEM_INTERVAL_END, key: next }];
}

/** Writes one unit's attributes (inside its NFTA_LIST_ELEM). */
export function writeUnit(w: Writer, u: Unit): void {
  // The order libnftnl writes them in.
  if (u.flags) w.attrBe32(NFTA_SET_ELEM_FLAGS, u.flags);
  if (u.timeout !== undefined) w.attrBe64(NFTA_SET_ELEM_TIMEOUT, BigInt(u.timeout));
  putValueData(w, NFTA_SET_ELEM_KEY, u.key);
  if (u.keyEnd) putValueData(w, NFTA_SET_ELEM_KEY_END, u.keyEnd);
  if (u.data instanceof Uint8Array) putValueData(w, NFTA_SET_ELEM_DATA, u.data);
  else if (u.data !== undefined) putVerdictData(w, NFTA_SET_ELEM_DATA, u.data);
  if (u.udata) w.attrBytes(NFTA_SET_ELEM_USERDATA, u.udata);
}

/**
 * Encodes elements as NFTA_LIST_ELEM attributes (without the list header), each as its
 * own byte string, so the caller can pack them into messages of bounded size.
 * ValidationError names the element and field at fault.
 */
export function encodeElements(s: SetShape, elements: readonly SetElement[], field: string, forDelete: boolean): Uint8Array[] {
  if (!Array.isArray(elements)) throw new ValidationError(field, 'must be an array of elements');
  const w = new Writer(256);
  const out: Uint8Array[] = [];
  elements.forEach((e, i) => {
    for (const u of toUnits(s, e, `${field}[${i}]`, forDelete)) {
      w.offset = 0;
      const n = w.beginNest(NFTA_LIST_ELEM);
      writeUnit(w, u);
      w.endNest(n);
      out.push(Uint8Array.from(w.bytes()));
    }
  });
  return out;
}

/**
 * Writes NFTA_SET_ELEM_LIST_ELEMENTS holding `units` (from {@link encodeElements}),
 * numbering the list entries 1, 2, 3 ... as libnftnl does (the kernel ignores the numbers).
 */
export function putElementList(w: Writer, units: readonly Uint8Array[]): void {
  const list = w.beginNest(NFTA_SET_ELEM_LIST_ELEMENTS);
  units.forEach((u, i) => {
    const at = w.offset;
    w.putBytes(u);
    const type = ((i + 1) & NLA_TYPE_MASK) | NLA_F_NESTED;
    if (HOST_LE) w.buf.writeUInt16LE(type, at + 2);
    else w.buf.writeUInt16BE(type, at + 2);
  });
  w.endNest(list);
}

/**
 * Writes NFTA_SET_ELEM_LIST_ELEMENTS holding one element that is only a key — what `nft
 * get element` sends to ask the kernel for the element holding that key (NFT_MSG_GETSETELEM
 * without NLM_F_DUMP). The key is one value (no prefix or range).
 */
export function putElementKeyList(w: Writer, s: SetShape, key: SetKey, field: string): void {
  const bytes = bytesOf(s.key, s.keyLen, key, field);
  const list = w.beginNest(NFTA_SET_ELEM_LIST_ELEMENTS);
  const elem = w.beginNest(NFTA_LIST_ELEM);
  putValueData(w, NFTA_SET_ELEM_KEY, bytes);
  w.endNest(elem);
  w.endNest(list);
}

/** One element as the kernel dumps it, before intervals are paired. */
export interface RawElement {
  flags: number;
  key: Uint8Array;
  keyEnd?: Uint8Array;
  data?: Uint8Array | Verdict;
  timeout?: number;
  expires?: number;
  udata?: Uint8Array;
}

function u64ms(v: bigint | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/** Decodes one NFTA_LIST_ELEM of a NEWSETELEM message. */
function decodeRawElement(a: Attributes): RawElement {
  const keyAttr = a.nested(NFTA_SET_ELEM_KEY);
  const e: RawElement = { flags: a.be32(NFTA_SET_ELEM_FLAGS) ?? 0, key: keyAttr ? readValueData(a, NFTA_SET_ELEM_KEY) : new Uint8Array(0) };
  if (a.has(NFTA_SET_ELEM_KEY_END)) e.keyEnd = readValueData(a, NFTA_SET_ELEM_KEY_END);
  const data = a.nested(NFTA_SET_ELEM_DATA);
  if (data) e.data = data.has(NFTA_DATA_VERDICT) ? readVerdict(data) : readValueData(a, NFTA_SET_ELEM_DATA);
  const timeout = u64ms(a.be64(NFTA_SET_ELEM_TIMEOUT));
  if (timeout !== undefined) e.timeout = timeout;
  const expires = u64ms(a.be64(NFTA_SET_ELEM_EXPIRATION));
  if (expires !== undefined) e.expires = expires;
  const udata = a.get(NFTA_SET_ELEM_USERDATA);
  if (udata) e.udata = Uint8Array.from(udata);
  return e;
}

function decodeKey(t: CompositeType | undefined, b: Uint8Array): SetKey {
  if (!t || b.length !== t.len) return b;
  return decodeValue(t, b);
}

/** An inclusive range of one field as nft prints it: a single value, a prefix, or undefined. */
function compactRange(t: CompositeType | undefined, start: Uint8Array, end: Uint8Array): SetValue | undefined {
  if (compare(start, end) === 0) return t ? (decodeValue(t, start) as SetValue) : undefined;
  const f = t?.fields.length === 1 ? t.fields[0] : undefined;
  if (!t || !f || (f.name !== 'ipv4_addr' && f.name !== 'ipv6_addr')) return undefined;
  // A prefix: start and end agree on the first n bits, then start has zeros and end ones.
  let plen = 0;
  while (plen < start.length * 8) {
    const byte = plen >> 3;
    const bit = 0x80 >> (plen & 7);
    if (((start[byte] as number) & bit) !== ((end[byte] as number) & bit)) break;
    plen++;
  }
  for (let i = plen; i < start.length * 8; i++) {
    const bit = 0x80 >> (i & 7);
    if (((start[i >> 3] as number) & bit) !== 0 || ((end[i >> 3] as number) & bit) === 0) return undefined;
  }
  return `${f.decode(start)}/${plen}`;
}

function toElement(s: SetShape, r: RawElement, key: SetKey, keyEnd: SetKey | undefined): SetElement {
  const e: SetElement = { key };
  if (keyEnd !== undefined) e.keyEnd = keyEnd;
  if (r.data !== undefined) {
    e.data = r.data instanceof Uint8Array ? decodeKey(s.data === 'verdict' ? undefined : s.data, r.data) : r.data;
  }
  if (r.timeout !== undefined) e.timeout = r.timeout;
  if (r.expires !== undefined) e.expires = r.expires;
  if (r.udata) {
    try {
      const c = parseUdata(r.udata).find((t) => t.type === NFTNL_UDATA_SET_ELEM_COMMENT);
      if (c) e.comment = readUdataString(c.value);
    } catch {
      // User data that is not TLVs carries no comment we can read.
    }
  }
  return e;
}

function isOpen(r: RawElement): boolean {
  if (!r.udata) return false;
  try {
    const f = parseUdata(r.udata).find((t) => t.type === NFTNL_UDATA_SET_ELEM_FLAGS);
    return !!f && ((readUdataU32(f.value) ?? 0) & NFTNL_SET_ELEM_F_INTERVAL_OPEN) !== 0;
  } catch {
    return false;
  }
}

/**
 * Turns dumped elements into typed elements: pairs the start and end elements of
 * one-field interval sets (the kernel dumps them in any order), and prints ranges the way
 * nft does (a single value, a prefix, or key and inclusive keyEnd).
 */
export function decodeElements(s: SetShape, raw: readonly RawElement[]): SetElement[] {
  const interval1 = s.interval && !(s.key && s.key.fields.length > 1) && !raw.some((r) => r.keyEnd);
  if (!interval1) {
    return raw.map((r) =>
      !r.keyEnd || compare(r.key, r.keyEnd) === 0
        ? toElement(s, r, decodeKey(s.key, r.key), undefined)
        : toElement(s, r, decodeKey(s.key, r.key), decodeKey(s.key, r.keyEnd)),
    );
  }
  // Adjacent intervals share a key: the end of one (at its last value + 1) and the start
  // of the next. The end belongs to the interval before, so it sorts first.
  const isEnd = (r: RawElement): number => (r.flags & NFT_SET_ELEM_INTERVAL_END ? 0 : 1);
  const sorted = [...raw].sort((a, b) => compare(a.key, b.key) || isEnd(a) - isEnd(b));
  const out: SetElement[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const r = sorted[i] as RawElement;
    // An end with no start before it is nft's marker at zero: nothing to report.
    if (r.flags & NFT_SET_ELEM_INTERVAL_END) continue;
    const next = sorted[i + 1];
    let end: Uint8Array;
    if (next && next.flags & NFT_SET_ELEM_INTERVAL_END) {
      end = decrement(next.key);
      i++;
    } else if (isOpen(r) || !next) {
      end = new Uint8Array(r.key.length).fill(0xff);
    } else {
      throw new DecodeError('interval start without an end', 0);
    }
    const c = compactRange(s.key, r.key, end);
    out.push(c !== undefined ? toElement(s, r, c, undefined) : toElement(s, r, decodeKey(s.key, r.key), decodeKey(s.key, end)));
  }
  return out;
}

/** Decodes the NFTA_SET_ELEM_LIST_ELEMENTS list of a message. */
export function decodeElementList(buf: Buffer): RawElement[] {
  return Attributes.parse(buf).list.map((x) => decodeRawElement(Attributes.parse(x.data)));
}
