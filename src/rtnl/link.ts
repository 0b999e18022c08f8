/**
 * Layer 2 (rtnetlink): the link object — its decoded form (struct ifinfomsg and IFLA_*,
 * what `ip -j -d link show` prints), the specs of new links and of changes, and the
 * encoders that write RTM_NEWLINK / RTM_SETLINK / RTM_DELLINK / RTM_GETLINK requests
 * into a {@link Batch}. Kind-specific data lives in bridge.ts, vxlan.ts, macvlan.ts,
 * vlan.ts, ipvlan.ts and tun.ts.
 * @module
 */
import { DecodeError, NetplumbError, ValidationError } from '../errors.js';
import { Attributes, type UnknownAttribute } from '../netlink/attributes.js';
import type { Batch, Reply } from '../netlink/batch.js';
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_ECHO, NLM_F_EXCL } from '../netlink/constants.js';
import type { NetlinkMessage } from '../netlink/message.js';
import type { Writer } from '../netlink/writer.js';
import {
  type FieldTable,
  type Put,
  allKnown,
  cString,
  decodeFields,
  decodeName,
  fieldName,
  ipText,
  keepWhole,
  needHeader,
  prepareFields,
  putBytes,
  putContainer,
  putNest,
  putString,
  putText,
  putU32,
  putU8,
  structS32,
  structU16,
  structU32,
  structU64,
  tableTypes,
  writeAll,
} from './attrs.js';
import { type BridgeInfo, type BridgeOptions, type BridgePort, type BridgePortChanges, decodeBridgeInfo, decodeBridgePort, prepareBridgeData, prepareBridgePort } from './bridge.js';
import * as C from './constants.js';
import { type IpvlanInfo, type IpvlanOptions, decodeIpvlanInfo, prepareIpvlanData } from './ipvlan.js';
import { type MacvlanInfo, type MacvlanOptions, decodeMacvlanInfo, prepareMacvlanData } from './macvlan.js';
import { type TunInfo, decodeTunInfo } from './tun.js';
import { checkBool, checkFd, checkIfname, checkIndex, checkIndexRef, checkLinkRef, checkString, checkU32, type LinkRef } from './validate.js';
import { type VlanInfo, type VlanOptions, decodeVlanInfo, prepareVlanData } from './vlan.js';
import { type VxlanInfo, type VxlanOptions, decodeVxlanInfo, prepareVxlanData } from './vxlan.js';

/** IFLA_OPERSTATE (RFC 2863 operational status, IF_OPER_* in lower case). */
export type OperState = 'unknown' | 'notpresent' | 'down' | 'lowerlayerdown' | 'testing' | 'dormant' | 'up';
const OPERSTATE: Record<OperState, number> = {
  unknown: C.IF_OPER_UNKNOWN,
  notpresent: C.IF_OPER_NOTPRESENT,
  down: C.IF_OPER_DOWN,
  lowerlayerdown: C.IF_OPER_LOWERLAYERDOWN,
  testing: C.IF_OPER_TESTING,
  dormant: C.IF_OPER_DORMANT,
  up: C.IF_OPER_UP,
};

/**
 * IFLA_INET6_ADDR_GEN_MODE: how the kernel makes IPv6 link-local (and SLAAC) addresses.
 * `none` makes none at all (`ip link set dev X addrgenmode none`).
 */
export type Inet6AddrGenMode = 'eui64' | 'none' | 'stable_privacy' | 'random';
const ADDR_GEN_MODE: Record<Inet6AddrGenMode, number> = {
  eui64: C.IN6_ADDR_GEN_MODE_EUI64,
  none: C.IN6_ADDR_GEN_MODE_NONE,
  stable_privacy: C.IN6_ADDR_GEN_MODE_STABLE_PRIVACY,
  random: C.IN6_ADDR_GEN_MODE_RANDOM,
};

/** IFLA_STATS64 (struct rtnl_link_stats64), what `ip -s link` prints. */
export interface LinkStats {
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxDropped: bigint;
  txDropped: bigint;
  multicast: bigint;
  collisions: bigint;
  rxLengthErrors: bigint;
  rxOverErrors: bigint;
  rxCrcErrors: bigint;
  rxFrameErrors: bigint;
  rxFifoErrors: bigint;
  rxMissedErrors: bigint;
  txAbortedErrors: bigint;
  txCarrierErrors: bigint;
  txFifoErrors: bigint;
  txHeartbeatErrors: bigint;
  txWindowErrors: bigint;
  rxCompressed: bigint;
  txCompressed: bigint;
  rxNohandler: bigint;
  /** Added in Linux 5.19; absent from older kernels' replies. */
  rxOtherhostDropped?: bigint;
}

const STATS_FIELDS: ReadonlyArray<keyof LinkStats> = [
  'rxPackets', 'txPackets', 'rxBytes', 'txBytes', 'rxErrors', 'txErrors', 'rxDropped', 'txDropped',
  'multicast', 'collisions', 'rxLengthErrors', 'rxOverErrors', 'rxCrcErrors', 'rxFrameErrors',
  'rxFifoErrors', 'rxMissedErrors', 'txAbortedErrors', 'txCarrierErrors', 'txFifoErrors',
  'txHeartbeatErrors', 'txWindowErrors', 'rxCompressed', 'txCompressed', 'rxNohandler', 'rxOtherhostDropped',
];

/** IFLA_MAP (struct rtnl_link_ifmap): hardware resources of old ISA-style devices. */
export interface LinkMap {
  memStart: bigint;
  memEnd: bigint;
  baseAddr: bigint;
  irq: number;
  dma: number;
  port: number;
}

/** IFLA_AF_SPEC / AF_INET. */
export interface InetLinkInfo {
  /** IFLA_INET_CONF: the IPv4 devconf values; conf[i] is IPV4_DEVCONF_* number i + 1 (linux/ip.h). */
  conf: number[];
}

/** IFLA_AF_SPEC / AF_INET6. */
export interface Inet6LinkInfo {
  /** IFLA_INET6_FLAGS (IF_RA_*, IF_READY). */
  flags?: number;
  /** IFLA_INET6_CONF: the IPv6 devconf values, indexed by DEVCONF_* (linux/ipv6.h). */
  conf?: number[];
  /** IFLA_INET6_STATS as sent: element 0 is the count, then IPSTATS_MIB_* counters. */
  stats?: bigint[];
  /** IFLA_INET6_ICMP6STATS as sent: element 0 is the count, then ICMP6_MIB_* counters. */
  icmp6Stats?: bigint[];
  /** IFLA_INET6_CACHEINFO (struct ifla_cacheinfo; times in milliseconds). */
  cacheinfo?: { maxReasmLen: number; tstamp: number; reachableTime: number; retransTime: number };
  /** IFLA_INET6_TOKEN: the interface identifier token (`ip token`). */
  token?: string;
  /** IFLA_INET6_ADDR_GEN_MODE. */
  addrGenMode?: Inet6AddrGenMode;
  /** IFLA_INET6_RA_MTU: MTU from the last router advertisement. */
  raMtu?: number;
}

/** What every link has, whatever its kind. */
export interface LinkBase {
  /** ifi_index. */
  index: number;
  /** IFLA_IFNAME. */
  name: string;
  /** ifi_family: AF_UNSPEC, or AF_BRIDGE in a bridge port's notifications. */
  family: number;
  /** ifi_type: ARPHRD_* (ARPHRD_ETHER 1, ARPHRD_LOOPBACK 772 ...). */
  type: number;
  /** ifi_flags: IFF_* bits. */
  flags: number;
  /** IFF_UP: administratively up. */
  up: boolean;
  /** IFLA_OPERSTATE ('unknown' when the kernel did not say). */
  operstate: OperState;
  /** IFLA_LINKMODE: IF_LINK_MODE_*. */
  linkmode?: number;
  /** IFLA_MTU. */
  mtu?: number;
  /** IFLA_MIN_MTU. */
  minMtu?: number;
  /** IFLA_MAX_MTU. */
  maxMtu?: number;
  /** IFLA_ADDRESS: link-layer address, lower-case hex with colons. */
  address?: string;
  /** IFLA_BROADCAST. */
  broadcast?: string;
  /** IFLA_PERM_ADDRESS: the hardware's own address. */
  permAddress?: string;
  /** IFLA_MASTER: ifindex of the bridge/bond/vrf this link is enslaved to. */
  master?: number;
  /**
   * IFLA_LINK: the lower device's ifindex — for a veth, its peer's ifindex, in the
   * namespace given by {@link linkNetnsid} when that is set.
   */
  link?: number;
  /** IFLA_LINK_NETNSID: nsid (as seen from this namespace) of the namespace IFLA_LINK is in. */
  linkNetnsid?: number;
  /** IFLA_NEW_NETNSID (in the RTM_DELLINK of a link that moved to another namespace). */
  newNetnsid?: number;
  /** IFLA_NEW_IFINDEX (likewise): the link's ifindex in the namespace it moved to. */
  newIfindex?: number;
  /** IFLA_QDISC. */
  qdisc?: string;
  /** IFLA_IFALIAS (`ip link set dev X alias TEXT`). */
  alias?: string;
  /** IFLA_TXQLEN (`qlen`). */
  txqlen?: number;
  /** IFLA_GROUP. */
  group?: number;
  /** IFLA_PROMISCUITY: promiscuous-mode reference count. */
  promiscuity?: number;
  /** IFLA_ALLMULTI: all-multicast reference count. */
  allmulti?: number;
  /** IFLA_NUM_TX_QUEUES. */
  numTxQueues?: number;
  /** IFLA_NUM_RX_QUEUES. */
  numRxQueues?: number;
  /** IFLA_CARRIER. */
  carrier?: boolean;
  /** IFLA_CARRIER_CHANGES. */
  carrierChanges?: number;
  /** IFLA_CARRIER_UP_COUNT. */
  carrierUpCount?: number;
  /** IFLA_CARRIER_DOWN_COUNT. */
  carrierDownCount?: number;
  /** IFLA_PROTO_DOWN. */
  protoDown?: boolean;
  /** IFLA_GSO_MAX_SEGS. */
  gsoMaxSegs?: number;
  /** IFLA_GSO_MAX_SIZE. */
  gsoMaxSize?: number;
  /** IFLA_GRO_MAX_SIZE. */
  groMaxSize?: number;
  /** IFLA_TSO_MAX_SIZE. */
  tsoMaxSize?: number;
  /** IFLA_TSO_MAX_SEGS. */
  tsoMaxSegs?: number;
  /** IFLA_NUM_VF: SR-IOV virtual functions. */
  numVf?: number;
  /** IFLA_PHYS_PORT_ID, hex. */
  physPortId?: string;
  /** IFLA_PHYS_PORT_NAME. */
  physPortName?: string;
  /** IFLA_PHYS_SWITCH_ID, hex. */
  physSwitchId?: string;
  /** IFLA_PARENT_DEV_NAME (e.g. a PCI address). */
  parentDevName?: string;
  /** IFLA_PARENT_DEV_BUS_NAME (e.g. `pci`). */
  parentDevBusName?: string;
  /** IFLA_PROP_LIST / IFLA_ALT_IFNAME: alternative names (`ip link property add altname`). */
  altNames: string[];
  /** IFLA_EVENT: IFLA_EVENT_* reason of a notification. */
  event?: number;
  /** IFLA_STATS64 (or IFLA_STATS widened, from a kernel that sends only that). */
  stats?: LinkStats;
  /** IFLA_MAP. */
  map?: LinkMap;
  /** IFLA_AF_SPEC / AF_INET. */
  inet?: InetLinkInfo;
  /** IFLA_AF_SPEC / AF_INET6. */
  inet6?: Inet6LinkInfo;
  /** IFLA_INFO_SLAVE_KIND: the kind of master this link is a port of (`bridge`, `bond` ...). */
  slaveKind?: string;
  /** The link's bridge port options when its master is a bridge (IFLA_INFO_SLAVE_DATA or IFLA_PROTINFO). */
  bridgePort?: BridgePort;
  /**
   * Attributes not decoded into fields. IFLA_LINKINFO, IFLA_AF_SPEC or IFLA_PROTINFO are
   * also kept here whole when something inside them was not decoded.
   */
  unknown: UnknownAttribute[];
}

/** A link with no IFLA_INFO_KIND: a physical NIC, `lo`, or a device without rtnl_link_ops. */
export interface DeviceLink extends LinkBase {
  kind: 'device';
}
/** A veth; its peer is {@link LinkBase.link} in {@link LinkBase.linkNetnsid}. */
export interface VethLink extends LinkBase {
  kind: 'veth';
}
/** A dummy device. */
export interface DummyLink extends LinkBase {
  kind: 'dummy';
}
/** A bridge. */
export interface BridgeLink extends LinkBase {
  kind: 'bridge';
  bridge: BridgeInfo;
}
/** A macvlan or macvtap on top of {@link LinkBase.link}. */
export interface MacvlanLink extends LinkBase {
  kind: 'macvlan' | 'macvtap';
  macvlan: MacvlanInfo;
}
/** A vxlan tunnel endpoint. */
export interface VxlanLink extends LinkBase {
  kind: 'vxlan';
  vxlan: VxlanInfo;
}
/** An 802.1Q/802.1ad vlan on top of {@link LinkBase.link}. */
export interface VlanLink extends LinkBase {
  kind: 'vlan';
  vlan: VlanInfo;
}
/** An ipvlan or ipvtap on top of {@link LinkBase.link}. */
export interface IpvlanLink extends LinkBase {
  kind: 'ipvlan' | 'ipvtap';
  ipvlan: IpvlanInfo;
}
/** A tun or tap device (IFLA_INFO_KIND is `tun` for both; see {@link TunInfo.type}). */
export interface TunLink extends LinkBase {
  kind: 'tun';
  tun: TunInfo;
}
/** A link of a kind netplumb does not model (wireguard, bond, vrf ...), its data kept raw. */
export interface OtherLink extends LinkBase {
  kind: 'other';
  /** IFLA_INFO_KIND as the kernel names it. */
  infoKind: string;
  /** The children of IFLA_INFO_DATA. */
  infoData: UnknownAttribute[];
}

/** A decoded link, discriminated by `kind`. */
export type Link =
  | DeviceLink
  | VethLink
  | DummyLink
  | BridgeLink
  | MacvlanLink
  | VxlanLink
  | VlanLink
  | IpvlanLink
  | TunLink
  | OtherLink;

/** A namespace to create or move a link into: any handle with an fd (a Netns), or a process (IFLA_NET_NS_PID). */
export type NetnsTarget = { readonly fd: number } | { readonly pid: number };

/** Attributes a new link (or a veth peer) can be given at creation. */
export interface NewLinkAttrs {
  /** IFLA_IFNAME: at most 15 bytes. */
  name: string;
  /** IFLA_NET_NS_FD / IFLA_NET_NS_PID: create it directly in that namespace. */
  netns?: NetnsTarget;
  /** IFLA_MTU. */
  mtu?: number;
  /** IFLA_ADDRESS: MAC address. */
  address?: string;
  /** IFLA_BROADCAST. */
  broadcast?: string;
  /** IFLA_TXQLEN. */
  txqlen?: number;
  /** IFLA_NUM_TX_QUEUES. */
  numTxQueues?: number;
  /** IFLA_NUM_RX_QUEUES. */
  numRxQueues?: number;
  /** IFLA_GSO_MAX_SIZE. */
  gsoMaxSize?: number;
  /** IFLA_GSO_MAX_SEGS. */
  gsoMaxSegs?: number;
  /** IFLA_GROUP. */
  group?: number;
}

/**
 * The other end of a new veth. It cannot be created up: the kernel would open it before
 * its local end exists and fail with ENOTCONN; bring it up in its namespace's own batch.
 */
export interface VethPeerSpec extends NewLinkAttrs {
  /**
   * ifi_index of the peer: ask for this ifindex in the peer's namespace. The kernel
   * honours it only when the veth's own `index` is requested too, and answers EBUSY when
   * either is taken. Knowing both before the create lets a caller encode requests about
   * the peer (address, routes) in advance.
   */
  index?: number;
}

/** What every new link can be given. */
export interface LinkSpecBase extends NewLinkAttrs {
  /** ifi_index: ask for this ifindex (the kernel picks one when absent). */
  index?: number;
  /** IFLA_MASTER: enslave to this bridge (ifindex; Links.add() also takes a name). */
  master?: LinkRef;
  /** IFF_UP in ifi_flags/ifi_change: bring it up in the same message. */
  up?: boolean;
  /**
   * IFLA_IFALIAS. The kernel ignores it in a creating RTM_NEWLINK: Links.add() sets it in
   * a second step that runs only when the create succeeded (not together with `netns`);
   * encodeLinkAdd() refuses it, since in the same sendmsg it would run even after a
   * refused create and re-tag a same-named link that is not ours.
   */
  alias?: string;
}

/** `ip link add NAME type veth peer name PEER [netns NS]`. */
export interface VethSpec extends LinkSpecBase {
  kind: 'veth';
  peer: VethPeerSpec;
}
/** `ip link add NAME type bridge [options]`. */
export interface BridgeSpec extends LinkSpecBase {
  kind: 'bridge';
  bridge?: BridgeOptions;
}
/** `ip link add link LOWER name NAME type macvlan|macvtap [mode MODE]`. */
export interface MacvlanSpec extends LinkSpecBase {
  kind: 'macvlan' | 'macvtap';
  /** IFLA_LINK: the lower device. */
  link: LinkRef;
  macvlan?: MacvlanOptions;
}
/** `ip link add NAME type vxlan id VNI [...]`. */
export interface VxlanSpec extends LinkSpecBase {
  kind: 'vxlan';
  vxlan: VxlanOptions;
}
/** `ip link add link LOWER name NAME type vlan id ID`. */
export interface VlanSpec extends LinkSpecBase {
  kind: 'vlan';
  /** IFLA_LINK: the lower device. */
  link: LinkRef;
  vlan: VlanOptions;
}
/** `ip link add link LOWER name NAME type ipvlan|ipvtap [mode MODE]`. */
export interface IpvlanSpec extends LinkSpecBase {
  kind: 'ipvlan' | 'ipvtap';
  /** IFLA_LINK: the lower device. */
  link: LinkRef;
  ipvlan?: IpvlanOptions;
}
/** `ip link add NAME type dummy`. */
export interface DummySpec extends LinkSpecBase {
  kind: 'dummy';
}

/**
 * A link to create. tun/tap are absent on purpose: the kernel refuses to create them over
 * rtnetlink (they are made with the TUNSETIFF ioctl).
 */
export type LinkSpec = VethSpec | BridgeSpec | MacvlanSpec | VxlanSpec | VlanSpec | IpvlanSpec | DummySpec;

/** Changes to an existing link (`ip link set dev X ...`); only the fields given are sent. */
export interface LinkChanges {
  /** IFF_UP: `up` / `down`. */
  up?: boolean;
  /** IFLA_IFNAME: rename (the link must then be referred to by ifindex). */
  name?: string;
  /** IFLA_MTU. */
  mtu?: number;
  /** IFLA_ADDRESS: MAC address. */
  address?: string;
  /** IFLA_BROADCAST. */
  broadcast?: string;
  /** IFLA_IFALIAS; null clears it. */
  alias?: string | null;
  /** IFLA_MASTER: enslave (ifindex; Links.set() also takes a name); null = `nomaster`. */
  master?: LinkRef | null;
  /**
   * IFLA_NET_NS_FD / IFLA_NET_NS_PID: move the link there (`ip link set dev X netns NS`).
   * The other changes of the same request then apply in the target namespace: a `name`
   * renames it on arrival.
   */
  netns?: NetnsTarget;
  /** IFLA_TXQLEN. */
  txqlen?: number;
  /** IFLA_GROUP. */
  group?: number;
  /** IFF_PROMISC. */
  promisc?: boolean;
  /** IFF_ALLMULTI. */
  allmulticast?: boolean;
  /** IFF_MULTICAST. */
  multicast?: boolean;
  /** The inverse of IFF_NOARP (`arp on|off`). */
  arp?: boolean;
  /** IFLA_CARRIER (drivers that allow it, e.g. dummy). */
  carrier?: boolean;
  /** IFLA_PROTO_DOWN. */
  protoDown?: boolean;
  /**
   * IFLA_AF_SPEC / AF_INET6 / IFLA_INET6_ADDR_GEN_MODE (`addrgenmode none` stops IPv6
   * link-local addresses). Together with `up: true` it is sent in a request of its own
   * first, because the kernel adds the link-local address the moment the link comes up.
   * Only for existing links: the kernel refuses it in a creating request.
   */
  addrGenMode?: Inet6AddrGenMode;
  /**
   * Bridge port options (`bridge link set dev X hairpin on ...`). For a link given by
   * ifindex: RTM_SETLINK AF_BRIDGE with IFLA_PROTINFO, after the other changes (so
   * `master` may enslave it in the same call). For a link given by name (the kernel finds
   * AF_BRIDGE ports by ifindex only): IFLA_INFO_SLAVE_DATA in the same request, like `ip
   * link set dev X type bridge_slave ...` — the link must already be a port.
   */
  bridgePort?: BridgePortChanges;
  /** Bridge options of a bridge (`ip link set dev br0 type bridge ...`). */
  bridge?: BridgeOptions;
}

/** Filters of a link dump that the kernel applies itself (NETLINK_GET_STRICT_CHK). */
export interface LinkFilter {
  /** Only ports of this master (ifindex). */
  master?: number;
  /** Only links of this IFLA_INFO_KIND (`veth`, `bridge` ...). */
  kind?: string;
}

// ---------------------------------------------------------------- decoding

const LINK_FIELDS: FieldTable = [
  ['mtu', C.IFLA_MTU, 'u32'],
  ['minMtu', C.IFLA_MIN_MTU, 'u32'],
  ['maxMtu', C.IFLA_MAX_MTU, 'u32'],
  ['address', C.IFLA_ADDRESS, 'mac'],
  ['broadcast', C.IFLA_BROADCAST, 'mac'],
  ['permAddress', C.IFLA_PERM_ADDRESS, 'mac'],
  ['master', C.IFLA_MASTER, 'u32'],
  ['link', C.IFLA_LINK, 'u32'],
  ['linkNetnsid', C.IFLA_LINK_NETNSID, 's32'],
  ['newNetnsid', C.IFLA_NEW_NETNSID, 's32'],
  ['newIfindex', C.IFLA_NEW_IFINDEX, 's32'],
  ['qdisc', C.IFLA_QDISC, 'string'],
  ['alias', C.IFLA_IFALIAS, 'string'],
  ['txqlen', C.IFLA_TXQLEN, 'u32'],
  ['linkmode', C.IFLA_LINKMODE, 'u8'],
  ['group', C.IFLA_GROUP, 'u32'],
  ['promiscuity', C.IFLA_PROMISCUITY, 'u32'],
  ['allmulti', C.IFLA_ALLMULTI, 'u32'],
  ['numTxQueues', C.IFLA_NUM_TX_QUEUES, 'u32'],
  ['numRxQueues', C.IFLA_NUM_RX_QUEUES, 'u32'],
  ['carrier', C.IFLA_CARRIER, 'bool'],
  ['carrierChanges', C.IFLA_CARRIER_CHANGES, 'u32'],
  ['carrierUpCount', C.IFLA_CARRIER_UP_COUNT, 'u32'],
  ['carrierDownCount', C.IFLA_CARRIER_DOWN_COUNT, 'u32'],
  ['protoDown', C.IFLA_PROTO_DOWN, 'bool'],
  ['gsoMaxSegs', C.IFLA_GSO_MAX_SEGS, 'u32'],
  ['gsoMaxSize', C.IFLA_GSO_MAX_SIZE, 'u32'],
  ['groMaxSize', C.IFLA_GRO_MAX_SIZE, 'u32'],
  ['tsoMaxSize', C.IFLA_TSO_MAX_SIZE, 'u32'],
  ['tsoMaxSegs', C.IFLA_TSO_MAX_SEGS, 'u32'],
  ['numVf', C.IFLA_NUM_VF, 'u32'],
  ['physPortId', C.IFLA_PHYS_PORT_ID, 'hex'],
  ['physPortName', C.IFLA_PHYS_PORT_NAME, 'string'],
  ['physSwitchId', C.IFLA_PHYS_SWITCH_ID, 'hex'],
  ['parentDevName', C.IFLA_PARENT_DEV_NAME, 'string'],
  ['parentDevBusName', C.IFLA_PARENT_DEV_BUS_NAME, 'string'],
  ['event', C.IFLA_EVENT, 'u32'],
];

// Decoded outside the table. IFLA_STATS is IFLA_STATS64 truncated to 32 bits, so when both
// come nothing is lost by decoding only the 64-bit one; IFLA_PAD only aligns.
const LINK_KNOWN = new Set([
  ...tableTypes(LINK_FIELDS),
  C.IFLA_IFNAME,
  C.IFLA_OPERSTATE,
  C.IFLA_STATS64,
  C.IFLA_STATS,
  C.IFLA_MAP,
  C.IFLA_PROP_LIST,
  C.IFLA_LINKINFO,
  C.IFLA_AF_SPEC,
  C.IFLA_PROTINFO,
  C.IFLA_PAD,
]);

function decodeStats(d: Buffer, width: 4 | 8): LinkStats {
  const what = width === 8 ? 'IFLA_STATS64' : 'IFLA_STATS';
  const required = STATS_FIELDS.length - 1;
  if (d.length < required * width) throw new DecodeError(`${what} of ${d.length} bytes, needs ${required * width}`, 0);
  const out: Partial<LinkStats> = {};
  STATS_FIELDS.forEach((key, i) => {
    if ((i + 1) * width > d.length) return;
    out[key] = width === 8 ? structU64(d, i * 8, what) : BigInt(structU32(d, i * 4, what));
  });
  return out as LinkStats;
}

function decodeMap(d: Buffer): LinkMap {
  const what = 'IFLA_MAP';
  if (d.length < 28) throw new DecodeError(`${what} of ${d.length} bytes, needs 28`, 0);
  return {
    memStart: structU64(d, 0, what),
    memEnd: structU64(d, 8, what),
    baseAddr: structU64(d, 16, what),
    irq: structU16(d, 24, what),
    dma: d[26] as number,
    port: d[27] as number,
  };
}

function u64Array(d: Buffer, what: string): bigint[] {
  const out: bigint[] = [];
  for (let off = 0; off + 8 <= d.length; off += 8) out.push(structU64(d, off, what));
  return out;
}

const INET6_KNOWN = new Set([
  C.IFLA_INET6_FLAGS,
  C.IFLA_INET6_CONF,
  C.IFLA_INET6_STATS,
  C.IFLA_INET6_ICMP6STATS,
  C.IFLA_INET6_CACHEINFO,
  C.IFLA_INET6_TOKEN,
  C.IFLA_INET6_ADDR_GEN_MODE,
  C.IFLA_INET6_RA_MTU,
]);

function decodeInet6(a: Attributes): { info: Inet6LinkInfo; complete: boolean } {
  const info: Inet6LinkInfo = {};
  const flags = a.u32(C.IFLA_INET6_FLAGS);
  if (flags !== undefined) info.flags = flags;
  const conf = a.get(C.IFLA_INET6_CONF);
  if (conf !== undefined) {
    info.conf = [];
    for (let off = 0; off + 4 <= conf.length; off += 4) info.conf.push(structS32(conf, off, 'IFLA_INET6_CONF'));
  }
  const stats = a.get(C.IFLA_INET6_STATS);
  if (stats !== undefined) info.stats = u64Array(stats, 'IFLA_INET6_STATS');
  const icmp = a.get(C.IFLA_INET6_ICMP6STATS);
  if (icmp !== undefined) info.icmp6Stats = u64Array(icmp, 'IFLA_INET6_ICMP6STATS');
  const ci = a.get(C.IFLA_INET6_CACHEINFO);
  if (ci !== undefined) {
    const w = 'IFLA_INET6_CACHEINFO';
    info.cacheinfo = {
      maxReasmLen: structU32(ci, 0, w),
      tstamp: structU32(ci, 4, w),
      reachableTime: structU32(ci, 8, w),
      retransTime: structU32(ci, 12, w),
    };
  }
  const token = a.get(C.IFLA_INET6_TOKEN);
  if (token !== undefined) info.token = ipText(token, C.IFLA_INET6_TOKEN);
  const mode = a.u8(C.IFLA_INET6_ADDR_GEN_MODE);
  if (mode !== undefined) info.addrGenMode = decodeName(ADDR_GEN_MODE, mode, 'IFLA_INET6_ADDR_GEN_MODE');
  const raMtu = a.u32(C.IFLA_INET6_RA_MTU);
  if (raMtu !== undefined) info.raMtu = raMtu;
  return { info, complete: allKnown(a, INET6_KNOWN) };
}

const INET_KNOWN = new Set([C.IFLA_INET_CONF]);

/** Decodes IFLA_AF_SPEC into `link`; returns false when something in it was not decoded. */
function decodeAfSpec(a: Attributes, link: LinkBase): boolean {
  let complete = true;
  for (const fam of a.list) {
    const children = Attributes.parse(fam.data);
    if (fam.type === C.AF_INET) {
      const conf = children.get(C.IFLA_INET_CONF);
      const values: number[] = [];
      if (conf !== undefined) for (let off = 0; off + 4 <= conf.length; off += 4) values.push(structU32(conf, off, 'IFLA_INET_CONF'));
      link.inet = { conf: values };
      if (!allKnown(children, INET_KNOWN)) complete = false;
    } else if (fam.type === C.AF_INET6) {
      const { info, complete: all } = decodeInet6(children);
      link.inet6 = info;
      if (!all) complete = false;
    } else {
      complete = false;
    }
  }
  return complete;
}

const LINKINFO_KNOWN = new Set([C.IFLA_INFO_KIND, C.IFLA_INFO_DATA, C.IFLA_INFO_SLAVE_KIND, C.IFLA_INFO_SLAVE_DATA]);
const EMPTY = new Attributes([]);

/**
 * Fills in the kind-specific part of `link` (which already has the common fields) from
 * IFLA_INFO_KIND and IFLA_INFO_DATA, in place: links are decoded by the thousand, and
 * copying an object of forty fields per link would cost more than all the rest. Returns
 * whether IFLA_INFO_DATA, if any, was decoded.
 */
function decodeKind(link: Link, infoKind: string | undefined, data: Attributes | undefined): boolean {
  const d = data ?? EMPTY;
  const l = link as unknown as Record<string, unknown>;
  switch (infoKind) {
    case undefined:
      l.kind = 'device';
      return data === undefined;
    case 'veth':
    case 'dummy':
      l.kind = infoKind;
      return data === undefined;
    case 'bridge':
      l.kind = infoKind;
      l.bridge = decodeBridgeInfo(d);
      return true;
    case 'macvlan':
    case 'macvtap':
      l.kind = infoKind;
      l.macvlan = decodeMacvlanInfo(d);
      return true;
    case 'vxlan':
      l.kind = infoKind;
      l.vxlan = decodeVxlanInfo(d);
      return true;
    case 'vlan':
      l.kind = infoKind;
      l.vlan = decodeVlanInfo(d);
      return true;
    case 'ipvlan':
    case 'ipvtap':
      l.kind = infoKind;
      l.ipvlan = decodeIpvlanInfo(d);
      return true;
    case 'tun':
      l.kind = infoKind;
      l.tun = decodeTunInfo(d);
      return true;
    default:
      l.kind = 'other';
      l.infoKind = infoKind;
      l.infoData = d.unknown(new Set());
      return true;
  }
}

/**
 * Decodes an RTM_NEWLINK/RTM_DELLINK message (a dump part, a GET reply, an echo or a
 * notification). Throws DecodeError when it is truncated or malformed.
 */
export function decodeLink(msg: NetlinkMessage): Link {
  const p = msg.payload;
  needHeader(p, C.IFINFOMSG_LEN, 'ifinfomsg');
  const flags = structU32(p, 8, 'ifinfomsg');
  const attrs = Attributes.parse(p, C.IFINFOMSG_LEN);
  const name = attrs.string(C.IFLA_IFNAME);
  if (name === undefined) throw new DecodeError('link message without IFLA_IFNAME', C.IFINFOMSG_LEN);
  const operstate = attrs.u8(C.IFLA_OPERSTATE);
  // `kind` comes first and is set by decodeKind() below.
  const link = {
    kind: 'device',
    index: structS32(p, 4, 'ifinfomsg'),
    name,
    family: p[0] as number,
    type: structU16(p, 2, 'ifinfomsg'),
    flags,
    up: (flags & C.IFF_UP) !== 0,
    operstate: operstate === undefined ? 'unknown' : decodeName(OPERSTATE, operstate, 'IFLA_OPERSTATE'),
    altNames: [],
    unknown: attrs.unknown(LINK_KNOWN),
  } as Link;
  decodeFields(attrs, LINK_FIELDS, link);
  const stats64 = attrs.get(C.IFLA_STATS64);
  const stats32 = attrs.get(C.IFLA_STATS);
  if (stats64 !== undefined) link.stats = decodeStats(stats64, 8);
  else if (stats32 !== undefined) link.stats = decodeStats(stats32, 4);
  const map = attrs.get(C.IFLA_MAP);
  if (map !== undefined) link.map = decodeMap(map);
  const props = attrs.nested(C.IFLA_PROP_LIST);
  if (props) link.altNames = props.all(C.IFLA_ALT_IFNAME).map((a) => cString(a.data));

  const afSpec = attrs.nested(C.IFLA_AF_SPEC);
  if (afSpec && !decodeAfSpec(afSpec, link)) link.unknown.push(...keepWhole(attrs, C.IFLA_AF_SPEC));

  const protinfo = attrs.all(C.IFLA_PROTINFO).at(-1);
  if (protinfo) {
    // AF_BRIDGE messages carry the port's options here; other families carry their own.
    if (link.family === C.AF_BRIDGE && protinfo.nested) link.bridgePort = decodeBridgePort(Attributes.parse(protinfo.data));
    else link.unknown.push(...keepWhole(attrs, C.IFLA_PROTINFO));
  }

  const info = attrs.nested(C.IFLA_LINKINFO);
  let infoComplete = true;
  if (info) {
    const slaveKind = info.string(C.IFLA_INFO_SLAVE_KIND);
    if (slaveKind !== undefined) link.slaveKind = slaveKind;
    const slaveData = info.nested(C.IFLA_INFO_SLAVE_DATA);
    if (slaveData && slaveKind === 'bridge') link.bridgePort = decodeBridgePort(slaveData);
    else if (slaveData) infoComplete = false;
    if (!allKnown(info, LINKINFO_KNOWN)) infoComplete = false;
  }
  const dataDecoded = decodeKind(link, info?.string(C.IFLA_INFO_KIND), info?.nested(C.IFLA_INFO_DATA));
  if (info && (!infoComplete || !dataDecoded)) link.unknown.push(...keepWhole(attrs, C.IFLA_LINKINFO));
  return link;
}

// ---------------------------------------------------------------- encoding

function writeIfinfomsg(w: Writer, family: number, index: number, flags: number, change: number): void {
  w.putU8(family);
  w.putU8(0);
  w.putU16(0);
  w.putI32(index);
  w.putU32(flags);
  w.putU32(change);
}

function prepareNetns(target: NetnsTarget, field: string): Put {
  if (target !== null && typeof target === 'object') {
    if ('fd' in target) return putU32(C.IFLA_NET_NS_FD, checkFd(target.fd, `${field}.fd`));
    if ('pid' in target) return putU32(C.IFLA_NET_NS_PID, checkU32(target.pid, `${field}.pid`));
  }
  throw new ValidationError(field, 'must be a namespace handle ({ fd }) or { pid }');
}

const NEW_LINK_FIELDS: FieldTable = [
  ['mtu', C.IFLA_MTU, 'u32'],
  ['address', C.IFLA_ADDRESS, 'mac'],
  ['broadcast', C.IFLA_BROADCAST, 'mac'],
  ['txqlen', C.IFLA_TXQLEN, 'u32'],
  ['numTxQueues', C.IFLA_NUM_TX_QUEUES, 'u32'],
  ['numRxQueues', C.IFLA_NUM_RX_QUEUES, 'u32'],
  ['gsoMaxSize', C.IFLA_GSO_MAX_SIZE, 'u32'],
  ['gsoMaxSegs', C.IFLA_GSO_MAX_SEGS, 'u32'],
  ['group', C.IFLA_GROUP, 'u32'],
];

/**
 * Attributes of a new link or veth peer, in iproute2's order for the same command line
 * (netns, mtu, address ..., then the name), so requests compare with `ip link add`.
 */
function prepareNewLinkAttrs(spec: NewLinkAttrs, field: string, head: Put[], beforeName: Put[]): Put[] {
  const name = checkIfname(spec.name, fieldName(field, 'name'));
  const puts = [...head];
  if (spec.netns !== undefined) puts.push(prepareNetns(spec.netns, fieldName(field, 'netns')));
  puts.push(...prepareFields(NEW_LINK_FIELDS, spec, field), ...beforeName);
  puts.push(putString(C.IFLA_IFNAME, name));
  return puts;
}

function prepareKindData(spec: LinkSpec): Put[] | undefined {
  switch (spec.kind) {
    case 'veth': {
      const peer = spec.peer;
      if (peer === null || typeof peer !== 'object') throw new ValidationError('peer', 'a veth needs its peer: { name, netns?, ... }');
      const peerAttrs = prepareNewLinkAttrs(peer, 'peer', [], []);
      const peerIndex = peer.index === undefined ? 0 : checkIndex(peer.index, 'peer.index');
      if (peerIndex && spec.index === undefined) throw new ValidationError('peer.index', 'the kernel honours a peer index only together with the veth\'s own index');
      return [putContainer(C.VETH_INFO_PEER, [(w) => writeIfinfomsg(w, C.AF_UNSPEC, peerIndex, 0, 0), ...peerAttrs])];
    }
    case 'bridge':
      return spec.bridge === undefined ? undefined : prepareBridgeData(spec.bridge, 'bridge');
    case 'macvlan':
    case 'macvtap':
      return spec.macvlan === undefined ? undefined : prepareMacvlanData(spec.macvlan, 'macvlan');
    case 'vxlan':
      return prepareVxlanData(spec.vxlan ?? {}, 'vxlan');
    case 'vlan':
      if (spec.vlan === null || typeof spec.vlan !== 'object') throw new ValidationError('vlan', 'a vlan needs { id }');
      return prepareVlanData(spec.vlan, 'vlan');
    case 'ipvlan':
    case 'ipvtap':
      return spec.ipvlan === undefined ? undefined : prepareIpvlanData(spec.ipvlan, 'ipvlan');
    case 'dummy':
      return undefined;
    default:
      throw new ValidationError('kind', `${JSON.stringify((spec as { kind: unknown }).kind)} cannot be created (veth, bridge, macvlan, macvtap, vxlan, vlan, ipvlan, ipvtap, dummy; tun/tap need TUNSETIFF)`);
  }
}

/** What the echo of a created link says about it: see {@link linkEcho}. */
export interface LinkEcho {
  /** The new link's ifindex. */
  index: number;
  /** IFLA_LINK: for a veth its peer's ifindex (in the peer's namespace), for a vlan/macvlan its lower link. */
  link?: number;
  /** IFLA_LINK_NETNSID: nsid (as seen from the creating namespace) of the namespace `link` is in. */
  linkNetnsid?: number;
}

/**
 * Reads the echo of an `ip link add` sent with `{ echo: true }` ({@link encodeLinkAdd}):
 * the new link's ifindex and, for a veth, its peer's ifindex — without decoding the rest
 * of the link. `reply` is that request's {@link Reply}. Throws NetplumbError
 * ERR_NETPLUMB_NO_REPLY when the reply holds no RTM_NEWLINK (the request was not echoed),
 * DecodeError when the echo is malformed.
 */
export function linkEcho(reply: Reply): LinkEcho {
  const msg = reply.messages.find((m) => m.type === C.RTM_NEWLINK);
  if (!msg) throw new NetplumbError(`${reply.request.operation}: the kernel did not echo the new link`, 'ERR_NETPLUMB_NO_REPLY');
  needHeader(msg.payload, C.IFINFOMSG_LEN, 'ifinfomsg');
  const attrs = Attributes.parse(msg.payload, C.IFINFOMSG_LEN);
  const echo: LinkEcho = { index: structS32(msg.payload, 4, 'ifinfomsg') };
  const link = attrs.u32(C.IFLA_LINK);
  if (link !== undefined) echo.link = link;
  const nsid = attrs.i32(C.IFLA_LINK_NETNSID);
  if (nsid !== undefined) echo.linkNetnsid = nsid;
  return echo;
}

/** Options of {@link encodeLinkAdd}. */
export interface LinkAddOptions {
  /** NLM_F_ECHO: have the kernel send the new link back (to the creating namespace only). */
  echo?: boolean;
}

/**
 * Writes `ip link add` for `spec`: one RTM_NEWLINK with NLM_F_CREATE|NLM_F_EXCL|NLM_F_ACK
 * carrying everything — for a veth, the peer with its name, namespace, MTU and MAC inside
 * VETH_INFO_PEER, and the local end's master and up state. References to other links
 * (`master`, `link`, `vxlan.link`) must be ifindexes here. Throws ValidationError before
 * writing anything (also for `alias`: see {@link LinkSpecBase.alias}).
 */
export function encodeLinkAdd(batch: Batch, spec: LinkSpec, options: LinkAddOptions = {}): void {
  if (spec === null || typeof spec !== 'object') throw new ValidationError('spec', 'must be a link spec object');
  const head: Put[] = [];
  const lower = 'link' in spec ? spec.link : undefined;
  if (lower !== undefined) head.push(putU32(C.IFLA_LINK, checkIndexRef(lower, 'link')));
  else if (spec.kind === 'macvlan' || spec.kind === 'macvtap' || spec.kind === 'vlan' || spec.kind === 'ipvlan' || spec.kind === 'ipvtap') {
    throw new ValidationError('link', `a ${spec.kind} needs its lower device`);
  }
  const beforeName: Put[] = [];
  if (spec.master !== undefined) beforeName.push(putU32(C.IFLA_MASTER, checkIndexRef(spec.master, 'master')));
  const attrs = prepareNewLinkAttrs(spec, '', head, beforeName);
  const kindData = prepareKindData(spec);
  const linkinfo = [putText(C.IFLA_INFO_KIND, spec.kind), ...(kindData ? [putNest(C.IFLA_INFO_DATA, kindData)] : [])];
  attrs.push(putNest(C.IFLA_LINKINFO, linkinfo));
  const index = spec.index === undefined ? 0 : checkIndex(spec.index, 'index');
  const up = spec.up === undefined ? false : checkBool(spec.up, 'up');
  if (spec.alias !== undefined) {
    // In one sendmsg the kernel would run an alias request even after a refused create,
    // re-tagging a same-named link that is not ours. Links.add() sends it as a second step.
    throw new ValidationError('alias', 'is not part of a creating request (the kernel ignores IFLA_IFALIAS there): use Links.add(), or linkSet() once the create succeeded');
  }

  const w = batch.begin(C.RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL | (options.echo ? NLM_F_ECHO : 0), `RTM_NEWLINK add ${spec.kind} ${spec.name}`);
  writeIfinfomsg(w, C.AF_UNSPEC, index, up ? C.IFF_UP : 0, up ? C.IFF_UP : 0);
  writeAll(w, attrs);
  batch.end();
}

/** ifi_index and the IFLA_IFNAME that identify `ref` in a request. */
function refParts(ref: LinkRef, field: string): { index: number; name?: string } {
  const r = checkLinkRef(ref, field);
  return typeof r === 'number' ? { index: r } : { index: 0, name: r };
}

function writeRef(w: Writer, ref: { index: number; name?: string }): void {
  if (ref.name !== undefined) w.attrString(C.IFLA_IFNAME, ref.name);
}

const FLAG_CHANGES: ReadonlyArray<readonly [keyof LinkChanges, number, boolean]> = [
  ['up', C.IFF_UP, false],
  ['promisc', C.IFF_PROMISC, false],
  ['allmulticast', C.IFF_ALLMULTI, false],
  ['multicast', C.IFF_MULTICAST, false],
  ['arp', C.IFF_NOARP, true],
];

const SET_FIELDS: FieldTable = [
  ['mtu', C.IFLA_MTU, 'u32'],
  ['address', C.IFLA_ADDRESS, 'mac'],
  ['broadcast', C.IFLA_BROADCAST, 'mac'],
  ['txqlen', C.IFLA_TXQLEN, 'u32'],
  ['group', C.IFLA_GROUP, 'u32'],
  ['carrier', C.IFLA_CARRIER, 'bool'],
  ['protoDown', C.IFLA_PROTO_DOWN, 'bool'],
];

function addrGenModePut(mode: Inet6AddrGenMode): Put {
  const v = ADDR_GEN_MODE[mode];
  if (v === undefined) throw new ValidationError('addrGenMode', `"${String(mode)}" is not one of ${Object.keys(ADDR_GEN_MODE).join(', ')}`);
  return putNest(C.IFLA_AF_SPEC, [putNest(C.AF_INET6, [putU8(C.IFLA_INET6_ADDR_GEN_MODE, v)])]);
}

/**
 * Writes `ip link set dev REF ...`: one RTM_NEWLINK for the link's own changes, preceded
 * by one that sets `addrGenMode` when the link is also brought up, and followed by an
 * RTM_SETLINK AF_BRIDGE for `bridgePort` changes. Renaming or changing bridge port options
 * needs `ref` to be an ifindex. Throws ValidationError before writing anything, including
 * when `changes` changes nothing.
 */
export function encodeLinkSet(batch: Batch, ref: LinkRef, changes: LinkChanges): void {
  if (changes === null || typeof changes !== 'object') throw new ValidationError('changes', 'must be an object');
  const target = refParts(ref, 'link');
  const label = typeof ref === 'number' ? `#${ref}` : ref;
  let flags = 0;
  let change = 0;
  for (const [key, bit, inverted] of FLAG_CHANGES) {
    const v = changes[key];
    if (v === undefined) continue;
    change |= bit;
    if (checkBool(v, key) !== inverted) flags |= bit;
  }
  const puts: Put[] = [];
  if (changes.netns !== undefined) puts.push(prepareNetns(changes.netns, 'netns'));
  if (changes.name !== undefined) {
    const name = checkIfname(changes.name, 'name');
    if (target.name !== undefined) throw new ValidationError('name', 'renaming needs the link by ifindex (IFLA_IFNAME would name the link to change)');
    puts.push(putString(C.IFLA_IFNAME, name));
  }
  puts.push(...prepareFields(SET_FIELDS, changes, ''));
  if (changes.master !== undefined) puts.push(putU32(C.IFLA_MASTER, changes.master === null ? 0 : checkIndexRef(changes.master, 'master')));
  if (changes.alias !== undefined) {
    puts.push(changes.alias === null ? putBytes(C.IFLA_IFALIAS, new Uint8Array(0)) : putText(C.IFLA_IFALIAS, checkString(changes.alias, 'alias', 255)));
  }
  if (changes.bridge !== undefined) {
    puts.push(putNest(C.IFLA_LINKINFO, [putText(C.IFLA_INFO_KIND, 'bridge'), putNest(C.IFLA_INFO_DATA, prepareBridgeData(changes.bridge, 'bridge'))]));
  }
  let genFirst: Put | undefined;
  if (changes.addrGenMode !== undefined) {
    const p = addrGenModePut(changes.addrGenMode);
    // The kernel adds the link-local address while bringing the link up, before it looks at
    // IFLA_AF_SPEC in the same request: the mode must be set by an earlier request.
    if (changes.up === true) genFirst = p;
    else puts.push(p);
  }
  let port: Put[] | undefined;
  if (changes.bridgePort !== undefined) {
    if (changes.netns !== undefined) throw new ValidationError('bridgePort', 'cannot be changed while moving the link to another namespace');
    if (changes.bridge !== undefined) throw new ValidationError('bridgePort', 'a link is either a bridge or a bridge port');
    const portAttrs = prepareBridgePort(changes.bridgePort, 'bridgePort');
    if (target.name !== undefined) {
      // AF_BRIDGE finds a port by ifindex only; by name, the options go as the port's
      // IFLA_INFO_SLAVE_DATA in the same request (`ip link set dev X type bridge_slave ...`).
      puts.push(putNest(C.IFLA_LINKINFO, [putText(C.IFLA_INFO_SLAVE_KIND, 'bridge'), putNest(C.IFLA_INFO_SLAVE_DATA, portAttrs)]));
    } else {
      port = portAttrs;
    }
  }
  if (change === 0 && puts.length === 0 && !genFirst && !port) throw new ValidationError('changes', 'changes nothing');

  if (genFirst) {
    const w = batch.begin(C.RTM_NEWLINK, NLM_F_ACK, `RTM_NEWLINK set ${label} addrgenmode`);
    writeIfinfomsg(w, C.AF_UNSPEC, target.index, 0, 0);
    writeRef(w, target);
    genFirst(w);
    batch.end();
  }
  if (change !== 0 || puts.length > 0) {
    const w = batch.begin(C.RTM_NEWLINK, NLM_F_ACK, `RTM_NEWLINK set ${label}`);
    writeIfinfomsg(w, C.AF_UNSPEC, target.index, flags, change);
    // A rename carries the new name in IFLA_IFNAME, so the link is then found by index.
    if (changes.name === undefined) writeRef(w, target);
    writeAll(w, puts);
    batch.end();
  }
  if (port) {
    const w = batch.begin(C.RTM_SETLINK, NLM_F_ACK, `RTM_SETLINK bridge port ${label}`);
    writeIfinfomsg(w, C.AF_BRIDGE, target.index, 0, 0);
    putNest(C.IFLA_PROTINFO, port)(w);
    batch.end();
  }
}

/**
 * Writes `ip link del REF`: RTM_DELLINK by ifindex or name. Deleting one end of a veth
 * deletes both. Throws ValidationError for a malformed reference.
 */
export function encodeLinkDelete(batch: Batch, ref: LinkRef): void {
  const target = refParts(ref, 'link');
  const w = batch.begin(C.RTM_DELLINK, NLM_F_ACK, `RTM_DELLINK ${typeof ref === 'number' ? `#${ref}` : ref}`);
  writeIfinfomsg(w, C.AF_UNSPEC, target.index, 0, 0);
  writeRef(w, target);
  batch.end();
}

/**
 * Writes `ip link show dev REF` as a targeted RTM_GETLINK (not a dump) with NLM_F_ACK, so
 * a terminal reply always comes: the link, then an ack, or ENODEV.
 */
export function encodeLinkGet(batch: Batch, ref: LinkRef): void {
  const target = refParts(ref, 'link');
  const w = batch.begin(C.RTM_GETLINK, NLM_F_ACK, `RTM_GETLINK ${typeof ref === 'number' ? `#${ref}` : ref}`);
  writeIfinfomsg(w, C.AF_UNSPEC, target.index, 0, 0);
  writeRef(w, target);
  batch.end();
}

/** Writes `ip link show [master M] [type KIND]` as an RTM_GETLINK dump, filtered by the kernel. */
export function encodeLinkDump(batch: Batch, filter: LinkFilter = {}): void {
  const puts: Put[] = [];
  if (filter.master !== undefined) puts.push(putU32(C.IFLA_MASTER, checkIndex(filter.master, 'master')));
  if (filter.kind !== undefined) puts.push(putNest(C.IFLA_LINKINFO, [putText(C.IFLA_INFO_KIND, checkString(filter.kind, 'kind', 63))]));
  const w = batch.begin(C.RTM_GETLINK, NLM_F_DUMP, 'RTM_GETLINK dump');
  writeIfinfomsg(w, C.AF_UNSPEC, 0, 0, 0);
  writeAll(w, puts);
  batch.end();
}
