/**
 * Layer 4 (network): living beside other firewalls. A packet is forwarded only if every
 * base chain at the forward hook accepts it, so on a host whose iptables(-nft) FORWARD
 * policy is DROP (Docker since 1.13, ufw) or with someone's nftables forward chain of
 * policy drop, netplumb's own accept is not enough. netplumb then adds, at the head of
 * that chain (or of Docker's DOCKER-USER chain, the place Docker reserves for rules that
 * come first), the smallest accept that works — traffic in and out of its bridge, which
 * its own table filters — tagged with the network's comment, removed with the network and
 * found by cleanup. It never changes anyone's policy. The rules are written the way
 * iptables-nft writes `-i BR -j ACCEPT` (name match, counter, verdict, comment as rule
 * user data), so `iptables -S` lists them as its own.
 * @module
 */
import type { Family, NftChain, NftRule, Ruleset, Transaction } from '../nft/index.js';
import { accept, counter, meta } from '../nft/builder.js';
import { iptablesAcceptRule, iptablesComment } from '../nft/iptables.js';
import { TABLE } from './ruleset.js';
import { networkComment } from './tag.js';

/** A base chain of another firewall that drops forwarded traffic by policy. */
export interface ForeignDrop {
  family: Family;
  table: string;
  chain: string;
  /** Where netplumb puts its accept rules for this chain (the chain itself, or DOCKER-USER). */
  acceptIn: string;
}

/** Forward base chains of other tables with policy drop, in `ruleset`. */
export function foreignDrops(ruleset: Pick<Ruleset, 'chains'>, ipv6: boolean): ForeignDrop[] {
  const out: ForeignDrop[] = [];
  for (const c of ruleset.chains) {
    if (c.hook !== 'forward' || c.policy !== 'drop' || (c.family === 'inet' && c.table === TABLE)) continue;
    if (c.family !== 'ip' && c.family !== 'inet' && !(c.family === 'ip6' && ipv6)) continue;
    out.push({ family: c.family, table: c.table, chain: c.name, acceptIn: dockerUser(ruleset.chains, c) ?? c.name });
  }
  return out;
}

/** Docker's DOCKER-USER chain beside `base`, when Docker made one. */
function dockerUser(chains: readonly NftChain[], base: NftChain): string | undefined {
  return chains.some((c) => c.family === base.family && c.table === base.table && c.name === 'DOCKER-USER') ? 'DOCKER-USER' : undefined;
}

/** iptables-nft's tables: rules there are written and read the way iptables does. */
function isIptables(d: { family: Family; table: string }): d is { family: 'ip' | 'ip6'; table: string } {
  return (d.family === 'ip' || d.family === 'ip6') && d.table === 'filter';
}

/** Writes network `name`'s accept rules into each chain of `drops` (prepended, like `iptables -I`). */
export function writeAccepts(tx: Transaction, drops: readonly ForeignDrop[], name: string, bridge: string): void {
  const comment = networkComment(name);
  for (const d of drops) {
    if (isIptables(d)) {
      for (const dir of ['outInterface', 'inInterface'] as const) tx.insertRule(iptablesAcceptRule({ family: d.family, table: d.table, chain: d.acceptIn, [dir]: bridge, comment }));
      continue;
    }
    for (const dir of [meta.oifname, meta.iifname]) {
      tx.insertRule({ family: d.family, table: d.table, chain: d.acceptIn, expressions: [dir.eq(bridge), counter(), accept()].flat(), comment });
    }
  }
}

/** The netplumb comment of a rule in another firewall: an iptables comment match or nft's rule comment. */
function foreignComment(r: NftRule): string | undefined {
  return isIptables(r) ? (iptablesComment(r) ?? r.comment) : r.comment;
}

/** netplumb's rules in other tables (of network `name`, or of any network when undefined), with their comment. */
export function foreignAccepts(rules: readonly NftRule[], name?: string): Array<NftRule & { comment: string }> {
  const want = name === undefined ? undefined : networkComment(name);
  const out: Array<NftRule & { comment: string }> = [];
  for (const r of rules) {
    if (r.family === 'inet' && r.table === TABLE) continue;
    const comment = foreignComment(r);
    if (comment !== undefined && (want === undefined ? comment.startsWith('netplumb net=') : comment === want)) out.push({ ...r, comment });
  }
  return out;
}
