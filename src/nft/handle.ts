/**
 * Layer 2 (nftables): object handles. The kernel numbers tables, chains, rules and sets
 * with 64-bit handles, unique per table and never reused; netplumb gives them as numbers,
 * exact up to 2^53 (which a table would reach after adding a million objects a second for
 * three centuries).
 * @module
 */
import { ValidationError } from '../errors.js';

/** A dumped handle as a number (0 when absent). */
export function handleOf(v: bigint | undefined): number {
  return v === undefined ? 0 : Number(v);
}

/** Checks a handle given by a caller. */
export function checkHandle(v: unknown, field: string): bigint {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) throw new ValidationError(field, `${JSON.stringify(v)} is not a handle (a positive integer)`);
  return BigInt(v);
}
