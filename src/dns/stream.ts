/**
 * DNS: messages over TCP (RFC 1035 4.2.2): each is preceded by its length in two bytes.
 * @module
 */

/** Largest DNS message: what a two-byte length can say. */
export const MAX_MESSAGE = 0xffff;

/** Prefixes a message with its length. */
export function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}

/** Collects stream chunks and hands out whole messages as they complete. */
export class MessageReader {
  private pending: Buffer = Buffer.alloc(0);

  /** Adds a chunk; returns the messages it completed. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: Buffer[] = [];
    while (this.pending.length >= 2) {
      const len = this.pending.readUInt16BE(0);
      if (this.pending.length < 2 + len) break;
      out.push(this.pending.subarray(2, 2 + len));
      this.pending = this.pending.subarray(2 + len);
    }
    return out;
  }
}
