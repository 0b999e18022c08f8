/**
 * Layer 4 (network): finding this host's part of an overlay — its bridge network and its
 * tagged VXLAN device, read from the kernel.
 * @module
 */
import { NetplumbError } from '../../errors.js';
import { BridgeNetwork } from '../bridge-network.js';
import type { Netns } from '../../netns.js';
import type { OverlayInit } from './create.js';
import { parseOverlayAlias } from './options.js';

export async function openOverlay(name: string, options: { netns?: Netns }): Promise<OverlayInit> {
  const net = await BridgeNetwork.open(name, options);
  const vx = (await net.netns.links.list({ master: net.bridgeIndex })).find((l) => l.kind === 'vxlan' && parseOverlayAlias(l.alias)?.name === name);
  const tag = parseOverlayAlias(vx?.alias);
  if (!vx || !tag) throw new NetplumbError(`network ${name} is not an overlay (no tagged VXLAN device on ${net.bridge})`, 'ENOENT');
  return { net, vxlan: vx.name, vxlanIndex: vx.index, tag, ownsHost: options.netns === undefined };
}
