/**
 * Error classes of netplumb. Every failure the library reports is one of these, with a
 * stable `code`. Kernel failures keep the errno and its name; netlink failures add the
 * kernel's extended-ack text rather than replacing the errno.
 * @module
 */
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';

/** Linux errnos libuv does not name that netlink reports (ERESTART: a stale nftables generation). */
const LINUX_ERRNO_NAMES: Readonly<Record<number, string>> = { 85: 'ERESTART', 524: 'ENOTSUPP' };

/** Errno name → number: Node's table of this platform plus the kernel-internal ones netlink reports. */
const ERRNO_NUMBERS: ReadonlyMap<string, number> = new Map<string, number>([
  ...Object.entries(constants.errno as Record<string, number>),
  ...Object.entries(LINUX_ERRNO_NAMES).map(([n, name]): [string, number] => [name, Number(n)]),
]);

/** Number of an errno name, e.g. `EBUSY` → 16; undefined for a code that is not an errno name. */
export function errnoNumber(code: string): number | undefined {
  return ERRNO_NUMBERS.get(code);
}

/** Name of a (positive) errno, e.g. 1 → `EPERM`; `E<n>` when nobody knows it. */
export function errnoName(errno: number): string {
  const n = Math.abs(errno);
  try {
    const name = getSystemErrorName(-n);
    // libuv answers "Unknown system error -N" for errnos it does not name.
    if (!name.startsWith('Unknown')) return name;
  } catch {
    // Not an errno libuv knows at all.
  }
  return LINUX_ERRNO_NAMES[n] ?? `E${n}`;
}

/**
 * Base class of every error netplumb throws or rejects with. When `code` is an errno name
 * (`EBUSY`, `ENOENT` ...), `errno` is its number, so `err.errno` works whichever class
 * reported it; `ERR_NETPLUMB_*` codes have no errno.
 */
export class NetplumbError extends Error {
  /** Stable machine-readable code: an errno name such as `EEXIST`, or `ERR_NETPLUMB_*`. */
  readonly code: string;
  /** Positive errno of `code` when `code` is an errno name, e.g. 16 for `EBUSY`. */
  readonly errno?: number;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    const errno = ERRNO_NUMBERS.get(code);
    if (errno !== undefined) this.errno = errno;
  }
}

/** What Node's own system errors (sockets, fs) carry. */
interface NodeSystemError extends Error {
  errno?: number;
  code?: string;
  syscall?: string;
  path?: string;
  address?: string;
  port?: number;
}

/** A system call failed (in the native addon or in a file operation). */
export class SystemError extends NetplumbError {
  /** Positive errno, e.g. 1 for EPERM. */
  declare readonly errno: number;
  /** The system call that failed, e.g. `setns`. */
  readonly syscall: string;
  /** The path involved, when there is one. */
  readonly path?: string;

  /** Also the constructor the native addon calls: `new SystemError(errno, syscall, path?)`. */
  constructor(errno: number, syscall: string, path?: string, options?: { cause?: unknown }) {
    const code = errnoName(errno);
    super(`${syscall}${path ? ` ${path}` : ''} failed: ${code} (errno ${errno})`, code, options);
    this.errno = errno;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
  }

  /**
   * Node's own error for a system call (a socket's `connect`, an fs call) as a SystemError
   * with the same errno, syscall and path, the original as `cause`. Anything else that is
   * not already a NetplumbError becomes a NetplumbError `ERR_NETPLUMB_INTERNAL` with it as cause.
   */
  static from(err: unknown, syscall = 'unknown'): NetplumbError {
    if (err instanceof NetplumbError) return err;
    const e = err as NodeSystemError | undefined;
    const errno = typeof e?.errno === 'number' ? Math.abs(e.errno) : e?.code ? ERRNO_NUMBERS.get(e.code) : undefined;
    if (errno !== undefined && errno > 0) {
      const where = e?.path ?? (e?.address !== undefined ? `${e.address}${e.port !== undefined ? `:${e.port}` : ''}` : undefined);
      return new SystemError(errno, e?.syscall ?? syscall, where, { cause: err });
    }
    return new NetplumbError(`${syscall}: ${e instanceof Error ? e.message : String(err)}`, 'ERR_NETPLUMB_INTERNAL', { cause: err });
  }
}

/** Where in a batch a netlink request failed and what it was. */
export interface NetlinkRequestInfo {
  /** What the request did, e.g. `RTM_NEWLINK veth0` or `NFT_MSG_NEWRULE`. */
  operation: string;
  /** Position of the failing message in its batch as sent (0-based, see {@link NetlinkError.index}). */
  index: number;
  /** Netlink message type of the failing request. */
  type: number;
  /** Sequence number of the failing request. */
  seq: number;
  /** Position of the failing change among an nftables transaction's changes, when it is one. */
  change?: number;
}

/** The kernel refused a netlink request (NLMSG_ERROR with a negative error). */
export class NetlinkError extends NetplumbError {
  /** Positive errno from the kernel. */
  declare readonly errno: number;
  /** The kernel's extended-ack message, when it sent one. */
  readonly extack?: string;
  /** Byte offset into the failing request of the attribute the kernel blamed (NLMSGERR_ATTR_OFFS). */
  readonly extackOffset?: number;
  /** What the failing request did. */
  readonly operation: string;
  /**
   * Position of the failing message within the batch as sent: 0-based, counting every
   * netlink message of the sendmsg — in an nftables transaction NFNL_MSG_BATCH_BEGIN is
   * message 0 and the first change's first message is 1; a change that sends several
   * messages (a rule with an inline set, a large element list) counts each. The same in
   * every producer: rtnetlink batches, transactions, pipeline steps (within their step).
   */
  readonly index: number;
  /**
   * In an nftables transaction, which change failed: its position (0-based) among the
   * calls that added changes (addTable, createElements ...). Undefined elsewhere, and for
   * a failure of the batch itself (on NFNL_MSG_BATCH_BEGIN).
   */
  readonly change?: number;
  /** Sequence number of the failing request. */
  readonly seq: number;
  /** Netlink message type of the failing request. */
  readonly type: number;

  constructor(errno: number, request: NetlinkRequestInfo, extack?: string, extackOffset?: number, options?: { cause?: unknown }) {
    const code = errnoName(errno);
    super(`${request.operation} failed: ${code} (errno ${errno})${extack ? `: ${extack}` : ''}`, code, options);
    this.errno = errno;
    this.operation = request.operation;
    this.index = request.index;
    if (request.change !== undefined) this.change = request.change;
    this.seq = request.seq;
    this.type = request.type;
    if (extack !== undefined) this.extack = extack;
    if (extackOffset !== undefined) this.extackOffset = extackOffset;
  }
}

/** Input was refused before anything was sent to the kernel. */
export class ValidationError extends NetplumbError {
  /** The option or argument that is wrong, e.g. `subnet`. */
  readonly field: string;

  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(`${field}: ${message}`, 'ERR_NETPLUMB_INVALID', options);
    this.field = field;
  }

  /**
   * `err` when it is already a NetplumbError; otherwise (a TypeError or RangeError from
   * input no check foresaw) a ValidationError of `field` with `err` as its cause.
   */
  static wrap(err: unknown, field: string): NetplumbError {
    if (err instanceof NetplumbError) return err;
    return new ValidationError(field, err instanceof Error ? err.message : String(err), { cause: err });
  }
}

/** Bytes from the kernel (or a fixture) could not be decoded: truncated or malformed. */
export class DecodeError extends NetplumbError {
  /** Byte offset where decoding failed. */
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(`${message} (at byte ${offset})`, 'ERR_NETPLUMB_DECODE');
    this.offset = offset;
  }
}

/** A handle was used after `close()` or `delete()`. */
export class ClosedError extends NetplumbError {
  constructor(what: string) {
    super(`${what} is closed`, 'ERR_NETPLUMB_CLOSED');
  }
}
