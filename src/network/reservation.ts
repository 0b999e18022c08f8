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
 * | default route of a namespace | the route itself | 0.0.0.0/0 (::/0 on IPv6-only networks) | NLM_F_EXCL |
 *
 * Every element carries a comment naming its network and endpoint (tag.ts); the anchor of
 * each (the network's name, the endpoint's attachment) also names the process that took it
 * and when (holder.ts), so cleanup can tell an operation under way from an abandoned one.
 * The address search starts at a hint kept per bridge in the `cursors` map (`cursors6` on
 * IPv6-only networks; next-fit, as Docker allocates), which only saves retries: the
 * exclusive insert decides.
 * @module
 */
import { createHash } from 'node:crypto';
import type { SetElement, Transaction } from '../nft/index.js';
import { NFT_SET_ELEM_INTERVAL_END } from '../nft/constants.js';
import type { Unit } from '../nft/elements.js';
import { NFTNL_UDATA_SET_ELEM_COMMENT, buildUdata, udataString } from '../nft/udata.js';
import { HOST_LE } from '../netlink/writer.js';
import { formatIp, parseIp, parseMac } from '../rtnl/ip.js';
import { formatAddress, lastAddress, parseAddress, parseSubnet } from './ipam.js';
import { FAMILY, PORT_MAPS, type PortElement, SETS, TABLE, elementsOf } from './ruleset.js';
import { type Holder, endpointComment, networkComment } from './tag.js';

/** The key reserving a network's name. */
export function nameKey(name: string): string {
  return formatIp(createHash('sha256').update(name).digest().subarray(0, 16));
}

const PROTO = { tcp: 6, udp: 17 } as const;

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

// An endpoint's elements are built directly as wire bytes, keys laid out as ruleset.ts
// declares the sets: the endpoint hot path skips the typed encoding (test/reservation-wire
// checks what the kernel holds afterwards through `nft -j`).

/** Bytes of an `ifname` key. */
const IFNAMSIZ = 16;

/** An interface name NUL-padded to IFNAMSIZ (names are checked ≤ 15 bytes before they get here). */
function ifnameBytes(name: string): Uint8Array {
  const out = new Uint8Array(IFNAMSIZ);
  out.set(Buffer.from(name, 'utf8'));
  return out;
}

function ipBytes(text: string, family: 4 | 6): Uint8Array {
  return parseIp(text, 'address', family).bytes;
}

/** `a . b . c`: each field padded to a 4-byte register, as nftables concatenations are; numbers are 1 byte (inet_proto) or 2 big-endian (inet_service). */
function concatBytes(fields: ReadonlyArray<Uint8Array | number>, widths: readonly number[]): Uint8Array {
  let len = 0;
  for (const w of widths) len += (w + 3) & ~3;
  const out = new Uint8Array(len);
  let at = 0;
  fields.forEach((f, i) => {
    const w = widths[i] as number;
    if (typeof f !== 'number') out.set(f, at);
    else if (w === 1) out[at] = f;
    else {
      out[at] = f >> 8;
      out[at + 1] = f & 0xff;
    }
    at += (w + 3) & ~3;
  });
  return out;
}

function commentUdata(comment: string): Uint8Array {
  return buildUdata([{ type: NFTNL_UDATA_SET_ELEM_COMMENT, value: udataString(comment) }], 'comment');
}

/** The big-endian successor of an interval's last key: where its end element goes (never all 0xff here). */
function successor(b: Uint8Array): Uint8Array {
  const out = Uint8Array.from(b);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i] = (out[i] as number) + 1;
      break;
    }
    out[i] = 0;
  }
  return out;
}

/**
 * The `hostports` key of one host binding, first and last: 16 bytes, read as an IPv6
 * address by `nft list` — proto (2 bytes), port (2), zeros, then ::ffff:ADDRESS — and for
 * "every address" the range over all IPv4 addresses. Any-address and specific-address
 * bindings of one port and protocol then overlap, and the kernel refuses the second.
 */
function hostPortBounds(p: PortElement): [Uint8Array, Uint8Array] {
  const key = new Uint8Array(16);
  key[1] = PROTO[p.protocol];
  key[2] = p.hostPort >> 8;
  key[3] = p.hostPort & 0xff;
  key[10] = 0xff;
  key[11] = 0xff;
  if (p.hostIp !== undefined) {
    key.set(ipBytes(p.hostIp, 4), 12);
    return [key, key];
  }
  const end = key.slice();
  end.fill(0xff, 12);
  return [key, end];
}

/**
 * The `hostports6` key of one host binding, first and last: proto (2 bytes), port (2),
 * then the first 12 bytes of SHA-256 of the IPv6 host address (collisions: 2^-96), and for
 * "every address" the range over all of them — held beside the IPv4 range of `hostports`,
 * so a binding on one IPv6 address and one on every address overlap, either way round. (A
 * concatenated proto . port . address set would hold the address whole, but the kernel's
 * pipapo backend only checks a new range's ends, so a range enclosing a point would pass.)
 */
function hostPort6Bounds(p: PortElement): [Uint8Array, Uint8Array] {
  const key = new Uint8Array(16);
  key[1] = PROTO[p.protocol];
  key[2] = p.hostPort >> 8;
  key[3] = p.hostPort & 0xff;
  if (p.hostIp !== undefined) {
    key.set(hostIp6Digest(p.hostIp), 4);
    return [key, key];
  }
  const end = key.slice();
  end.fill(0xff, 4);
  return [key, end];
}

/**
 * The element units of an endpoint's reservation, per set: [set, units, exclusive]. The
 * anchor's comment names `holder`. Without data and comments when the units are for a delete.
 */
function endpointUnits(r: EndpointReservation, holder: Holder | undefined, forDelete: boolean): Array<[string, Unit[], boolean]> {
  const comment = forDelete ? undefined : commentUdata(endpointComment(r.network, r.id));
  const anchor = forDelete ? undefined : holder ? commentUdata(endpointComment(r.network, r.id, { holder, ifname: r.ifname, ...(r.owner !== undefined ? { owner: r.owner } : {}), ...(r.names?.length ? { names: r.names } : {}) })) : comment;
  const unit = (key: Uint8Array, data: Uint8Array | undefined, udata: Uint8Array | undefined): Unit => {
    const u: Unit = { flags: 0, key };
    if (data !== undefined && !forDelete) u.data = data;
    if (udata !== undefined) u.udata = udata;
    return u;
  };
  // bridge . inode: the mark is a u32 in host byte order.
  const attached = new Uint8Array(IFNAMSIZ + 4);
  attached.set(ifnameBytes(r.bridge));
  const inode = r.inode >>> 0;
  for (let b = 0; b < 4; b++) attached[IFNAMSIZ + (HOST_LE ? b : 3 - b)] = (inode >>> (8 * b)) & 0xff;
  const v4 = r.ipv4 === undefined ? undefined : ipBytes(r.ipv4, 4);
  const v6 = r.ipv6 === undefined ? undefined : ipBytes(r.ipv6, 6);
  const groups: Array<[string, Unit[], boolean]> = [[SETS.attached, [unit(attached, undefined, anchor)], true]];
  if (v4) groups.push([SETS.addrs4, [unit(v4, undefined, comment)], true]);
  if (v6) groups.push([SETS.addrs6, [unit(v6, undefined, comment)], true]);
  groups.push([SETS.macs, [unit(parseMac(r.mac, 'mac'), undefined, comment)], true]);

  const byMap = new Map<string, { units: Unit[]; exclusive: boolean; keys: Set<string> }>();
  const put = (set: string, exclusive: boolean, key: Uint8Array, ...units: Unit[]): void => {
    let g = byMap.get(set);
    if (!g) byMap.set(set, (g = { units: [], exclusive, keys: new Set() }));
    const k = Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
    if (g.keys.has(k)) return; // a dual-stack or multi-port publish shares it
    g.keys.add(k);
    g.units.push(...units);
  };
  // A one-field interval: the start element and an end element one past its last key.
  const interval = (set: string, [start, last]: [Uint8Array, Uint8Array]): void => put(set, true, start, unit(start, undefined, comment), { flags: NFT_SET_ELEM_INTERVAL_END, key: successor(last) });
  for (const p of r.ports) {
    // A binding on every address holds both families' ranges, whatever the endpoint's own families.
    if (p.hostIp === undefined || p.hostFamily === 4) interval(SETS.hostports, hostPortBounds(p));
    if (p.hostIp === undefined || p.hostFamily === 6) interval(SETS.hostports6, hostPort6Bounds(p));
    const width = p.hostFamily === 4 ? 4 : 16;
    const target = p.target === r.ipv4 && v4 ? v4 : p.target === r.ipv6 && v6 ? v6 : ipBytes(p.target, p.hostFamily);
    const proto = PROTO[p.protocol];
    const data = concatBytes([target, p.containerPort], [width, 2]);
    const maps = PORT_MAPS[p.hostFamily];
    const key = p.hostIp === undefined ? concatBytes([proto, p.hostPort], [1, 2]) : concatBytes([ipBytes(p.hostIp, p.hostFamily), proto, p.hostPort], [width, 1, 2]);
    put(p.hostIp === undefined ? maps.any : maps.addr, false, key, unit(key, data, comment));
    // Host ports that reach the same container port share its forward-accept element.
    const published = concatBytes([target, proto, p.containerPort], [width, 1, 2]);
    put(maps.published, false, published, unit(published, undefined, comment));
  }
  for (const [set, g] of byMap) groups.push([set, g.units, g.exclusive]);
  return groups;
}

/**
 * Writes the creation of an endpoint's reservation into `tx`: every element exclusive
 * (except the forward-accept and DNAT elements, whose host port is already exclusive
 * through `hostports`), the anchor naming `holder`. With `cursor`, also moves the bridge's
 * address hint (a delete and an add of one key: always there while the network is), in
 * `cursors` or, for an IPv6 address, `cursors6`.
 */
export function reserveEndpoint(tx: Transaction, r: EndpointReservation, holder: Holder, cursor?: string): void {
  if (cursor !== undefined) {
    const family = cursor.includes(':') ? 6 : 4;
    const set = family === 6 ? SETS.cursors6 : SETS.cursors;
    const key = ifnameBytes(r.bridge);
    tx.elementUnits('delete', FAMILY, TABLE, set, [{ flags: 0, key }]);
    // Re-added with the network's comment, which the element had (cleanup knows its elements by it).
    tx.elementUnits('add', FAMILY, TABLE, set, [{ flags: 0, key, data: ipBytes(cursor, family), udata: commentUdata(networkComment(r.network)) }]);
  }
  for (const [set, units, exclusive] of endpointUnits(r, holder, false)) tx.elementUnits(exclusive ? 'create' : 'add', FAMILY, TABLE, set, units);
}

/** Writes the release of an endpoint's reservation (every element it holds) into `tx`: its ports first, its anchor last. */
export function releaseEndpoint(tx: Transaction, r: EndpointReservation): void {
  for (const [set, units] of endpointUnits(r, undefined, true).reverse()) tx.elementUnits('delete', FAMILY, TABLE, set, units);
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
