/**
 * Layer 1 (netlink codec): a connection to one netlink protocol inside one namespace.
 * It keeps a small pool of sockets opened once inside that namespace, so operations never
 * setns, and concurrent batches each get a socket of their own (replies of two batches
 * must never interleave on one socket). Dumps marked NLM_F_DUMP_INTR are retried.
 * @module
 */
import { ClosedError, NetplumbError } from '../errors.js';
import { native } from '../native.js';
import { type Batch, type Reply, throwFirstError } from './batch.js';
import { diagnosticsStart, firstReplyError, publishBatch } from './diagnostics.js';

/** Socket buffer size: big enough for large dumps and for batches of thousands of messages. */
const SOCKET_BUFFER_BYTES = 8 << 20;
/** How often an inconsistent dump is retried before giving up (libmnl callers do the same). */
const DUMP_RETRIES = 10;

/** Options of {@link NetlinkConnection.execute}. */
export interface ExecuteOptions {
  /** Return replies with their errors instead of throwing the first one. */
  allowErrors?: boolean;
}

/** Sockets of one protocol in one namespace. */
export class NetlinkConnection {
  readonly protocol: number;
  private readonly nsFd: number;
  private readonly idle: number[] = [];
  private readonly waiters: Array<{ resolve: (fd: number) => void; reject: (e: Error) => void }> = [];
  private open = 0;
  private closed = false;
  private readonly maxSockets: number;

  /**
   * @param protocol NETLINK_ROUTE or NETLINK_NETFILTER.
   * @param nsFd namespace the sockets live in; borrowed, not owned.
   * @param maxSockets concurrent batches beyond this wait for a free socket.
   */
  constructor(protocol: number, nsFd: number, maxSockets = 64) {
    this.protocol = protocol;
    this.nsFd = nsFd;
    this.maxSockets = maxSockets;
    // The first socket is opened now so that a namespace that cannot be entered fails early.
    this.idle.push(this.openSocket());
  }

  private openSocket(): number {
    const fd = native.netlinkOpen(this.protocol, this.nsFd, SOCKET_BUFFER_BYTES);
    this.open++;
    return fd;
  }

  /** @internal A socket of the pool for exclusive use; give it back with {@link release}. */
  acquire(): number | Promise<number> {
    if (this.closed) throw new ClosedError('netlink connection');
    const fd = this.idle.pop();
    if (fd !== undefined) return fd;
    if (this.open < this.maxSockets) return this.openSocket();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** @internal Returns a socket taken with {@link acquire}. */
  release(fd: number): void {
    if (this.closed) {
      native.close(fd);
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(fd);
    else this.idle.push(fd);
  }

  /** Sends the batch in one sendmsg off the JS thread and sorts the replies. */
  async execute(batch: Batch, options: ExecuteOptions = {}): Promise<Reply[]> {
    const request = batch.bytes();
    const expect = batch.expected();
    const fd = await this.acquire();
    const start = diagnosticsStart();
    let data: Buffer;
    try {
      data = await native.netlinkTransact(fd, request, expect);
    } catch (err) {
      publishBatch(this.protocol, batch, start, err);
      throw err;
    } finally {
      this.release(fd);
    }
    const replies = batch.collect(data);
    publishBatch(this.protocol, batch, start, firstReplyError(replies));
    if (!options.allowErrors) throwFirstError(replies);
    return replies;
  }

  /** {@link execute} on the calling thread, for scripts that want no promises. */
  executeSync(batch: Batch, options: ExecuteOptions = {}): Reply[] {
    const fd = this.acquire();
    if (typeof fd !== 'number') throw new NetplumbError('no free netlink socket for a synchronous call', 'EBUSY');
    const start = diagnosticsStart();
    let data: Buffer;
    try {
      data = native.netlinkTransactSync(fd, batch.bytes(), batch.expected());
    } catch (err) {
      publishBatch(this.protocol, batch, start, err);
      throw err;
    } finally {
      this.release(fd);
    }
    const replies = batch.collect(data);
    publishBatch(this.protocol, batch, start, firstReplyError(replies));
    if (!options.allowErrors) throwFirstError(replies);
    return replies;
  }

  /**
   * Runs a dump built by `build` (a fresh batch each try) and returns the data messages of
   * its requests, retrying while the kernel marks the dump as interrupted.
   */
  async dump(build: () => Batch): Promise<Reply[]> {
    for (let attempt = 0; ; attempt++) {
      const replies = await this.execute(build());
      if (!replies.some((r) => r.interrupted)) return replies;
      if (attempt >= DUMP_RETRIES) {
        throw new NetplumbError(
          `${replies[0]?.request.operation ?? 'dump'}: still inconsistent after ${DUMP_RETRIES} retries`,
          'EINTR',
        );
      }
    }
  }

  /** Closes every socket; batches in flight finish, then their sockets close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of this.idle.splice(0)) native.close(fd);
    for (const w of this.waiters.splice(0)) w.reject(new ClosedError('netlink connection'));
  }
}
