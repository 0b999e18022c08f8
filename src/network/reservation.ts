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
 * | host port | `hostports` (interval) | proto . port . host address; every address is a range | a specific address inside an "any" range, or the reverse, overlaps: EEXIST, as Docker refuses the pair |
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
import { NFT_SET_ELEM_INTERVAL_END } from '../nft/constants.js';
import type { Unit } from '../nft/elements.js';
import { NFTNL_UDATA_SET_ELEM_COMMENT, buildUdata, udataString } from '../nft/udata.js';
import { HOST_LE } from '../netlink/writer.js';
import { formatIp, parseIp } from '../rtnl/ip.js';
import { lastAddress, parseAddress, parseSubnet } from './ipam.js';
import { FAMILY, PORT_MAPS, type PortElement, SETS, TABLE, elementsOf } from './ruleset.js';
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
export function hostPortElement(p: { protocol: 'tcp' | 'udp'; hostPort: number; hostIp?: string }, comment: string): SetElement {
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
  ipv4: string;
  ipv6?: string;
  mac: string;
  ports: readonly PortElement[];
  owner?: string;
  /** DNS names, name first. */
  names?: readonly string[];
}

/** Bytes of an `ifname` key (the sets' keys and values are built directly as wire bytes: the endpoint hot path skips typed encoding). */
const IFNAMSIZ = 16;

/** An interface name NUL-padded to IFNAMSIZ at `at` (names are checked ≤ 15 bytes when the network is made). */
function ifnameBytes(out: Uint8Array, at: number, name: string): void {
  out.set(Buffer.from(name, 'utf8'), at);
}

function ipBytes(text: string, family: 4 | 6): Uint8Array {
  return parseIp(text, 'address', family).bytes;
}

/** `a . b . c`: each field padded to a 4-byte register, as nftables concatenations are. */
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

/** The big-endian successor of an interval's last key: where its end element goes. */
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

/** The `hostports` key bytes of one host binding (see hostPortElement) and its last key. */
function hostPortBounds(p: { protocol: 'tcp' | 'udp'; hostPort: number; hostIp?: string }): [Uint8Array, Uint8Array] {
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
 * The element units of an endpoint's reservation, per set: [set, units, exclusive]. Keys
 * as the sets declare them (ruleset.ts); the anchor's comment names `holder`. Without
 * data and comments when the units are for a delete.
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
  const attached = new Uint8Array(IFNAMSIZ + 4);
  ifnameBytes(attached, 0, r.bridge);
  // mark: a u32 in host byte order.
  const inode = r.inode >>> 0;
  for (let b = 0; b < 4; b++) attached[IFNAMSIZ + (HOST_LE ? b : 3 - b)] = (inode >>> (8 * b)) & 0xff;
  const v4 = ipBytes(r.ipv4, 4);
  const v6 = r.ipv6 ? ipBytes(r.ipv6, 6) : undefined;
  const groups: Array<[string, Unit[], boolean]> = [
    [SETS.attached, [unit(attached, undefined, anchor)], true],
    [SETS.addrs4, [unit(v4, undefined, comment)], true],
    ...(v6 ? [[SETS.addrs6, [unit(v6, undefined, comment)], true] as [string, Unit[], boolean]] : []),
    [SETS.macs, [unit(parseMacBytes(r.mac), undefined, comment)], true],
  ];
  const byMap = new Map<string, { units: Unit[]; exclusive: boolean; keys: Set<string> }>();
  const put = (set: string, exclusive: boolean, key: Uint8Array, ...units: Unit[]): void => {
    let g = byMap.get(set);
    if (!g) byMap.set(set, (g = { units: [], exclusive, keys: new Set() }));
    const k = Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
    if (g.keys.has(k)) return; // a dual-stack or multi-port publish shares it
    g.keys.add(k);
    g.units.push(...units);
  };
  for (const p of r.ports) {
    const proto = PROTO[p.protocol];
    if (p.hostFamily === 4) {
      const [start, last] = hostPortBounds(p);
      // A one-field interval: the start element and an end element one past its last key.
      put(SETS.hostports, true, start, unit(start, undefined, comment), { flags: NFT_SET_ELEM_INTERVAL_END, key: successor(last) });
    }
    const target = p.hostFamily === 4 ? v4 : (v6 as Uint8Array);
    const data = concatBytes([target, p.containerPort], [p.hostFamily === 4 ? 4 : 16, 2]);
    if (p.hostIp === undefined) {
      const key = concatBytes([proto, p.hostPort], [1, 2]);
      put(PORT_MAPS[p.hostFamily].any, false, key, unit(key, data, comment));
    } else {
      const key = concatBytes([ipBytes(p.hostIp, 4), proto, p.hostPort], [4, 1, 2]);
      put(PORT_MAPS[4].addr, false, key, unit(key, data, comment));
    }
    // Host ports that reach the same container port share its forward-accept element.
    const published = concatBytes([target, proto, p.containerPort], [p.hostFamily === 4 ? 4 : 16, 1, 2]);
    put(PORT_MAPS[p.hostFamily].published, false, published, unit(published, undefined, comment));
  }
  for (const [set, g] of byMap) groups.push([set, g.units, g.exclusive]);
  return groups;
}

/** MAC text (as formatHw writes it) to its 6 bytes. */
function parseMacBytes(mac: string): Uint8Array {
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) out[i] = parseInt(mac.slice(i * 3, i * 3 + 2), 16);
  return out;
}

/**
 * Writes the creation of an endpoint's reservation into `tx`: every element exclusive
 * (except the forward-accept and DNAT elements, whose host port is already exclusive
 * through `hostports`), the anchor naming `holder`. With `cursor`, also moves the bridge's
 * address hint (a delete and an add of one key: always there while the network is).
 */
export function reserveEndpoint(tx: Transaction, r: EndpointReservation, holder: Holder, cursor?: string): void {
  if (cursor !== undefined) {
    const key = new Uint8Array(IFNAMSIZ);
    ifnameBytes(key, 0, r.bridge);
    tx.elementUnits('delete', FAMILY, TABLE, SETS.cursors, [{ flags: 0, key }]);
    // Re-added with the network's comment, which the element had (cleanup knows its elements by it).
    tx.elementUnits('add', FAMILY, TABLE, SETS.cursors, [{ flags: 0, key, data: ipBytes(cursor, 4), udata: commentUdata(networkComment(r.network)) }]);
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
  /** IPv4 subnet as first and last address. */
  range4: [string, string];
  range6?: [string, string];
  /** The first address the search for endpoint addresses tries. */
  firstAddress: string;
}

/** The elements of a network's reservation: [set, elements]. */
function networkElements(n: NetworkReservation, holder: Holder | undefined): Array<[string, SetElement[]]> {
  const comment = networkComment(n.name);
  return [
    [SETS.networks, [{ key: nameKey(n.name), comment: networkComment(n.name, holder) }]],
    [SETS.subnets4, [{ key: n.range4[0], keyEnd: n.range4[1], comment }]],
    ...(n.range6 ? [[SETS.subnets6, [{ key: n.range6[0], keyEnd: n.range6[1], comment }]] as [string, SetElement[]]] : []),
    [SETS.bridges, [{ key: n.bridge, comment }]],
    [SETS.cursors, [{ key: n.bridge, data: n.firstAddress, comment }]],
  ];
}

/** Writes the exclusive creation of a network's reservation into `tx`, its anchor naming `holder`. */
export function reserveNetwork(tx: Transaction, n: NetworkReservation, holder: Holder): void {
  for (const [set, elements] of networkElements(n, holder)) tx.createElements(elementsOf(set, elements));
}

/** Names of the sets that hold published-port elements, for readers. */
export const PORT_SETS = [PORT_MAPS[4].any, PORT_MAPS[4].addr, PORT_MAPS[6].any] as const;
