/**
 * Layer 2 (rtnetlink): the route object — struct rtmsg and RTA_* decoded into
 * {@link Route} (what `ip -j -d route show` prints), and the encoders of RTM_NEWROUTE /
 * RTM_DELROUTE / RTM_GETROUTE, which write what `ip route add|replace|del|get|show` sends,
 * with iproute2's defaults (table main, protocol boot, scope link for a route without a
 * gateway).
 * @module
 */
import { DecodeError, ValidationError } from '../errors.js';
import { Attributes, type UnknownAttribute } from '../netlink/attributes.js';
import type { Batch } from '../netlink/batch.js';
import { NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants.js';
import type { NetlinkMessage } from '../netlink/message.js';
import { HOST_LE, type Writer } from '../netlink/writer.js';
import {
  type Put,
  cString,
  decodeName,
  ipAttr,
  ipText,
  needHeader,
  putBe16,
  putBytes,
  putContainer,
  putNest,
  putString,
  putU32,
  putU8,
  structS32,
  structU16,
  structU32,
  writeAll,
} from './attrs.js';
import * as C from './constants.js';
import { type IpBytes, type IpFamily, afOf, formatCidr, ipFamilyOf, networkOf, parseCidr, parseIp } from './ip.js';
import { PROTOCOLS, type ProtocolName, ROUTE_TYPES, type RouteType, SCOPES, type ScopeName, TABLES, type TableName } from './names.js';
import { checkBool, checkIndexRef, checkInt, checkNamed, checkString, checkU16, checkU32, checkU8, type LinkRef } from './validate.js';

/** RTA_METRICS (RTAX_*): per-route TCP and path parameters (`ip route ... mtu 1400 advmss ...`). */
export interface RouteMetrics {
  /** RTAX_LOCK: bit (1 << RTAX_x) set means metric x is locked. */
  lock?: number;
  /** RTAX_MTU. */
  mtu?: number;
  /** RTAX_WINDOW. */
  window?: number;
  /** RTAX_RTT (milliseconds × 8, as the kernel stores it). */
  rtt?: number;
  /** RTAX_RTTVAR. */
  rttvar?: number;
  /** RTAX_SSTHRESH. */
  ssthresh?: number;
  /** RTAX_CWND. */
  cwnd?: number;
  /** RTAX_ADVMSS. */
  advmss?: number;
  /** RTAX_REORDERING. */
  reordering?: number;
  /** RTAX_HOPLIMIT. */
  hoplimit?: number;
  /** RTAX_INITCWND. */
  initcwnd?: number;
  /** RTAX_FEATURES: RTAX_FEATURE_* bits. */
  features?: number;
  /** RTAX_RTO_MIN. */
  rtoMin?: number;
  /** RTAX_INITRWND. */
  initrwnd?: number;
  /** RTAX_QUICKACK. */
  quickack?: number;
  /** RTAX_CC_ALGO: congestion control algorithm name. */
  ccAlgo?: string;
  /** RTAX_FASTOPEN_NO_COOKIE. */
  fastopenNoCookie?: number;
}

const METRICS: ReadonlyArray<readonly [Exclude<keyof RouteMetrics, 'ccAlgo'>, number]> = [
  ['lock', C.RTAX_LOCK],
  ['mtu', C.RTAX_MTU],
  ['window', C.RTAX_WINDOW],
  ['rtt', C.RTAX_RTT],
  ['rttvar', C.RTAX_RTTVAR],
  ['ssthresh', C.RTAX_SSTHRESH],
  ['cwnd', C.RTAX_CWND],
  ['advmss', C.RTAX_ADVMSS],
  ['reordering', C.RTAX_REORDERING],
  ['hoplimit', C.RTAX_HOPLIMIT],
  ['initcwnd', C.RTAX_INITCWND],
  ['features', C.RTAX_FEATURES],
  ['rtoMin', C.RTAX_RTO_MIN],
  ['initrwnd', C.RTAX_INITRWND],
  ['quickack', C.RTAX_QUICKACK],
  ['fastopenNoCookie', C.RTAX_FASTOPEN_NO_COOKIE],
];

/** One path of a multipath route (struct rtnexthop and its attributes). */
export interface NextHop {
  /** RTA_GATEWAY. */
  gateway?: string;
  /** RTA_VIA: a gateway of the other IP family (an IPv6 next hop of an IPv4 route). */
  via?: string;
  /** rtnh_ifindex. */
  oif: number;
  /** rtnh_hops + 1: the share of traffic. */
  weight: number;
  /** rtnh_flags: RTNH_F_* bits (RTNH_F_ONLINK, RTNH_F_LINKDOWN, RTNH_F_DEAD ...). */
  flags: number;
  /** RTA_FLOW: realms. */
  flow?: number;
  /** Attributes of the next hop netplumb does not model. */
  unknown: UnknownAttribute[];
}

/** RTA_CACHEINFO (struct rta_cacheinfo) of cached and `ip route get` routes. */
export interface RouteCacheInfo {
  clntref: number;
  /** Jiffies since last use. */
  lastuse: number;
  /** Jiffies until expiry (0: none). */
  expires: number;
  error: number;
  used: number;
  id: number;
  ts: number;
  tsage: number;
}

/** A decoded route. */
export interface Route {
  /** rtm_family. */
  family: IpFamily;
  /** RTA_DST with rtm_dst_len, always as a prefix: `0.0.0.0/0` / `::/0` is the default route. */
  dst: string;
  /** RTA_SRC with rtm_src_len (source-specific IPv6 routes), when set. */
  src?: string;
  /** rtm_tos. */
  tos: number;
  /** RTA_TABLE (or rtm_table): 254 main, 255 local, 253 default. */
  table: number;
  /** rtm_protocol: RTPROT_* (2 kernel, 3 boot, 4 static ...). */
  protocol: number;
  /** rtm_scope: RT_SCOPE_* (0 universe, 253 link, 254 host). */
  scope: number;
  /** rtm_type. */
  type: RouteType;
  /** rtm_flags: RTM_F_* and RTNH_F_* bits. */
  flags: number;
  /** RTA_GATEWAY. */
  gateway?: string;
  /** RTA_VIA. */
  via?: string;
  /** RTA_OIF. */
  oif?: number;
  /** RTA_IIF. */
  iif?: number;
  /** RTA_PREFSRC. */
  prefsrc?: string;
  /** RTA_PRIORITY: the metric. */
  priority?: number;
  /** RTA_METRICS. */
  metrics?: RouteMetrics;
  /** RTA_MULTIPATH. */
  multipath?: NextHop[];
  /** RTA_FLOW: realms. */
  flow?: number;
  /** RTA_MARK (in `ip route get` answers). */
  mark?: number;
  /** RTA_PREF: IPv6 router preference (ICMPV6_ROUTER_PREF_*: 0 medium, 1 high, 3 low). */
  pref?: number;
  /** RTA_EXPIRES: seconds until an IPv6 route expires. */
  expires?: number;
  /** RTA_CACHEINFO. */
  cacheinfo?: RouteCacheInfo;
  /** RTA_UID (in `ip route get` answers). */
  uid?: number;
  /** RTA_NH_ID: the nexthop object the route uses. */
  nhId?: number;
  /** RTA_TTL_PROPAGATE (MPLS). */
  ttlPropagate?: boolean;
  /** RTA_IP_PROTO, RTA_SPORT, RTA_DPORT (in `ip route get` answers). */
  ipProto?: number;
  sport?: number;
  dport?: number;
  /** RTA_ENCAP_TYPE: LWTUNNEL_ENCAP_* (the RTA_ENCAP data is kept in `unknown`). */
  encapType?: number;
  /** RTA_* attributes netplumb does not model. */
  unknown: UnknownAttribute[];
}

/** One path of a multipath route to add (`nexthop via GW dev LINK weight N`). */
export interface NextHopSpec {
  /** RTA_GATEWAY of the route's family, or (RTA_VIA) of the other. */
  gateway?: string;
  /** rtnh_ifindex: the outgoing link, by ifindex (Routes.add() also takes a name). */
  oif?: LinkRef;
  /** 1-256; default 1. */
  weight?: number;
  /** RTNH_F_ONLINK: the gateway is on the link even if no prefix says so. */
  onlink?: boolean;
  /** RTA_FLOW: realms. */
  flow?: number;
}

/** A route to add, replace or delete. Only the fields given are sent (deletion matches on them). */
export interface RouteSpec {
  /** `default`, a prefix (`10.0.0.0/24`) or an address (a host route). */
  dst: string;
  /** IP version, needed only when nothing else (dst, gateway ...) says: `default` alone. */
  family?: IpFamily;
  /** RTA_SRC: source prefix (IPv6 source-specific routing, `from PREFIX`). */
  src?: string;
  /** RTA_GATEWAY (or RTA_VIA for a gateway of the other family). */
  gateway?: string;
  /** RTA_OIF: the outgoing link, by ifindex (Routes.add() also takes a name). */
  oif?: LinkRef;
  /** RTA_PREFSRC: source address to prefer (`src ADDR`). */
  prefsrc?: string;
  /** RTA_PRIORITY: the metric. */
  priority?: number;
  /** Table id or name; default main. Ids above 255 go in RTA_TABLE. */
  table?: TableName | number;
  /** rtm_protocol; default boot, as `ip route add` does. */
  protocol?: ProtocolName | number;
  /** rtm_scope; default as `ip route add`: link without a gateway, host for local routes, else universe. */
  scope?: ScopeName | number;
  /** rtm_type; default unicast. */
  type?: RouteType;
  /** rtm_tos. */
  tos?: number;
  /** RTNH_F_ONLINK in rtm_flags (`onlink`). */
  onlink?: boolean;
  /** RTA_METRICS. */
  metrics?: RouteMetrics;
  /** RTA_MULTIPATH: several next hops (instead of gateway/oif). */
  multipath?: NextHopSpec[];
  /** RTA_FLOW: realms. */
  flow?: number;
  /** RTA_PREF: IPv6 router preference (0 medium, 1 high, 3 low). */
  pref?: number;
  /** RTA_EXPIRES: lifetime in seconds (IPv6). */
  expires?: number;
  /** RTA_NH_ID: use a nexthop object instead of gateway/oif. */
  nhId?: number;
}

/** Filters of a route dump; the kernel applies them itself. */
export interface RouteFilter {
  /** Only IPv4 or IPv6. */
  family?: IpFamily;
  /** Only this table (default: every table, like `ip route show table all`). */
  table?: TableName | number;
  /** Only routes of this protocol. */
  protocol?: ProtocolName | number;
  /** Only routes of this type. */
  type?: RouteType;
  /** Only routes through this link (ifindex; Routes.list() also takes a name). */
  oif?: LinkRef;
}

/** Options of `ip route get` besides the destination. */
export interface RouteGetOptions {
  /** RTA_SRC: the source address of the flow (`from ADDR`). */
  from?: string;
  /** RTA_IIF: the flow arrives on this link (ifindex; Routes.get() also takes a name). */
  iif?: LinkRef;
  /** RTA_OIF: force this outgoing link. */
  oif?: LinkRef;
  /** RTA_MARK: the flow's fwmark. */
  mark?: number;
  /** RTA_UID: the flow's uid. */
  uid?: number;
  /** RTA_IP_PROTO. */
  ipProto?: number;
  /** RTA_SPORT. */
  sport?: number;
  /** RTA_DPORT. */
  dport?: number;
  /** rtm_tos. */
  tos?: number;
  /** RTM_F_FIB_MATCH: return the FIB entry that matched rather than the resolved route. */
  fibMatch?: boolean;
}

// ---------------------------------------------------------------- decoding

const NEXTHOP_KNOWN = new Set([C.RTA_GATEWAY, C.RTA_VIA, C.RTA_FLOW]);

/** RTA_VIA: struct rtvia (u16 family, then the address). */
function viaText(d: Buffer): string {
  if (d.length < 2) throw new DecodeError(`RTA_VIA of ${d.length} bytes`, 0);
  return ipText(d.subarray(2), C.RTA_VIA);
}

function decodeMultipath(d: Buffer): NextHop[] {
  const out: NextHop[] = [];
  let off = 0;
  while (off + C.RTNEXTHOP_LEN <= d.length) {
    const len = structU16(d, off, 'rtnexthop');
    if (len < C.RTNEXTHOP_LEN || off + len > d.length) throw new DecodeError(`rtnexthop claims ${len} bytes, ${d.length - off} left`, off);
    const a = Attributes.parse(d, off + C.RTNEXTHOP_LEN, off + len);
    const hop: NextHop = {
      oif: structS32(d, off + 4, 'rtnexthop'),
      weight: (d[off + 3] as number) + 1,
      flags: d[off + 2] as number,
      unknown: a.unknown(NEXTHOP_KNOWN),
    };
    const gw = ipAttr(a, C.RTA_GATEWAY);
    if (gw !== undefined) hop.gateway = gw;
    const via = a.get(C.RTA_VIA);
    if (via !== undefined) hop.via = viaText(via);
    const flow = a.u32(C.RTA_FLOW);
    if (flow !== undefined) hop.flow = flow;
    out.push(hop);
    off += (len + 3) & ~3;
  }
  return out;
}

function decodeMetrics(a: Attributes): RouteMetrics {
  const out: RouteMetrics = {};
  for (const [key, type] of METRICS) {
    const v = a.u32(type);
    if (v !== undefined) out[key] = v;
  }
  const cc = a.get(C.RTAX_CC_ALGO);
  if (cc !== undefined) out.ccAlgo = cString(cc);
  return out;
}

const ROUTE_KNOWN = new Set([
  C.RTA_DST,
  C.RTA_SRC,
  C.RTA_IIF,
  C.RTA_OIF,
  C.RTA_GATEWAY,
  C.RTA_PRIORITY,
  C.RTA_PREFSRC,
  C.RTA_METRICS,
  C.RTA_MULTIPATH,
  C.RTA_FLOW,
  C.RTA_CACHEINFO,
  C.RTA_TABLE,
  C.RTA_MARK,
  C.RTA_VIA,
  C.RTA_PREF,
  C.RTA_ENCAP_TYPE,
  C.RTA_EXPIRES,
  C.RTA_PAD,
  C.RTA_UID,
  C.RTA_TTL_PROPAGATE,
  C.RTA_IP_PROTO,
  C.RTA_SPORT,
  C.RTA_DPORT,
  C.RTA_NH_ID,
]);

/** Decodes an RTM_NEWROUTE/RTM_DELROUTE message; DecodeError when truncated or malformed. */
export function decodeRoute(msg: NetlinkMessage): Route {
  const p = msg.payload;
  needHeader(p, C.RTMSG_LEN, 'rtmsg');
  const family = ipFamilyOf(p[0] as number);
  if (family === undefined) throw new DecodeError(`route of family ${p[0]}`, 0);
  const a = Attributes.parse(p, C.RTMSG_LEN);
  const zero = new Uint8Array(family === 4 ? 4 : 16);
  const dstLen = p[1] as number;
  const srcLen = p[2] as number;
  const dst = a.get(C.RTA_DST);
  const out: Route = {
    family,
    dst: dst === undefined ? formatCidr(zero, dstLen) : `${ipText(dst, C.RTA_DST)}/${dstLen}`,
    tos: p[3] as number,
    table: a.u32(C.RTA_TABLE) ?? (p[4] as number),
    protocol: p[5] as number,
    scope: p[6] as number,
    type: decodeName(ROUTE_TYPES, p[7] as number, 'rtm_type'),
    flags: structU32(p, 8, 'rtmsg'),
    unknown: a.unknown(ROUTE_KNOWN),
  };
  const src = a.get(C.RTA_SRC);
  if (src !== undefined || srcLen > 0) out.src = src === undefined ? formatCidr(zero, srcLen) : `${ipText(src, C.RTA_SRC)}/${srcLen}`;
  const gw = ipAttr(a, C.RTA_GATEWAY);
  if (gw !== undefined) out.gateway = gw;
  const via = a.get(C.RTA_VIA);
  if (via !== undefined) out.via = viaText(via);
  const u32s: ReadonlyArray<readonly ['oif' | 'iif' | 'priority' | 'flow' | 'mark' | 'expires' | 'uid' | 'nhId', number]> = [
    ['oif', C.RTA_OIF],
    ['iif', C.RTA_IIF],
    ['priority', C.RTA_PRIORITY],
    ['flow', C.RTA_FLOW],
    ['mark', C.RTA_MARK],
    ['expires', C.RTA_EXPIRES],
    ['uid', C.RTA_UID],
    ['nhId', C.RTA_NH_ID],
  ];
  for (const [key, type] of u32s) {
    const v = a.u32(type);
    if (v !== undefined) out[key] = v;
  }
  const prefsrc = ipAttr(a, C.RTA_PREFSRC);
  if (prefsrc !== undefined) out.prefsrc = prefsrc;
  const metrics = a.nested(C.RTA_METRICS);
  if (metrics) out.metrics = decodeMetrics(metrics);
  const mp = a.get(C.RTA_MULTIPATH);
  if (mp !== undefined) out.multipath = decodeMultipath(mp);
  const pref = a.u8(C.RTA_PREF);
  if (pref !== undefined) out.pref = pref;
  const ci = a.get(C.RTA_CACHEINFO);
  if (ci !== undefined) {
    const w = 'RTA_CACHEINFO';
    out.cacheinfo = {
      clntref: structU32(ci, 0, w),
      lastuse: structU32(ci, 4, w),
      expires: structS32(ci, 8, w),
      error: structU32(ci, 12, w),
      used: structU32(ci, 16, w),
      id: structU32(ci, 20, w),
      ts: structU32(ci, 24, w),
      tsage: structU32(ci, 28, w),
    };
  }
  const ttl = a.u8(C.RTA_TTL_PROPAGATE);
  if (ttl !== undefined) out.ttlPropagate = ttl !== 0;
  const ipProto = a.u8(C.RTA_IP_PROTO);
  if (ipProto !== undefined) out.ipProto = ipProto;
  const sport = a.be16(C.RTA_SPORT);
  if (sport !== undefined) out.sport = sport;
  const dport = a.be16(C.RTA_DPORT);
  if (dport !== undefined) out.dport = dport;
  const encapType = a.u16(C.RTA_ENCAP_TYPE);
  if (encapType !== undefined) {
    out.encapType = encapType;
    // The encapsulation's own attributes depend on its type; keep them whole.
    const encap = a.all(C.RTA_ENCAP).at(-1);
    if (encap) out.unknown.push({ type: encap.type, nested: encap.nested, data: Uint8Array.from(encap.data) });
  }
  return out;
}

// ---------------------------------------------------------------- encoding

interface Rtmsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

function writeRtmsg(w: Writer, h: Rtmsg): void {
  w.putU8(h.family);
  w.putU8(h.dstLen);
  w.putU8(h.srcLen);
  w.putU8(h.tos);
  w.putU8(h.table);
  w.putU8(h.protocol);
  w.putU8(h.scope);
  w.putU8(h.type);
  w.putU32(h.flags);
}

/** The family of a route from whichever of its addresses says it first. */
function routeFamily(spec: RouteSpec): IpFamily {
  const explicit = spec.family;
  if (explicit !== undefined && explicit !== 4 && explicit !== 6) throw new ValidationError('family', `${String(explicit)} is not 4 or 6`);
  // The gateway may be of the other family (RTA_VIA), so it decides only when nothing else does.
  const fields: Array<[keyof RouteSpec, unknown]> = [['dst', spec.dst], ['src', spec.src], ['prefsrc', spec.prefsrc], ['gateway', spec.gateway]];
  for (const [field, text] of fields) {
    if (text === undefined || text === 'default') continue;
    const f = parseCidr(text, field).family;
    if (explicit !== undefined && f !== explicit && field !== 'gateway') throw new ValidationError(field, `"${String(text)}" is IPv${f} but family is ${explicit}`);
    return explicit ?? f;
  }
  return explicit ?? 4;
}

/** A gateway as RTA_GATEWAY (same family) or RTA_VIA (the other). */
function gatewayPut(text: string, family: IpFamily, field: string): Put {
  const gw = parseIp(text, field);
  if (gw.family === family) return putBytes(C.RTA_GATEWAY, gw.bytes);
  return (w) => {
    const s = w.beginAttr(C.RTA_VIA);
    w.putU16(afOf(gw.family));
    w.putBytes(gw.bytes);
    w.endAttr(s);
  };
}

function tableParts(table: TableName | number | undefined, fallback: number): { header: number; attr?: Put } {
  const id = table === undefined ? fallback : checkNamed(table, 'table', TABLES, 0xffffffff);
  // rtm_table has 8 bits; larger ids travel in RTA_TABLE with rtm_table RT_TABLE_UNSPEC.
  return id < 256 ? { header: id } : { header: C.RT_TABLE_UNSPEC, attr: putU32(C.RTA_TABLE, id) };
}

function prepareMetrics(m: RouteMetrics): Put {
  if (m === null || typeof m !== 'object') throw new ValidationError('metrics', 'must be an object');
  const puts: Put[] = [];
  for (const [key, type] of METRICS) if (m[key] !== undefined) puts.push(putU32(type, checkU32(m[key], `metrics.${key}`)));
  if (m.ccAlgo !== undefined) puts.push(putString(C.RTAX_CC_ALGO, checkString(m.ccAlgo, 'metrics.ccAlgo', 15)));
  return putNest(C.RTA_METRICS, puts);
}

function prepareMultipath(hops: NextHopSpec[], family: IpFamily): Put {
  if (!Array.isArray(hops) || hops.length === 0) throw new ValidationError('multipath', 'must be a non-empty array of next hops');
  const entries = hops.map((h, i): Put => {
    const f = `multipath[${i}]`;
    const attrs: Put[] = [];
    if (h.gateway !== undefined) attrs.push(gatewayPut(h.gateway, family, `${f}.gateway`));
    if (h.flow !== undefined) attrs.push(putU32(C.RTA_FLOW, checkU32(h.flow, `${f}.flow`)));
    const ifindex = h.oif === undefined ? 0 : checkIndexRef(h.oif, `${f}.oif`);
    const weight = h.weight === undefined ? 1 : checkInt(h.weight, `${f}.weight`, 1, 256);
    const flags = h.onlink !== undefined && checkBool(h.onlink, `${f}.onlink`) ? C.RTNH_F_ONLINK : 0;
    return (w) => {
      const start = w.offset;
      w.putU16(0); // rtnh_len, filled in below
      w.putU8(flags);
      w.putU8(weight - 1);
      w.putI32(ifindex);
      writeAll(w, attrs);
      const len = w.offset - start;
      if (HOST_LE) w.buf.writeUInt16LE(len, start);
      else w.buf.writeUInt16BE(len, start);
    };
  });
  return putContainer(C.RTA_MULTIPATH, entries);
}

interface PreparedRoute {
  header: Rtmsg;
  attrs: Put[];
  label: string;
}

function prepareRoute(spec: RouteSpec, del: boolean): PreparedRoute {
  if (spec === null || typeof spec !== 'object') throw new ValidationError('spec', 'must be a route spec object');
  if (typeof spec.dst !== 'string') throw new ValidationError('dst', 'must be "default" or a prefix such as 10.0.0.0/24');
  const family = routeFamily(spec);
  const dst: IpBytes & { prefixlen: number } =
    spec.dst === 'default' ? { family, bytes: new Uint8Array(family === 4 ? 4 : 16), prefixlen: 0 } : parseCidr(spec.dst, 'dst', family);
  const type = spec.type === undefined ? (del ? C.RTN_UNSPEC : C.RTN_UNICAST) : checkNamed(spec.type, 'type', ROUTE_TYPES, C.RTN_XRESOLVE);
  const local = type === C.RTN_LOCAL || type === C.RTN_BROADCAST || type === C.RTN_NAT || type === C.RTN_ANYCAST;
  const table = tableParts(spec.table, local ? C.RT_TABLE_LOCAL : C.RT_TABLE_MAIN);
  const hasGateway = spec.gateway !== undefined || spec.multipath !== undefined || spec.nhId !== undefined;
  let scope: number;
  if (spec.scope !== undefined) scope = checkNamed(spec.scope, 'scope', SCOPES, 255);
  else if (del) scope = C.RT_SCOPE_NOWHERE;
  else if (family === 6) scope = C.RT_SCOPE_UNIVERSE;
  else if (type === C.RTN_LOCAL || type === C.RTN_NAT) scope = C.RT_SCOPE_HOST;
  else if (type === C.RTN_BROADCAST || type === C.RTN_MULTICAST || type === C.RTN_ANYCAST) scope = C.RT_SCOPE_LINK;
  else if ((type === C.RTN_UNICAST || type === C.RTN_UNSPEC) && !hasGateway) scope = C.RT_SCOPE_LINK;
  else scope = C.RT_SCOPE_UNIVERSE;
  const protocol = spec.protocol === undefined ? (del ? C.RTPROT_UNSPEC : C.RTPROT_BOOT) : checkNamed(spec.protocol, 'protocol', PROTOCOLS, 255);
  const flags = spec.onlink !== undefined && checkBool(spec.onlink, 'onlink') ? C.RTNH_F_ONLINK : 0;

  const attrs: Put[] = [];
  if (dst.prefixlen > 0) attrs.push(putBytes(C.RTA_DST, networkOf(dst.bytes, dst.prefixlen)));
  let srcLen = 0;
  if (spec.src !== undefined) {
    const src = parseCidr(spec.src, 'src', family);
    srcLen = src.prefixlen;
    attrs.push(putBytes(C.RTA_SRC, networkOf(src.bytes, src.prefixlen)));
  }
  if (spec.gateway !== undefined) attrs.push(gatewayPut(spec.gateway, family, 'gateway'));
  if (spec.priority !== undefined) attrs.push(putU32(C.RTA_PRIORITY, checkU32(spec.priority, 'priority')));
  if (table.attr) attrs.push(table.attr);
  if (spec.oif !== undefined) attrs.push(putU32(C.RTA_OIF, checkIndexRef(spec.oif, 'oif')));
  if (spec.prefsrc !== undefined) attrs.push(putBytes(C.RTA_PREFSRC, parseIp(spec.prefsrc, 'prefsrc', family).bytes));
  if (spec.metrics !== undefined) attrs.push(prepareMetrics(spec.metrics));
  if (spec.multipath !== undefined) attrs.push(prepareMultipath(spec.multipath, family));
  if (spec.flow !== undefined) attrs.push(putU32(C.RTA_FLOW, checkU32(spec.flow, 'flow')));
  if (spec.pref !== undefined) attrs.push(putU8(C.RTA_PREF, checkU8(spec.pref, 'pref')));
  if (spec.expires !== undefined) {
    if (family !== 6) throw new ValidationError('expires', 'only IPv6 routes expire');
    attrs.push(putU32(C.RTA_EXPIRES, checkU32(spec.expires, 'expires')));
  }
  if (spec.nhId !== undefined) attrs.push(putU32(C.RTA_NH_ID, checkU32(spec.nhId, 'nhId')));
  return {
    header: {
      family: afOf(family),
      dstLen: dst.prefixlen,
      srcLen,
      tos: spec.tos === undefined ? 0 : checkU8(spec.tos, 'tos'),
      table: table.header,
      protocol,
      scope,
      type,
      flags,
    },
    attrs,
    label: spec.dst === 'default' ? `default (IPv${family})` : spec.dst,
  };
}

function encode(batch: Batch, type: number, flags: number, verb: string, spec: RouteSpec): void {
  const p = prepareRoute(spec, type === C.RTM_DELROUTE);
  const w = batch.begin(type, NLM_F_ACK | flags, `${type === C.RTM_DELROUTE ? 'RTM_DELROUTE' : 'RTM_NEWROUTE'} ${verb} ${p.label}`);
  writeRtmsg(w, p.header);
  writeAll(w, p.attrs);
  batch.end();
}

/**
 * Writes `ip route add ...` (RTM_NEWROUTE, NLM_F_CREATE|NLM_F_EXCL). Throws
 * ValidationError for malformed input; the kernel answers EEXIST for an existing route,
 * ENETUNREACH when the gateway is not on a connected prefix, ENODEV for a missing link.
 */
export function encodeRouteAdd(batch: Batch, spec: RouteSpec): void {
  encode(batch, C.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, 'add', spec);
}

/** Writes `ip route replace ...` (RTM_NEWROUTE, NLM_F_CREATE|NLM_F_REPLACE). */
export function encodeRouteReplace(batch: Batch, spec: RouteSpec): void {
  encode(batch, C.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, 'replace', spec);
}

/** Writes `ip route append ...` (RTM_NEWROUTE, NLM_F_CREATE|NLM_F_APPEND): another route with the same key. */
export function encodeRouteAppend(batch: Batch, spec: RouteSpec): void {
  encode(batch, C.RTM_NEWROUTE, NLM_F_CREATE | NLM_F_APPEND, 'append', spec);
}

/**
 * Writes `ip route del ...` (RTM_DELROUTE). The kernel deletes the first route that
 * matches every field given and answers ESRCH when none does.
 */
export function encodeRouteDelete(batch: Batch, spec: RouteSpec): void {
  encode(batch, C.RTM_DELROUTE, 0, 'del', spec);
}

/** Writes `ip route show [table T] [proto P] [type T] [dev L]` as an RTM_GETROUTE dump (`oif` as an ifindex). */
export function encodeRouteDump(batch: Batch, filter: RouteFilter = {}): void {
  const table = filter.table === undefined ? { header: C.RT_TABLE_UNSPEC } : tableParts(filter.table, C.RT_TABLE_UNSPEC);
  const attrs: Put[] = [];
  if (table.attr) attrs.push(table.attr);
  if (filter.oif !== undefined) attrs.push(putU32(C.RTA_OIF, checkIndexRef(filter.oif, 'oif')));
  const header: Rtmsg = {
    family: filter.family === undefined ? C.AF_UNSPEC : afOf(filter.family),
    dstLen: 0,
    srcLen: 0,
    tos: 0,
    table: table.header,
    protocol: filter.protocol === undefined ? 0 : checkNamed(filter.protocol, 'protocol', PROTOCOLS, 255),
    scope: 0,
    type: filter.type === undefined ? 0 : checkNamed(filter.type, 'type', ROUTE_TYPES, C.RTN_XRESOLVE),
    flags: 0,
  };
  const w = batch.begin(C.RTM_GETROUTE, NLM_F_DUMP, 'RTM_GETROUTE dump');
  writeRtmsg(w, header);
  writeAll(w, attrs);
  batch.end();
}

/**
 * Writes `ip route get ADDRESS [from A] [iif L] [oif L] [mark M] ...`: a targeted
 * RTM_GETROUTE that asks the kernel to resolve the route a packet would take, with
 * NLM_F_ACK so a terminal reply always comes. Links must be ifindexes here.
 */
export function encodeRouteGet(batch: Batch, destination: string, options: RouteGetOptions = {}): void {
  const dst = parseIp(destination, 'destination');
  const full = dst.family === 4 ? 32 : 128;
  const attrs: Put[] = [putBytes(C.RTA_DST, dst.bytes)];
  let srcLen = 0;
  if (options.from !== undefined) {
    attrs.push(putBytes(C.RTA_SRC, parseIp(options.from, 'from', dst.family).bytes));
    srcLen = full;
  }
  if (options.iif !== undefined) attrs.push(putU32(C.RTA_IIF, checkIndexRef(options.iif, 'iif')));
  if (options.oif !== undefined) attrs.push(putU32(C.RTA_OIF, checkIndexRef(options.oif, 'oif')));
  if (options.mark !== undefined) attrs.push(putU32(C.RTA_MARK, checkU32(options.mark, 'mark')));
  if (options.uid !== undefined) attrs.push(putU32(C.RTA_UID, checkU32(options.uid, 'uid')));
  if (options.ipProto !== undefined) attrs.push(putU8(C.RTA_IP_PROTO, checkU8(options.ipProto, 'ipProto')));
  if (options.sport !== undefined) attrs.push(putBe16(C.RTA_SPORT, checkU16(options.sport, 'sport')));
  if (options.dport !== undefined) attrs.push(putBe16(C.RTA_DPORT, checkU16(options.dport, 'dport')));
  const fibMatch = options.fibMatch !== undefined && checkBool(options.fibMatch, 'fibMatch');
  const tos = options.tos === undefined ? 0 : checkU8(options.tos, 'tos');
  const w = batch.begin(C.RTM_GETROUTE, NLM_F_ACK, `RTM_GETROUTE ${destination}`);
  writeRtmsg(w, {
    family: afOf(dst.family),
    dstLen: full,
    srcLen,
    tos,
    table: 0,
    protocol: 0,
    scope: 0,
    type: 0,
    // RTM_F_LOOKUP_TABLE makes an IPv4 answer name the table the lookup found it in (IPv6
    // always does, and refuses the flag).
    flags: (dst.family === 4 ? C.RTM_F_LOOKUP_TABLE : 0) | (fibMatch ? C.RTM_F_FIB_MATCH : 0),
  });
  writeAll(w, attrs);
  batch.end();
}
