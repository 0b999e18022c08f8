/**
 * Layer 4 (network): reservations — how every resource a network or an endpoint holds is
 * made exclusive across processes, by the kernel alone. Each is an element of a set in
 * netplumb's table (ruleset.ts), inserted with NLM_F_EXCL in the same transaction that
 * takes the resource; a second process inserting the same key gets EEXIST, so the kernel
 * decides who holds it. No daemon, no lock file, nothing in process memory.
 *
 * | resource | set | key | why it is exclusive |
 * |---|---|---|---|
 * | network name | `networks` | first 16 bytes of SHA-256(name) | equal names, equal keys |
 * | subnet | `subnets4`/`subnets6` (interval) | the subnet as a range | the kernel refuses an overlapping range |
 * | bridge | `bridges` + the link itself | ifname | a link name exists once per namespace |
 * | namespace on a network | `attached` | bridge . namespace inode | one endpoint per namespace and network |
 * | IPv4 / IPv6 address | `addrs4` / `addrs6` | the address | subnets do not overlap, so one set serves all |
 * | MAC | `macs` | the address | |
 * | host port | `hostports` (interval) | proto . port . IPv4 host address; every address is a range | a specific address inside an "any" range, or the reverse, overlaps: EEXIST, as Docker refuses the pair |
 * | host port on IPv6 | `hostports6` (interval) | proto . port . 96 bits of SHA-256(IPv6 host address); "every address" also holds the range of all of them | the same overlap, for IPv6 host addresses (an address does not fit beside proto and port in 16 bytes; a concatenated set would not see a range enclose a point) |
 * | interface name in a namespace | the link itself | ifname | the kernel refuses a second link of that name |
 * | default route of a namespace | the route itself | 0.0.0.0/0 | NLM_F_EXCL |
 *
 * Every element carries a comment naming its network and endpoint (tag.ts); the anchor of
 * each (the network's name, the endpoint's attachment) also names the process that took it
 * and when (holder.ts), so cleanup can tell an operation under way from an abandoned one.
 * The address search starts at a hint kept per bridge in the `cursors` map (next-fit, as
 * Docker allocates), which only saves retries: the exclusive insert decides.
 * @module
 */
import { createHash } from 'node:crypto';
import type { SetElement, Transaction } from '../nft/index.js';
import { formatIp } from '../rtnl/ip.js';
import { formatAddress, lastAddress, parseAddress, parseSubnet } from './ipam.js';
import { PORT_MAPS, type PortElement, SETS, elementsOf, portElement, publishedElement } from './ruleset.js';
import { type Holder, endpointComment, networkComment } from './tag.js';

/** The key reserving a network's name. */
export function nameKey(name: string): string {
  return formatIp(createHash('sha256').update(name).digest().subarray(0, 16));
}

const PROTO = { tcp: 6, udp: 17 } as const;

/**
 * The `hostports` element of one host binding: 16 bytes, read as an IPv6 address by
 * `nft list` — proto (2 bytes), port (2), zeros, then ::ffff:ADDRESS — and for "every
 * address" the range over all IPv4 addresses. Any-address and specific-address bindings
 * of one port and protocol then overlap, and the kernel refuses the second.
 */
export function hostPortElement(p: { protocol: 'tcp' | 'udp'; hostPort: number; hostIp?: string | undefined }, comment: string): SetElement {
  const key = new Uint8Array(16);
  key[1] = PROTO[p.protocol];
  key[2] = p.hostPort >> 8;
  key[3] = p.hostPort & 0xff;
  key[10] = 0xff;
  key[11] = 0xff;
  if (p.hostIp !== undefined) {
    p.hostIp.split('.').forEach((b, i) => (key[12 + i] = Number(b)));
    return { key: formatIp(key), comment };
  }
  const end = key.slice();
  end.fill(0xff, 12);
  return { key: formatIp(key), keyEnd: formatIp(end), comment };
}

/**
 * The `hostports6` element of one host binding: proto (2 bytes), port (2), then the first
 * 12 bytes of SHA-256 of the IPv6 host address (collisions: 2^-96), and for "every
 * address" the range over all of them — held beside the IPv4 range of `hostports`, so a
 * binding on one IPv6 address and one on every address overlap, either way round. (A
 * concatenated proto . port . address set would hold the address whole, but the kernel's
 * pipapo backend only checks a new range's ends, so a range enclosing a point would pass.)
 */
export function hostPort6Element(p: { protocol: 'tcp' | 'udp'; hostPort: number; hostIp?: string | undefined }, comment: string): SetElement {
  const key = new Uint8Array(16);
  key[1] = PROTO[p.protocol];
  key[2] = p.hostPort >> 8;
  key[3] = p.hostPort & 0xff;
  if (p.hostIp !== undefined) {
    key.set(hostIp6Digest(p.hostIp), 4);
    return { key: formatIp(key), comment };
  }
  const end = key.slice();
  end.fill(0xff, 4);
  return { key: formatIp(key), keyEnd: formatIp(end), comment };
}

/** The 12 bytes standing for an IPv6 host address in `hostports6`. */
export function hostIp6Digest(address: string): Uint8Array {
  return createHash('sha256').update(formatAddress(6, parseAddress(address, 'hostIp', 6).value)).digest().subarray(0, 12);
}

/** First and last address of an interval element as read back (a prefix, a range, or one address). */
export function boundsOf(e: Pick<SetElement, 'key' | 'keyEnd'>, family: 4 | 6): [bigint, bigint] {
  if (typeof e.key === 'string' && e.key.includes('/')) {
    const s = parseSubnet(e.key, 'key', family, { hostBits: true });
    return [s.network, lastAddress(s)];
  }
  return [parseAddress(e.key, 'key', family).value, parseAddress(e.keyEnd ?? e.key, 'keyEnd', family).value];
}

/** What an endpoint holds. */
export interface EndpointReservation {
  network: string;
  bridge: string;
  id: string;
  /** Interface name inside the namespace. */
  ifname: string;
  /** Inode of its namespace. */
  inode: number;
  ipv4?: string;
  ipv6?: string;
  mac: string;
  ports: readonly PortElement[];
  owner?: string;
  /** DNS names, name first. */
  names?: readonly string[];
}

/** The element groups of an endpoint's reservation: [set, elements, exclusive]. */
function endpointElements(r: EndpointReservation, holder: Holder | undefined): Array<[string, SetElement[], boolean]> {
  const comment = endpointComment(r.network, r.id);
  const anchor = holder ? endpointComment(r.network, r.id, { holder, ifname: r.ifname, ...(r.owner !== undefined ? { owner: r.owner } : {}), ...(r.names?.length ? { names: r.names } : {}) }) : comment;
  const groups: Array<[string, SetElement[], boolean]> = [
    [SETS.attached, [{ key: [r.bridge, r.inode], comment: anchor }], true],
    ...(r.ipv4 ? [[SETS.addrs4, [{ key: r.ipv4, comment }], true] as [string, SetElement[], boolean]] : []),
    ...(r.ipv6 ? [[SETS.addrs6, [{ key: r.ipv6, comment }], true] as [string, SetElement[], boolean]] : []),
    [SETS.macs, [{ key: r.mac, comment }], true],
  ];
  const byMap = new Map<string, { elements: SetElement[]; exclusive: boolean; keys: Set<string> }>();
  const put = (set: string, element: SetElement, exclusive: boolean): void => {
    let g = byMap.get(set);
    if (!g) byMap.set(set, (g = { elements: [], exclusive, keys: new Set() }));
    const k = JSON.stringify(element.key);
    if (g.keys.has(k)) return; // a dual-stack or multi-port publish shares it
    g.keys.add(k);
    g.elements.push(element);
  };
  for (const p of r.ports) {
    // A binding on every address holds both families' ranges, whatever the endpoint's own families.
    if (p.hostIp === undefined || p.hostFamily === 4) put(SETS.hostports, hostPortElement(p, comment), true);
    if (p.hostIp === undefined || p.hostFamily === 6) put(SETS.hostports6, hostPort6Element(p, comment), true);
    put(portElement(p, comment).set, portElement(p, comment).element, false);
    // Host ports that reach the same container port share its forward-accept element.
    put(publishedElement(p, comment).set, publishedElement(p, comment).element, false);
  }
  for (const [set, g] of byMap) groups.push([set, g.elements, g.exclusive]);
  return groups;
}

/**
 * Writes the creation of an endpoint's reservation into `tx`: every element exclusive
 * (except the forward-accept and DNAT elements, whose host port is already exclusive
 * through `hostports`), the anchor naming `holder`. With `cursor`, also moves the bridge's
 * address hint (a delete and an add of one key: always there while the network is).
 */
export function reserveEndpoint(tx: Transaction, r: EndpointReservation, holder: Holder, cursor?: string): void {
  if (cursor !== undefined) {
    const set = cursor.includes(':') ? SETS.cursors6 : SETS.cursors;
    tx.deleteElements(elementsOf(set, [{ key: r.bridge }]));
    tx.addElements(elementsOf(set, [{ key: r.bridge, data: cursor, comment: networkComment(r.network) }]));
  }
  for (const [set, elements, exclusive] of endpointElements(r, holder)) {
    if (exclusive) tx.createElements(elementsOf(set, elements));
    else tx.addElements(elementsOf(set, elements));
  }
}

/** Writes the release of an endpoint's reservation (every element it holds) into `tx`: its ports first, its anchor last. */
export function releaseEndpoint(tx: Transaction, r: EndpointReservation): void {
  for (const [set, elements] of endpointElements(r, undefined).reverse()) tx.deleteElements(elementsOf(set, elements.map((e) => ({ key: e.key, ...(e.keyEnd !== undefined ? { keyEnd: e.keyEnd } : {}) }))));
}

/** What a network holds. */
export interface NetworkReservation {
  name: string;
  bridge: string;
  /** IPv4 subnet as first and last address (none on IPv6-only networks). */
  range4?: [string, string];
  range6?: [string, string];
  /** The first address the search for endpoint addresses tries (IPv4, or IPv6 on IPv6-only networks). */
  firstAddress: string;
}

/** The elements of a network's reservation: [set, elements]. */
function networkElements(n: NetworkReservation, holder: Holder | undefined): Array<[string, SetElement[]]> {
  const comment = networkComment(n.name);
  return [
    [SETS.networks, [{ key: nameKey(n.name), comment: networkComment(n.name, holder) }]],
    ...(n.range4 ? [[SETS.subnets4, [{ key: n.range4[0], keyEnd: n.range4[1], comment }]] as [string, SetElement[]]] : []),
    ...(n.range6 ? [[SETS.subnets6, [{ key: n.range6[0], keyEnd: n.range6[1], comment }]] as [string, SetElement[]]] : []),
    [SETS.bridges, [{ key: n.bridge, comment }]],
    [n.firstAddress.includes(':') ? SETS.cursors6 : SETS.cursors, [{ key: n.bridge, data: n.firstAddress, comment }]],
  ];
}

/** Writes the exclusive creation of a network's reservation into `tx`, its anchor naming `holder`. */
export function reserveNetwork(tx: Transaction, n: NetworkReservation, holder: Holder): void {
  for (const [set, elements] of networkElements(n, holder)) tx.createElements(elementsOf(set, elements));
}

/** Names of the sets that hold published-port elements, for readers. */
export const PORT_SETS = [PORT_MAPS[4].any, PORT_MAPS[4].addr, PORT_MAPS[6].any, PORT_MAPS[6].addr] as const;
