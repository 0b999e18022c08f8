/**
 * Layer 2 (nftables expressions): what every expression codec provides, and the checks
 * they share. Encoding validates: a bad field throws ValidationError naming it, before
 * anything is written to a batch.
 * @module
 */
import { DecodeError, ValidationError } from '../../errors.js';
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import { NFT_REG32_15 } from '../constants.js';

/** Encoder and decoder of one kind of expression (one NFTA_EXPR_NAME). */
export interface ExprCodec<E extends { kind: string }> {
  /** NFTA_EXPR_NAME, e.g. `payload`. */
  readonly name: string;
  /** Attribute types `decode` interprets; any other makes the expression decode as raw. */
  readonly known: ReadonlySet<number>;
  /**
   * Writes the attributes inside NFTA_EXPR_DATA, in the order libnftnl writes them.
   * Absent when the expression has no data at all (nft then sends no NFTA_EXPR_DATA).
   */
  readonly encode?: (w: Writer, e: E, field: string) => void;
  /** Reads NFTA_EXPR_DATA; DecodeError when it cannot be represented exactly. */
  readonly decode: (a: Attributes) => E;
}

/** Checks a register number: 0 (the verdict register) to NFT_REG32_15. */
export function checkReg(v: unknown, field: string, allowVerdict = false): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (allowVerdict ? 0 : 1) || v > NFT_REG32_15) {
    throw new ValidationError(field, `${JSON.stringify(v)} is not a register (${allowVerdict ? 0 : 1}-${NFT_REG32_15})`);
  }
  return v;
}

/** Checks an unsigned integer up to `max`. */
export function checkUint(v: unknown, field: string, max = 0xffffffff): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ValidationError(field, `${JSON.stringify(v)} is not an integer between 0 and ${max}`);
  }
  return v;
}

/** Checks one of a fixed set of names and returns its number. */
export function checkEnum<K extends string>(v: unknown, table: Readonly<Record<K, number>>, field: string): number {
  if (typeof v !== 'string' || !Object.hasOwn(table, v)) {
    throw new ValidationError(field, `${JSON.stringify(v)} is not one of ${Object.keys(table).join(', ')}`);
  }
  return table[v as K];
}

/** The name of `n` in `table`; DecodeError when it has none (the expression then decodes as raw). */
export function enumName<K extends string>(table: Readonly<Record<K, number>>, n: number | undefined, what: string): K {
  for (const k of Object.keys(table) as K[]) if (table[k] === n) return k;
  throw new DecodeError(`unknown ${what} ${n}`, 0);
}

/** A required attribute, or DecodeError. */
export function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new DecodeError(`missing ${what}`, 0);
  return v;
}

/** Flag names to a bitmask; ValidationError for an unknown name. */
export function checkFlags<K extends string>(v: unknown, table: Readonly<Record<K, number>>, field: string): number {
  if (!Array.isArray(v)) throw new ValidationError(field, 'must be an array');
  let bits = 0;
  v.forEach((f, i) => {
    bits |= checkEnum(f, table, `${field}[${i}]`);
  });
  return bits >>> 0;
}

/** A bitmask to flag names; DecodeError when a bit has no name. */
export function flagNames<K extends string>(table: Readonly<Record<K, number>>, bits: number, what: string): K[] {
  const out: K[] = [];
  let rest = bits >>> 0;
  for (const k of Object.keys(table) as K[]) {
    if (rest & table[k]) {
      out.push(k);
      rest &= ~table[k];
    }
  }
  if (rest !== 0) throw new DecodeError(`unknown ${what} 0x${rest.toString(16)}`, 0);
  return out;
}

