/**
 * Layer 4 (network): what `docker network inspect` answers for a macvlan network, read
 * from the kernel.
 * @module
 */
import type { MacvlanNetwork } from './macvlan-network.js';

/** What {@link MacvlanNetwork.inspect} answers. */
export interface MacvlanNetworkInspect {
  name: string;
  driver: 'macvlan' | 'ipvlan';
  /** Namespace acting as the host. */
  netns: { path?: string; inode: number };
  ipam: { subnet?: string; gateway?: string; ipRange?: string; subnet6?: string; gateway6?: string };
  options: { parent: string; shim: string; mode: 'bridge' | 'l2' | 'l3'; mtu?: number; internal: boolean };
  endpoints: Array<{ id: string; owner?: string; ifname: string; ipv4?: string; ipv6?: string; mac: string; sandboxKey?: string }>;
}

export async function inspectMacvlan(net: MacvlanNetwork): Promise<MacvlanNetworkInspect> {
  const t = net.shape.tag;
  const eps = await net.endpoints();
  return {
    name: net.name,
    driver: net.driver,
    netns: { ...(net.netns.path !== undefined ? { path: net.netns.path } : {}), inode: net.netns.inode },
    ipam: {
      ...(t.subnet ? { subnet: t.subnet, gateway: t.gateway as string } : {}),
      ...(t.ipRange ? { ipRange: t.ipRange } : {}),
      ...(t.subnet6 ? { subnet6: t.subnet6, gateway6: t.gateway6 as string } : {}),
    },
    options: { parent: t.parent, shim: net.shim, mode: t.ipvlan ?? 'bridge', ...(t.mtu ? { mtu: t.mtu } : {}), internal: t.internal },
    endpoints: eps.map((e) => ({
      id: e.id,
      ...(e.owner !== undefined ? { owner: e.owner } : {}),
      ifname: e.ifname,
      ...(e.ipv4 ? { ipv4: `${e.ipv4}/${e.prefixLength as number}` } : {}),
      ...(e.ipv6 ? { ipv6: `${e.ipv6}/${e.prefixLength6 as number}` } : {}),
      mac: e.mac,
      ...(e.netnsPath !== undefined ? { sandboxKey: e.netnsPath } : {}),
    })),
  };
}
