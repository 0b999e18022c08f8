/**
 * Layer 4 (network): removing a network — its endpoints when forced, then in one
 * transaction its rules, reservations and tagged accepts in other firewalls (or
 * netplumb's whole table when it was the last network), then its bridge.
 * @module
 */
import { NetplumbError } from '../errors.js';
import type { Netns } from '../netns.js';
import type { BridgeNetwork } from './bridge-network.js';
import { isGone } from './endpoint.js';
import { elements } from './endpoints.js';
import { foreignAccepts } from './firewall.js';
import { FAMILY, SETS, TABLE } from './ruleset.js';
import { parseComment } from './tag.js';

/** How many endpoints of `net` hold an attachment (whichever process made them, finished or not). */
async function attachments(net: { netns: Netns; name: string }): Promise<number> {
  return (await elements(net.netns, SETS.attached)).filter((e) => parseComment(e.comment)?.network === net.name).length;
}

/**
 * Refuses (EBUSY) to go on while `net` has endpoints — of any driver — unless `force`,
 * which removes them first.
 */
export async function drainEndpoints(net: { netns: Netns; name: string; endpoints(): Promise<Array<{ remove(): Promise<void> }>> }, force: boolean): Promise<void> {
  let n = await attachments(net);
  if (n > 0 && force) {
    const results = await Promise.allSettled((await net.endpoints()).map((ep) => ep.remove()));
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) throw bad.reason;
    n = await attachments(net);
  }
  if (n > 0) throw new NetplumbError(`network ${net.name} has ${n} active endpoint(s)`, 'EBUSY');
}

export async function removeNetwork(net: BridgeNetwork, force: boolean): Promise<void> {
  await drainEndpoints(net, force);
  await removeNetworkState(net.netns, net.name, net.bridge);
  await net.netns.links.delete(net.bridge).catch((e: unknown) => {
    if (!isGone(e)) throw e;
  });
}

/**
 * Deletes network `name`'s rules, reservations and elements (of endpoints lost in a crash,
 * too) and its accepts in other tables, or netplumb's whole table when no other network is
 * left. Committed against the generation it read — a network created meanwhile by another
 * process must not go with the table — and read again when the ruleset changed.
 */
export async function removeNetworkState(host: Netns, name: string, bridge: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const ruleset = await host.nft.list();
    const ours = ruleset.tables.some((t) => t.family === FAMILY && t.name === TABLE);
    const tx = host.nft.transaction({ generation: ruleset.generation });
    for (const r of foreignAccepts(ruleset.rules, name)) tx.deleteRule({ family: r.family, table: r.table, chain: r.chain, handle: r.handle });
    if (ours) {
      const mine = ruleset.sets.filter((s) => s.family === FAMILY && s.table === TABLE);
      const others = (mine.find((s) => s.name === SETS.networks)?.elements ?? []).filter((e) => parseComment(e.comment)?.network !== name);
      const otherBridges = (mine.find((s) => s.name === SETS.bridges)?.elements ?? []).filter((e) => e.key !== bridge);
      if (others.length === 0 && otherBridges.length === 0) {
        tx.deleteTable({ family: FAMILY, name: TABLE });
      } else {
        for (const r of ruleset.rules) {
          if (r.family === FAMILY && r.table === TABLE && parseComment(r.comment)?.network === name) tx.deleteRule({ family: FAMILY, table: TABLE, chain: r.chain, handle: r.handle });
        }
        for (const s of mine) {
          const gone = (s.elements ?? []).filter((e) => parseComment(e.comment)?.network === name);
          if (gone.length) tx.deleteElements({ family: FAMILY, table: TABLE, set: s.name, elements: gone.map((e) => ({ key: e.key, ...(e.keyEnd !== undefined ? { keyEnd: e.keyEnd } : {}) })) });
        }
      }
    }
    if (!tx.size) return;
    try {
      await tx.commit();
      return;
    } catch (e) {
      if (attempt < 8 && e instanceof NetplumbError && (e.code === 'ERESTART' || e.code === 'ENOENT')) continue;
      throw e;
    }
  }
}
