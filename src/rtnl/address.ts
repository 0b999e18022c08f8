/**
 * Layer 2 (rtnetlink): the address object — struct ifaddrmsg and IFA_* decoded into
 * {@link Address} (what `ip -j addr` prints), and the encoders of RTM_NEWADDR /
 * RTM_DELADDR / RTM_GETADDR, which write what `ip addr add|replace|del|show` sends.
 * @module
 */
import { DecodeError, ValidationError } from '../errors.js';
import { Attributes, type UnknownAttribute } from '../netlink/attributes.js';
import type { Batch } from '../netlink/batch.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants.js';
import type { NetlinkMessage } from '../netlink/message.js';
import type { Writer } from '../netlink/writer.js';
import { type Put, ipAttr, needHeader, putBytes, putString, putU32, putU8, structU32, u32Struct, writeAll } from './attrs.js';
import * as C from './constants.js';
import { type IpFamily, afOf, broadcastOf, ipFamilyOf, parseCidr, parseIp } from './ip.js';
import { SCOPES, type ScopeName } from './names.js';
import { checkBool, checkIndex, checkIndexRef, checkNamed, checkString, checkU32, checkU8, type LinkRef } from './validate.js';

/** IFA_CACHEINFO (struct ifa_cacheinfo). Lifetimes in seconds; 0xffffffff is forever. */
export interface AddressCacheInfo {
  /** ifa_prefered: preferred lifetime left. */
  preferred: number;
  /** ifa_valid: valid lifetime left. */
  valid: number;
  /** cstamp: created, in hundredths of a second since boot. */
  cstamp: number;
  /** tstamp: last updated, in hundredths of a second since boot. */
  tstamp: number;
}

/** A decoded address. */
export interface Address {
  /** ifa_family. */
  family: IpFamily;
  /** ifa_index: the link it is on. */
  index: number;
  /** ifa_prefixlen. */
  prefixlen: number;
  /** The address itself: IFA_LOCAL when present, else IFA_ADDRESS (`local` in `ip -j addr`). */
  address: string;
  /** IFA_ADDRESS when it differs from IFA_LOCAL: the point-to-point peer (`address` in `ip -j addr`). */
  peer?: string;
  /** IFA_BROADCAST. */
  broadcast?: string;
  /** IFA_ANYCAST. */
  anycast?: string;
  /** IFA_MULTICAST. */
  multicast?: string;
  /** IFA_LABEL (IPv4). */
  label?: string;
  /** ifa_scope: RT_SCOPE_* (0 universe/global, 253 link, 254 host). */
  scope: number;
  /** IFA_FLAGS (or ifa_flags): IFA_F_* bits. */
  flags: number;
  /** IFA_CACHEINFO. */
  cacheinfo?: AddressCacheInfo;
  /** IFA_RT_PRIORITY: metric of the prefix route. */
  metric?: number;
  /** IFA_PROTO: who added it (IFAPROT_*). */
  protocol?: number;
  /** IFA_TARGET_NETNSID. */
  targetNetnsid?: number;
  /** IFA_* attributes netplumb does not model. */
  unknown: UnknownAttribute[];
}

/** An address to add, replace or delete. */
export interface AddressSpec {
  /** ifa_index: the link, by ifindex (Addresses.add() also takes a name). */
  link: LinkRef;
  /** `address/prefixlen`, e.g. `172.17.0.2/16`; a bare address means /32 or /128. */
  address: string;
  /** IFA_ADDRESS of a point-to-point link: the peer (`peer 10.0.0.2/24`); its prefix length wins. */
  peer?: string;
  /** IFA_BROADCAST; `true` computes it from the prefix, like `brd +`. IPv4 only. */
  broadcast?: string | true;
  /** IFA_ANYCAST. */
  anycast?: string;
  /** IFA_LABEL (IPv4): the interface name or `NAME:suffix`, at most 15 bytes. */
  label?: string;
  /** ifa_scope; default universe, host for 127.0.0.0/8 (as `ip addr add` does). */
  scope?: ScopeName | number;
  /** IFA_F_NODAD: skip duplicate address detection (IPv6). */
  nodad?: boolean;
  /** IFA_F_NOPREFIXROUTE: add no route for the prefix. */
  noprefixroute?: boolean;
  /** IFA_F_HOMEADDRESS (Mobile IPv6). */
  homeaddress?: boolean;
  /** IFA_F_MANAGETEMPADDR: make temporary addresses from this prefix. */
  managetempaddr?: boolean;
  /** IFA_F_MCAUTOJOIN: join the multicast group of a multicast address. */
  mcautojoin?: boolean;
  /** IFA_F_OPTIMISTIC: optimistic DAD. */
  optimistic?: boolean;
  /** Valid lifetime in seconds (IFA_CACHEINFO; default forever). */
  validLifetime?: number;
  /** Preferred lifetime in seconds (IFA_CACHEINFO; default: the valid lifetime). */
  preferredLifetime?: number;
  /** IFA_RT_PRIORITY: metric of the prefix route. */
  metric?: number;
  /** IFA_PROTO. */
  protocol?: number;
}

/** Filters of an address dump; the kernel applies `link` itself. */
export interface AddressFilter {
  /** Only IPv4 or IPv6. */
  family?: IpFamily;
  /** Only addresses of this link (ifindex; Addresses.list() also takes a name). */
  link?: LinkRef;
}

const ADDRESS_KNOWN = new Set([
  C.IFA_ADDRESS,
  C.IFA_LOCAL,
  C.IFA_LABEL,
  C.IFA_BROADCAST,
  C.IFA_ANYCAST,
  C.IFA_CACHEINFO,
  C.IFA_MULTICAST,
  C.IFA_FLAGS,
  C.IFA_RT_PRIORITY,
  C.IFA_TARGET_NETNSID,
  C.IFA_PROTO,
]);

/** Decodes an RTM_NEWADDR/RTM_DELADDR message; DecodeError when truncated or malformed. */
export function decodeAddress(msg: NetlinkMessage): Address {
  const p = msg.payload;
  needHeader(p, C.IFADDRMSG_LEN, 'ifaddrmsg');
  const family = ipFamilyOf(p[0] as number);
  if (family === undefined) throw new DecodeError(`address of family ${p[0]}`, 0);
  const a = Attributes.parse(p, C.IFADDRMSG_LEN);
  const local = ipAttr(a, C.IFA_LOCAL);
  const addr = ipAttr(a, C.IFA_ADDRESS);
  const address = local ?? addr;
  if (address === undefined) throw new DecodeError('address message without IFA_LOCAL or IFA_ADDRESS', C.IFADDRMSG_LEN);
  const out: Address = {
    family,
    index: structU32(p, 4, 'ifaddrmsg'),
    prefixlen: p[1] as number,
    address,
    scope: p[3] as number,
    flags: a.u32(C.IFA_FLAGS) ?? (p[2] as number),
    unknown: a.unknown(ADDRESS_KNOWN),
  };
  if (local !== undefined && addr !== undefined && addr !== local) out.peer = addr;
  const brd = ipAttr(a, C.IFA_BROADCAST);
  if (brd !== undefined) out.broadcast = brd;
  const any = ipAttr(a, C.IFA_ANYCAST);
  if (any !== undefined) out.anycast = any;
  const mc = ipAttr(a, C.IFA_MULTICAST);
  if (mc !== undefined) out.multicast = mc;
  const label = a.string(C.IFA_LABEL);
  if (label !== undefined) out.label = label;
  const ci = a.get(C.IFA_CACHEINFO);
  if (ci !== undefined) {
    const w = 'IFA_CACHEINFO';
    out.cacheinfo = { preferred: structU32(ci, 0, w), valid: structU32(ci, 4, w), cstamp: structU32(ci, 8, w), tstamp: structU32(ci, 12, w) };
  }
  const metric = a.u32(C.IFA_RT_PRIORITY);
  if (metric !== undefined) out.metric = metric;
  const proto = a.u8(C.IFA_PROTO);
  if (proto !== undefined) out.protocol = proto;
  const netnsid = a.i32(C.IFA_TARGET_NETNSID);
  if (netnsid !== undefined) out.targetNetnsid = netnsid;
  return out;
}

const SPEC_FLAGS: ReadonlyArray<readonly [keyof AddressSpec, number]> = [
  ['nodad', C.IFA_F_NODAD],
  ['optimistic', C.IFA_F_OPTIMISTIC],
  ['homeaddress', C.IFA_F_HOMEADDRESS],
  ['managetempaddr', C.IFA_F_MANAGETEMPADDR],
  ['noprefixroute', C.IFA_F_NOPREFIXROUTE],
  ['mcautojoin', C.IFA_F_MCAUTOJOIN],
];

interface PreparedAddress {
  family: IpFamily;
  prefixlen: number;
  flags: number;
  scope: number;
  index: number;
  attrs: Put[];
}

/** Validates `spec` into the header and attributes iproute2 would send, in its order. */
function prepareAddress(spec: AddressSpec, forDelete: boolean): PreparedAddress {
  if (spec === null || typeof spec !== 'object') throw new ValidationError('spec', 'must be an address spec object');
  const index = checkIndexRef(spec.link, 'link');
  const local = parseCidr(spec.address, 'address');
  const peer = spec.peer === undefined ? undefined : parseCidr(spec.peer, 'peer', local.family);
  // As with `ip addr add A peer P/LEN`, a peer's prefix length is the address's.
  const prefixlen = peer && spec.peer?.includes('/') ? peer.prefixlen : local.prefixlen;
  let flags = 0;
  for (const [key, bit] of SPEC_FLAGS) if (spec[key] !== undefined && checkBool(spec[key], key)) flags |= bit;
  const scope =
    spec.scope !== undefined
      ? checkNamed(spec.scope, 'scope', SCOPES, 255)
      : local.family === 4 && local.bytes[0] === 127
        ? C.RT_SCOPE_HOST
        : C.RT_SCOPE_UNIVERSE;
  const attrs: Put[] = [putBytes(C.IFA_LOCAL, local.bytes)];
  if (spec.label !== undefined) {
    if (local.family !== 4) throw new ValidationError('label', 'labels are for IPv4 addresses');
    attrs.push(putString(C.IFA_LABEL, checkString(spec.label, 'label', C.IFNAMSIZ - 1)));
  }
  // ifa_flags has 8 bits; IFA_FLAGS carries all 32 and wins when both are sent.
  if (flags > 0xff) attrs.push(putU32(C.IFA_FLAGS, flags));
  // A deletion matches on IFA_ADDRESS (and the prefix length) only when it is sent, which
  // `ip addr del` does too; a point-to-point address is told apart by its peer.
  if (peer) attrs.push(putBytes(C.IFA_ADDRESS, peer.bytes));
  else attrs.push(putBytes(C.IFA_ADDRESS, local.bytes));
  if (spec.broadcast !== undefined) {
    if (local.family !== 4) throw new ValidationError('broadcast', 'broadcast addresses are IPv4 only');
    const brd = spec.broadcast === true ? broadcastOf(local.bytes, prefixlen) : parseIp(spec.broadcast, 'broadcast', 4).bytes;
    attrs.push(putBytes(C.IFA_BROADCAST, brd));
  }
  if (spec.anycast !== undefined) attrs.push(putBytes(C.IFA_ANYCAST, parseIp(spec.anycast, 'anycast', local.family).bytes));
  if (!forDelete && (spec.validLifetime !== undefined || spec.preferredLifetime !== undefined)) {
    const valid = spec.validLifetime === undefined ? 0xffffffff : checkU32(spec.validLifetime, 'validLifetime');
    const preferred = spec.preferredLifetime === undefined ? valid : checkU32(spec.preferredLifetime, 'preferredLifetime');
    if (preferred > valid) throw new ValidationError('preferredLifetime', `${preferred} is longer than the valid lifetime ${valid}`);
    attrs.push(putBytes(C.IFA_CACHEINFO, u32Struct([preferred, valid, 0, 0])));
  }
  if (spec.metric !== undefined) attrs.push(putU32(C.IFA_RT_PRIORITY, checkU32(spec.metric, 'metric')));
  if (spec.protocol !== undefined) attrs.push(putU8(C.IFA_PROTO, checkU8(spec.protocol, 'protocol')));
  return { family: local.family, prefixlen, flags, scope, index, attrs };
}

function writeIfaddrmsg(w: Writer, family: number, prefixlen: number, flags: number, scope: number, index: number): void {
  w.putU8(family);
  w.putU8(prefixlen);
  w.putU8(flags & 0xff);
  w.putU8(scope);
  w.putU32(index);
}

function encode(batch: Batch, type: number, flags: number, verb: string, spec: AddressSpec): void {
  const p = prepareAddress(spec, type === C.RTM_DELADDR);
  const w = batch.begin(type, NLM_F_ACK | flags, `${type === C.RTM_DELADDR ? 'RTM_DELADDR' : 'RTM_NEWADDR'} ${verb} ${spec.address} dev #${p.index}`);
  writeIfaddrmsg(w, afOf(p.family), p.prefixlen, p.flags, p.scope, p.index);
  writeAll(w, p.attrs);
  batch.end();
}

/**
 * Writes `ip addr add ADDRESS/LEN dev LINK ...` (RTM_NEWADDR, NLM_F_CREATE|NLM_F_EXCL).
 * Throws ValidationError for a malformed address, prefix length or option; the kernel
 * answers EEXIST when the address is already there.
 */
export function encodeAddressAdd(batch: Batch, spec: AddressSpec): void {
  encode(batch, C.RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, 'add', spec);
}

/** Writes `ip addr replace ...` (RTM_NEWADDR, NLM_F_CREATE|NLM_F_REPLACE): adds, or updates in place. */
export function encodeAddressReplace(batch: Batch, spec: AddressSpec): void {
  encode(batch, C.RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, 'replace', spec);
}

/**
 * Writes `ip addr del ADDRESS/LEN dev LINK` (RTM_DELADDR). The prefix length must match
 * the address's (the kernel answers EADDRNOTAVAIL otherwise).
 */
export function encodeAddressDelete(batch: Batch, spec: AddressSpec): void {
  encode(batch, C.RTM_DELADDR, 0, 'del', spec);
}

/** Writes `ip addr show [dev LINK]` as an RTM_GETADDR dump (`link` as an ifindex). */
export function encodeAddressDump(batch: Batch, filter: { family?: IpFamily; link?: number } = {}): void {
  const family = filter.family === undefined ? C.AF_UNSPEC : afOf(filter.family);
  const index = filter.link === undefined ? 0 : checkIndex(filter.link, 'link');
  const w = batch.begin(C.RTM_GETADDR, NLM_F_DUMP, 'RTM_GETADDR dump');
  writeIfaddrmsg(w, family, 0, 0, 0, index);
  batch.end();
}
