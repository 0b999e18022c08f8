/**
 * Layer 4 (network): removing a macvlan network — its endpoints when forced, then its
 * reservations (or netplumb's table when it was the last network), its shim and the
 * 802.1Q parent netplumb made for it.
 * @module
 */
import { isGone } from '../endpoint.js';
import { drainEndpoints, removeNetworkState } from '../remove.js';
import type { MacvlanNetwork } from './macvlan-network.js';

export async function removeMacvlanNetwork(net: MacvlanNetwork, force: boolean): Promise<void> {
  await drainEndpoints(net, force);
  await removeNetworkState(net.netns, net.name, net.shim);
  const gone = (e: unknown) => { if (!isGone(e)) throw e; };
  await net.netns.links.delete(net.shim).catch(gone);
  if (net.shape.tag.vlanParent) await net.netns.links.delete(net.parent).catch(gone);
}
