/**
 * Layer 4 (network): what `docker network inspect` answers for an overlay, read from the
 * kernel: the bridge network's answer, the VXLAN device, peers and remote endpoints.
 * @module
 */
import type { NetworkInspect } from '../inspect.js';
import type { OverlayNetwork } from './overlay-network.js';
import { type OverlayPeer, type RemoteEndpoint, readPeers } from './peers.js';

/** What {@link OverlayNetwork.inspect} answers. */
export interface OverlayNetworkInspect extends Omit<NetworkInspect, 'driver'> {
  driver: 'overlay';
  vxlan: { name: string; vni: number; port: number; local: string; underlay: string; mtu?: number; static: boolean };
  peers: OverlayPeer[];
  remoteEndpoints: RemoteEndpoint[];
}

export async function inspectOverlay(net: OverlayNetwork): Promise<OverlayNetworkInspect> {
  const [base, p] = await Promise.all([net.bridgeNetwork.inspect(), readPeers(net)]);
  return {
    ...base,
    driver: 'overlay',
    vxlan: { name: net.vxlan, vni: net.vni, port: net.port, local: net.local, underlay: net.underlay, ...(net.mtu ? { mtu: net.mtu } : {}), static: net.static },
    peers: p.peers,
    remoteEndpoints: p.remoteEndpoints,
  };
}
