/**
 * Layer 2 (rtnetlink): links, addresses, routes, neighbours, bridge FDB, rules, nsids and
 * change events, as plain typed objects, over the netlink codec of layer 1. The classes
 * bind to one namespace ({@link RouteNamespace}: a Netns handle); the `encode*` functions
 * write single requests into a {@link Batch} for callers that build their own batches.
 * @module
 */
export type { RouteNamespace } from './request.js';
export type { LinkRef } from './validate.js';
export type { IpFamily } from './ip.js';
export type { NeighborState, ProtocolName, RouteType, RuleAction, ScopeName, TableName } from './names.js';

export { Links, type LinkListFilter, type TunSpec, type VethPeer } from './links.js';
export {
  type BridgeLink,
  type DeviceLink,
  type DummyLink,
  type Inet6AddrGenMode,
  type Inet6LinkInfo,
  type InetLinkInfo,
  type IpvlanLink,
  type Link,
  type LinkAddOptions,
  type LinkBase,
  type LinkChanges,
  type LinkFilter,
  type LinkMap,
  type LinkSpec,
  type LinkSpecBase,
  type LinkStats,
  type MacvlanLink,
  type NetnsTarget,
  type NewLinkAttrs,
  type OperState,
  type OtherLink,
  type TunLink,
  type VethLink,
  type VethPeerSpec,
  type VethSpec,
  type BridgeSpec,
  type MacvlanSpec,
  type VxlanSpec,
  type VlanSpec,
  type IpvlanSpec,
  type DummySpec,
  type VlanLink,
  type VxlanLink,
  decodeLink,
  encodeLinkAdd,
  encodeLinkDelete,
  encodeLinkDump,
  encodeLinkGet,
  encodeLinkSet,
  type LinkEcho,
  linkEcho,
} from './link.js';
export type { BridgeInfo, BridgeOptions, BridgePort, BridgePortChanges, BridgePortOptions } from './bridge.js';
export type { PortRange, VxlanDf, VxlanInfo, VxlanOptions } from './vxlan.js';
export type { MacvlanInfo, MacvlanMode, MacvlanOptions } from './macvlan.js';
export type { VlanFlags, VlanInfo, VlanOptions, VlanQosMapping } from './vlan.js';
export type { IpvlanInfo, IpvlanMode, IpvlanOptions } from './ipvlan.js';
export type { TunInfo } from './tun.js';

export { Addresses } from './addresses.js';
export {
  type Address,
  type AddressCacheInfo,
  type AddressFilter,
  type AddressSpec,
  decodeAddress,
  encodeAddressAdd,
  encodeAddressDelete,
  encodeAddressDump,
  encodeAddressReplace,
} from './address.js';

export { Routes } from './routes.js';
export {
  type NextHop,
  type NextHopSpec,
  type Route,
  type RouteCacheInfo,
  type RouteFilter,
  type RouteGetOptions,
  type RouteMetrics,
  type RouteSpec,
  decodeRoute,
  encodeRouteAdd,
  encodeRouteAppend,
  encodeRouteDelete,
  encodeRouteDump,
  encodeRouteGet,
  encodeRouteReplace,
} from './route.js';

export { Fdb, Neighbors } from './neighbors.js';
export {
  type FdbEntry,
  type FdbSpec,
  type FdbState,
  type Neighbor,
  type NeighborCacheInfo,
  type NeighborFilter,
  type NeighborSpec,
  decodeFdbEntry,
  decodeNeighbor,
  encodeFdbAdd,
  encodeFdbAppend,
  encodeFdbDelete,
  encodeFdbDump,
  encodeFdbReplace,
  encodeNeighborAdd,
  encodeNeighborDelete,
  encodeNeighborDump,
  encodeNeighborReplace,
  isFdbMessage,
} from './neighbor.js';

export { Rules } from './rules.js';
export { type Range, type Rule, type RuleSpec, decodeRule, encodeRuleAdd, encodeRuleDelete, encodeRuleDump } from './rule.js';

export { type NsidEntry, assignNsid, decodeNsid, encodeNsidGet, encodeNsidSet, findByNsid, listNsids, nsidOf } from './nsid.js';
export { type EventAction, type MonitorOptions, RtnlMonitor, type RtnlEvent, openMonitor } from './monitor.js';
export { RtnlBatch } from './batch.js';
export { type CidrBytes, type IpBytes, broadcastOf, formatCidr, formatHw, formatIp, isMulticast, networkOf, parseCidr, parseIp, parseMac } from './ip.js';

/** The kernel's rtnetlink constants (IFF_*, RTN_*, NUD_*, IFA_F_* ...), by their UAPI names. */
export * as rtnlConstants from './constants.js';
