/**
 * Layer 1 (netlink codec): a batch of requests written into one buffer (sent with one
 * sendmsg), each with its own sequence number and a label saying what it does, and the
 * sorting of the kernel's replies back to the requests that caused them.
 * @module
 */
import { NetlinkError, NetplumbError } from '../errors.js';
import {
  NLMSG_DONE,
  NLMSG_ERROR,
  NLMSG_MIN_TYPE,
  NLM_F_ACK,
  NLM_F_DUMP,
  NLM_F_DUMP_INTR,
  NLM_F_REQUEST,
} from './constants.js';
import { type NetlinkMessage, parseError, parseMessages } from './message.js';
import { HOST_LE, Writer } from './writer.js';

let nextSeq = (Date.now() & 0xffff) << 8;

/** A fresh sequence number (unique per process, which is stricter than per socket). */
export function allocateSeq(): number {
  nextSeq = (nextSeq + 1) >>> 0;
  if (nextSeq === 0) nextSeq = 1;
  return nextSeq;
}

/** What the batch remembers about each request it holds. */
export interface Request {
  type: number;
  flags: number;
  seq: number;
  /** Human label used in errors, e.g. `RTM_NEWLINK veth1`. */
  operation: string;
  /** Byte offset of the request's header in the batch. */
  offset: number;
  /** Whether a terminal reply (ack, error or NLMSG_DONE) must arrive for this request. */
  expectsReply: boolean;
}

/** The kernel's answer to one request. */
export interface Reply {
  request: Request;
  /** Data messages (dump parts, GET answers) for this request, in order. */
  messages: NetlinkMessage[];
  /** Set when the kernel refused the request. */
  error?: NetlinkError;
  /** A dump part carried NLM_F_DUMP_INTR: the dump is inconsistent and must be retried. */
  interrupted: boolean;
  /** A terminal message (ack, error or DONE) arrived. */
  complete: boolean;
}

/**
 * Requests written back to back. `begin()` writes the header and returns the writer for
 * the family header and attributes; `end()` fills in the length.
 */
export class Batch {
  readonly writer: Writer;
  readonly requests: Request[] = [];
  private open = -1;

  constructor(initialSize = 1024) {
    this.writer = new Writer(initialSize);
  }

  /**
   * Starts a request. NLM_F_REQUEST is always set; pass NLM_F_ACK to get an ack for a
   * change, NLM_F_DUMP for a dump. `expectsReply` defaults to "ACK is set, or it is a dump".
   */
  begin(type: number, flags: number, operation: string, expectsReply?: boolean): Writer {
    if (this.open !== -1) throw new NetplumbError('Batch.begin() before end() of the previous request', 'ERR_NETPLUMB_INTERNAL');
    const w = this.writer;
    const seq = allocateSeq();
    const f = flags | NLM_F_REQUEST;
    this.open = w.offset;
    w.putU32(0);
    w.putU16(type);
    w.putU16(f);
    w.putU32(seq);
    w.putU32(0);
    this.requests.push({
      type,
      flags: f,
      seq,
      operation,
      offset: this.open,
      // NLM_F_DUMP's bits mean REPLACE|EXCL on NEW requests: a dump has both and no ACK.
      expectsReply: expectsReply ?? ((f & NLM_F_ACK) !== 0 || (f & NLM_F_DUMP) === NLM_F_DUMP),
    });
    return w;
  }

  /** Finishes the request begun last. */
  end(): void {
    const start = this.open;
    if (start === -1) throw new NetplumbError('Batch.end() without begin()', 'ERR_NETPLUMB_INTERNAL');
    const w = this.writer;
    w.pad();
    const len = w.offset - start;
    if (HOST_LE) w.buf.writeUInt32LE(len, start);
    else w.buf.writeUInt32BE(len, start);
    this.open = -1;
  }

  /** Drops the request begun last (e.g. when validation fails half-way). */
  cancel(): void {
    if (this.open === -1) return;
    this.writer.offset = this.open;
    this.requests.pop();
    this.open = -1;
  }

  /**
   * Copies requests `from` … `to - 1` of `other` to the end of this batch, as they are:
   * same bytes, flags and sequence numbers, so `other.collect()` still sorts the kernel's
   * replies to this batch into its own requests' replies.
   */
  append(other: Batch, from = 0, to = other.length): void {
    if (this.open !== -1 || other.open !== -1) throw new NetplumbError('Batch has an unfinished request', 'ERR_NETPLUMB_INTERNAL');
    if (from >= to) return;
    const start = (other.requests[from] as Request).offset;
    const end = to < other.length ? (other.requests[to] as Request).offset : other.writer.offset;
    const shift = this.writer.offset - start;
    this.writer.putBytes(other.writer.buf.subarray(start, end));
    for (let i = from; i < to; i++) {
      const r = other.requests[i] as Request;
      this.requests.push({ ...r, offset: r.offset + shift });
    }
  }

  /** Number of requests. */
  get length(): number {
    return this.requests.length;
  }

  /** The encoded requests. */
  bytes(): Buffer {
    if (this.open !== -1) throw new NetplumbError('Batch has an unfinished request', 'ERR_NETPLUMB_INTERNAL');
    return this.writer.bytes();
  }

  /**
   * Asks for one acknowledgement instead of one per request: clears NLM_F_ACK on every
   * request but the last that asked for one. The kernel handles a sendmsg's requests in
   * order and reports a failing request whether or not it asked for an ack, so the last
   * ack still proves everything before it was handled — with one reply datagram (and one
   * recvmsg) instead of one per request. Dumps carry no ACK and are left alone.
   */
  ackLastOnly(): this {
    if (this.open !== -1) throw new NetplumbError('Batch has an unfinished request', 'ERR_NETPLUMB_INTERNAL');
    let last = -1;
    this.requests.forEach((r, i) => {
      if (r.flags & NLM_F_ACK) last = i;
    });
    this.requests.forEach((r, i) => {
      if (i === last || !(r.flags & NLM_F_ACK)) return;
      r.flags &= ~NLM_F_ACK;
      r.expectsReply = false;
      const at = r.offset + 6;
      if (HOST_LE) this.writer.buf.writeUInt16LE(r.flags, at);
      else this.writer.buf.writeUInt16BE(r.flags, at);
    });
    return this;
  }

  /** Sequence numbers whose terminal replies the transport must wait for. */
  expected(): Uint32Array {
    const seqs: number[] = [];
    for (const r of this.requests) if (r.expectsReply) seqs.push(r.seq);
    return Uint32Array.from(seqs);
  }

  /** Sorts a receive buffer's messages into one {@link Reply} per request. */
  collect(data: Buffer): Reply[] {
    const bySeq = new Map<number, Reply>();
    const replies = this.requests.map((request) => {
      const r: Reply = { request, messages: [], interrupted: false, complete: false };
      bySeq.set(request.seq, r);
      return r;
    });
    for (const msg of parseMessages(data)) {
      const r = bySeq.get(msg.seq);
      // Not ours: a stale reply of an abandoned request.
      if (r) this.take(r, msg);
    }
    return replies;
  }

  /**
   * {@link collect} from messages already parsed and grouped by sequence number: those of
   * a batch this one's requests were copied into ({@link append}), read once for all.
   */
  collectFrom(bySeq: ReadonlyMap<number, readonly NetlinkMessage[]>): Reply[] {
    return this.requests.map((request) => {
      const r: Reply = { request, messages: [], interrupted: false, complete: false };
      for (const msg of bySeq.get(request.seq) ?? []) this.take(r, msg);
      return r;
    });
  }

  private take(r: Reply, msg: NetlinkMessage): void {
    if (msg.flags & NLM_F_DUMP_INTR) r.interrupted = true;
    if (msg.type === NLMSG_ERROR) {
      const e = parseError(msg);
      r.complete = true;
      if (e.errno !== 0) r.error = this.toError(r.request, e.errno, e.message, e.offset, e.missingType);
    } else if (msg.type === NLMSG_DONE) {
      r.complete = true;
      // A dump may end with an error in place of its DONE payload's 0.
      if (msg.payload.length >= 4) {
        const v = HOST_LE ? msg.payload.readInt32LE(0) : msg.payload.readInt32BE(0);
        if (v < 0) r.error = this.toError(r.request, -v, undefined, undefined, undefined);
      }
    } else if (msg.type >= NLMSG_MIN_TYPE) {
      r.messages.push(msg);
    }
  }

  private toError(
    req: Request,
    errno: number,
    text: string | undefined,
    offset: number | undefined,
    missingType: number | undefined,
  ): NetlinkError {
    const extack = text ?? (missingType !== undefined ? `missing attribute type ${missingType}` : undefined);
    return new NetlinkError(
      errno,
      { operation: req.operation, index: this.requests.indexOf(req), type: req.type, seq: req.seq },
      extack,
      offset,
    );
  }
}

/** The first error of `replies`, or a NetplumbError when an expected reply is missing; undefined when there is neither. */
export function firstError(replies: readonly Reply[]): Error | undefined {
  for (const r of replies) {
    if (r.error) return r.error;
    if (r.request.expectsReply && !r.complete) return new NetplumbError(`${r.request.operation}: the kernel sent no reply`, 'ERR_NETPLUMB_NO_REPLY');
  }
  return undefined;
}

/** Throws {@link firstError} of `replies`, if any. */
export function throwFirstError(replies: readonly Reply[]): void {
  const error = firstError(replies);
  if (error) throw error;
}
