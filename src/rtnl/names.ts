/**
 * Layer 2 (rtnetlink): names the specs accept for kernel enums — the lower-case kernel
 * name without its prefix (RT_SCOPE_LINK → `link`, RTN_BLACKHOLE → `blackhole`), plus the
 * few names iproute2 prints differently (`global` for RT_SCOPE_UNIVERSE). Decoded objects
 * carry numbers for open-ended enums and bit sets (scope, table, protocol, neighbour
 * state) and these names for closed enums (route type, rule action).
 * @module
 */
import * as C from './constants.js';

/** rtm_scope / ifa_scope names. */
export type ScopeName = 'universe' | 'global' | 'site' | 'link' | 'host' | 'nowhere';
/** Scope names → RT_SCOPE_*. */
export const SCOPES: Readonly<Record<ScopeName, number>> = {
  universe: C.RT_SCOPE_UNIVERSE,
  global: C.RT_SCOPE_UNIVERSE,
  site: C.RT_SCOPE_SITE,
  link: C.RT_SCOPE_LINK,
  host: C.RT_SCOPE_HOST,
  nowhere: C.RT_SCOPE_NOWHERE,
};

/** Reserved routing table names (enum rt_class_t). */
export type TableName = 'default' | 'main' | 'local';
/** Table names → RT_TABLE_*. */
export const TABLES: Readonly<Record<TableName, number>> = {
  default: C.RT_TABLE_DEFAULT,
  main: C.RT_TABLE_MAIN,
  local: C.RT_TABLE_LOCAL,
};

/** rtm_protocol names (RTPROT_*). */
export type ProtocolName =
  | 'unspec' | 'redirect' | 'kernel' | 'boot' | 'static' | 'gated' | 'ra' | 'mrt' | 'zebra' | 'bird'
  | 'dnrouted' | 'xorp' | 'ntk' | 'dhcp' | 'mrouted' | 'keepalived' | 'babel' | 'openr' | 'bgp'
  | 'isis' | 'ospf' | 'rip' | 'eigrp';
/** Protocol names → RTPROT_*. */
export const PROTOCOLS: Readonly<Record<ProtocolName, number>> = {
  unspec: C.RTPROT_UNSPEC,
  redirect: C.RTPROT_REDIRECT,
  kernel: C.RTPROT_KERNEL,
  boot: C.RTPROT_BOOT,
  static: C.RTPROT_STATIC,
  gated: C.RTPROT_GATED,
  ra: C.RTPROT_RA,
  mrt: C.RTPROT_MRT,
  zebra: C.RTPROT_ZEBRA,
  bird: C.RTPROT_BIRD,
  dnrouted: C.RTPROT_DNROUTED,
  xorp: C.RTPROT_XORP,
  ntk: C.RTPROT_NTK,
  dhcp: C.RTPROT_DHCP,
  mrouted: C.RTPROT_MROUTED,
  keepalived: C.RTPROT_KEEPALIVED,
  babel: C.RTPROT_BABEL,
  openr: C.RTPROT_OPENR,
  bgp: C.RTPROT_BGP,
  isis: C.RTPROT_ISIS,
  ospf: C.RTPROT_OSPF,
  rip: C.RTPROT_RIP,
  eigrp: C.RTPROT_EIGRP,
};

/** rtm_type (RTN_*). */
export type RouteType =
  | 'unspec' | 'unicast' | 'local' | 'broadcast' | 'anycast' | 'multicast' | 'blackhole'
  | 'unreachable' | 'prohibit' | 'throw' | 'nat' | 'xresolve';
/** Route type names → RTN_*. */
export const ROUTE_TYPES: Readonly<Record<RouteType, number>> = {
  unspec: C.RTN_UNSPEC,
  unicast: C.RTN_UNICAST,
  local: C.RTN_LOCAL,
  broadcast: C.RTN_BROADCAST,
  anycast: C.RTN_ANYCAST,
  multicast: C.RTN_MULTICAST,
  blackhole: C.RTN_BLACKHOLE,
  unreachable: C.RTN_UNREACHABLE,
  prohibit: C.RTN_PROHIBIT,
  throw: C.RTN_THROW,
  nat: C.RTN_NAT,
  xresolve: C.RTN_XRESOLVE,
};

/** ndm_state names (NUD_*), accepted in neighbour specs. */
export type NeighborState = 'none' | 'incomplete' | 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'noarp' | 'permanent';
/** State names → NUD_*. */
export const NEIGHBOR_STATES: Readonly<Record<NeighborState, number>> = {
  none: C.NUD_NONE,
  incomplete: C.NUD_INCOMPLETE,
  reachable: C.NUD_REACHABLE,
  stale: C.NUD_STALE,
  delay: C.NUD_DELAY,
  probe: C.NUD_PROBE,
  failed: C.NUD_FAILED,
  noarp: C.NUD_NOARP,
  permanent: C.NUD_PERMANENT,
};

/** fib_rule_hdr action (FR_ACT_*). */
export type RuleAction = 'unspec' | 'to_tbl' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';
/** Action names → FR_ACT_*. */
export const RULE_ACTIONS: Readonly<Record<RuleAction, number>> = {
  unspec: C.FR_ACT_UNSPEC,
  to_tbl: C.FR_ACT_TO_TBL,
  goto: C.FR_ACT_GOTO,
  nop: C.FR_ACT_NOP,
  blackhole: C.FR_ACT_BLACKHOLE,
  unreachable: C.FR_ACT_UNREACHABLE,
  prohibit: C.FR_ACT_PROHIBIT,
};
