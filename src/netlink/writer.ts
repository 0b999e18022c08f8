/**
 * Layer 1 (netlink codec): a growable buffer that writes netlink messages, their family
 * headers and attributes (TLVs) of every width and byte order, with nested attributes.
 * Symmetric to {@link AttributeReader}. Host byte order is the machine's own.
 * @module
 */
import { endianness } from 'node:os';
import { NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLA_HDRLEN, align } from './constants.js';
import { NetplumbError } from '../errors.js';

/** True on little-endian hosts; netlink's "host order" fields follow the CPU. */
export const HOST_LE = endianness() === 'LE';

/** Writes bytes at a growing offset; every `put*` returns nothing and advances. */
export class Writer {
  /** Backing storage; only `[0, offset)` is meaningful. */
  buf: Buffer;
  /** Bytes written so far. */
  offset = 0;

  constructor(initialSize = 512) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const need = this.offset + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.offset);
    this.buf = next;
  }

  /** The bytes written, as a view (not a copy). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.offset);
  }

  putU8(v: number): void {
    this.reserve(1);
    this.buf[this.offset++] = v;
  }

  putU16(v: number): void {
    this.reserve(2);
    if (HOST_LE) this.buf.writeUInt16LE(v, this.offset);
    else this.buf.writeUInt16BE(v, this.offset);
    this.offset += 2;
  }

  putU32(v: number): void {
    this.reserve(4);
    if (HOST_LE) this.buf.writeUInt32LE(v >>> 0, this.offset);
    else this.buf.writeUInt32BE(v >>> 0, this.offset);
    this.offset += 4;
  }

  putI32(v: number): void {
    this.reserve(4);
    if (HOST_LE) this.buf.writeInt32LE(v, this.offset);
    else this.buf.writeInt32BE(v, this.offset);
    this.offset += 4;
  }

  putU64(v: bigint): void {
    this.reserve(8);
    if (HOST_LE) this.buf.writeBigUInt64LE(v, this.offset);
    else this.buf.writeBigUInt64BE(v, this.offset);
    this.offset += 8;
  }

  putBe16(v: number): void {
    this.reserve(2);
    this.buf.writeUInt16BE(v, this.offset);
    this.offset += 2;
  }

  putBe32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32BE(v >>> 0, this.offset);
    this.offset += 4;
  }

  putBe64(v: bigint): void {
    this.reserve(8);
    this.buf.writeBigUInt64BE(v, this.offset);
    this.offset += 8;
  }

  putBytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.offset);
    this.offset += b.length;
  }

  /** Zero bytes, e.g. struct padding. */
  putZeros(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.offset, this.offset + n);
    this.offset += n;
  }

  /** Pads with zeros to the netlink alignment. */
  pad(): void {
    const n = align(this.offset) - this.offset;
    if (n) this.putZeros(n);
  }

  /** Starts an attribute; the caller writes its payload and calls {@link endAttr}. */
  beginAttr(type: number): number {
    const start = this.offset;
    this.reserve(NLA_HDRLEN);
    this.offset += NLA_HDRLEN;
    this.setAttrHeader(start, 0, type);
    return start;
  }

  /** Finishes an attribute begun at `start`: writes its length and pads. */
  endAttr(start: number): void {
    const len = this.offset - start;
    if (len > 0xffff) throw new NetplumbError(`netlink attribute of ${len} bytes exceeds 65535`, 'EMSGSIZE');
    if (HOST_LE) this.buf.writeUInt16LE(len, start);
    else this.buf.writeUInt16BE(len, start);
    this.pad();
  }

  /** Starts a nested attribute (NLA_F_NESTED is set, as the kernel's strict parsers want). */
  beginNest(type: number): number {
    return this.beginAttr(type | NLA_F_NESTED);
  }

  /** Ends a nested attribute begun with {@link beginNest}. */
  endNest(start: number): void {
    this.endAttr(start);
  }

  /** Drops a nested attribute begun at `start` together with everything in it. */
  cancelNest(start: number): void {
    this.offset = start;
  }

  private setAttrHeader(at: number, len: number, type: number): void {
    if (HOST_LE) {
      this.buf.writeUInt16LE(len, at);
      this.buf.writeUInt16LE(type, at + 2);
    } else {
      this.buf.writeUInt16BE(len, at);
      this.buf.writeUInt16BE(type, at + 2);
    }
  }

  /** An attribute with no payload (a flag). */
  attrFlag(type: number): void {
    this.endAttr(this.beginAttr(type));
  }

  attrU8(type: number, v: number): void {
    const s = this.beginAttr(type);
    this.putU8(v);
    this.endAttr(s);
  }

  attrU16(type: number, v: number): void {
    const s = this.beginAttr(type);
    this.putU16(v);
    this.endAttr(s);
  }

  attrU32(type: number, v: number): void {
    const s = this.beginAttr(type);
    this.putU32(v);
    this.endAttr(s);
  }

  attrI32(type: number, v: number): void {
    const s = this.beginAttr(type);
    this.putI32(v);
    this.endAttr(s);
  }

  attrU64(type: number, v: bigint): void {
    const s = this.beginAttr(type);
    this.putU64(v);
    this.endAttr(s);
  }

  /** A big-endian 16-bit attribute (ports); NLA_F_NET_BYTEORDER is not set, as the kernel expects. */
  attrBe16(type: number, v: number): void {
    const s = this.beginAttr(type);
    this.putBe16(v);
    this.endAttr(s);
  }

  attrBe32(type: number, v: number): void {
    const s = this.beginAttr(type);
    this.putBe32(v);
    this.endAttr(s);
  }

  attrBe64(type: number, v: bigint): void {
    const s = this.beginAttr(type);
    this.putBe64(v);
    this.endAttr(s);
  }

  /** A NUL-terminated string attribute (NLA_NUL_STRING / NLA_STRING). */
  attrString(type: number, v: string): void {
    const s = this.beginAttr(type);
    const n = Buffer.byteLength(v);
    this.reserve(n + 1);
    this.buf.write(v, this.offset, 'utf8');
    this.offset += n;
    this.buf[this.offset++] = 0;
    this.endAttr(s);
  }

  attrBytes(type: number, v: Uint8Array): void {
    const s = this.beginAttr(type);
    this.putBytes(v);
    this.endAttr(s);
  }
}

/** Marks an attribute type as carrying network byte order (NLA_F_NET_BYTEORDER). */
export function netByteOrder(type: number): number {
  return type | NLA_F_NET_BYTEORDER;
}
