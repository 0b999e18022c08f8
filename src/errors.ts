/**
 * Error classes of netplumb. Every failure the library reports is one of these, with a
 * stable `code`. Kernel failures keep the errno and its name; netlink failures add the
 * kernel's extended-ack text rather than replacing the errno.
 * @module
 */
import { getSystemErrorName } from 'node:util';

/** Linux errnos libuv does not name that netlink reports (ERESTART: a stale nftables generation). */
const LINUX_ERRNO_NAMES: Readonly<Record<number, string>> = { 85: 'ERESTART', 524: 'ENOTSUPP' };

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

/** Base class of every error netplumb throws or rejects with. */
export class NetplumbError extends Error {
  /** Stable machine-readable code: an errno name such as `EEXIST`, or `ERR_NETPLUMB_*`. */
  readonly code: string;

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A system call failed (in the native addon or in a file operation). */
export class SystemError extends NetplumbError {
  /** Positive errno, e.g. 1 for EPERM. */
  readonly errno: number;
  /** The system call that failed, e.g. `setns`. */
  readonly syscall: string;
  /** The path involved, when there is one. */
  readonly path?: string;

  /** Also the constructor the native addon calls: `new SystemError(errno, syscall, path?)`. */
  constructor(errno: number, syscall: string, path?: string) {
    const code = errnoName(errno);
    super(`${syscall}${path ? ` ${path}` : ''} failed: ${code} (errno ${errno})`, code);
    this.errno = errno;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
  }
}

/** Where in a batch a netlink request failed and what it was. */
export interface NetlinkRequestInfo {
  /** What the request did, e.g. `RTM_NEWLINK veth0` or `NFT_MSG_NEWRULE`. */
  operation: string;
  /** Position of the failing message in its batch (0-based). */
  index: number;
  /** Netlink message type of the failing request. */
  type: number;
  /** Sequence number of the failing request. */
  seq: number;
}

/** The kernel refused a netlink request (NLMSG_ERROR with a negative error). */
export class NetlinkError extends NetplumbError {
  /** Positive errno from the kernel. */
  readonly errno: number;
  /** The kernel's extended-ack message, when it sent one. */
  readonly extack?: string;
  /** Byte offset into the failing request of the attribute the kernel blamed (NLMSGERR_ATTR_OFFS). */
  readonly extackOffset?: number;
  /** What the failing request did. */
  readonly operation: string;
  /** Position of the failing message in its batch. */
  readonly index: number;
  /** Sequence number of the failing request. */
  readonly seq: number;
  /** Netlink message type of the failing request. */
  readonly type: number;

  constructor(errno: number, request: NetlinkRequestInfo, extack?: string, extackOffset?: number) {
    const code = errnoName(errno);
    super(`${request.operation} failed: ${code} (errno ${errno})${extack ? `: ${extack}` : ''}`, code);
    this.errno = errno;
    this.operation = request.operation;
    this.index = request.index;
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

  constructor(field: string, message: string) {
    super(`${field}: ${message}`, 'ERR_NETPLUMB_INVALID');
    this.field = field;
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
