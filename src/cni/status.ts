/**
 * CNI STATUS: whether this host can serve ADD on the configuration's network — nftables
 * usable, IPv4 forwarding on or switchable, and no foreign firewall that would drop the
 * network's traffic: a forward chain of another table with policy drop and no accept of
 * this network in that table. (Creating a network adds those accepts, so a drop chain
 * only matters once the network exists; one that appeared after it is what STATUS
 * catches.) Any problem is code 50 ("plugin not available"), each named in `details`.
 * @module
 */
import { accessSync, constants } from 'node:fs';
import { Netns } from '../netns.js';
import type { Ruleset } from '../nft/index.js';
import { CNI_ERR, CniError } from './errors.js';

/** netplumb's own table (the network layer's rules live there). */
const OWN_TABLE = { family: 'inet', name: 'netplumb' } as const;

/**
 * Forward-hook base chains of other tables that drop by default and whose table holds no
 * accept of network `name` (netplumb puts it in the chain or in Docker's DOCKER-USER), when
 * the network exists; none when it does not (its creation adds the accepts).
 */
export function foreignDrops(ruleset: Ruleset, name: string): string[] {
  const tag = `netplumb net=${name}`;
  const mine = (c: string | undefined): boolean => c === tag || (c?.startsWith(`${tag} `) ?? false);
  const exists = ruleset.rules.some((r) => r.family === OWN_TABLE.family && r.table === OWN_TABLE.name && mine(r.comment));
  if (!exists) return [];
  return ruleset.chains
    .filter((c) => c.hook === 'forward' && c.policy === 'drop' && !(c.family === OWN_TABLE.family && c.table === OWN_TABLE.name))
    .filter((c) => !ruleset.rules.some((r) => r.family === c.family && r.table === c.table && mine(r.comment)))
    .map((c) => `${c.family} ${c.table} ${c.name}`);
}

/** Runs STATUS: resolves when the host can serve, else throws CniError 50. */
export async function status(name: string): Promise<void> {
  const host = await Netns.current();
  const problems: string[] = [];
  try {
    const ruleset = await host.nft.list({ elements: false });
    for (const c of foreignDrops(ruleset, name)) problems.push(`chain ${c} drops forwarded traffic by default (policy drop) and has no accept for network ${name}`);
  } catch (e) {
    problems.push(`nftables is not usable: ${e instanceof Error ? e.message : String(e)}`);
  }
  try {
    if ((await host.sysctl.get('net.ipv4.ip_forward')).trim() !== '1') accessSync('/proc/sys/net/ipv4/ip_forward', constants.W_OK);
  } catch (e) {
    problems.push(`IPv4 forwarding is off and cannot be turned on: ${e instanceof Error ? e.message : String(e)}`);
  }
  host.close();
  if (problems.length) throw new CniError(CNI_ERR.NOT_AVAILABLE, 'netplumb-cni cannot serve on this host', problems.join('; '));
}
