/**
 * Layer 4 (network): removing a macvlan endpoint, from any process. Its interface lives in
 * its namespace: netplumb deletes the namespace when it made it, else the interface there
 * (reached through the handle, or its /run/netns name checked against the inode); a
 * namespace that is gone took the interface with it. Then one transaction releases the
 * reservation.
 * @module
 */
import { basename } from 'node:path';
import { Netns } from '../../netns.js';
import { type Endpoint, isGone } from '../endpoint.js';
import type { EndpointReservation } from '../reservation.js';
import type { MacvlanNetwork } from './macvlan-network.js';

/** What `ep` holds in the kernel. */
export function macvlanReservationOf(net: MacvlanNetwork, ep: Endpoint): EndpointReservation {
  return {
    network: net.name,
    bridge: net.shim,
    id: ep.id,
    ifname: ep.ifname,
    inode: ep.netnsInode,
    ...(ep.ipv4 !== undefined ? { ipv4: ep.ipv4 } : {}),
    ...(ep.ipv6 !== undefined ? { ipv6: ep.ipv6 } : {}),
    mac: ep.mac,
    ports: [],
  };
}

export async function detachMacvlan(net: MacvlanNetwork, ep: Endpoint, mac: string): Promise<void> {
  net.assertUsable();
  const deleteIn = (ns: Netns) => ns.links.delete(ep.ifname).catch((e: unknown) => { if (!isGone(e)) throw e; });
  if (ep.netns && !ep.netns.closed) {
    if (ep.ownsNetns && ep.netns.name !== undefined) await ep.netns.delete();
    else if (ep.ownsNetns) ep.netns.close();
    else await deleteIn(ep.netns);
  } else if (ep.netnsPath !== undefined) {
    if (ep.ownsNetns) await Netns.unmount(basename(ep.netnsPath), { inode: ep.netnsInode });
    const ns = await Netns.open(basename(ep.netnsPath)).catch(() => undefined);
    if (ns) {
      try {
        if (ns.inode === ep.netnsInode) await deleteIn(ns);
      } finally {
        ns.close();
      }
    }
  }
  await net.releases.release({ ...macvlanReservationOf(net, ep), mac });
}
