/**
 * CLI: the exit codes of `netplumb` (stable: scripts may test them) and how an error
 * becomes one, and the line it prints on stderr.
 * @module
 */
import { NetlinkError, NetplumbError, SystemError } from '../index.js';

/** Exit codes of every `netplumb` command. */
export const EXIT = {
  /** It did what was asked. */
  OK: 0,
  /** The kernel or the system refused (NetlinkError, SystemError), or another failure. */
  FAILURE: 1,
  /** The command line is wrong: unknown command or option, missing or extra argument. */
  USAGE: 2,
  /** A value was refused before anything was sent to the kernel (ValidationError). */
  INVALID: 3,
  /** No such network, namespace, endpoint or link (ENOENT, ENODEV, ESRCH). */
  NOT_FOUND: 4,
  /** Already exists, in use, or taken (EEXIST, EBUSY, port already allocated, already connected). */
  CONFLICT: 5,
  /** Not allowed: netplumb needs root, or CAP_NET_ADMIN and CAP_SYS_ADMIN (EPERM, EACCES). */
  PERMISSION: 6,
  /** `netplumb doctor` found a problem that stops netplumb from working. */
  PROBLEMS: 7,
} as const;

const BY_CODE: Readonly<Record<string, number>> = {
  ERR_NETPLUMB_USAGE: EXIT.USAGE,
  ERR_NETPLUMB_INVALID: EXIT.INVALID,
  ENOENT: EXIT.NOT_FOUND,
  ENODEV: EXIT.NOT_FOUND,
  ESRCH: EXIT.NOT_FOUND,
  EEXIST: EXIT.CONFLICT,
  EBUSY: EXIT.CONFLICT,
  EADDRINUSE: EXIT.CONFLICT,
  ERR_NETPLUMB_PORT_ALLOCATED: EXIT.CONFLICT,
  ERR_NETPLUMB_ALREADY_CONNECTED: EXIT.CONFLICT,
  EPERM: EXIT.PERMISSION,
  EACCES: EXIT.PERMISSION,
};

/** The exit code for an error a command failed with. */
export function exitCode(e: unknown): number {
  return e instanceof NetplumbError ? (BY_CODE[e.code] ?? EXIT.FAILURE) : EXIT.FAILURE;
}

/** An error as `--json` prints it on stderr. */
export function errorJson(e: unknown): Record<string, unknown> {
  if (!(e instanceof NetplumbError)) return { code: 'ERR_NETPLUMB_INTERNAL', message: e instanceof Error ? e.message : String(e) };
  return {
    code: e.code,
    message: e.message,
    type: e.name,
    ...(e instanceof NetlinkError || e instanceof SystemError ? { errno: e.errno } : {}),
    ...(e instanceof NetlinkError ? { operation: e.operation, ...(e.extack !== undefined ? { extack: e.extack } : {}) } : {}),
    ...(e instanceof SystemError ? { syscall: e.syscall, ...(e.path !== undefined ? { path: e.path } : {}) } : {}),
  };
}

/** The one line an error prints on stderr: its code, then the message (with the kernel's own text). */
export function errorLine(e: unknown): string {
  const j = errorJson(e);
  const hint = j.code === 'EPERM' || j.code === 'EACCES' ? ' (netplumb needs root, or CAP_NET_ADMIN and CAP_SYS_ADMIN)' : '';
  return `netplumb: error ${String(j.code)}: ${String(j.message)}${hint}`;
}
