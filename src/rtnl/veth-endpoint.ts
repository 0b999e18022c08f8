/**
 * Layer 2 (rtnetlink): the messages that set up one veth endpoint, written in a fixed
 * shape. The generic encoders (`encodeLinkAdd`, `encodeLinkSet`, `encodeAddressAdd`,
 * `encodeRouteAdd`) validate any spec into lists of closures and then write them; on the
 * endpoint hot path, run once per endpoint and so mostly unoptimised by V8, that was
 * ~150 µs per connect. These write the same bytes (checked against the generic encoders
 * in test/rtnl-veth-endpoint.test.js) straight into the batch, from values the caller
 * has already checked or made.
 * @module
 */
import { ValidationError } from '../errors.js';
import type { Batch } from '../netlink/batch.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL } from '../netlink/constants.js';
import type { Writer } from '../netlink/writer.js';
import * as C from './constants.js';
import { broadcastOf } from './ip.js';
import { checkFd, checkIfname, checkIndex, checkString, checkU32 } from './validate.js';

/** A veth whose host end joins a bridge, up, and whose peer is born in a namespace. */
export interface VethEndpointSpec {
  /** The host end's name and ifindex. */
  name: string;
  index: number;
  /** The bridge's ifindex. */
  master: number;
  /** The peer's name, ifindex and MAC (6 bytes) in the namespace `netnsFd` refers to. */
  peerName: string;
  peerIndex: number;
  peerAddress: Uint8Array;
  netnsFd: number;
  /** Both ends' MTU; the kernel's default when undefined. */
  mtu?: number;
}

const KIND_VETH = Buffer.from('veth');
const KIND_BRIDGE = Buffer.from('bridge');

/** struct ifinfomsg with ifi_change = the flags set: only those bits change. */
function ifinfomsg(w: Writer, family: number, index: number, flags: number): void {
  w.putU8(family);
  w.putU8(0);
  w.putU16(0);
  w.putI32(index);
  w.putU32(flags);
  w.putU32(flags);
}

/** Writes the veth's `ip link add` (RTM_NEWLINK, NLM_F_CREATE|NLM_F_EXCL), as {@link encodeLinkAdd} does. */
export function writeVethCreate(batch: Batch, spec: VethEndpointSpec): void {
  const name = checkIfname(spec.name, 'name');
  const peerName = checkIfname(spec.peerName, 'peer.name');
  const index = checkIndex(spec.index, 'index');
  const peerIndex = checkIndex(spec.peerIndex, 'peer.index');
  const master = checkIndex(spec.master, 'master');
  const fd = checkFd(spec.netnsFd, 'peer.netns.fd');
  const mtu = spec.mtu === undefined ? undefined : checkU32(spec.mtu, 'mtu');
  if (spec.peerAddress.length !== 6) throw new ValidationError('peer.address', 'must be 6 bytes');
  const w = batch.begin(C.RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, `RTM_NEWLINK add veth ${name}`);
  ifinfomsg(w, C.AF_UNSPEC, index, C.IFF_UP);
  if (mtu !== undefined) w.attrU32(C.IFLA_MTU, mtu);
  oneQueue(w);
  w.attrU32(C.IFLA_MASTER, master);
  w.attrString(C.IFLA_IFNAME, name);
  const info = w.beginNest(C.IFLA_LINKINFO);
  w.attrBytes(C.IFLA_INFO_KIND, KIND_VETH);
  const data = w.beginNest(C.IFLA_INFO_DATA);
  const peer = w.beginAttr(C.VETH_INFO_PEER);
  ifinfomsg(w, C.AF_UNSPEC, peerIndex, 0);
  w.attrU32(C.IFLA_NET_NS_FD, fd);
  if (mtu !== undefined) w.attrU32(C.IFLA_MTU, mtu);
  w.attrBytes(C.IFLA_ADDRESS, spec.peerAddress);
  oneQueue(w);
  w.attrString(C.IFLA_IFNAME, peerName);
  w.endAttr(peer);
  w.endNest(data);
  w.endNest(info);
  batch.end();
}

/**
 * `numtxqueues 1 numrxqueues 1`. Without them a veth end is made with a queue per CPU and
 * then cut to one real queue (veth_init_queues), and that cut waits for an expedited RCU
 * grace period under rtnl_mutex: twice per veth, about a quarter of its create's time, and
 * more while other rtnl work queues behind it.
 */
function oneQueue(w: Writer): void {
  w.attrU32(C.IFLA_NUM_TX_QUEUES, 1);
  w.attrU32(C.IFLA_NUM_RX_QUEUES, 1);
}

/** `addrgenmode none` in IFLA_AF_SPEC: no IPv6 link-local address made for the link. */
function addrGenNone(w: Writer): void {
  const spec = w.beginNest(C.IFLA_AF_SPEC);
  const inet6 = w.beginNest(C.AF_INET6);
  w.attrU8(C.IFLA_INET6_ADDR_GEN_MODE, C.IN6_ADDR_GEN_MODE_NONE);
  w.endNest(inet6);
  w.endNest(spec);
}

/**
 * Writes `ip link set dev NAME addrgenmode none type bridge_slave hairpin on [isolated on]`
 * for a bridge port, as {@link encodeLinkSet} does.
 */
export function writeBridgePortSetup(batch: Batch, name: string, isolated: boolean): void {
  checkIfname(name, 'name');
  const w = batch.begin(C.RTM_NEWLINK, NLM_F_ACK, `RTM_NEWLINK set ${name}`);
  ifinfomsg(w, C.AF_UNSPEC, 0, 0);
  w.attrString(C.IFLA_IFNAME, name);
  addrGenNone(w);
  const info = w.beginNest(C.IFLA_LINKINFO);
  w.attrBytes(C.IFLA_INFO_SLAVE_KIND, KIND_BRIDGE);
  const data = w.beginNest(C.IFLA_INFO_SLAVE_DATA);
  w.attrU8(C.IFLA_BRPORT_MODE, 1);
  if (isolated) w.attrU8(C.IFLA_BRPORT_ISOLATED, 1);
  w.endNest(data);
  w.endNest(info);
  batch.end();
}

/**
 * Writes `ip link set dev #INDEX up`, preceded (with `addrGenNone`) by a request setting
 * `addrgenmode none` — the kernel makes the link-local address while bringing the link up,
 * before it reads IFLA_AF_SPEC in the same request — as {@link encodeLinkSet} does.
 */
export function writeLinkUp(batch: Batch, index: number, addrGenModeNone = false): void {
  checkIndex(index, 'index');
  if (addrGenModeNone) {
    const w = batch.begin(C.RTM_NEWLINK, NLM_F_ACK, `RTM_NEWLINK set #${index} addrgenmode`);
    ifinfomsg(w, C.AF_UNSPEC, index, 0);
    addrGenNone(w);
    batch.end();
  }
  const w = batch.begin(C.RTM_NEWLINK, NLM_F_ACK, `RTM_NEWLINK set #${index}`);
  ifinfomsg(w, C.AF_UNSPEC, index, C.IFF_UP);
  batch.end();
}

/**
 * Writes `ip addr add ADDRESS/LEN dev #INDEX`: IPv4 with its broadcast address, IPv6
 * `nodad` — as {@link encodeAddressAdd} does with `broadcast: true` or `nodad: true`.
 * `address` is 4 or 16 bytes; `text` is its CIDR form, for errors.
 */
export function writeAddressAdd(batch: Batch, index: number, address: Uint8Array, prefixLength: number, text: string): void {
  checkIndex(index, 'link');
  const v4 = address.length === 4;
  if (!v4 && address.length !== 16) throw new ValidationError('address', 'must be 4 or 16 bytes');
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > (v4 ? 32 : 128)) throw new ValidationError('prefixLength', `${prefixLength} is not a prefix length of IPv${v4 ? 4 : 6}`);
  const w = batch.begin(C.RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, `RTM_NEWADDR add ${text} dev #${index}`);
  w.putU8(v4 ? C.AF_INET : C.AF_INET6);
  w.putU8(prefixLength);
  w.putU8(v4 ? 0 : C.IFA_F_NODAD);
  w.putU8(C.RT_SCOPE_UNIVERSE);
  w.putU32(index);
  w.attrBytes(C.IFA_LOCAL, address);
  w.attrBytes(C.IFA_ADDRESS, address);
  if (v4) w.attrBytes(C.IFA_BROADCAST, broadcastOf(address, prefixLength));
  batch.end();
}

/** Writes `ip route add default via GATEWAY` in the main table, as {@link encodeRouteAdd} does; `gateway` is 4 or 16 bytes. */
export function writeDefaultRouteAdd(batch: Batch, gateway: Uint8Array): void {
  const v4 = gateway.length === 4;
  if (!v4 && gateway.length !== 16) throw new ValidationError('gateway', 'must be 4 or 16 bytes');
  const w = batch.begin(C.RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, `RTM_NEWROUTE add default (IPv${v4 ? 4 : 6})`);
  w.putU8(v4 ? C.AF_INET : C.AF_INET6);
  w.putU8(0);
  w.putU8(0);
  w.putU8(0);
  w.putU8(C.RT_TABLE_MAIN);
  w.putU8(C.RTPROT_BOOT);
  w.putU8(C.RT_SCOPE_UNIVERSE);
  w.putU8(C.RTN_UNICAST);
  w.putU32(0);
  w.attrBytes(C.RTA_GATEWAY, gateway);
  batch.end();
}

/** Writes `ip link set dev NAME alias ALIAS` (at most 255 bytes), as {@link encodeLinkSet} does. */
export function writeLinkAlias(batch: Batch, name: string, alias: string): void {
  checkIfname(name, 'name');
  const bytes = Buffer.from(checkString(alias, 'alias', 255), 'utf8');
  const w = batch.begin(C.RTM_NEWLINK, NLM_F_ACK, `RTM_NEWLINK set ${name}`);
  ifinfomsg(w, C.AF_UNSPEC, 0, 0);
  w.attrString(C.IFLA_IFNAME, name);
  w.attrBytes(C.IFLA_IFALIAS, bytes);
  batch.end();
}
