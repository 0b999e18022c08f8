/**
 * Layer 4 (network): creating a bridge network. Reserve first — one transaction takes
 * the name, subnet(s) and bridge exclusively and installs the network's rules (and its
 * accepts in other firewalls' dropping forward chains) — then make the bridge, its
 * addresses and sysctls, and tag it last: the tag marks the network complete. A crash at
 * any instant leaves either a complete network or a reservation whose holder is gone,
 * which names everything cleanupNetworks() must remove.
 * @module
 */
import { NetplumbError, ValidationError } from '../errors.js';
import { Netns } from '../netns.js';
import type { Transaction } from '../nft/index.js';
import { RtnlBatch } from '../rtnl/batch.js';
import { type NetworkInit, fault } from './bridge-network.js';
import { isGone } from './endpoint.js';
import { elements } from './endpoints.js';
import { foreignDrops, writeAccepts } from './firewall.js';
import { currentHolder } from './holder.js';
import { type Subnet, formatAddress, lastAddress, nextHost, parseAddress, parseSubnet } from './ipam.js';
import { type BridgeNetworkOptions, checkHostNetns, describe } from './options.js';
import { removeNetworkState } from './remove.js';
import { boundsOf, nameKey, reserveNetwork } from './reservation.js';
import { FAMILY, SETS, TABLE, addNetworkRules, addTable } from './ruleset.js';
import { networkAlias, parseComment, parseNetworkAlias } from './tag.js';

/** Runs `undo` steps in reverse, keeping the first error of the operation itself. */
export async function rollback(undo: Array<() => Promise<unknown> | unknown>): Promise<void> {
  for (const step of undo.reverse()) {
    try {
      await step();
    } catch {
      // Best effort: the original failure is what the caller needs to see; what could not
      // be undone carries a tag or a reservation that cleanupNetworks() finds.
    }
  }
}

function range(s: Subnet): [string, string] {
  return [formatAddress(s.family, s.network), formatAddress(s.family, lastAddress(s))];
}

/** Makes the network and returns what its handle is made of. */
export async function createNetwork(options: BridgeNetworkOptions): Promise<NetworkInit> {
  const { tag, bridge, s4, s6 } = describe(options);
  checkHostNetns(options.netns);
  const ownsHost = options.netns === undefined;
  const host = options.netns ?? (await Netns.current());
  const undo: Array<() => Promise<unknown> | unknown> = [];
  if (ownsHost) undo.push(() => host.close());
  try {
    // A friendlier error than the kernel's EEXIST, which stays the final word.
    const existing = await host.links.find(bridge);
    if (existing) {
      const other = parseNetworkAlias(existing.alias);
      if (other?.name === tag.name) throw new ValidationError('name', `network ${tag.name} already exists`);
      throw new ValidationError('bridge', `${bridge} already exists${other ? ` (the bridge of network ${other.name})` : ''}`);
    }

    fault('create:rules');
    // The address search walks the IPv4 subnet, or the IPv6 one on IPv6-only networks.
    const sp = tag.ipRange ? parseSubnet(tag.ipRange, 'ipRange', 4) : ((s4 ?? s6) as Subnet);
    const gwp = parseAddress(s4 ? tag.gateway : tag.gateway6, 'gateway').value;
    const reservation = {
      name: tag.name,
      bridge,
      ...(s4 ? { range4: range(s4) } : {}),
      ...(s6 ? { range6: range(s6) } : {}),
      firstAddress: formatAddress(sp.family, nextHost(sp, gwp, sp.network)),
    };
    // Registered before the commit: when its answer is lost the reservation may be in place.
    // (Not after EEXIST: then the name, subnet or bridge is someone else's.)
    let reserved = true;
    undo.push(() => (reserved ? removeNetworkState(host, tag.name, bridge) : undefined));
    await commitWithTable(host, async (tx) => {
      reserveNetwork(tx, reservation, currentHolder());
      addNetworkRules(tx, { name: tag.name, bridge, ...(tag.subnet ? { subnet: tag.subnet } : {}), masquerade: tag.masquerade, internal: tag.internal, ...(tag.subnet6 ? { subnet6: tag.subnet6 } : {}) });
      writeAccepts(tx, foreignDrops({ chains: await host.nft.listChains() }, s6 !== undefined), tag.name, bridge);
    }).catch(async (e: unknown) => {
      if (!(e instanceof NetplumbError && e.code === 'EEXIST')) throw e;
      reserved = false;
      throw await takenBy(host, tag.name, bridge, s4, s6, e);
    });

    fault('create:bridge');
    let taken = false; // EEXIST: the name is someone else's
    undo.push(() => (taken ? undefined : deleteOurBridge(host, bridge, tag.name)));
    // Made down: its IPv6 settings must be in place before its link-local address exists (below).
    const link = await host.links.add({ kind: 'bridge', name: bridge, up: false, ...(tag.mtu ? { mtu: tag.mtu } : {}) }).catch((e: unknown) => {
      taken = e instanceof NetplumbError && e.code === 'EEXIST';
      throw e;
    });

    fault('create:address');
    const addrs = new RtnlBatch(host);
    if (s4 && tag.gateway) addrs.addressAdd({ link: link.index, address: `${tag.gateway}/${s4.prefixLength}`, broadcast: true });
    if (s6 && tag.gateway6) addrs.addressAdd({ link: link.index, address: `${tag.gateway6}/${s6.prefixLength}`, nodad: true });
    await addrs.commit();

    fault('create:sysctl');
    // Routing between the bridge and the rest is what a bridge network is for; a loopback
    // source DNATed to a container (host → 127.0.0.1:PORT) must be routable on the bridge
    // (the input chain keeps that from opening the host's loopback services).
    const conf = bridge.replace(/\./g, '/');
    await Promise.all([
      host.sysctl.set('net.ipv4.ip_forward', 1),
      host.sysctl.set(`net.ipv4.conf.${conf}.route_localnet`, 1),
      ...(s6 ? [host.sysctl.set('net.ipv6.conf.all.forwarding', 1)] : []),
      // A bridge takes no router advertisements from its containers; and its link-local
      // address is usable at once: while it is tentative, the neighbour solicitations the
      // host sends from it to a new container go unanswered (the answer is addressed to a
      // tentative address), and the first IPv6 connection to a container is lost.
      ...[['accept_ra', 0], ['accept_dad', 0]].map(([key, value]) =>
        host.sysctl.set(`net.ipv6.conf.${conf}.${key}`, value as number).catch((e: unknown) => {
          if (!(e instanceof NetplumbError && e.code === 'ENOENT')) throw e; // IPv6 off on this host
        }),
      ),
    ]);

    // Up, and the tag that marks the network complete.
    await host.links.set(link.index, { up: true, alias: networkAlias(tag) });
    return { netns: host, ownsHost, bridgeIndex: link.index, bridge, tag };
  } catch (e) {
    await rollback(undo);
    throw e;
  }
}

/** Commits what `write` puts in a transaction, with netplumb's table when it does not exist yet. */
export async function commitWithTable(host: Netns, write: (tx: Transaction) => Promise<void> | void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const exists = (await host.nft.getTable(FAMILY, TABLE)) !== undefined;
    const tx = host.nft.transaction();
    if (!exists) addTable(tx);
    await write(tx);
    try {
      await tx.commit();
      return;
    } catch (e) {
      // Someone created the table (EEXIST), removed the last network and the table with it
      // (ENOENT), or changed a foreign chain we write into, between our look and our commit.
      const again = e instanceof NetplumbError && (e.code === 'ENOENT' || (!exists && e.code === 'EEXIST'));
      if (attempt < 8 && again) continue;
      throw e;
    }
  }
}

/** Says which of the network's reservations someone else holds (after an EEXIST). */
async function takenBy(host: Netns, name: string, bridge: string, s4: Subnet | undefined, s6: Subnet | undefined, cause: unknown): Promise<Error> {
  const read = (set: string) => elements(host, set);
  if ((await read(SETS.networks)).some((e) => e.key === nameKey(name))) return new ValidationError('name', `network ${name} already exists`, { cause });
  if ((await read(SETS.bridges)).some((e) => e.key === bridge)) return new ValidationError('bridge', `${bridge} is the bridge of another network`, { cause });
  for (const [s, set, field] of [[s4, SETS.subnets4, 'subnet'], [s6, SETS.subnets6, 'subnet6']] as const) {
    if (!s) continue;
    const [first, last] = [s.network, lastAddress(s)];
    for (const e of await read(set)) {
      const [lo, hi] = boundsOf(e, s.family);
      if (lo <= last && first <= hi) return new ValidationError(field, `${s.cidr} overlaps network ${parseComment(e.comment)?.network ?? '?'}`, { cause });
    }
  }
  return cause instanceof Error ? cause : new NetplumbError(String(cause), 'EEXIST');
}

/**
 * Deletes bridge `name` if it is this create's: untagged (its tagging never ran) or tagged
 * as network `network` (the tag's answer was lost) — this process holds that name's reservation.
 */
async function deleteOurBridge(ns: Netns, name: string, network: string): Promise<void> {
  const l = await ns.links.find(name);
  if (l && (!l.alias || parseNetworkAlias(l.alias)?.name === network)) await ns.links.delete(l.index).catch((e: unknown) => { if (!isGone(e)) throw e; });
}
