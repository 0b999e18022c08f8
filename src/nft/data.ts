/**
 * Layer 2 (nftables): struct nft_data on the wire — NFTA_DATA_VALUE (bytes) or
 * NFTA_DATA_VERDICT (a verdict code and, for jump/goto, a chain) — and the Verdict type.
 * @module
 */
import { DecodeError, ValidationError } from '../errors.js';
import type { Attributes } from '../netlink/attributes.js';
import type { Writer } from '../netlink/writer.js';
import {
  NFTA_DATA_VALUE,
  NFTA_DATA_VERDICT,
  NFTA_VERDICT_CHAIN,
  NFTA_VERDICT_CODE,
  NFT_BREAK,
  NFT_CONTINUE,
  NFT_DATA_VALUE_MAXLEN,
  NFT_GOTO,
  NFT_JUMP,
  NFT_RETURN,
  NF_ACCEPT,
  NF_DROP,
  NF_QUEUE,
  NF_REPEAT,
  NF_STOLEN,
} from './constants.js';
import { checkName } from './family.js';

/**
 * A verdict: what nft writes as `accept`, `drop`, `continue`, `return`, `jump CHAIN`,
 * `goto CHAIN` (and the rarer `queue`, `stolen`, `repeat`, `break`).
 */
export type Verdict =
  | 'accept'
  | 'drop'
  | 'continue'
  | 'return'
  | 'break'
  | 'queue'
  | 'stolen'
  | 'repeat'
  | { jump: string }
  | { goto: string };

const CODES: Record<string, number> = {
  drop: NF_DROP,
  accept: NF_ACCEPT,
  stolen: NF_STOLEN,
  queue: NF_QUEUE,
  repeat: NF_REPEAT,
  continue: NFT_CONTINUE,
  break: NFT_BREAK,
  return: NFT_RETURN,
};
const NAMES = new Map<number, Verdict>(Object.entries(CODES).map(([k, v]) => [v, k as Verdict]));

/** Checks a verdict; ValidationError naming `field` otherwise. */
export function checkVerdict(v: unknown, field: string): Verdict {
  if (typeof v === 'string' && Object.hasOwn(CODES, v)) return v as Verdict;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1 && (keys[0] === 'jump' || keys[0] === 'goto')) {
      checkName(o[keys[0]], `${field}.${keys[0]}`);
      return v as Verdict;
    }
  }
  throw new ValidationError(field, `${JSON.stringify(v)} is not a verdict (accept, drop, continue, return, { jump }, { goto } ...)`);
}

/** Writes NFTA_DATA_VERDICT's content (code, then chain). */
function putVerdict(w: Writer, v: Verdict): void {
  const n = w.beginNest(NFTA_DATA_VERDICT);
  if (typeof v === 'string') {
    w.attrBe32(NFTA_VERDICT_CODE, (CODES[v] as number) >>> 0);
  } else if ('jump' in v) {
    w.attrBe32(NFTA_VERDICT_CODE, NFT_JUMP >>> 0);
    w.attrString(NFTA_VERDICT_CHAIN, v.jump);
  } else {
    w.attrBe32(NFTA_VERDICT_CODE, NFT_GOTO >>> 0);
    w.attrString(NFTA_VERDICT_CHAIN, v.goto);
  }
  w.endNest(n);
}

/** Writes a nested nft_data attribute `type` holding a verdict. */
export function putVerdictData(w: Writer, type: number, v: Verdict): void {
  const n = w.beginNest(type);
  putVerdict(w, v);
  w.endNest(n);
}

/** Writes a nested nft_data attribute `type` holding bytes (NFTA_DATA_VALUE). */
export function putValueData(w: Writer, type: number, value: Uint8Array): void {
  const n = w.beginNest(type);
  w.attrBytes(NFTA_DATA_VALUE, value);
  w.endNest(n);
}

/** Checks bytes given as an expression's data: a non-empty Uint8Array of at most 64 bytes. */
export function checkBytes(v: unknown, field: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new ValidationError(field, 'must be a Uint8Array');
  if (v.length === 0 || v.length > NFT_DATA_VALUE_MAXLEN) {
    throw new ValidationError(field, `must be 1 to ${NFT_DATA_VALUE_MAXLEN} bytes, not ${v.length}`);
  }
  return v;
}

/** Reads NFTA_DATA_VALUE out of nft_data `type`; DecodeError when it is missing. */
export function readValueData(a: Attributes, type: number): Uint8Array {
  const d = a.nested(type)?.get(NFTA_DATA_VALUE);
  if (d === undefined) throw new DecodeError(`attribute ${type} holds no NFTA_DATA_VALUE`, 0);
  return Uint8Array.from(d);
}

/** Reads a verdict out of an NFTA_DATA_VERDICT nest's parent; DecodeError for unknown codes. */
export function readVerdict(data: Attributes): Verdict {
  const v = data.nested(NFTA_DATA_VERDICT);
  const code = v?.be32(NFTA_VERDICT_CODE);
  if (v === undefined || code === undefined) throw new DecodeError('nft_data holds no verdict', 0);
  const signed = code | 0;
  if (signed === NFT_JUMP || signed === NFT_GOTO) {
    const chain = v.string(NFTA_VERDICT_CHAIN);
    if (chain === undefined) throw new DecodeError('jump/goto verdict without a chain', 0);
    return signed === NFT_JUMP ? { jump: chain } : { goto: chain };
  }
  const name = NAMES.get(signed);
  if (name === undefined) throw new DecodeError(`unknown verdict code ${signed}`, 0);
  return name;
}
