/**
 * Layer 4 (network): removing one host's part of an overlay — the VXLAN device first (the
 * kernel drops its FDB and neighbour entries with it), then the bridge network.
 * @module
 */
import { NetplumbError } from '../../errors.js';
import { isGone } from '../endpoint.js';
import type { OverlayNetwork } from './overlay-network.js';

export async function removeOverlay(net: OverlayNetwork, options: { force?: boolean }): Promise<void> {
  net.bridgeNetwork.assertUsable();
  // Refuse before touching anything, as the bridge network's remove does.
  const n = options.force ? 0 : (await net.bridgeNetwork.endpoints()).length;
  if (n > 0) throw new NetplumbError(`network ${net.name} has ${n} active endpoint(s)`, 'EBUSY');
  await net.netns.links.delete(net.vxlanIndex).catch((e: unknown) => { if (!isGone(e)) throw e; });
  await net.bridgeNetwork.remove(options);
}
