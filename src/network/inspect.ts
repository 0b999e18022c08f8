/**
 * Layer 4 (network): what `docker network inspect` answers, read from the kernel — plus
 * the other firewalls that would drop the network's forwarded traffic.
 * @module
 */
import type { Family } from '../nft/index.js';
import type { BridgeNetwork } from './bridge-network.js';
import { foreignAccepts, foreignDrops } from './firewall.js';
import type { PublishedPort } from './ports.js';

/** What {@link BridgeNetwork.inspect} answers: `docker network inspect`. */
export interface NetworkInspect {
  name: string;
  driver: 'bridge';
  bridge: string;
  /** Namespace acting as the host. */
  netns: { path?: string; inode: number };
  ipam: { subnet: string; gateway: string; subnet6?: string; gateway6?: string };
  options: { mtu?: number; masquerade: boolean; icc: boolean; internal: boolean; hostIp?: string };
  endpoints: Array<{ id: string; owner?: string; ifname: string; hostIfname: string; ipv4: string; ipv6?: string; mac: string; sandboxKey?: string; attached: boolean; ports: PublishedPort[] }>;
  /**
   * Other firewalls' forward chains that drop by policy (iptables' FORWARD after Docker or
   * ufw, someone's nftables chain), and whether netplumb's tagged accepts for this
   * network are in place there: without them, nothing would pass.
   */
  foreignDrops: Array<{ family: Family; table: string; chain: string; acceptIn: string; accepted: boolean }>;
}

export async function inspectNetwork(net: BridgeNetwork): Promise<NetworkInspect> {
  const [endpoints, chains] = await Promise.all([net.endpoints(), net.netns.nft.listChains()]);
  const drops = foreignDrops({ chains }, net.s6 !== undefined);
  const rules = (await Promise.all(drops.map((d) => net.netns.nft.listRules(d.family, d.table, d.acceptIn)))).flat();
  const accepts = foreignAccepts(rules, net.name);
  return {
    name: net.name,
    driver: 'bridge',
    bridge: net.bridge,
    netns: { ...(net.netns.path !== undefined ? { path: net.netns.path } : {}), inode: net.netns.inode },
    ipam: { subnet: net.subnet, gateway: net.gateway, ...(net.subnet6 ? { subnet6: net.subnet6, gateway6: net.gateway6 as string } : {}) },
    options: { ...(net.mtu ? { mtu: net.mtu } : {}), masquerade: net.masquerade, icc: net.icc, internal: net.internal, ...(net.hostIp ? { hostIp: net.hostIp } : {}) },
    endpoints: endpoints.map((e) => ({
      id: e.id,
      ...(e.owner !== undefined ? { owner: e.owner } : {}),
      ifname: e.ifname,
      hostIfname: e.hostIfname,
      ipv4: `${e.ipv4}/${e.prefixLength}`,
      ...(e.ipv6 ? { ipv6: `${e.ipv6}/${e.prefixLength6 as number}` } : {}),
      mac: e.mac,
      ...(e.netnsPath !== undefined ? { sandboxKey: e.netnsPath } : {}),
      attached: e.attached,
      ports: [...e.ports],
    })),
    foreignDrops: drops.map((d) => ({
      ...d,
      accepted: accepts.filter((r) => r.family === d.family && r.table === d.table && r.chain === d.acceptIn).length >= 2,
    })),
  };
}
