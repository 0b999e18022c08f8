/**
 * Layer 1 (netlink codec): struct nlmsghdr, splitting a receive buffer into messages, and
 * decoding NLMSG_ERROR (errno plus the kernel's extended-ack attributes).
 * @module
 */
import { DecodeError } from '../errors.js';
import {
  NLMSG_HDRLEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSGERR_ATTR_MISS_NEST,
  NLMSGERR_ATTR_MISS_TYPE,
  NLMSGERR_ATTR_MSG,
  NLMSGERR_ATTR_OFFS,
  align,
} from './constants.js';
import { Attributes } from './attributes.js';
import { HOST_LE } from './writer.js';

/** One netlink message; `payload` is a view of what follows the 16-byte header. */
export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Buffer;
}

/** Splits a buffer of concatenated messages; throws DecodeError on a malformed header. */
export function parseMessages(buf: Buffer): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = HOST_LE ? buf.readUInt32LE(off) : buf.readUInt32BE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new DecodeError(`netlink message claims ${len} bytes, ${buf.length - off} left`, off);
    }
    out.push({
      type: HOST_LE ? buf.readUInt16LE(off + 4) : buf.readUInt16BE(off + 4),
      flags: HOST_LE ? buf.readUInt16LE(off + 6) : buf.readUInt16BE(off + 6),
      seq: HOST_LE ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8),
      pid: HOST_LE ? buf.readUInt32LE(off + 12) : buf.readUInt32BE(off + 12),
      payload: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align(len);
  }
  if (off < buf.length && buf.length - off >= NLMSG_HDRLEN) throw new DecodeError('trailing bytes after messages', off);
  return out;
}

/** A decoded NLMSG_ERROR: `errno` 0 is an acknowledgement. */
export interface ErrorPayload {
  /** Positive errno; 0 for an ack. */
  errno: number;
  /** NLMSGERR_ATTR_MSG. */
  message?: string;
  /** NLMSGERR_ATTR_OFFS: offset of the blamed attribute in the original request. */
  offset?: number;
  /** NLMSGERR_ATTR_MISS_TYPE: type of a missing attribute. */
  missingType?: number;
  /** NLMSGERR_ATTR_MISS_NEST: offset of the nest missing it. */
  missingNest?: number;
}

/** Decodes the payload of an NLMSG_ERROR message. */
export function parseError(msg: NetlinkMessage): ErrorPayload {
  const p = msg.payload;
  if (p.length < 4 + NLMSG_HDRLEN) throw new DecodeError(`NLMSG_ERROR of ${p.length} bytes is too short`, 0);
  const err = HOST_LE ? p.readInt32LE(0) : p.readInt32BE(0);
  const out: ErrorPayload = { errno: -err };
  if (msg.flags & NLM_F_ACK_TLVS) {
    // The original request follows: only its header when capped, else the whole request.
    const origLen = HOST_LE ? p.readUInt32LE(4) : p.readUInt32BE(4);
    const tlvStart = 4 + (msg.flags & NLM_F_CAPPED ? NLMSG_HDRLEN : align(origLen));
    if (tlvStart <= p.length) {
      const a = Attributes.parse(p, tlvStart);
      const text = a.string(NLMSGERR_ATTR_MSG);
      if (text) out.message = text;
      const offs = a.u32(NLMSGERR_ATTR_OFFS);
      if (offs !== undefined) out.offset = offs;
      const miss = a.u32(NLMSGERR_ATTR_MISS_TYPE);
      if (miss !== undefined) out.missingType = miss;
      const nest = a.u32(NLMSGERR_ATTR_MISS_NEST);
      if (nest !== undefined) out.missingNest = nest;
    }
  }
  return out;
}
