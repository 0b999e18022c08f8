/**
 * Layer 4 (network): an overlay's peers and remote endpoints — the kernel state the
 * caller's control plane feeds (netplumb builds no gossip of its own, as flannel's vxlan
 * backend relies on its store). A peer is one FDB entry on the VXLAN device, the all-zeros
 * MAC towards its VTEP (where broadcast and unknown destinations go); a remote endpoint a
 * permanent neighbour entry (its IP → MAC, which the device's ARP proxy answers from) and
 * an FDB entry (its MAC → its host's VTEP). Everything is read back from the kernel.
 * @module
 */
import { NetplumbError, ValidationError } from '../../errors.js';
import { RtnlBatch } from '../../rtnl/batch.js';
import { formatHw, parseMac } from '../../rtnl/ip.js';
import { contains, formatAddress, parseAddress } from '../ipam.js';
import type { OverlayNetwork } from './overlay-network.js';

/** A peer: another host of the overlay. */
export interface OverlayPeer {
  /** Its VTEP address on the underlay. */
  vtep: string;
}

/** An endpoint on another host, as the caller's store knows it. */
export interface RemoteEndpoint {
  /** The VTEP of the host it is on. */
  vtep: string;
  /** Its MAC address. */
  mac: string;
  /** Its IPv4 address, in the overlay's subnet. */
  ip: string;
}

const ZERO_MAC = '00:00:00:00:00:00';

function checkVtep(v: unknown, field = 'vtep'): string {
  return formatAddress(4, parseAddress(v, field, 4).value);
}

function checkRemote(net: OverlayNetwork, e: unknown): RemoteEndpoint {
  if (e === null || typeof e !== 'object') throw new ValidationError('endpoint', 'must be { vtep, mac, ip }');
  const o = e as Record<string, unknown>;
  const ip = parseAddress(o.ip, 'ip', 4).value;
  if (!contains(net.bridgeNetwork.s4 as NonNullable<OverlayNetwork['bridgeNetwork']['s4']>, ip)) throw new ValidationError('ip', `${formatAddress(4, ip)} is not in ${net.subnet}`);
  return { vtep: checkVtep(o.vtep), mac: formatHw(parseMac(o.mac, 'mac')), ip: formatAddress(4, ip) };
}

/** Adds a peer: one FDB entry (the all-zeros MAC → its VTEP). Adding a peer twice is a no-op. */
export async function addPeer(net: OverlayNetwork, peer: OverlayPeer): Promise<void> {
  if (peer === null || typeof peer !== 'object') throw new ValidationError('peer', 'must be { vtep }');
  const vtep = checkVtep(peer.vtep);
  if (vtep === net.local) throw new ValidationError('vtep', `${vtep} is this host's own VTEP`);
  await net.netns.neighbors.fdb.append({ link: net.vxlanIndex, lladdr: ZERO_MAC, dst: vtep, self: true, state: 'permanent' }).catch((e: unknown) => {
    if (!(e instanceof NetplumbError && e.code === 'EEXIST')) throw e;
  });
}

/**
 * Removes a peer: its FDB entry, and the remote endpoints behind it (their FDB and
 * neighbour entries), so none of this host's traffic goes to it any more.
 */
export async function removePeer(net: OverlayNetwork, vtepText: string): Promise<void> {
  const vtep = checkVtep(vtepText);
  const host = net.netns;
  const [fdb, neigh] = await Promise.all([host.neighbors.fdb.list({ link: net.vxlanIndex }), host.neighbors.list({ link: net.vxlanIndex, family: 4 })]);
  const mine = fdb.filter((f) => f.dst === vtep);
  if (!mine.length) return;
  const macs = new Set(mine.filter((f) => f.lladdr !== ZERO_MAC).map((f) => f.lladdr));
  const b = new RtnlBatch(host);
  for (const n of neigh) if (n.lladdr && macs.has(n.lladdr)) b.neighborDelete({ link: net.vxlanIndex, dst: n.dst });
  for (const f of mine) {
    b.fdbDelete({ link: net.vxlanIndex, lladdr: f.lladdr, dst: vtep, self: true });
    if (f.lladdr !== ZERO_MAC) b.fdbDelete({ link: net.vxlanIndex, lladdr: f.lladdr, master: true });
  }
  await b.commit();
}

/** Adds (or moves) a remote endpoint: an FDB entry towards its host, then a permanent neighbour entry (what the ARP proxy answers from). */
export async function addRemoteEndpoint(net: OverlayNetwork, e: RemoteEndpoint): Promise<void> {
  const r = checkRemote(net, e);
  // Where the MAC is first, then the answer for its IP: traffic that follows the answer has a way.
  await net.netns.neighbors.fdb.replace({ link: net.vxlanIndex, lladdr: r.mac, dst: r.vtep, self: true, state: 'permanent' });
  // And in the bridge's table, behind the VXLAN port: the bridge floods nothing unknown to it.
  await net.netns.neighbors.fdb.replace({ link: net.vxlanIndex, lladdr: r.mac, master: true, state: 'static' });
  await net.netns.neighbors.replace({ link: net.vxlanIndex, dst: r.ip, lladdr: r.mac, state: 'permanent' });
}

/** Removes a remote endpoint (by its IP): its neighbour entry and its MAC's FDB entry. */
export async function removeRemoteEndpoint(net: OverlayNetwork, ipText: string): Promise<void> {
  const ip = formatAddress(4, parseAddress(ipText, 'ip', 4).value);
  const host = net.netns;
  const n = (await host.neighbors.list({ link: net.vxlanIndex, family: 4 })).find((x) => x.dst === ip);
  if (!n?.lladdr) return;
  const f = (await host.neighbors.fdb.list({ link: net.vxlanIndex })).find((x) => x.lladdr === n.lladdr);
  const b = new RtnlBatch(host).neighborDelete({ link: net.vxlanIndex, dst: ip });
  if (f) b.fdbDelete({ link: net.vxlanIndex, lladdr: f.lladdr, ...(f.dst !== undefined ? { dst: f.dst } : {}), self: true });
  b.fdbDelete({ link: net.vxlanIndex, lladdr: n.lladdr, master: true });
  await b.commit();
}

/** The peers and remote endpoints, read from the kernel. */
export async function readPeers(net: OverlayNetwork): Promise<{ peers: OverlayPeer[]; remoteEndpoints: RemoteEndpoint[] }> {
  const host = net.netns;
  const [fdb, neigh] = await Promise.all([host.neighbors.fdb.list({ link: net.vxlanIndex }), host.neighbors.list({ link: net.vxlanIndex, family: 4 })]);
  const peers = fdb.filter((f) => f.lladdr === ZERO_MAC && f.dst !== undefined).map((f) => ({ vtep: f.dst as string }));
  const vtepOf = new Map(fdb.filter((f) => f.lladdr !== ZERO_MAC && f.dst !== undefined).map((f) => [f.lladdr, f.dst as string]));
  const remoteEndpoints: RemoteEndpoint[] = [];
  for (const n of neigh) {
    const vtep = n.lladdr ? vtepOf.get(n.lladdr) : undefined;
    if (vtep !== undefined && n.lladdr) remoteEndpoints.push({ vtep, mac: n.lladdr, ip: n.dst });
  }
  return { peers, remoteEndpoints };
}
