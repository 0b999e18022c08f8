/**
 * Layer 2 (rtnetlink): the bridge link kind — its options (IFLA_BR_*, what `ip -d link
 * show type bridge` prints) and the options of its ports (IFLA_BRPORT_*, what `bridge -d
 * link` prints and `bridge link set` / `ip link set type bridge_slave` change).
 * Times are in centiseconds (USER_HZ), as the kernel and `ip -j -d` give them.
 * @module
 */
import type { Attributes, UnknownAttribute } from '../netlink/attributes.js';
import { type FieldTable, type Put, decodeFields, prepareFields, putBytes, structU32, tableTypes, u32Struct } from './attrs.js';
import * as C from './constants.js';
import { checkU32 } from './validate.js';

/** Bridge options that can be set at creation or later (`ip link add br0 type bridge ...`). */
export interface BridgeOptions {
  /** IFLA_BR_FORWARD_DELAY (centiseconds). */
  forwardDelay?: number;
  /** IFLA_BR_HELLO_TIME (centiseconds). */
  helloTime?: number;
  /** IFLA_BR_MAX_AGE (centiseconds). */
  maxAge?: number;
  /** IFLA_BR_AGEING_TIME: FDB entry lifetime (centiseconds). */
  ageingTime?: number;
  /** IFLA_BR_STP_STATE: 0 off, 1 kernel STP (2 user-space STP is reported, not set). */
  stpState?: number;
  /** IFLA_BR_PRIORITY: STP bridge priority. */
  priority?: number;
  /** IFLA_BR_VLAN_FILTERING. */
  vlanFiltering?: boolean;
  /** IFLA_BR_VLAN_PROTOCOL: ETH_P_8021Q (0x8100) or ETH_P_8021AD (0x88a8). */
  vlanProtocol?: number;
  /** IFLA_BR_GROUP_FWD_MASK. */
  groupFwdMask?: number;
  /** IFLA_BR_GROUP_ADDR: STP group MAC address. */
  groupAddr?: string;
  /** IFLA_BR_MCAST_ROUTER: 0 disabled, 1 automatic, 2 permanent. */
  mcastRouter?: number;
  /** IFLA_BR_MCAST_SNOOPING. */
  mcastSnooping?: boolean;
  /** IFLA_BR_MCAST_QUERY_USE_IFADDR. */
  mcastQueryUseIfaddr?: boolean;
  /** IFLA_BR_MCAST_QUERIER. */
  mcastQuerier?: boolean;
  /** IFLA_BR_MCAST_HASH_ELASTICITY. */
  mcastHashElasticity?: number;
  /** IFLA_BR_MCAST_HASH_MAX. */
  mcastHashMax?: number;
  /** IFLA_BR_MCAST_LAST_MEMBER_CNT. */
  mcastLastMemberCnt?: number;
  /** IFLA_BR_MCAST_STARTUP_QUERY_CNT. */
  mcastStartupQueryCnt?: number;
  /** IFLA_BR_MCAST_LAST_MEMBER_INTVL (centiseconds). */
  mcastLastMemberIntvl?: number;
  /** IFLA_BR_MCAST_MEMBERSHIP_INTVL (centiseconds). */
  mcastMembershipIntvl?: number;
  /** IFLA_BR_MCAST_QUERIER_INTVL (centiseconds). */
  mcastQuerierIntvl?: number;
  /** IFLA_BR_MCAST_QUERY_INTVL (centiseconds). */
  mcastQueryIntvl?: number;
  /** IFLA_BR_MCAST_QUERY_RESPONSE_INTVL (centiseconds). */
  mcastQueryResponseIntvl?: number;
  /** IFLA_BR_MCAST_STARTUP_QUERY_INTVL (centiseconds). */
  mcastStartupQueryIntvl?: number;
  /** IFLA_BR_NF_CALL_IPTABLES: pass bridged IPv4 through iptables (br_netfilter). */
  nfCallIptables?: boolean;
  /** IFLA_BR_NF_CALL_IP6TABLES. */
  nfCallIp6tables?: boolean;
  /** IFLA_BR_NF_CALL_ARPTABLES. */
  nfCallArptables?: boolean;
  /** IFLA_BR_VLAN_DEFAULT_PVID. */
  vlanDefaultPvid?: number;
  /** IFLA_BR_VLAN_STATS_ENABLED. */
  vlanStatsEnabled?: boolean;
  /** IFLA_BR_MCAST_STATS_ENABLED. */
  mcastStatsEnabled?: boolean;
  /** IFLA_BR_MCAST_IGMP_VERSION (2 or 3). */
  mcastIgmpVersion?: number;
  /** IFLA_BR_MCAST_MLD_VERSION (1 or 2). */
  mcastMldVersion?: number;
  /** IFLA_BR_VLAN_STATS_PER_PORT. */
  vlanStatsPerPort?: boolean;
  /** IFLA_BR_MULTI_BOOLOPT: struct br_boolopt_multi, BR_BOOLOPT_* bits. */
  multiBoolopt?: { optval: number; optmask: number };
}

/** A bridge's options and state as the kernel reports them. */
export interface BridgeInfo extends BridgeOptions {
  /** IFLA_BR_ROOT_ID, as `ip` prints it: `8000.02:42:ac:11:00:02`. */
  rootId?: string;
  /** IFLA_BR_BRIDGE_ID. */
  bridgeId?: string;
  /** IFLA_BR_ROOT_PORT. */
  rootPort?: number;
  /** IFLA_BR_ROOT_PATH_COST. */
  rootPathCost?: number;
  /** IFLA_BR_TOPOLOGY_CHANGE. */
  topologyChange?: boolean;
  /** IFLA_BR_TOPOLOGY_CHANGE_DETECTED. */
  topologyChangeDetected?: boolean;
  /** IFLA_BR_HELLO_TIMER (centiseconds). */
  helloTimer?: number;
  /** IFLA_BR_TCN_TIMER (centiseconds). */
  tcnTimer?: number;
  /** IFLA_BR_TOPOLOGY_CHANGE_TIMER (centiseconds). */
  topologyChangeTimer?: number;
  /** IFLA_BR_GC_TIMER (centiseconds). */
  gcTimer?: number;
  /** IFLA_BR_* attributes netplumb does not model (e.g. IFLA_BR_MCAST_QUERIER_STATE). */
  unknown: UnknownAttribute[];
}

const BRIDGE_SETTABLE: FieldTable = [
  ['forwardDelay', C.IFLA_BR_FORWARD_DELAY, 'u32'],
  ['helloTime', C.IFLA_BR_HELLO_TIME, 'u32'],
  ['maxAge', C.IFLA_BR_MAX_AGE, 'u32'],
  ['ageingTime', C.IFLA_BR_AGEING_TIME, 'u32'],
  ['stpState', C.IFLA_BR_STP_STATE, 'u32'],
  ['priority', C.IFLA_BR_PRIORITY, 'u16'],
  ['vlanFiltering', C.IFLA_BR_VLAN_FILTERING, 'bool'],
  ['vlanProtocol', C.IFLA_BR_VLAN_PROTOCOL, 'be16'],
  ['groupFwdMask', C.IFLA_BR_GROUP_FWD_MASK, 'u16'],
  ['groupAddr', C.IFLA_BR_GROUP_ADDR, 'mac'],
  ['mcastRouter', C.IFLA_BR_MCAST_ROUTER, 'u8'],
  ['mcastSnooping', C.IFLA_BR_MCAST_SNOOPING, 'bool'],
  ['mcastQueryUseIfaddr', C.IFLA_BR_MCAST_QUERY_USE_IFADDR, 'bool'],
  ['mcastQuerier', C.IFLA_BR_MCAST_QUERIER, 'bool'],
  ['mcastHashElasticity', C.IFLA_BR_MCAST_HASH_ELASTICITY, 'u32'],
  ['mcastHashMax', C.IFLA_BR_MCAST_HASH_MAX, 'u32'],
  ['mcastLastMemberCnt', C.IFLA_BR_MCAST_LAST_MEMBER_CNT, 'u32'],
  ['mcastStartupQueryCnt', C.IFLA_BR_MCAST_STARTUP_QUERY_CNT, 'u32'],
  ['mcastLastMemberIntvl', C.IFLA_BR_MCAST_LAST_MEMBER_INTVL, 'u64n'],
  ['mcastMembershipIntvl', C.IFLA_BR_MCAST_MEMBERSHIP_INTVL, 'u64n'],
  ['mcastQuerierIntvl', C.IFLA_BR_MCAST_QUERIER_INTVL, 'u64n'],
  ['mcastQueryIntvl', C.IFLA_BR_MCAST_QUERY_INTVL, 'u64n'],
  ['mcastQueryResponseIntvl', C.IFLA_BR_MCAST_QUERY_RESPONSE_INTVL, 'u64n'],
  ['mcastStartupQueryIntvl', C.IFLA_BR_MCAST_STARTUP_QUERY_INTVL, 'u64n'],
  ['nfCallIptables', C.IFLA_BR_NF_CALL_IPTABLES, 'bool'],
  ['nfCallIp6tables', C.IFLA_BR_NF_CALL_IP6TABLES, 'bool'],
  ['nfCallArptables', C.IFLA_BR_NF_CALL_ARPTABLES, 'bool'],
  ['vlanDefaultPvid', C.IFLA_BR_VLAN_DEFAULT_PVID, 'u16'],
  ['vlanStatsEnabled', C.IFLA_BR_VLAN_STATS_ENABLED, 'bool'],
  ['mcastStatsEnabled', C.IFLA_BR_MCAST_STATS_ENABLED, 'bool'],
  ['mcastIgmpVersion', C.IFLA_BR_MCAST_IGMP_VERSION, 'u8'],
  ['mcastMldVersion', C.IFLA_BR_MCAST_MLD_VERSION, 'u8'],
  ['vlanStatsPerPort', C.IFLA_BR_VLAN_STATS_PER_PORT, 'bool'],
];

const BRIDGE_STATE: FieldTable = [
  ['rootId', C.IFLA_BR_ROOT_ID, 'bridgeId'],
  ['bridgeId', C.IFLA_BR_BRIDGE_ID, 'bridgeId'],
  ['rootPort', C.IFLA_BR_ROOT_PORT, 'u16'],
  ['rootPathCost', C.IFLA_BR_ROOT_PATH_COST, 'u32'],
  ['topologyChange', C.IFLA_BR_TOPOLOGY_CHANGE, 'bool'],
  ['topologyChangeDetected', C.IFLA_BR_TOPOLOGY_CHANGE_DETECTED, 'bool'],
  ['helloTimer', C.IFLA_BR_HELLO_TIMER, 'u64n'],
  ['tcnTimer', C.IFLA_BR_TCN_TIMER, 'u64n'],
  ['topologyChangeTimer', C.IFLA_BR_TOPOLOGY_CHANGE_TIMER, 'u64n'],
  ['gcTimer', C.IFLA_BR_GC_TIMER, 'u64n'],
];

// IFLA_BR_PAD only aligns 64-bit attributes.
const BRIDGE_KNOWN = new Set([...tableTypes(BRIDGE_SETTABLE), ...tableTypes(BRIDGE_STATE), C.IFLA_BR_MULTI_BOOLOPT, C.IFLA_BR_PAD]);

/** IFLA_INFO_DATA of a bridge → {@link BridgeInfo}. */
export function decodeBridgeInfo(attrs: Attributes): BridgeInfo {
  const out: BridgeInfo = { unknown: attrs.unknown(BRIDGE_KNOWN) };
  decodeFields(attrs, BRIDGE_SETTABLE, out);
  decodeFields(attrs, BRIDGE_STATE, out);
  const multi = attrs.get(C.IFLA_BR_MULTI_BOOLOPT);
  if (multi !== undefined) {
    const what = 'IFLA_BR_MULTI_BOOLOPT';
    out.multiBoolopt = { optval: structU32(multi, 0, what), optmask: structU32(multi, 4, what) };
  }
  return out;
}

/** Validated IFLA_INFO_DATA children for a bridge. */
export function prepareBridgeData(options: BridgeOptions, field: string): Put[] {
  const puts = prepareFields(BRIDGE_SETTABLE, options, field);
  if (options.multiBoolopt !== undefined) {
    const { optval, optmask } = options.multiBoolopt;
    const b = u32Struct([checkU32(optval, `${field}.multiBoolopt.optval`), checkU32(optmask, `${field}.multiBoolopt.optmask`)]);
    puts.push(putBytes(C.IFLA_BR_MULTI_BOOLOPT, b));
  }
  return puts;
}

/** Bridge port options that can be changed (`bridge link set dev X ...`). */
export interface BridgePortOptions {
  /** IFLA_BRPORT_STATE: BR_STATE_* (0 disabled ... 4 blocking). */
  state?: number;
  /** IFLA_BRPORT_PRIORITY: STP port priority. */
  priority?: number;
  /** IFLA_BRPORT_COST: STP path cost. */
  cost?: number;
  /** IFLA_BRPORT_MODE: hairpin mode (reflect frames back out the port they came in on). */
  hairpin?: boolean;
  /** IFLA_BRPORT_GUARD: BPDU guard. */
  guard?: boolean;
  /** IFLA_BRPORT_PROTECT: root port protection (`root_block`). */
  protect?: boolean;
  /** IFLA_BRPORT_FAST_LEAVE. */
  fastLeave?: boolean;
  /** IFLA_BRPORT_LEARNING: learn source MACs into the FDB. */
  learning?: boolean;
  /** IFLA_BRPORT_UNICAST_FLOOD (`flood`). */
  unicastFlood?: boolean;
  /** IFLA_BRPORT_PROXYARP. */
  proxyarp?: boolean;
  /** IFLA_BRPORT_PROXYARP_WIFI. */
  proxyarpWifi?: boolean;
  /** IFLA_BRPORT_MULTICAST_ROUTER: 0 disabled, 1 automatic, 2 permanent, 3 temporary. */
  multicastRouter?: number;
  /** IFLA_BRPORT_MCAST_FLOOD. */
  mcastFlood?: boolean;
  /** IFLA_BRPORT_MCAST_TO_UCAST. */
  mcastToUcast?: boolean;
  /** IFLA_BRPORT_VLAN_TUNNEL. */
  vlanTunnel?: boolean;
  /** IFLA_BRPORT_BCAST_FLOOD. */
  bcastFlood?: boolean;
  /** IFLA_BRPORT_GROUP_FWD_MASK. */
  groupFwdMask?: number;
  /** IFLA_BRPORT_NEIGH_SUPPRESS. */
  neighSuppress?: boolean;
  /** IFLA_BRPORT_ISOLATED: isolated ports cannot talk to each other, only to others. */
  isolated?: boolean;
  /** IFLA_BRPORT_BACKUP_PORT: ifindex of the backup port (0 removes it). */
  backupPort?: number;
  /** IFLA_BRPORT_MCAST_EHT_HOSTS_LIMIT. */
  mcastEhtHostsLimit?: number;
  /** IFLA_BRPORT_LOCKED. */
  locked?: boolean;
}

/** What may be sent to change a port: its options plus one-shot actions. */
export interface BridgePortChanges extends BridgePortOptions {
  /** IFLA_BRPORT_FLUSH: flush the FDB entries learned on this port. */
  flush?: boolean;
}

/** A bridge port's options and STP state as the kernel reports them. */
export interface BridgePort extends BridgePortOptions {
  /** IFLA_BRPORT_LEARNING_SYNC. */
  learningSync?: boolean;
  /** IFLA_BRPORT_ROOT_ID. */
  rootId?: string;
  /** IFLA_BRPORT_BRIDGE_ID. */
  bridgeId?: string;
  /** IFLA_BRPORT_DESIGNATED_PORT. */
  designatedPort?: number;
  /** IFLA_BRPORT_DESIGNATED_COST. */
  designatedCost?: number;
  /** IFLA_BRPORT_ID. */
  id?: number;
  /** IFLA_BRPORT_NO. */
  no?: number;
  /** IFLA_BRPORT_TOPOLOGY_CHANGE_ACK. */
  topologyChangeAck?: boolean;
  /** IFLA_BRPORT_CONFIG_PENDING. */
  configPending?: boolean;
  /** IFLA_BRPORT_MESSAGE_AGE_TIMER (centiseconds). */
  messageAgeTimer?: number;
  /** IFLA_BRPORT_FORWARD_DELAY_TIMER (centiseconds). */
  forwardDelayTimer?: number;
  /** IFLA_BRPORT_HOLD_TIMER (centiseconds). */
  holdTimer?: number;
  /** IFLA_BRPORT_MRP_RING_OPEN. */
  mrpRingOpen?: boolean;
  /** IFLA_BRPORT_MRP_IN_OPEN. */
  mrpInOpen?: boolean;
  /** IFLA_BRPORT_MCAST_EHT_HOSTS_CNT. */
  mcastEhtHostsCnt?: number;
  /** IFLA_BRPORT_* attributes netplumb does not model. */
  unknown: UnknownAttribute[];
}

const PORT_SETTABLE: FieldTable = [
  ['state', C.IFLA_BRPORT_STATE, 'u8'],
  ['priority', C.IFLA_BRPORT_PRIORITY, 'u16'],
  ['cost', C.IFLA_BRPORT_COST, 'u32'],
  ['hairpin', C.IFLA_BRPORT_MODE, 'bool'],
  ['guard', C.IFLA_BRPORT_GUARD, 'bool'],
  ['protect', C.IFLA_BRPORT_PROTECT, 'bool'],
  ['fastLeave', C.IFLA_BRPORT_FAST_LEAVE, 'bool'],
  ['learning', C.IFLA_BRPORT_LEARNING, 'bool'],
  ['unicastFlood', C.IFLA_BRPORT_UNICAST_FLOOD, 'bool'],
  ['proxyarp', C.IFLA_BRPORT_PROXYARP, 'bool'],
  ['proxyarpWifi', C.IFLA_BRPORT_PROXYARP_WIFI, 'bool'],
  ['multicastRouter', C.IFLA_BRPORT_MULTICAST_ROUTER, 'u8'],
  ['mcastFlood', C.IFLA_BRPORT_MCAST_FLOOD, 'bool'],
  ['mcastToUcast', C.IFLA_BRPORT_MCAST_TO_UCAST, 'bool'],
  ['vlanTunnel', C.IFLA_BRPORT_VLAN_TUNNEL, 'bool'],
  ['bcastFlood', C.IFLA_BRPORT_BCAST_FLOOD, 'bool'],
  ['groupFwdMask', C.IFLA_BRPORT_GROUP_FWD_MASK, 'u16'],
  ['neighSuppress', C.IFLA_BRPORT_NEIGH_SUPPRESS, 'bool'],
  ['isolated', C.IFLA_BRPORT_ISOLATED, 'bool'],
  ['backupPort', C.IFLA_BRPORT_BACKUP_PORT, 'u32'],
  ['mcastEhtHostsLimit', C.IFLA_BRPORT_MCAST_EHT_HOSTS_LIMIT, 'u32'],
  ['locked', C.IFLA_BRPORT_LOCKED, 'bool'],
];

const PORT_STATE: FieldTable = [
  ['learningSync', C.IFLA_BRPORT_LEARNING_SYNC, 'bool'],
  ['rootId', C.IFLA_BRPORT_ROOT_ID, 'bridgeId'],
  ['bridgeId', C.IFLA_BRPORT_BRIDGE_ID, 'bridgeId'],
  ['designatedPort', C.IFLA_BRPORT_DESIGNATED_PORT, 'u16'],
  ['designatedCost', C.IFLA_BRPORT_DESIGNATED_COST, 'u16'],
  ['id', C.IFLA_BRPORT_ID, 'u16'],
  ['no', C.IFLA_BRPORT_NO, 'u16'],
  ['topologyChangeAck', C.IFLA_BRPORT_TOPOLOGY_CHANGE_ACK, 'bool'],
  ['configPending', C.IFLA_BRPORT_CONFIG_PENDING, 'bool'],
  ['messageAgeTimer', C.IFLA_BRPORT_MESSAGE_AGE_TIMER, 'u64n'],
  ['forwardDelayTimer', C.IFLA_BRPORT_FORWARD_DELAY_TIMER, 'u64n'],
  ['holdTimer', C.IFLA_BRPORT_HOLD_TIMER, 'u64n'],
  ['mrpRingOpen', C.IFLA_BRPORT_MRP_RING_OPEN, 'bool'],
  ['mrpInOpen', C.IFLA_BRPORT_MRP_IN_OPEN, 'bool'],
  ['mcastEhtHostsCnt', C.IFLA_BRPORT_MCAST_EHT_HOSTS_CNT, 'u32'],
];

// Actions, not state: sent, never reported.
const PORT_ACTIONS: FieldTable = [['flush', C.IFLA_BRPORT_FLUSH, 'flag']];

const PORT_KNOWN = new Set([...tableTypes(PORT_SETTABLE), ...tableTypes(PORT_STATE), C.IFLA_BRPORT_PAD]);

/** IFLA_INFO_SLAVE_DATA of a bridge port (or IFLA_PROTINFO of AF_BRIDGE) → {@link BridgePort}. */
export function decodeBridgePort(attrs: Attributes): BridgePort {
  const out: BridgePort = { unknown: attrs.unknown(PORT_KNOWN) };
  decodeFields(attrs, PORT_SETTABLE, out);
  decodeFields(attrs, PORT_STATE, out);
  return out;
}

/** Validated IFLA_BRPORT_* attributes for a change of a bridge port. */
export function prepareBridgePort(changes: BridgePortChanges, field: string): Put[] {
  return [...prepareFields(PORT_SETTABLE, changes, field), ...prepareFields(PORT_ACTIONS, changes, field)];
}
