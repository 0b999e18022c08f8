/**
 * Layer 4 (network): creating one host's part of an overlay — a bridge network (create.ts
 * of the bridge driver: reservations, rules, bridge, tag) whose address search walks this
 * host's block, then the VXLAN device on the underlay (VNI, port, local VTEP, no
 * learning; ARP proxy when the caller supplies the endpoints), a port of that bridge,
 * tagged last: its tag marks the overlay complete. A failure removes the bridge network.
 * @module
 */
import { ValidationError } from '../../errors.js';
import { Netns } from '../../netns.js';
import { BridgeNetwork } from '../bridge-network.js';
import { isGone } from '../endpoint.js';
import { checkHostNetns } from '../options.js';
import { type OverlayNetworkOptions, type OverlayTag, describeOverlay, overlayAlias } from './options.js';

/** What an overlay handle is made of. @internal */
export interface OverlayInit {
  net: BridgeNetwork;
  vxlan: string;
  vxlanIndex: number;
  tag: OverlayTag;
  ownsHost: boolean;
}

/** The VXLAN header and outer headers take 50 bytes of the underlay's MTU (IPv4 underlay). */
export const VXLAN_OVERHEAD = 50;

export async function createOverlay(o: OverlayNetworkOptions): Promise<OverlayInit> {
  const shape = describeOverlay(o);
  checkHostNetns(o.netns);
  const ownsHost = o.netns === undefined;
  const host = o.netns ?? (await Netns.current());
  try {
    const underlay = await host.links.find(shape.underlay);
    if (!underlay) throw new ValidationError('underlay', `${shape.underlay} does not exist`);
    if (await host.links.find(shape.vxlan)) throw new ValidationError('vxlan', `${shape.vxlan} already exists`);
    let local = shape.local;
    if (local === undefined) {
      const addrs = await host.addresses.list({ link: underlay.index, family: 4 });
      local = addrs[0]?.address;
      if (local === undefined) throw new ValidationError('local', `${shape.underlay} has no IPv4 address to be this host's VTEP: give local`);
    }
    const mtu = shape.mtu ?? (underlay.mtu ?? 1500) - VXLAN_OVERHEAD;
    const tag: OverlayTag = { name: shape.name, vni: shape.vni, port: shape.port, local, underlay: shape.underlay, static: shape.static };
    const net = await BridgeNetwork.create({
      netns: host,
      name: shape.name,
      subnet: shape.subnet,
      gateway: shape.gateway,
      ipRange: shape.ipRange,
      mtu,
      masquerade: shape.masquerade,
      ...(shape.bridge !== undefined ? { bridge: shape.bridge } : {}),
    });
    try {
      const vx = await host.links.add({
        kind: 'vxlan',
        name: shape.vxlan,
        master: net.bridgeIndex,
        mtu,
        vxlan: { id: shape.vni, local, link: underlay.index, port: shape.port, learning: false, proxy: shape.static },
        alias: overlayAlias(tag),
      });
      // No learning on the bridge side either; with supplied endpoints nothing unknown is flooded to the peers.
      await host.links.set(vx.index, { bridgePort: { learning: false, ...(shape.static ? { unicastFlood: false } : {}) } });
      await host.links.set(vx.index, { up: true });
      return { net, vxlan: shape.vxlan, vxlanIndex: vx.index, tag, ownsHost };
    } catch (e) {
      await host.links.delete(shape.vxlan).catch((err: unknown) => { if (!isGone(err)) throw err; }).catch(() => {});
      await net.remove({ force: true }).catch(() => {});
      throw e;
    }
  } catch (e) {
    if (ownsHost) host.close();
    throw e;
  }
}
