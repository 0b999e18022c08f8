/**
 * CNI STATUS: whether this host can serve ADD — nftables usable, IPv4 forwarding on or
 * switchable, and no foreign firewall whose forward chain drops by default without an
 * accept of netplumb's in it. Any problem is code 50 ("plugin not available"), each one
 * named in `details`.
 * @module
 */
import { accessSync, constants } from 'node:fs';
import { Netns, type Ruleset } from '../index.js';
import { CNI_ERR, CniError } from './errors.js';

/** netplumb's own table (the network layer's rules live there). */
const OWN_TABLE = { family: 'inet', name: 'netplumb' } as const;

/** Forward-hook base chains of other tables that drop by default and hold no netplumb rule. */
export function foreignDrops(ruleset: Ruleset): string[] {
  return ruleset.chains
    .filter((c) => c.hook === 'forward' && c.policy === 'drop' && !(c.family === OWN_TABLE.family && c.table === OWN_TABLE.name))
    .filter((c) => !ruleset.rules.some((r) => r.family === c.family && r.table === c.table && r.chain === c.name && r.comment?.startsWith('netplumb')))
    .map((c) => `${c.family} ${c.table} ${c.name}`);
}

/** Runs STATUS: resolves when the host can serve, else throws CniError 50. */
export async function status(): Promise<void> {
  const host = await Netns.current();
  const problems: string[] = [];
  try {
    const ruleset = await host.nft.list({ elements: false });
    for (const c of foreignDrops(ruleset)) problems.push(`chain ${c} drops forwarded traffic by default (policy drop) and has no netplumb accept`);
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
