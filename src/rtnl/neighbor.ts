/**
 * Layer 2 (rtnetlink): neighbour entries — the ARP/NDP cache (`ip neigh`) and the bridge
 * forwarding database (`bridge fdb`, AF_BRIDGE neighbours, including vxlan remote
 * destinations). struct ndmsg and NDA_* decode into {@link Neighbor} / {@link FdbEntry};
 * the encoders write RTM_NEWNEIGH / RTM_DELNEIGH / RTM_GETNEIGH as iproute2 does.
 * @module
 */
import { DecodeError, ValidationError } from '../errors.js';
import { Attributes, type UnknownAttribute } from '../netlink/attributes.js';
import type { Batch } from '../netlink/batch.js';
import { NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants.js';
import type { NetlinkMessage } from '../netlink/message.js';
import type { Writer } from '../netlink/writer.js';
import {
  type Put,
  hwAttr,
  ipAttr,
  needHeader,
  putBe16,
  putBytes,
  putU16,
  putU32,
  putU8,
  structS32,
  structU16,
  structU32,
  writeAll,
} from './attrs.js';
import * as C from './constants.js';
import { type IpFamily, afOf, ipFamilyOf, parseIp, parseMac } from './ip.js';
import { NEIGHBOR_STATES, type NeighborState } from './names.js';
import { checkBool, checkIndex, checkIndexRef, checkInt, checkNamed, checkU16, checkU32, checkU8, type LinkRef } from './validate.js';

/** NDA_CACHEINFO (struct nda_cacheinfo): ages in jiffies-converted milliseconds. */
export interface NeighborCacheInfo {
  confirmed: number;
  used: number;
  updated: number;
  refcnt: number;
}

/** Fields an ARP/NDP entry and an FDB entry share. */
interface NeighborCommon {
  /** ndm_ifindex: the link (for the FDB, the port or the vxlan device). */
  index: number;
  /**
   * ndm_state: NUD_* bits. An ARP/NDP entry is in one state (NUD_REACHABLE, NUD_STALE ...);
   * an FDB entry of a vxlan device keeps the bits it was added with (NUD_PERMANENT|NUD_NOARP).
   */
  state: number;
  /** ndm_flags: NTF_* bits. */
  flags: number;
  /** NDA_FLAGS_EXT: NTF_EXT_* bits. */
  flagsExt?: number;
  /** ndm_type (RTN_*; RTN_UNICAST for ordinary entries). */
  type: number;
  /** NDA_CACHEINFO. */
  cacheinfo?: NeighborCacheInfo;
  /** NDA_PROBES. */
  probes?: number;
  /** NDA_PROTOCOL: who added it. */
  protocol?: number;
  /** NDA_NH_ID. */
  nhId?: number;
  /** NDA_* attributes netplumb does not model. */
  unknown: UnknownAttribute[];
}

/** A decoded ARP (IPv4) or NDP (IPv6) neighbour. */
export interface Neighbor extends NeighborCommon {
  family: IpFamily;
  /** NDA_DST: the neighbour's IP address. */
  dst: string;
  /** NDA_LLADDR: its link-layer address (absent while incomplete or failed). */
  lladdr?: string;
}

/** A decoded bridge FDB entry (`bridge fdb show`). */
export interface FdbEntry extends NeighborCommon {
  /** NDA_LLADDR: the MAC address (00:00:00:00:00:00 for vxlan's default destination). */
  lladdr: string;
  /** NDA_MASTER: the bridge the port belongs to. */
  master?: number;
  /** NDA_VLAN. */
  vlan?: number;
  /** NDA_DST: the vxlan remote the MAC is behind. */
  dst?: string;
  /** NDA_PORT: the vxlan remote's UDP port. */
  port?: number;
  /** NDA_VNI: the vxlan remote's VNI. */
  vni?: number;
  /** NDA_SRC_VNI. */
  srcVni?: number;
  /** NDA_IFINDEX: the link to reach the vxlan remote through. */
  ifindex?: number;
  /** NDA_LINK_NETNSID. */
  linkNetnsid?: number;
}

/** An ARP/NDP entry to add, replace or delete (`ip neigh add ADDR lladdr MAC dev LINK`). */
export interface NeighborSpec {
  /** ndm_ifindex: the link, by ifindex (Neighbors.add() also takes a name). */
  link: LinkRef;
  /** NDA_DST: the IP address. */
  dst: string;
  /** NDA_LLADDR: the MAC address. */
  lladdr?: string;
  /** ndm_state: a state name or NUD_* bits; default permanent, as `ip neigh add`. */
  state?: NeighborState | number;
  /** NTF_ROUTER: the neighbour is a router (IPv6). */
  router?: boolean;
  /** NTF_PROXY: a proxy ARP/NDP entry (`ip neigh add proxy ADDR dev LINK`). */
  proxy?: boolean;
  /** NTF_EXT_LEARNED: learned by an external control plane. */
  extLearned?: boolean;
  /** NTF_EXT_MANAGED (NDA_FLAGS_EXT): the kernel keeps it resolved. */
  managed?: boolean;
  /** NDA_PROTOCOL. */
  protocol?: number;
}

/** FDB entry states as `bridge fdb add` names them. */
export type FdbState = 'permanent' | 'static' | 'dynamic';
// As bridge(8) sends them: permanent is a local entry, static a NOARP one that never ages.
const FDB_STATES: Record<FdbState, number> = {
  permanent: C.NUD_NOARP | C.NUD_PERMANENT,
  static: C.NUD_REACHABLE | C.NUD_NOARP,
  dynamic: C.NUD_REACHABLE,
};

/** An FDB entry to add, append, replace or delete (`bridge fdb add MAC dev LINK ...`). */
export interface FdbSpec {
  /** ndm_ifindex: the bridge port or vxlan device, by ifindex (Fdb.add() also takes a name). */
  link: LinkRef;
  /** NDA_LLADDR. */
  lladdr: string;
  /** NTF_SELF: the entry is in the device's own table (vxlan's); the default unless `master`. */
  self?: boolean;
  /** NTF_MASTER: the entry is in the master bridge's table. */
  master?: boolean;
  /** Default permanent, as `bridge fdb add`. */
  state?: FdbState;
  /** NTF_STICKY: the MAC cannot move to another port. */
  sticky?: boolean;
  /** NTF_EXT_LEARNED. */
  extLearned?: boolean;
  /** NDA_VLAN. */
  vlan?: number;
  /** NDA_DST: vxlan remote. */
  dst?: string;
  /** NDA_PORT: vxlan remote UDP port. */
  port?: number;
  /** NDA_VNI: vxlan remote VNI. */
  vni?: number;
  /** NDA_SRC_VNI. */
  srcVni?: number;
  /** NDA_IFINDEX: link to reach the vxlan remote through (ifindex). */
  via?: LinkRef;
  /** NDA_NH_ID: a nexthop group for the remote. */
  nhId?: number;
}

/** Filters of a neighbour or FDB dump; the kernel applies `link` and `master` itself. */
export interface NeighborFilter {
  /** Only entries of this link (NDA_IFINDEX; an ifindex, the list() methods also take a name). */
  link?: LinkRef;
  /** Only entries of links enslaved to this master (NDA_MASTER). */
  master?: LinkRef;
}

// ---------------------------------------------------------------- decoding

const NEIGH_KNOWN = new Set([
  C.NDA_DST,
  C.NDA_LLADDR,
  C.NDA_CACHEINFO,
  C.NDA_PROBES,
  C.NDA_VLAN,
  C.NDA_PORT,
  C.NDA_VNI,
  C.NDA_IFINDEX,
  C.NDA_MASTER,
  C.NDA_LINK_NETNSID,
  C.NDA_SRC_VNI,
  C.NDA_PROTOCOL,
  C.NDA_NH_ID,
  C.NDA_FLAGS_EXT,
]);

function decodeCommon(p: Buffer, a: Attributes): NeighborCommon {
  const out: NeighborCommon = {
    index: structS32(p, 4, 'ndmsg'),
    state: structU16(p, 8, 'ndmsg'),
    flags: p[10] as number,
    type: p[11] as number,
    unknown: a.unknown(NEIGH_KNOWN),
  };
  const ext = a.u32(C.NDA_FLAGS_EXT);
  if (ext !== undefined) out.flagsExt = ext;
  const ci = a.get(C.NDA_CACHEINFO);
  if (ci !== undefined) {
    const w = 'NDA_CACHEINFO';
    out.cacheinfo = { confirmed: structU32(ci, 0, w), used: structU32(ci, 4, w), updated: structU32(ci, 8, w), refcnt: structU32(ci, 12, w) };
  }
  const probes = a.u32(C.NDA_PROBES);
  if (probes !== undefined) out.probes = probes;
  const proto = a.u8(C.NDA_PROTOCOL);
  if (proto !== undefined) out.protocol = proto;
  const nh = a.u32(C.NDA_NH_ID);
  if (nh !== undefined) out.nhId = nh;
  return out;
}

/** Whether an RTM_NEWNEIGH/RTM_DELNEIGH message is a bridge FDB entry (AF_BRIDGE). */
export function isFdbMessage(msg: NetlinkMessage): boolean {
  return msg.payload.length > 0 && msg.payload[0] === C.AF_BRIDGE;
}

/** Decodes an AF_INET/AF_INET6 RTM_NEWNEIGH/RTM_DELNEIGH message; DecodeError when malformed. */
export function decodeNeighbor(msg: NetlinkMessage): Neighbor {
  const p = msg.payload;
  needHeader(p, C.NDMSG_LEN, 'ndmsg');
  const family = ipFamilyOf(p[0] as number);
  if (family === undefined) throw new DecodeError(`neighbour of family ${p[0]}`, 0);
  const a = Attributes.parse(p, C.NDMSG_LEN);
  const dst = ipAttr(a, C.NDA_DST);
  if (dst === undefined) throw new DecodeError('neighbour message without NDA_DST', C.NDMSG_LEN);
  const out: Neighbor = { family, dst, ...decodeCommon(p, a) };
  const ll = hwAttr(a, C.NDA_LLADDR);
  if (ll !== undefined) out.lladdr = ll;
  return out;
}

/** Decodes an AF_BRIDGE RTM_NEWNEIGH/RTM_DELNEIGH message; DecodeError when malformed. */
export function decodeFdbEntry(msg: NetlinkMessage): FdbEntry {
  const p = msg.payload;
  needHeader(p, C.NDMSG_LEN, 'ndmsg');
  if (p[0] !== C.AF_BRIDGE) throw new DecodeError(`FDB entry of family ${p[0]}`, 0);
  const a = Attributes.parse(p, C.NDMSG_LEN);
  const lladdr = hwAttr(a, C.NDA_LLADDR);
  if (lladdr === undefined) throw new DecodeError('FDB entry without NDA_LLADDR', C.NDMSG_LEN);
  const out: FdbEntry = { lladdr, ...decodeCommon(p, a) };
  const master = a.u32(C.NDA_MASTER);
  if (master !== undefined) out.master = master;
  const vlan = a.u16(C.NDA_VLAN);
  if (vlan !== undefined) out.vlan = vlan;
  const dst = ipAttr(a, C.NDA_DST);
  if (dst !== undefined) out.dst = dst;
  const port = a.be16(C.NDA_PORT);
  if (port !== undefined) out.port = port;
  const vni = a.u32(C.NDA_VNI);
  if (vni !== undefined) out.vni = vni;
  const srcVni = a.u32(C.NDA_SRC_VNI);
  if (srcVni !== undefined) out.srcVni = srcVni;
  const ifindex = a.u32(C.NDA_IFINDEX);
  if (ifindex !== undefined) out.ifindex = ifindex;
  const netnsid = a.i32(C.NDA_LINK_NETNSID);
  if (netnsid !== undefined) out.linkNetnsid = netnsid;
  return out;
}

// ---------------------------------------------------------------- encoding

function writeNdmsg(w: Writer, family: number, index: number, state: number, flags: number): void {
  w.putU8(family);
  w.putU8(0);
  w.putU16(0);
  w.putI32(index);
  w.putU16(state);
  w.putU8(flags);
  w.putU8(0);
}

interface PreparedNeigh {
  family: number;
  index: number;
  state: number;
  flags: number;
  attrs: Put[];
  label: string;
}

function prepareNeighbor(spec: NeighborSpec, del: boolean): PreparedNeigh {
  if (spec === null || typeof spec !== 'object') throw new ValidationError('spec', 'must be a neighbour spec object');
  const index = checkIndexRef(spec.link, 'link');
  const dst = parseIp(spec.dst, 'dst');
  const state = spec.state === undefined ? C.NUD_PERMANENT : checkNamed(spec.state, 'state', NEIGHBOR_STATES, 0xffff);
  let flags = 0;
  if (spec.router !== undefined && checkBool(spec.router, 'router')) flags |= C.NTF_ROUTER;
  if (spec.proxy !== undefined && checkBool(spec.proxy, 'proxy')) flags |= C.NTF_PROXY;
  if (spec.extLearned !== undefined && checkBool(spec.extLearned, 'extLearned')) flags |= C.NTF_EXT_LEARNED;
  const attrs: Put[] = [putBytes(C.NDA_DST, dst.bytes)];
  if (spec.lladdr !== undefined && !del) attrs.push(putBytes(C.NDA_LLADDR, parseMac(spec.lladdr, 'lladdr')));
  if (spec.managed !== undefined && checkBool(spec.managed, 'managed')) attrs.push(putU32(C.NDA_FLAGS_EXT, C.NTF_EXT_MANAGED));
  if (spec.protocol !== undefined) attrs.push(putU8(C.NDA_PROTOCOL, checkU8(spec.protocol, 'protocol')));
  return { family: afOf(dst.family), index, state, flags, attrs, label: `${spec.dst} dev #${index}` };
}

function encodeNeigh(batch: Batch, type: number, flags: number, verb: string, spec: NeighborSpec): void {
  const p = prepareNeighbor(spec, type === C.RTM_DELNEIGH);
  const w = batch.begin(type, NLM_F_ACK | flags, `${type === C.RTM_DELNEIGH ? 'RTM_DELNEIGH' : 'RTM_NEWNEIGH'} ${verb} ${p.label}`);
  writeNdmsg(w, p.family, p.index, p.state, p.flags);
  writeAll(w, p.attrs);
  batch.end();
}

/**
 * Writes `ip neigh add ADDR lladdr MAC dev LINK [nud STATE]` (RTM_NEWNEIGH,
 * NLM_F_CREATE|NLM_F_EXCL). The kernel answers EEXIST when the entry exists.
 */
export function encodeNeighborAdd(batch: Batch, spec: NeighborSpec): void {
  encodeNeigh(batch, C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, 'add', spec);
}

/** Writes `ip neigh replace ...` (RTM_NEWNEIGH, NLM_F_CREATE|NLM_F_REPLACE). */
export function encodeNeighborReplace(batch: Batch, spec: NeighborSpec): void {
  encodeNeigh(batch, C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, 'replace', spec);
}

/** Writes `ip neigh del ADDR dev LINK` (RTM_DELNEIGH); the kernel answers ENOENT when there is none. */
export function encodeNeighborDelete(batch: Batch, spec: NeighborSpec): void {
  encodeNeigh(batch, C.RTM_DELNEIGH, 0, 'del', spec);
}

function prepareFdb(spec: FdbSpec): PreparedNeigh {
  if (spec === null || typeof spec !== 'object') throw new ValidationError('spec', 'must be an FDB spec object');
  const index = checkIndexRef(spec.link, 'link');
  const lladdr = parseMac(spec.lladdr, 'lladdr');
  let state = FDB_STATES.permanent;
  if (spec.state !== undefined) {
    const v = FDB_STATES[spec.state];
    if (v === undefined) throw new ValidationError('state', `"${String(spec.state)}" is not one of permanent, static, dynamic`);
    state = v;
  }
  let flags = 0;
  if (spec.self !== undefined && checkBool(spec.self, 'self')) flags |= C.NTF_SELF;
  if (spec.master !== undefined && checkBool(spec.master, 'master')) flags |= C.NTF_MASTER;
  // bridge(8) assumes `self` when neither is given.
  if (!(flags & (C.NTF_SELF | C.NTF_MASTER))) flags |= C.NTF_SELF;
  if (spec.sticky !== undefined && checkBool(spec.sticky, 'sticky')) flags |= C.NTF_STICKY;
  if (spec.extLearned !== undefined && checkBool(spec.extLearned, 'extLearned')) flags |= C.NTF_EXT_LEARNED;
  const attrs: Put[] = [putBytes(C.NDA_LLADDR, lladdr)];
  if (spec.dst !== undefined) attrs.push(putBytes(C.NDA_DST, parseIp(spec.dst, 'dst').bytes));
  if (spec.vlan !== undefined) attrs.push(putU16(C.NDA_VLAN, checkInt(spec.vlan, 'vlan', 1, 4094)));
  if (spec.port !== undefined) attrs.push(putBe16(C.NDA_PORT, checkU16(spec.port, 'port')));
  if (spec.vni !== undefined) attrs.push(putU32(C.NDA_VNI, checkInt(spec.vni, 'vni', 0, 0xffffff)));
  if (spec.srcVni !== undefined) attrs.push(putU32(C.NDA_SRC_VNI, checkInt(spec.srcVni, 'srcVni', 0, 0xffffff)));
  if (spec.via !== undefined) attrs.push(putU32(C.NDA_IFINDEX, checkIndexRef(spec.via, 'via')));
  if (spec.nhId !== undefined) attrs.push(putU32(C.NDA_NH_ID, checkU32(spec.nhId, 'nhId')));
  return { family: C.AF_BRIDGE, index, state, flags, attrs, label: `${spec.lladdr} dev #${index}${spec.dst ? ` dst ${spec.dst}` : ''}` };
}

function encodeFdb(batch: Batch, type: number, flags: number, verb: string, spec: FdbSpec): void {
  const p = prepareFdb(spec);
  const w = batch.begin(type, NLM_F_ACK | flags, `${type === C.RTM_DELNEIGH ? 'RTM_DELNEIGH' : 'RTM_NEWNEIGH'} fdb ${verb} ${p.label}`);
  writeNdmsg(w, p.family, p.index, p.state, p.flags);
  writeAll(w, p.attrs);
  batch.end();
}

/**
 * Writes `bridge fdb add MAC dev LINK [dst IP] [self|master] [permanent|static|dynamic]`
 * (RTM_NEWNEIGH AF_BRIDGE, NLM_F_CREATE|NLM_F_EXCL). EEXIST when the entry exists.
 */
export function encodeFdbAdd(batch: Batch, spec: FdbSpec): void {
  encodeFdb(batch, C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, 'add', spec);
}

/**
 * Writes `bridge fdb append ...` (NLM_F_CREATE|NLM_F_APPEND): another remote for the same
 * MAC on a vxlan device — with 00:00:00:00:00:00, another flooding destination.
 */
export function encodeFdbAppend(batch: Batch, spec: FdbSpec): void {
  encodeFdb(batch, C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_APPEND, 'append', spec);
}

/** Writes `bridge fdb replace ...` (NLM_F_CREATE|NLM_F_REPLACE). */
export function encodeFdbReplace(batch: Batch, spec: FdbSpec): void {
  encodeFdb(batch, C.RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_REPLACE, 'replace', spec);
}

/** Writes `bridge fdb del MAC dev LINK [dst IP] ...` (RTM_DELNEIGH AF_BRIDGE); ENOENT when there is none. */
export function encodeFdbDelete(batch: Batch, spec: FdbSpec): void {
  encodeFdb(batch, C.RTM_DELNEIGH, 0, 'del', spec);
}

function filterAttrs(filter: { link?: number; master?: number }): Put[] {
  const attrs: Put[] = [];
  if (filter.link !== undefined) attrs.push(putU32(C.NDA_IFINDEX, checkIndex(filter.link, 'link')));
  if (filter.master !== undefined) attrs.push(putU32(C.NDA_MASTER, checkIndex(filter.master, 'master')));
  return attrs;
}

/** Writes `ip neigh show [dev L] [master M] [proxy]` as an RTM_GETNEIGH dump (ifindexes). */
export function encodeNeighborDump(batch: Batch, filter: { family?: IpFamily; link?: number; master?: number; proxy?: boolean } = {}): void {
  const attrs = filterAttrs(filter);
  const proxy = filter.proxy !== undefined && checkBool(filter.proxy, 'proxy');
  const w = batch.begin(C.RTM_GETNEIGH, NLM_F_DUMP, 'RTM_GETNEIGH dump');
  writeNdmsg(w, filter.family === undefined ? C.AF_UNSPEC : afOf(filter.family), 0, 0, proxy ? C.NTF_PROXY : 0);
  writeAll(w, attrs);
  batch.end();
}

/** Writes `bridge fdb show [dev L] [br B]` as an AF_BRIDGE RTM_GETNEIGH dump (ifindexes). */
export function encodeFdbDump(batch: Batch, filter: { link?: number; master?: number } = {}): void {
  const attrs = filterAttrs(filter);
  const w = batch.begin(C.RTM_GETNEIGH, NLM_F_DUMP, 'RTM_GETNEIGH fdb dump');
  writeNdmsg(w, C.AF_BRIDGE, 0, 0, 0);
  writeAll(w, attrs);
  batch.end();
}
