/**
 * Layer 2 (nftables): rules — NFT_MSG_NEWRULE/DELRULE attributes and the decoding of
 * dumped rules. A rule's comment is stored as nft stores it (NFTA_RULE_USERDATA holding
 * an NFTNL_UDATA_RULE_COMMENT TLV), so `nft list ruleset` shows it.
 * @module
 */
import { ValidationError } from '../errors.js';
import type { Writer } from '../netlink/writer.js';
import {
  NFTA_RULE_CHAIN,
  NFTA_RULE_COMPAT,
  NFTA_RULE_COMPAT_FLAGS,
  NFTA_RULE_COMPAT_PROTO,
  NFTA_RULE_EXPRESSIONS,
  NFTA_RULE_HANDLE,
  NFTA_RULE_POSITION,
  NFTA_RULE_TABLE,
  NFTA_RULE_USERDATA,
} from './constants.js';
import { checkUint } from './expr/common.js';
import { type Expression, decodeExpressions, encodeExpression } from './expr/index.js';
import { type Family, checkName, parsePayload } from './family.js';
import { checkHandle, handleOf } from './handle.js';
import { NFTNL_UDATA_RULE_COMMENT, commentUdata, readComment } from './udata.js';

/** A rule's expressions as given: expressions, or lists of them (what the builder returns), flattened in order. */
export type ExpressionInput = Expression | readonly Expression[];

/**
 * NFTA_RULE_COMPAT: the x_tables protocol and flags iptables-nft attaches to a rule with
 * xt matches (`-p tcp` → proto 6; flags NFT_RULE_COMPAT_F_INV for `! -p`).
 */
export interface RuleCompat {
  proto: number;
  flags: number;
}

/** A rule to add: like `nft add rule FAMILY TABLE CHAIN EXPRESSIONS [comment "..."]`. */
export interface RuleSpec {
  family: Family;
  table: string;
  chain: string;
  expressions: readonly ExpressionInput[];
  comment?: string;
  /**
   * Handle of an existing rule to place this one next to: after it for
   * {@link Transaction.addRule}, before it for {@link Transaction.insertRule}
   * (nft's `position HANDLE`). Without it, add appends and insert prepends.
   */
  position?: number;
  /** NFTA_RULE_COMPAT, as iptables-nft writes it for rules with xt matches (see {@link RuleCompat}). */
  compat?: RuleCompat;
}

/** A rule read back from the kernel. */
export interface NftRule {
  family: Family;
  table: string;
  chain: string;
  handle: number;
  expressions: Expression[];
  comment?: string;
  /** User data that is not a comment nft wrote (another tool's), kept as bytes. */
  userdata?: Uint8Array;
  /** NFTA_RULE_COMPAT, when the rule has it (iptables-nft rules with xt matches). */
  compat?: RuleCompat;
}

/** Flattens builder output into one expression list. */
export function flattenExpressions(input: readonly ExpressionInput[], field: string): Expression[] {
  if (!Array.isArray(input)) throw new ValidationError(field, 'must be an array of expressions');
  const out: Expression[] = [];
  for (const x of input) {
    if (Array.isArray(x)) out.push(...(x as Expression[]));
    else out.push(x as Expression);
  }
  return out;
}

/**
 * Writes NEWRULE's attributes in libnftnl's order. Returns the byte offsets (from the
 * start of the writer) where each expression begins, so a kernel error pointing into the
 * message can be traced to an expression.
 */
export function encodeRule(w: Writer, r: RuleSpec, expressions: readonly Expression[], handle: bigint | undefined, position: bigint | undefined, field: string): number[] {
  w.attrString(NFTA_RULE_TABLE, checkName(r.table, `${field}.table`));
  w.attrString(NFTA_RULE_CHAIN, checkName(r.chain, `${field}.chain`));
  if (handle !== undefined) w.attrBe64(NFTA_RULE_HANDLE, handle);
  if (position !== undefined) w.attrBe64(NFTA_RULE_POSITION, position);
  const offsets: number[] = [];
  const list = w.beginNest(NFTA_RULE_EXPRESSIONS);
  expressions.forEach((e, i) => {
    offsets.push(w.offset);
    encodeExpression(w, e, `${field}.expressions[${i}]`);
  });
  w.endNest(list);
  if (r.compat !== undefined) {
    if (!r.compat || typeof r.compat !== 'object') throw new ValidationError(`${field}.compat`, 'must be { proto, flags }');
    const c = w.beginNest(NFTA_RULE_COMPAT);
    w.attrBe32(NFTA_RULE_COMPAT_PROTO, checkUint(r.compat.proto, `${field}.compat.proto`));
    w.attrBe32(NFTA_RULE_COMPAT_FLAGS, checkUint(r.compat.flags, `${field}.compat.flags`));
    w.endNest(c);
  }
  if (r.comment !== undefined) w.attrBytes(NFTA_RULE_USERDATA, commentUdata(NFTNL_UDATA_RULE_COMMENT, r.comment, `${field}.comment`));
  return offsets;
}

/** Writes the attributes of DELRULE: a table, optionally a chain, optionally a handle. */
export function encodeRuleRef(w: Writer, table: string, chain: string | undefined, handle: unknown, field: string): void {
  w.attrString(NFTA_RULE_TABLE, checkName(table, `${field}.table`));
  if (chain !== undefined) w.attrString(NFTA_RULE_CHAIN, checkName(chain, `${field}.chain`));
  if (handle !== undefined) w.attrBe64(NFTA_RULE_HANDLE, checkHandle(handle, `${field}.handle`));
}

/** Decodes a NEWRULE message payload. */
export function decodeRule(payload: Buffer): NftRule {
  const { family, attrs: a } = parsePayload(payload);
  const exprs = a.get(NFTA_RULE_EXPRESSIONS);
  const r: NftRule = {
    family,
    table: a.string(NFTA_RULE_TABLE) ?? '',
    chain: a.string(NFTA_RULE_CHAIN) ?? '',
    handle: handleOf(a.be64(NFTA_RULE_HANDLE)),
    expressions: exprs ? decodeExpressions(exprs) : [],
  };
  const compat = a.nested(NFTA_RULE_COMPAT);
  if (compat) r.compat = { proto: compat.be32(NFTA_RULE_COMPAT_PROTO) ?? 0, flags: compat.be32(NFTA_RULE_COMPAT_FLAGS) ?? 0 };
  const udata = a.get(NFTA_RULE_USERDATA);
  const comment = readComment(udata, NFTNL_UDATA_RULE_COMMENT);
  if (comment !== undefined) r.comment = comment;
  else if (udata) r.userdata = Uint8Array.from(udata);
  return r;
}
