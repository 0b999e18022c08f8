/**
 * Layer 4 (network): netplumb's own nftables table in the host namespace. Its rules are
 * fixed per network; published ports are elements of maps, so publishing costs the same
 * with one port or thousands. The table also holds the **reservations**: every name,
 * subnet, address, MAC, namespace attachment and host port a network or endpoint holds is
 * an element of a set here, created exclusively (NLM_F_EXCL) in the transaction that
 * takes it, so the kernel — not a process — decides who holds it (reservation.ts).
 * netplumb touches no other table, except for the tagged accept rules of firewall.ts.
 *
 * ```
 * table inet netplumb {
 *   set networks  { type ipv6_addr }                 # a network's name (16 bytes of its SHA-256)
 *   set subnets4  { type ipv4_addr; flags interval } # a network's subnet: overlaps are EEXIST
 *   set subnets6  { type ipv6_addr; flags interval }
 *   set bridges   { type ifname }                    # every network's bridge
 *   map cursors   { type ifname : ipv4_addr }        # per bridge: where the next address search starts
 *   map cursors6  { type ifname : ipv6_addr }        # the same, on IPv6-only networks
 *   set attached  { type ifname . mark }             # bridge . namespace inode: one endpoint per namespace and network
 *   set addrs4    { type ipv4_addr }                 # endpoint addresses
 *   set addrs6    { type ipv6_addr }
 *   set macs      { type ether_addr }
 *   set hostports { type ipv6_addr; flags interval } # proto . port . host address (a range for "any")
 *   set hostports6 { type ipv6_addr; flags interval } # proto . port . digest of an IPv6 host address ("any": all)
 *   map ports4      { type inet_proto . inet_service : ipv4_addr . inet_service }   # any local address
 *   map ports4_addr { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service }
 *   map ports6                                                                     # any, IPv6
 *   map ports6_addr { type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service }
 *   set published4  { type ipv4_addr . inet_proto . inet_service }                 # container side
 *   set published6
 *   chain prerouting  { type nat hook prerouting priority dstnat; fib daddr type local jump publish }
 *   chain output      { type nat hook output priority -100; fib daddr type local jump publish }
 *   chain publish     { dnat via ports4_addr, ports4, ports6_addr, ports6 }
 *   chain postrouting { type nat hook postrouting priority srcnat; <per network: masquerade, hairpin, localhost> }
 *   chain forward     { type filter hook forward priority filter; ct state established,related accept;
 *                       jump isolation; published ports accept; jump inbound }
 *   chain isolation   { <per network: drop towards other networks; internal networks drop in and out> }
 *   chain inbound     { <per network: drop what enters the bridge from elsewhere> }
 *   chain input       { type filter hook input priority filter;
 *                       iifname @bridges ip daddr 127.0.0.0/8 ct status dnat accept; ... drop }
 * }
 * ```
 * @module
 */
import type { Expression } from '../nft/expr/index.js';
import { accept, concat, ct, dnat, drop, fib, ip, ip6, jump, masquerade, meta, th } from '../nft/builder.js';
import type { ElementsSpec, Family, SetElement, SetSpec, Transaction } from '../nft/index.js';
import { networkComment } from './tag.js';

/** The table netplumb owns. */
export const TABLE = 'netplumb';
/** inet: one table for IPv4 and IPv6. */
export const FAMILY: Family = 'inet';

/** Map names by address family and binding. */
export const PORT_MAPS = {
  4: { any: 'ports4', addr: 'ports4_addr', published: 'published4' },
  6: { any: 'ports6', addr: 'ports6_addr', published: 'published6' },
} as const;

/** The reservation sets (see the module comment). */
export const SETS = {
  networks: 'networks',
  subnets4: 'subnets4',
  subnets6: 'subnets6',
  bridges: 'bridges',
  cursors: 'cursors',
  cursors6: 'cursors6',
  attached: 'attached',
  addrs4: 'addrs4',
  addrs6: 'addrs6',
  macs: 'macs',
  hostports: 'hostports',
  hostports6: 'hostports6',
} as const;

const t = { family: FAMILY, table: TABLE };

type SetTypes = Pick<SetSpec, 'keyType' | 'dataType'> & { interval?: true };
/** The types of every set and map, also given with element changes so a process that did not create them can encode elements. */
const SET_TYPES: Record<string, SetTypes> = {
  [SETS.networks]: { keyType: 'ipv6_addr' },
  [SETS.subnets4]: { keyType: 'ipv4_addr', interval: true },
  [SETS.subnets6]: { keyType: 'ipv6_addr', interval: true },
  [SETS.bridges]: { keyType: 'ifname' },
  [SETS.cursors]: { keyType: 'ifname', dataType: 'ipv4_addr' },
  [SETS.cursors6]: { keyType: 'ifname', dataType: 'ipv6_addr' },
  [SETS.attached]: { keyType: ['ifname', 'mark'] },
  [SETS.addrs4]: { keyType: 'ipv4_addr' },
  [SETS.addrs6]: { keyType: 'ipv6_addr' },
  [SETS.macs]: { keyType: 'ether_addr' },
  [SETS.hostports]: { keyType: 'ipv6_addr', interval: true },
  [SETS.hostports6]: { keyType: 'ipv6_addr', interval: true },
  [PORT_MAPS[4].any]: { keyType: ['inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] },
  [PORT_MAPS[4].addr]: { keyType: ['ipv4_addr', 'inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'] },
  [PORT_MAPS[6].any]: { keyType: ['inet_proto', 'inet_service'], dataType: ['ipv6_addr', 'inet_service'] },
  [PORT_MAPS[6].addr]: { keyType: ['ipv6_addr', 'inet_proto', 'inet_service'], dataType: ['ipv6_addr', 'inet_service'] },
  [PORT_MAPS[4].published]: { keyType: ['ipv4_addr', 'inet_proto', 'inet_service'] },
  [PORT_MAPS[6].published]: { keyType: ['ipv6_addr', 'inet_proto', 'inet_service'] },
};

/** Element changes of one of our sets, with its types. */
export function elementsOf(set: string, elements: SetElement[]): ElementsSpec {
  const types = SET_TYPES[set] as SetTypes;
  return { ...t, set, elements, keyType: types.keyType, ...(types.dataType ? { dataType: types.dataType } : {}), ...(types.interval ? { interval: true } : {}) };
}

type Rule = Expression[];

/** Writes the table, its sets and maps, base chains and fixed rules into `tx`. */
export function addTable(tx: Transaction): void {
  tx.createTable({ family: FAMILY, name: TABLE, comment: 'netplumb: bridge networks, published ports and their reservations' });
  for (const [name, types] of Object.entries(SET_TYPES)) {
    tx.addSet({ ...t, name, keyType: types.keyType, ...(types.dataType ? { dataType: types.dataType } : {}), ...(types.interval ? { flags: ['interval' as const] } : {}) });
  }

  tx.addChain({ ...t, name: 'publish' });
  tx.addChain({ ...t, name: 'isolation' });
  tx.addChain({ ...t, name: 'inbound' });
  tx.addChain({ ...t, name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat', policy: 'accept' });
  tx.addChain({ ...t, name: 'output', type: 'nat', hook: 'output', priority: -100, policy: 'accept' });
  tx.addChain({ ...t, name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' });
  // Policy accept: netplumb filters only what concerns its bridges and never decides for anyone else.
  tx.addChain({ ...t, name: 'forward', type: 'filter', hook: 'forward', priority: 'filter', policy: 'accept' });
  tx.addChain({ ...t, name: 'input', type: 'filter', hook: 'input', priority: 'filter', policy: 'accept' });

  // Traffic to any local address (from outside, from the host itself, to 127.0.0.1) may be a published port.
  for (const chain of ['prerouting', 'output']) {
    tx.addRule({ ...t, chain, expressions: [fib.daddr.type.eq('local'), jump('publish')] });
  }
  // A host port is held by one binding at a time (reservation.ts), so the order of these does not matter.
  const publish: Rule[] = [
    [meta.nfproto.eq('ipv4'), dnat.map(PORT_MAPS[4].addr, [ip.daddr, meta.l4proto, th.dport])],
    [meta.nfproto.eq('ipv4'), dnat.map(PORT_MAPS[4].any, [meta.l4proto, th.dport])],
    [meta.nfproto.eq('ipv6'), dnat.map(PORT_MAPS[6].addr, [ip6.daddr, meta.l4proto, th.dport], { to: ['ipv6_addr', 'inet_service'] })],
    [meta.nfproto.eq('ipv6'), dnat.map(PORT_MAPS[6].any, [meta.l4proto, th.dport], { to: ['ipv6_addr', 'inet_service'] })],
  ].map((r) => r.flat());
  for (const expressions of publish) tx.addRule({ ...t, chain: 'publish', expressions });

  tx.addRule({ ...t, chain: 'forward', expressions: ct.state.in(['established', 'related']).concat(accept()) });
  tx.addRule({ ...t, chain: 'forward', expressions: jump('isolation') });
  tx.addRule({ ...t, chain: 'forward', expressions: [meta.nfproto.eq('ipv4'), concat(ip.daddr, meta.l4proto, th.dport).in(`@${PORT_MAPS[4].published}`), accept()].flat() });
  tx.addRule({ ...t, chain: 'forward', expressions: [meta.nfproto.eq('ipv6'), concat(ip6.daddr, meta.l4proto, th.dport).in(`@${PORT_MAPS[6].published}`), accept()].flat() });
  // Closed by default: what is left and heads into a bridge from elsewhere is dropped there.
  tx.addRule({ ...t, chain: 'forward', expressions: jump('inbound') });

  // CVE-2020-8558 (kube-proxy's rule): route_localnet on a bridge must not open the host's
  // loopback services to its containers; only DNATed traffic (a published port reached as
  // 127.0.0.1 from the host, and its replies) may arrive there for 127.0.0.0/8.
  const loopback = [meta.nfproto.eq('ipv4'), meta.iifname.in(`@${SETS.bridges}`), ip.daddr.in('127.0.0.0/8')].flat();
  tx.addRule({ ...t, chain: 'input', expressions: [...loopback, ...ct.status.in(['dnat']), ...accept()] });
  tx.addRule({ ...t, chain: 'input', expressions: [...loopback, ...drop()] });
}

/** What a network's rules depend on. */
export interface NetworkRules {
  name: string;
  bridge: string;
  subnet?: string;
  subnet6?: string;
  masquerade: boolean;
  internal: boolean;
}

/** Writes one network's rules (tagged with its comment). */
export function addNetworkRules(tx: Transaction, n: NetworkRules): void {
  const comment = networkComment(n.name);
  const rule = (chain: string, expressions: Rule): void => {
    tx.addRule({ ...t, chain, expressions, comment });
  };
  const v4 = meta.nfproto.eq('ipv4');
  const v6 = meta.nfproto.eq('ipv6');

  if (n.masquerade && !n.internal) {
    // Like Docker's `-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`.
    if (n.subnet) rule('postrouting', [v4, ip.saddr.in(n.subnet), meta.oifname.ne(n.bridge), masquerade()].flat());
    if (n.subnet6) rule('postrouting', [v6, ip6.saddr.in(n.subnet6), meta.oifname.ne(n.bridge), masquerade()].flat());
  }
  // Hairpin: a container reaching a published port of its own network is DNATed back
  // onto the bridge; without masquerade the reply would bypass the host's conntrack.
  // (iifname is unknown in postrouting, so "DNATed and leaving through its own bridge".)
  if (n.subnet) rule('postrouting', [v4, ct.status.in(['dnat']), meta.oifname.eq(n.bridge), ip.saddr.in(n.subnet), masquerade()].flat());
  if (n.subnet6) rule('postrouting', [v6, ct.status.in(['dnat']), meta.oifname.eq(n.bridge), ip6.saddr.in(n.subnet6), masquerade()].flat());
  // The host connecting to 127.0.0.1:PORT reaches the container from a loopback source,
  // which must not leave the host: masquerade it to the bridge address (route_localnet is on).
  if (n.subnet) rule('postrouting', [v4, meta.oifname.eq(n.bridge), ip.saddr.in('127.0.0.0/8'), masquerade()].flat());

  // Isolation between netplumb networks, like Docker's DOCKER-ISOLATION chains.
  rule('isolation', [meta.iifname.eq(n.bridge), meta.oifname.ne(n.bridge), meta.oifname.in(`@${SETS.bridges}`), drop()].flat());
  if (n.internal) {
    rule('isolation', [meta.iifname.eq(n.bridge), meta.oifname.ne(n.bridge), drop()].flat());
    rule('isolation', [meta.oifname.eq(n.bridge), meta.iifname.ne(n.bridge), drop()].flat());
  }
  // Only replies and published ports enter the bridge from elsewhere (both accepted before).
  rule('inbound', [meta.oifname.eq(n.bridge), meta.iifname.ne(n.bridge), drop()].flat());
}

/** One published port as it goes into the maps. */
export interface PortElement {
  protocol: 'tcp' | 'udp';
  /** Undefined: every local address. */
  hostIp?: string;
  hostFamily: 4 | 6;
  hostPort: number;
  target: string;
  containerPort: number;
}

/** The map and element that publish `p`. */
export function portElement(p: PortElement, comment: string): { set: string; element: SetElement } {
  if (p.hostIp === undefined) {
    return { set: PORT_MAPS[p.hostFamily].any, element: { key: [p.protocol, p.hostPort], data: [p.target, p.containerPort], comment } };
  }
  return { set: PORT_MAPS[p.hostFamily].addr, element: { key: [p.hostIp, p.protocol, p.hostPort], data: [p.target, p.containerPort], comment } };
}

/** The forward-accept element for `p` (shared by host ports that reach the same container port). */
export function publishedElement(p: PortElement, comment: string): { set: string; element: SetElement } {
  return { set: PORT_MAPS[p.hostFamily].published, element: { key: [p.target, p.protocol, p.containerPort], comment } };
}
