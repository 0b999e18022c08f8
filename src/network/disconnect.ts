/**
 * Layer 4 (network): removing an endpoint, from any process. First its links go (the
 * namespace netplumb made for it, or its veth); then one transaction deletes its
 * reservation — DNAT and forward-accept elements, address, MAC, host ports, attachment —
 * so no rule of it outlives its hold on its address. Releases of concurrent removes are
 * committed together (group commit).
 * @module
 */
import { basename } from 'node:path';
import { NetplumbError } from '../errors.js';
import { Netns } from '../netns.js';
import type { BridgeNetwork } from './bridge-network.js';
import { type Endpoint, isGone } from './endpoint.js';
import { portElements } from './ports.js';
import { type EndpointReservation, releaseEndpoint } from './reservation.js';
import { FAMILY, TABLE } from './ruleset.js';
import { parseComment } from './tag.js';

/** What `ep` holds in the kernel. */
export function reservationOf(net: BridgeNetwork, ep: Endpoint): EndpointReservation {
  return {
    network: net.name,
    bridge: net.bridge,
    id: ep.id,
    ifname: ep.ifname,
    inode: ep.netnsInode,
    ipv4: ep.ipv4,
    ...(ep.ipv6 !== undefined ? { ipv6: ep.ipv6 } : {}),
    mac: ep.mac,
    ports: portElements(ep.ports, ep.ipv4, ep.ipv6),
  };
}

/** Removes `ep`'s links and releases its reservation. */
export async function detachEndpoint(net: BridgeNetwork, ep: Endpoint): Promise<void> {
  net.assertUsable();
  if (ep.ownsNetns && ep.netns && !ep.netns.closed) {
    // Dropping the namespace lets the kernel destroy both veth ends in the background.
    if (ep.netns.name !== undefined) await ep.netns.delete();
    else ep.netns.close();
  } else if (ep.ownsNetns && ep.netnsPath !== undefined) {
    // Only if that name still mounts the endpoint's namespace; whoever else holds it keeps
    // it (and its links) alive — then the veth goes below.
    await Netns.unmount(basename(ep.netnsPath), { inode: ep.netnsInode });
  }
  await net.netns.links.delete(ep.hostIfname).catch((e: unknown) => {
    if (!isGone(e)) throw e;
  });
  await net.releases.release(reservationOf(net, ep));
}

/**
 * Commits endpoint releases. Those asked for while another is being committed wait and
 * then go together in one transaction: concurrent removes cost one nftables commit, not
 * one each. If a combined commit fails, each is retried alone, so one bad release fails
 * only its own caller; a release whose elements are partly gone (a cleanup or another
 * remove went first) deletes what is left.
 */
export class ReleaseQueue {
  private readonly queue: Array<{ r: EndpointReservation; resolve: () => void; reject: (e: unknown) => void }> = [];
  private busy = false;

  constructor(private readonly host: Netns) {}

  release(r: EndpointReservation): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ r, resolve, reject });
      if (!this.busy) void this.flush();
    });
  }

  private async commit(members: ReadonlyArray<{ r: EndpointReservation }>): Promise<void> {
    const tx = this.host.nft.transaction();
    for (const m of members) releaseEndpoint(tx, m.r);
    await tx.commit();
  }

  private async flush(): Promise<void> {
    this.busy = true;
    while (this.queue.length) {
      const group = this.queue.splice(0);
      try {
        await this.commit(group);
        for (const m of group) m.resolve();
      } catch {
        for (const m of group) {
          await this.commit([m]).catch(async (e: unknown) => {
            if (!(e instanceof NetplumbError && e.code === 'ENOENT')) throw e;
            await purgeEndpoint(this.host, m.r.network, m.r.id);
          }).then(m.resolve, m.reject);
        }
      }
    }
    this.busy = false;
  }
}

/** Deletes every element of netplumb's table that belongs to endpoint `id` of `network`, whatever is left of them. */
export async function purgeEndpoint(host: Netns, network: string, id: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const ruleset = await host.nft.list({ family: FAMILY, table: TABLE }).catch((e: unknown) => {
      if (e instanceof NetplumbError && e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (!ruleset?.tables.length) return;
    const tx = host.nft.transaction({ generation: ruleset.generation });
    for (const s of ruleset.sets) {
      const mine = (s.elements ?? []).filter((e) => {
        const c = parseComment(e.comment);
        return c?.network === network && c.endpoint === id;
      });
      if (mine.length) tx.deleteElements({ family: FAMILY, table: TABLE, set: s.name, elements: mine.map((e) => ({ key: e.key, ...(e.keyEnd !== undefined ? { keyEnd: e.keyEnd } : {}) })) });
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
