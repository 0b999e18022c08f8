/**
 * Layer 1 (netlink codec): reading attributes (TLVs). Every read is bounds-checked and
 * fails with {@link DecodeError}; nothing is dropped: attributes a decoder does not know
 * stay available through {@link Attributes.unknown}.
 * @module
 */
import { DecodeError } from '../errors.js';
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, NLA_TYPE_MASK, align } from './constants.js';
import { HOST_LE } from './writer.js';

/** An attribute the decoder did not interpret, kept as type and raw bytes. */
export interface UnknownAttribute {
  /** Attribute type without the NLA_F_* flag bits. */
  type: number;
  /** Whether NLA_F_NESTED was set. */
  nested: boolean;
  /** The payload. */
  data: Uint8Array;
}

/** One attribute as found on the wire. */
export interface RawAttribute {
  type: number;
  nested: boolean;
  netByteOrder: boolean;
  data: Buffer;
}

/** Splits `buf[start, end)` into attributes; throws DecodeError on a malformed header. */
export function parseAttributes(buf: Buffer, start = 0, end = buf.length): RawAttribute[] {
  const out: RawAttribute[] = [];
  let off = start;
  if (end > buf.length) throw new DecodeError(`attribute area ends past the buffer (${end} > ${buf.length})`, start);
  while (off + NLA_HDRLEN <= end) {
    const len = HOST_LE ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
    const rawType = HOST_LE ? buf.readUInt16LE(off + 2) : buf.readUInt16BE(off + 2);
    if (len < NLA_HDRLEN || off + len > end) {
      throw new DecodeError(`attribute of type ${rawType & NLA_TYPE_MASK} claims ${len} bytes, ${end - off} left`, off);
    }
    out.push({
      type: rawType & NLA_TYPE_MASK,
      nested: (rawType & NLA_F_NESTED) !== 0,
      netByteOrder: (rawType & NLA_F_NET_BYTEORDER) !== 0,
      data: buf.subarray(off + NLA_HDRLEN, off + len),
    });
    off += align(len);
  }
  // Trailing bytes shorter than a header are padding at most; anything else is corrupt.
  if (off < end && end - off >= NLA_HDRLEN) throw new DecodeError('trailing bytes after attributes', off);
  return out;
}

/** Attributes by type, with typed, bounds-checked getters. The last of a repeated type wins in `get`. */
export class Attributes {
  /** All attributes in wire order. */
  readonly list: RawAttribute[];
  private readonly byType = new Map<number, RawAttribute>();

  constructor(list: RawAttribute[]) {
    this.list = list;
    for (const a of list) this.byType.set(a.type, a);
  }

  /** Parses `buf[start, end)`. */
  static parse(buf: Buffer, start = 0, end = buf.length): Attributes {
    return new Attributes(parseAttributes(buf, start, end));
  }

  has(type: number): boolean {
    return this.byType.has(type);
  }

  /** The payload of `type`, or undefined. */
  get(type: number): Buffer | undefined {
    return this.byType.get(type)?.data;
  }

  /** Every attribute of `type`, in order (for repeated attributes). */
  all(type: number): RawAttribute[] {
    return this.list.filter((a) => a.type === type);
  }

  private need(type: number, size: number): Buffer | undefined {
    const d = this.byType.get(type)?.data;
    if (d === undefined) return undefined;
    if (d.length < size) throw new DecodeError(`attribute ${type} has ${d.length} bytes, needs ${size}`, 0);
    return d;
  }

  u8(type: number): number | undefined {
    return this.need(type, 1)?.[0];
  }

  u16(type: number): number | undefined {
    const d = this.need(type, 2);
    return d && (HOST_LE ? d.readUInt16LE(0) : d.readUInt16BE(0));
  }

  u32(type: number): number | undefined {
    const d = this.need(type, 4);
    return d && (HOST_LE ? d.readUInt32LE(0) : d.readUInt32BE(0));
  }

  i32(type: number): number | undefined {
    const d = this.need(type, 4);
    return d && (HOST_LE ? d.readInt32LE(0) : d.readInt32BE(0));
  }

  u64(type: number): bigint | undefined {
    const d = this.need(type, 8);
    return d && (HOST_LE ? d.readBigUInt64LE(0) : d.readBigUInt64BE(0));
  }

  be16(type: number): number | undefined {
    return this.need(type, 2)?.readUInt16BE(0);
  }

  be32(type: number): number | undefined {
    return this.need(type, 4)?.readUInt32BE(0);
  }

  be64(type: number): bigint | undefined {
    return this.need(type, 8)?.readBigUInt64BE(0);
  }

  /** A string attribute, without its terminating NUL (and anything after it). */
  string(type: number): string | undefined {
    const d = this.byType.get(type)?.data;
    if (d === undefined) return undefined;
    const nul = d.indexOf(0);
    return d.toString('utf8', 0, nul === -1 ? d.length : nul);
  }

  /** A nested attribute's children. */
  nested(type: number): Attributes | undefined {
    const d = this.byType.get(type)?.data;
    return d === undefined ? undefined : Attributes.parse(d);
  }

  /** Attributes whose types are not in `known`, copied out of the receive buffer. */
  unknown(known: ReadonlySet<number>): UnknownAttribute[] {
    const out: UnknownAttribute[] = [];
    for (const a of this.list) {
      if (!known.has(a.type)) out.push({ type: a.type, nested: a.nested, data: Uint8Array.from(a.data) });
    }
    return out;
  }
}
