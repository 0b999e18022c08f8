/**
 * Layer 4 (network): netplumb's own nftables table in the host namespace. Its rules are
 * fixed per network; published ports are elements of maps, so publishing costs the same
 * with one port or thousands. netplumb touches no other table.
 *
 * ```
 * table inet netplumb {
 *   map ports4      { type inet_proto . inet_service : ipv4_addr . inet_service }   # any local address
 *   map ports4_addr { type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service }
 *   map ports6 / ports6_addr                                                       # the same for IPv6
 *   set published4  { type ipv4_addr . inet_proto . inet_service }                 # container side
 *   set published6
 *   set bridges     { type ifname }
 *   chain prerouting  { type nat hook prerouting priority dstnat; fib daddr type local jump publish }
 *   chain output      { type nat hook output priority -100; fib daddr type local jump publish }
 *   chain publish     { dnat via ports4_addr, ports4, ports6_addr, ports6 }
 *   chain postrouting { type nat hook postrouting priority srcnat; <per network: masquerade, hairpin, localhost> }
 *   chain forward     { type filter hook forward priority filter; ct state established,related accept;
 *                       jump isolation; published ports accept }
 *   chain isolation   { <per network: drop towards other networks; internal networks drop in and out> }
 * }
 * ```
 * @module
 */
import type { Expression } from '../nft/expr/index.js';
import { concat, ct, dnat, fib, ip, ip6, jump, masquerade, meta, th, accept, drop } from '../nft/builder.js';
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
export const BRIDGES_SET = 'bridges';

const t = { family: FAMILY, table: TABLE };

type SetTypes = Pick<SetSpec, 'keyType' | 'dataType'>;
/** The types of every set and map, also given with element changes so a process that did not create them can encode elements. */
const SETS: Record<string, SetTypes> = { [BRIDGES_SET]: { keyType: 'ifname' } };
for (const v of [4, 6] as const) {
  const addr = v === 4 ? 'ipv4_addr' : 'ipv6_addr';
  SETS[PORT_MAPS[v].any] = { keyType: ['inet_proto', 'inet_service'], dataType: [addr, 'inet_service'] };
  SETS[PORT_MAPS[v].addr] = { keyType: [addr, 'inet_proto', 'inet_service'], dataType: [addr, 'inet_service'] };
  SETS[PORT_MAPS[v].published] = { keyType: [addr, 'inet_proto', 'inet_service'] };
}

/** Element changes of one of our sets, with its types. */
function elementsOf(set: string, elements: SetElement[]): ElementsSpec {
  return { ...t, set, elements, ...(SETS[set] as SetTypes) };
}

type Rule = Expression[];

/** Writes the table, its maps and sets, base chains and fixed rules into `tx`. */
export function addTable(tx: Transaction): void {
  tx.createTable({ family: FAMILY, name: TABLE, comment: 'netplumb: bridge networks and published ports' });
  for (const [name, types] of Object.entries(SETS)) tx.addSet({ ...t, name, ...types });

  tx.addChain({ ...t, name: 'publish' });
  tx.addChain({ ...t, name: 'isolation' });
  tx.addChain({ ...t, name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat', policy: 'accept' });
  tx.addChain({ ...t, name: 'output', type: 'nat', hook: 'output', priority: -100, policy: 'accept' });
  tx.addChain({ ...t, name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' });
  tx.addChain({ ...t, name: 'forward', type: 'filter', hook: 'forward', priority: 'filter', policy: 'accept' });

  // Traffic to any local address (from outside, from the host itself, to 127.0.0.1) may be a published port.
  for (const chain of ['prerouting', 'output']) {
    tx.addRule({ ...t, chain, expressions: [fib.daddr.type.eq('local'), jump('publish')] });
  }
  // A port bound to one host address wins over the same port bound to all.
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
}

/** What a network's rules depend on. */
export interface NetworkRules {
  name: string;
  bridge: string;
  subnet: string;
  subnet6?: string;
  masquerade: boolean;
  internal: boolean;
}

/** Writes one network's rules (tagged with its comment) and its bridge's membership of @bridges. */
export function addNetwork(tx: Transaction, n: NetworkRules): void {
  const comment = networkComment(n.name);
  const post = (expressions: Rule): void => {
    tx.addRule({ ...t, chain: 'postrouting', expressions, comment });
  };
  const iso = (expressions: Rule): void => {
    tx.addRule({ ...t, chain: 'isolation', expressions, comment });
  };
  const v4 = meta.nfproto.eq('ipv4');
  const v6 = meta.nfproto.eq('ipv6');

  if (n.masquerade && !n.internal) {
    // Like Docker's `-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE`.
    post([v4, ip.saddr.in(n.subnet), meta.oifname.ne(n.bridge), masquerade()].flat());
    if (n.subnet6) post([v6, ip6.saddr.in(n.subnet6), meta.oifname.ne(n.bridge), masquerade()].flat());
  }
  // Hairpin: a container reaching a published port of its own network is DNATed back
  // onto the bridge; without masquerade the reply would bypass the host's conntrack.
  // (iifname is unknown in postrouting, so "DNATed and leaving through its own bridge".)
  post([v4, ct.status.in(['dnat']), meta.oifname.eq(n.bridge), ip.saddr.in(n.subnet), masquerade()].flat());
  if (n.subnet6) post([v6, ct.status.in(['dnat']), meta.oifname.eq(n.bridge), ip6.saddr.in(n.subnet6), masquerade()].flat());
  // The host connecting to 127.0.0.1:PORT reaches the container from a loopback source,
  // which must not leave the host: masquerade it to the bridge address (route_localnet is on).
  post([v4, meta.oifname.eq(n.bridge), ip.saddr.in('127.0.0.0/8'), masquerade()].flat());

  // Isolation between netplumb networks, like Docker's DOCKER-ISOLATION chains.
  iso([meta.iifname.eq(n.bridge), meta.oifname.ne(n.bridge), meta.oifname.in(`@${BRIDGES_SET}`), drop()].flat());
  if (n.internal) {
    iso([meta.iifname.eq(n.bridge), meta.oifname.ne(n.bridge), drop()].flat());
    iso([meta.oifname.eq(n.bridge), meta.iifname.ne(n.bridge), drop()].flat());
  }
  tx.addElements(elementsOf(BRIDGES_SET, [{ key: n.bridge, comment }]));
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
  const maps = PORT_MAPS[p.hostFamily];
  if (p.hostIp === undefined) {
    return { set: maps.any, element: { key: [p.protocol, p.hostPort], data: [p.target, p.containerPort], comment } };
  }
  return { set: maps.addr, element: { key: [p.hostIp, p.protocol, p.hostPort], data: [p.target, p.containerPort], comment } };
}

/** The forward-accept element for `p` (shared by host ports that reach the same container port). */
export function publishedElement(p: PortElement, comment: string): { set: string; element: SetElement } {
  return { set: PORT_MAPS[p.hostFamily].published, element: { key: [p.target, p.protocol, p.containerPort], comment } };
}

/**
 * Adds or deletes the elements of `ports`. Port map elements are created exclusively, so
 * the commit fails with EEXIST when a host port is taken; the forward-accept elements are
 * shared by host ports that reach the same container port, so they are added, not created.
 */
export function writePorts(tx: Transaction, ports: readonly PortElement[], comment: string, add: boolean): void {
  const groups = new Map<string, { exclusive: boolean; elements: SetElement[] }>();
  const seen = new Set<string>();
  const put = (e: { set: string; element: SetElement }, exclusive: boolean): void => {
    const k = `${e.set} ${JSON.stringify(e.element.key)}`;
    if (seen.has(k)) return;
    seen.add(k);
    let g = groups.get(e.set);
    if (!g) groups.set(e.set, (g = { exclusive, elements: [] }));
    g.elements.push(add ? e.element : { key: e.element.key });
  };
  for (const p of ports) {
    put(portElement(p, comment), true);
    put(publishedElement(p, comment), false);
  }
  for (const [set, g] of groups) {
    const spec = elementsOf(set, g.elements);
    if (!add) tx.deleteElements(spec);
    else if (g.exclusive) tx.createElements(spec);
    else tx.addElements(spec);
  }
}
