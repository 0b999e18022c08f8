/**
 * CNI plugin (on the public surface): the spec's error result. A failing verb exits
 * non-zero and prints `{ cniVersion, code, msg, details }` on stdout; the codes below 100
 * are the spec's, 100 and up netplumb's own. NetplumbError is the public one, imported
 * from its own module (which src/index.ts re-exports) so that VERSION and argument errors
 * never load the addon.
 * @module
 */
import { NetplumbError } from '../errors.js';

/** Error codes of the CNI spec (SPEC.md "Error codes") and netplumb's own (100 and up). */
export const CNI_ERR = {
  /** Incompatible CNI version. */
  INCOMPATIBLE_VERSION: 1,
  /** Unsupported field in the network configuration. */
  UNSUPPORTED_FIELD: 2,
  /** Container unknown or does not exist. */
  UNKNOWN_CONTAINER: 3,
  /** Invalid necessary environment variables (CNI_COMMAND, CNI_CONTAINERID ...). */
  INVALID_ENVIRONMENT: 4,
  /** I/O failure (e.g. reading stdin). */
  IO_FAILURE: 5,
  /** Failed to decode content (stdin is not JSON). */
  DECODE: 6,
  /** Invalid network configuration. */
  INVALID_CONFIG: 7,
  /** Try again later: a transient condition, e.g. the network being created by another call. */
  TRY_AGAIN_LATER: 11,
  /** STATUS: the plugin cannot serve ADD requests on this host. */
  NOT_AVAILABLE: 50,
  /** The kernel refused an operation (netplumb's NetlinkError / SystemError). */
  KERNEL: 100,
  /** A requested host port is already published. */
  PORT_ALLOCATED: 101,
  /** The requested address is taken or the range is exhausted. */
  ADDRESS_UNAVAILABLE: 102,
  /** The interface name already exists in the container's namespace, or the attachment already exists. */
  ALREADY_EXISTS: 103,
  /** CHECK found the kernel state different from prevResult. */
  CHECK_MISMATCH: 104,
  /** Any other netplumb failure. */
  INTERNAL: 199,
} as const;

/** A failure to report to the runtime as the spec's error JSON. */
export class CniError extends NetplumbError {
  /** The CNI error code printed in the result. */
  readonly cniCode: number;
  /** Longer explanation (the spec's `details`). */
  readonly details: string | undefined;

  constructor(cniCode: number, msg: string, details?: string, options?: { cause?: unknown }) {
    super(msg, `ERR_NETPLUMB_CNI_${cniCode}`, options);
    this.cniCode = cniCode;
    this.details = details;
  }
}

/** The error JSON of the spec for any thrown value. */
export function errorResult(err: unknown, cniVersion: string): { cniVersion: string; code: number; msg: string; details?: string } {
  const e = toCniError(err);
  return { cniVersion, code: e.cniCode, msg: e.message, ...(e.details ? { details: e.details } : {}) };
}

/** Maps the library's errors to CNI codes; keeps CniErrors as they are. */
export function toCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof NetplumbError) {
    const details = `${err.name} ${err.code}`;
    if (err.code === 'ERR_NETPLUMB_PORT_ALLOCATED') return new CniError(CNI_ERR.PORT_ALLOCATED, err.message, details, { cause: err });
    if (err.code === 'ERR_NETPLUMB_ALREADY_CONNECTED' || err.code === 'EEXIST') return new CniError(CNI_ERR.ALREADY_EXISTS, err.message, details, { cause: err });
    if (err.code === 'ERR_NETPLUMB_INVALID') {
      // The library says "in use" and "no free address left" about the field ipv4/ipv6.
      const field = (err as NetplumbError & { field?: string }).field;
      const code = field === 'ipv4' || field === 'ipv6' ? CNI_ERR.ADDRESS_UNAVAILABLE : CNI_ERR.INVALID_CONFIG;
      return new CniError(code, err.message, details, { cause: err });
    }
    if (err.code === 'ERESTART' || err.code === 'EAGAIN' || err.code === 'EBUSY' || err.code === 'ENOBUFS') {
      return new CniError(CNI_ERR.TRY_AGAIN_LATER, err.message, details, { cause: err });
    }
    return new CniError(CNI_ERR.KERNEL, err.message, details, { cause: err });
  }
  const msg = err instanceof Error ? err.message : String(err);
  return new CniError(CNI_ERR.INTERNAL, msg, err instanceof Error ? err.stack : undefined, { cause: err });
}
