/**
 * Layer 2 (nftables expressions): the Expression union, one codec per kind, and the
 * encoding of a rule's NFTA_RULE_EXPRESSIONS list. Decoding never fails on content: an
 * expression that is unknown, or that a codec cannot represent exactly, becomes `raw`.
 * @module
 */
import { DecodeError, ValidationError } from '../../errors.js';
import { Attributes, parseAttributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import { NFTA_EXPR_DATA, NFTA_EXPR_NAME, NFTA_LIST_ELEM } from '../constants.js';
import { type Bitwise, bitwise } from './bitwise.js';
import { type Cmp, cmp } from './cmp.js';
import type { ExprCodec } from './common.js';
import { type Counter, counter } from './counter.js';
import { type Ct, ct } from './ct.js';
import { type Fib, fib } from './fib.js';
import { type Immediate, immediate } from './immediate.js';
import { type Limit, limit } from './limit.js';
import { type Log, log } from './log.js';
import { type Lookup, lookup } from './lookup.js';
import { type Masq, masq } from './masq.js';
import { type Match, match } from './match.js';
import { type Meta, meta } from './meta.js';
import { type Nat, nat } from './nat.js';
import { type Notrack, notrack } from './notrack.js';
import { type Payload, payload } from './payload.js';
import { type Range, range } from './range.js';
import type { Raw } from './raw.js';
import { type Redir, redir } from './redir.js';
import { type Reject, reject } from './reject.js';

export type { AnonymousSet, Lookup } from './lookup.js';
export type { Bitwise, Cmp, Counter, Ct, Fib, Immediate, Limit, Log, Masq, Match, Meta, Nat, Notrack, Payload, Range, Raw, Redir, Reject };
export type { CmpOp } from './cmp.js';
export type { CtKey } from './ct.js';
export type { FibAddrType, FibFlag } from './fib.js';
export type { MetaKey } from './meta.js';
export type { NatFlag } from './nat.js';
export type { PayloadBase } from './payload.js';

/** One nftables expression; a rule is a list of them, evaluated in order. */
export type Expression =
  | Payload
  | Meta
  | Cmp
  | Bitwise
  | Range
  | Lookup
  | Ct
  | Fib
  | Immediate
  | Counter
  | Nat
  | Masq
  | Redir
  | Reject
  | Limit
  | Log
  | Notrack
  | Match
  | Raw;

/** Expression kinds that have a codec (every kind but `raw`). */
type ModelledKind = Exclude<Expression['kind'], 'raw'>;

const CODECS: { [K in ModelledKind]: ExprCodec<Extract<Expression, { kind: K }>> } = {
  payload,
  meta,
  cmp,
  bitwise,
  range,
  lookup,
  ct,
  fib,
  immediate,
  counter,
  nat,
  masq,
  redir,
  reject,
  limit,
  log,
  notrack,
  match,
};
const BY_NAME = new Map<string, ExprCodec<Expression>>(
  Object.values(CODECS).map((c) => [c.name, c as unknown as ExprCodec<Expression>]),
);

/** Writes one expression as an NFTA_LIST_ELEM (name, then data); ValidationError for a bad field. */
export function encodeExpression(w: Writer, e: Expression, field: string): void {
  if (!e || typeof e !== 'object') throw new ValidationError(field, 'must be an expression object');
  const elem = w.beginNest(NFTA_LIST_ELEM);
  try {
    if (e.kind === 'raw') {
      if (typeof e.name !== 'string' || e.name.length === 0) throw new ValidationError(`${field}.name`, 'must be a non-empty string');
      w.attrString(NFTA_EXPR_NAME, e.name);
      if (e.data !== undefined) {
        if (!(e.data instanceof Uint8Array)) throw new ValidationError(`${field}.data`, 'must be a Uint8Array');
        const d = w.beginNest(NFTA_EXPR_DATA);
        w.putBytes(e.data);
        w.endNest(d);
      }
    } else {
      const codec = Object.hasOwn(CODECS, e.kind) ? (CODECS[e.kind] as unknown as ExprCodec<Expression>) : undefined;
      if (!codec) throw new ValidationError(`${field}.kind`, `${JSON.stringify((e as { kind: unknown }).kind)} is not an expression kind`);
      w.attrString(NFTA_EXPR_NAME, codec.name);
      if (codec.encode) {
        const d = w.beginNest(NFTA_EXPR_DATA);
        codec.encode(w, e, field);
        w.endNest(d);
      }
    }
  } catch (err) {
    w.cancelNest(elem);
    throw err;
  }
  w.endNest(elem);
}

/** Decodes one NFTA_LIST_ELEM payload; DecodeError only when it has no name at all. */
export function decodeExpression(buf: Buffer): Expression {
  const a = Attributes.parse(buf);
  const name = a.string(NFTA_EXPR_NAME);
  if (name === undefined) throw new DecodeError('expression without NFTA_EXPR_NAME', 0);
  const dataBuf = a.get(NFTA_EXPR_DATA);
  const raw = (): Raw => (dataBuf === undefined ? { kind: 'raw', name } : { kind: 'raw', name, data: Uint8Array.from(dataBuf) });
  const codec = BY_NAME.get(name);
  if (!codec) return raw();
  try {
    const data = new Attributes(dataBuf === undefined ? [] : parseAttributes(dataBuf));
    if (data.unknown(codec.known).length > 0) return raw();
    return codec.decode(data);
  } catch (err) {
    // Content this codec cannot represent exactly (new kernel attributes, odd values) stays raw.
    if (err instanceof DecodeError) return raw();
    throw err;
  }
}

/** Decodes NFTA_RULE_EXPRESSIONS. */
export function decodeExpressions(buf: Buffer): Expression[] {
  return parseAttributes(buf)
    .filter((x) => x.type === NFTA_LIST_ELEM)
    .map((x) => decodeExpression(x.data));
}
