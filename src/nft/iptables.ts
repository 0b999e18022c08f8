/**
 * Layer 2 (nftables): rules in someone else's iptables-nft chain, written exactly as
 * iptables-nft 1.8.9 writes them, so that `iptables -S` lists them cleanly (no
 * "incompatible" warning) and whoever runs that firewall reads what netplumb added.
 * iptables-nft stores `-m comment --comment C` as an x_tables `comment` match (not as rule
 * userdata), and every rule gets a counter and NFTA_RULE_COMPAT.
 * @module
 */
import { ValidationError } from '../errors.js';
import type { Expression, Match } from './expr/index.js';
import type { NftRule, RuleSpec } from './rule.js';

/** XT_MAX_COMMENT_LEN: `struct xt_comment_info` is this char array, NUL included. */
const XT_MAX_COMMENT_LEN = 256;
/** IFNAMSIZ, NUL included. */
const IFNAMSIZ = 16;

/** An `iptables -I CHAIN [-i IN] [-o OUT] -m comment --comment C -j ACCEPT` rule. */
export interface IptablesAcceptSpec {
  /** `ip` (iptables) or `ip6` (ip6tables). Default `ip`. */
  family?: 'ip' | 'ip6';
  /** Default `filter`. */
  table?: string;
  /** Default `FORWARD`. */
  chain?: string;
  /** `-i NAME`: the packet came in on this interface. */
  inInterface?: string;
  /** `-o NAME`: the packet goes out on this interface. */
  outInterface?: string;
  /** `-m comment --comment C`: printable, ≤ 255 bytes; how the rule is found again. */
  comment: string;
  /** Handle of a rule to insert before (as insertRule's `position`); default: the head of the chain. */
  position?: number;
}

function checkIfname(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length === 0 || Buffer.byteLength(v) >= IFNAMSIZ || /[\s/\0]/.test(v)) {
    throw new ValidationError(field, `${JSON.stringify(v)} is not an interface name (1-15 bytes, no spaces or '/')`);
  }
  return v;
}

/** The comment match's info: `struct xt_comment_info { char comment[256]; }`. */
function commentMatch(comment: unknown, field: string): Match {
  if (typeof comment !== 'string' || comment.length === 0 || Buffer.byteLength(comment) >= XT_MAX_COMMENT_LEN || /[\0\n]/.test(comment)) {
    throw new ValidationError(field, `must be 1-${XT_MAX_COMMENT_LEN - 1} bytes without NUL or newline`);
  }
  const info = new Uint8Array(XT_MAX_COMMENT_LEN);
  info.set(Buffer.from(comment, 'utf8'));
  return { kind: 'match', name: 'comment', rev: 0, info };
}

/** `meta load iifname/oifname => reg 1; cmp eq reg 1 "NAME\0"`: iptables compares the name with its NUL, an exact match. */
function ifnameMatch(key: 'iifname' | 'oifname', name: string): Expression[] {
  return [
    { kind: 'meta', key, dreg: 1 },
    { kind: 'cmp', op: 'eq', sreg: 1, data: Uint8Array.from(Buffer.from(`${name}\0`, 'utf8')) },
  ];
}

/**
 * The rule `iptables -I FORWARD [-i IN] [-o OUT] -m comment --comment C -j ACCEPT` makes,
 * byte for byte as iptables-nft 1.8.9 sends it (`nft --debug=netlink`: `[ meta load
 * oifname => reg 1 ] [ cmp eq reg 1 "OUT\0" ] [ match name comment rev 0 ] [ counter
 * pkts 0 bytes 0 ] [ immediate reg 0 accept ]`, NFTA_RULE_COMPAT proto 0 flags 0), to
 * pass to `tx.insertRule()` (head of the chain, like `-I`) or `tx.addRule()` (`-A`).
 * ValidationError for a bad name or comment, or with neither interface.
 */
export function iptablesAcceptRule(spec: IptablesAcceptSpec): RuleSpec {
  if (!spec || typeof spec !== 'object') throw new ValidationError('spec', 'must be an object');
  const expressions: Expression[] = [];
  // iptables writes -i before -o whatever the command line's order.
  if (spec.inInterface !== undefined) expressions.push(...ifnameMatch('iifname', checkIfname(spec.inInterface, 'inInterface')));
  if (spec.outInterface !== undefined) expressions.push(...ifnameMatch('oifname', checkIfname(spec.outInterface, 'outInterface')));
  if (expressions.length === 0) throw new ValidationError('inInterface', 'give inInterface, outInterface or both');
  expressions.push(commentMatch(spec.comment, 'comment'), { kind: 'counter', bytes: 0n, packets: 0n }, { kind: 'immediate', dreg: 0, verdict: 'accept' });
  const family = spec.family ?? 'ip';
  if (family !== 'ip' && family !== 'ip6') throw new ValidationError('family', 'must be ip or ip6');
  const rule: RuleSpec = { family, table: spec.table ?? 'filter', chain: spec.chain ?? 'FORWARD', expressions, compat: { proto: 0, flags: 0 } };
  if (spec.position !== undefined) rule.position = spec.position;
  return rule;
}

/**
 * The `-m comment --comment` text of a rule read back (`nft.list()`), as iptables shows
 * it; undefined when the rule has no comment match. Finds the rules netplumb added to a
 * foreign chain.
 */
export function iptablesComment(rule: NftRule): string | undefined {
  const m = rule.expressions.find((e): e is Match => e.kind === 'match' && e.name === 'comment');
  if (!m) return undefined;
  const end = m.info.indexOf(0);
  return Buffer.from(m.info.subarray(0, end === -1 ? m.info.length : end)).toString('utf8');
}
