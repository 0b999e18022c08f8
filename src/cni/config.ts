/**
 * CNI plugin: the network configuration, in the reference `bridge` plugin's vocabulary
 * (bridge, isGateway, isDefaultGateway, ipMasq, mtu, hairpinMode; ipam ranges with subnet,
 * rangeStart, rangeEnd, gateway; routes; dns) plus the runtime's capabilities
 * (runtimeConfig portMappings, ips, mac) and CNI_ARGS IP=/MAC=. Addresses are allocated by
 * netplumb's kernel-held reservations, so `ipam.type` may only be absent, `netplumb` or
 * `host-local` (whose vocabulary it reads; there are no host-local files). A configuration
 * that cannot be honoured is code 7, a known field netplumb does not do code 2.
 * @module
 */
import { type Addr, type Cidr, contains, formatAddr, lastOf, parseAddr, parseCidr } from './address.js';
import { CNI_ERR, CniError } from './errors.js';
import { type CniCommand, type CniVersion, negotiate } from './version.js';

/** One address range of the network (IPv4 or IPv6). */
export interface IpRange {
  subnet: Cidr;
  /** First address handed out. */
  rangeStart: bigint;
  /** Last address handed out. */
  rangeEnd: bigint;
  /** The gateway, when the configuration names one. */
  gateway?: string;
  /** Whether start/end narrow the subnet (then the plugin picks the address itself). */
  narrowed: boolean;
}

/** A route of `ipam.routes`. */
export interface RouteConf {
  dst: string;
  gw?: string;
}

/** A port mapping of `runtimeConfig.portMappings` (the `portMappings` capability). */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
  hostIP?: string;
}

/** The spec's DNS object, passed through to the result. */
export interface Dns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** The parsed configuration of one call. */
export interface NetConf {
  cniVersion: CniVersion;
  /** Network name, also netplumb's network name. */
  name: string;
  type: string;
  /** Bridge name; default netplumb's (`np-<name>`). */
  bridge?: string;
  isGateway: boolean;
  isDefaultGateway: boolean;
  ipMasq: boolean;
  mtu?: number;
  hairpinMode: boolean;
  range4: IpRange;
  range6?: IpRange;
  routes: RouteConf[];
  dns?: Dns;
  /** Capabilities the runtime filled in, merged with CNI_ARGS IP=/MAC=. */
  runtime: { portMappings: PortMapping[]; ips: Addr[]; mac?: string };
  prevResult?: Record<string, unknown>;
  /** The whole object as received (GC reads its `cni.dev/*` keys). */
  raw: Record<string, unknown>;
}

/** The fields every verb needs, including DEL and GC, which must work with a partial configuration. */
export interface BaseConf {
  cniVersion: CniVersion;
  name: string;
  raw: Record<string, unknown>;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

function invalid(msg: string, details?: string): CniError {
  return new CniError(CNI_ERR.INVALID_CONFIG, msg, details);
}

function obj(v: unknown, field: string): Record<string, unknown> | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`${field} must be an object`);
  return v as Record<string, unknown>;
}

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw invalid(`${field} must be true or false`);
  return v;
}

function strings(v: unknown, field: string): string[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) throw invalid(`${field} must be an array of strings`);
  return v as string[];
}

/** The version and name of the configuration, checked for `command`. */
export function parseBase(raw: Record<string, unknown>, command: CniCommand): BaseConf {
  const cniVersion = negotiate(raw.cniVersion, command);
  if (typeof raw.name !== 'string' || !NAME_RE.test(raw.name)) {
    throw invalid(`name ${JSON.stringify(raw.name)} is not a network name (letters, digits, _ . -; at most 64)`);
  }
  return { cniVersion, name: raw.name, raw };
}

function parseRange(r: Record<string, unknown>, field: string): IpRange {
  const subnet = parseCidr(r.subnet);
  if (!subnet) throw invalid(`${field}.subnet ${JSON.stringify(r.subnet)} is not a CIDR such as 10.88.0.0/16`);
  const bits = subnet.family === 4 ? 32 : 128;
  if (subnet.prefixLength > bits - 2) throw invalid(`${field}.subnet ${subnet.text} leaves no room for a gateway and containers`);
  const inSubnet = (k: 'rangeStart' | 'rangeEnd' | 'gateway'): Addr | undefined => {
    if (r[k] === undefined) return undefined;
    const a = parseAddr(r[k]);
    if (!a || !contains(subnet, a)) throw invalid(`${field}.${k} ${JSON.stringify(r[k])} is not an address in ${subnet.text}`);
    return a;
  };
  const start = inSubnet('rangeStart');
  const end = inSubnet('rangeEnd');
  const gw = inSubnet('gateway');
  // host-local's defaults: from the second address (.1 is the gateway) to the last before broadcast.
  const first = subnet.network + 1n;
  const last = subnet.family === 4 ? lastOf(subnet) - 1n : lastOf(subnet);
  const rangeStart = start?.value ?? first;
  const rangeEnd = end?.value ?? last;
  if (rangeStart > rangeEnd) throw invalid(`${field}: rangeStart is after rangeEnd`);
  return {
    subnet,
    rangeStart,
    rangeEnd,
    ...(gw ? { gateway: formatAddr(gw) } : {}),
    narrowed: rangeStart > first + 1n || rangeEnd < last,
  };
}

/** Reads the IPAM section: `ranges` (one range per set; IPv4 first, at most one IPv6), or host-local's older flat `subnet`. */
function parseIpam(ipam: Record<string, unknown> | undefined): { range4: IpRange; range6?: IpRange; routes: RouteConf[] } {
  if (!ipam) throw invalid('ipam is required (ipam.ranges or ipam.subnet)');
  if (ipam.type !== undefined && ipam.type !== 'netplumb' && ipam.type !== 'host-local') {
    throw new CniError(CNI_ERR.UNSUPPORTED_FIELD, `ipam.type ${JSON.stringify(ipam.type)} is not supported`, 'netplumb allocates addresses itself: omit ipam.type, or use "netplumb" or "host-local"');
  }
  const ranges: IpRange[] = [];
  if (ipam.ranges !== undefined) {
    if (!Array.isArray(ipam.ranges)) throw invalid('ipam.ranges must be an array of range sets');
    ipam.ranges.forEach((set: unknown, i) => {
      if (!Array.isArray(set) || set.length === 0) throw invalid(`ipam.ranges[${i}] must be a non-empty array of ranges`);
      if (set.length > 1) throw new CniError(CNI_ERR.UNSUPPORTED_FIELD, `ipam.ranges[${i}] has ${set.length} ranges; netplumb takes one range per set`);
      ranges.push(parseRange(obj(set[0], `ipam.ranges[${i}][0]`) ?? {}, `ipam.ranges[${i}][0]`));
    });
  } else if (ipam.subnet !== undefined) {
    ranges.push(parseRange(ipam, 'ipam'));
  }
  const v4 = ranges.filter((r) => r.subnet.family === 4);
  const v6 = ranges.filter((r) => r.subnet.family === 6);
  if (v4.length !== 1) throw invalid(`ipam needs exactly one IPv4 range (got ${v4.length})`);
  if (v6.length > 1) throw invalid(`ipam takes at most one IPv6 range (got ${v6.length})`);
  const routes: RouteConf[] = [];
  if (ipam.routes !== undefined) {
    if (!Array.isArray(ipam.routes)) throw invalid('ipam.routes must be an array of { dst, gw? }');
    ipam.routes.forEach((r: unknown, i) => {
      const o = obj(r, `ipam.routes[${i}]`) ?? {};
      const dst = parseCidr(o.dst);
      if (!dst) throw invalid(`ipam.routes[${i}].dst ${JSON.stringify(o.dst)} is not a CIDR`);
      if (o.gw !== undefined && parseAddr(o.gw)?.family !== dst.family) throw invalid(`ipam.routes[${i}].gw ${JSON.stringify(o.gw)} is not an IPv${dst.family} address`);
      routes.push({ dst: dst.text, ...(o.gw !== undefined ? { gw: o.gw as string } : {}) });
    });
  }
  return { range4: v4[0] as IpRange, ...(v6[0] ? { range6: v6[0] } : {}), routes };
}

function parsePortMappings(v: unknown): PortMapping[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid('runtimeConfig.portMappings must be an array');
  return v.map((m: unknown, i) => {
    const o = obj(m, `runtimeConfig.portMappings[${i}]`) ?? {};
    const port = (k: string): number => {
      const p = o[k];
      if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > 65535) throw invalid(`runtimeConfig.portMappings[${i}].${k} ${JSON.stringify(p)} is not a port`);
      return p;
    };
    const protocol = typeof o.protocol === 'string' && o.protocol !== '' ? o.protocol.toLowerCase() : 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp') throw new CniError(CNI_ERR.UNSUPPORTED_FIELD, `runtimeConfig.portMappings[${i}].protocol ${JSON.stringify(o.protocol)} is not tcp or udp`);
    const hostIP = typeof o.hostIP === 'string' && o.hostIP !== '' ? o.hostIP : undefined;
    if (hostIP !== undefined && !parseAddr(hostIP)) throw invalid(`runtimeConfig.portMappings[${i}].hostIP ${JSON.stringify(hostIP)} is not an address`);
    return { hostPort: port('hostPort'), containerPort: port('containerPort'), protocol, ...(hostIP ? { hostIP } : {}) };
  });
}

/** Requested addresses: `runtimeConfig.ips` (the `ips` capability) and CNI_ARGS IP= (comma-separated), with or without a prefix. */
function parseIps(list: string[], ranges: IpRange[]): Addr[] {
  const out: Addr[] = [];
  for (const text of list) {
    const a = parseAddr(text.includes('/') ? text.slice(0, text.indexOf('/')) : text);
    if (!a) throw invalid(`requested address ${JSON.stringify(text)} is not an address`);
    const range = ranges.find((r) => contains(r.subnet, a));
    if (!range) throw invalid(`requested address ${text} is not in ${ranges.map((r) => r.subnet.text).join(' or ')}`);
    if (out.some((o) => o.family === a.family)) throw invalid(`more than one IPv${a.family} address requested`);
    out.push(a);
  }
  return out;
}

/** The whole configuration for ADD and CHECK. */
export function parseConfig(raw: Record<string, unknown>, command: CniCommand, args: Record<string, string>): NetConf {
  const base = parseBase(raw, command);
  if (typeof raw.type !== 'string') throw invalid('type is required');
  const { range4, range6, routes } = parseIpam(obj(raw.ipam, 'ipam'));
  if (raw.bridge !== undefined && (typeof raw.bridge !== 'string' || raw.bridge === '' || Buffer.byteLength(raw.bridge) > 15 || /[/:\s]/.test(raw.bridge))) {
    throw invalid(`bridge ${JSON.stringify(raw.bridge)} is not an interface name (at most 15 bytes)`);
  }
  if (raw.mtu !== undefined && (typeof raw.mtu !== 'number' || !Number.isInteger(raw.mtu) || raw.mtu < 68 || raw.mtu > 65535)) {
    throw invalid(`mtu ${JSON.stringify(raw.mtu)} is not an MTU (68-65535)`);
  }
  if (raw.vlan !== undefined) throw new CniError(CNI_ERR.UNSUPPORTED_FIELD, 'vlan is not supported by netplumb-cni');
  const rc = obj(raw.runtimeConfig, 'runtimeConfig') ?? {};
  const ipList = [...(strings(rc.ips, 'runtimeConfig.ips') ?? []), ...(args.IP ? args.IP.split(',') : [])];
  const mac = (typeof rc.mac === 'string' && rc.mac !== '' ? rc.mac : undefined) ?? (args.MAC || undefined);
  if (mac !== undefined && !MAC_RE.test(mac)) throw invalid(`requested MAC ${JSON.stringify(mac)} is not a MAC address`);
  const dnsObj = obj(raw.dns, 'dns');
  let dns: Dns | undefined;
  if (dnsObj) {
    dns = {};
    const ns = strings(dnsObj.nameservers, 'dns.nameservers');
    const search = strings(dnsObj.search, 'dns.search');
    const options = strings(dnsObj.options, 'dns.options');
    if (ns) dns.nameservers = ns;
    if (typeof dnsObj.domain === 'string') dns.domain = dnsObj.domain;
    if (search) dns.search = search;
    if (options) dns.options = options;
  }
  const isDefaultGateway = bool(raw.isDefaultGateway, 'isDefaultGateway', false);
  const prevResult = obj(raw.prevResult, 'prevResult');
  return {
    ...base,
    type: raw.type,
    ...(typeof raw.bridge === 'string' ? { bridge: raw.bridge } : {}),
    // The reference plugin's rule: a default gateway is a gateway.
    isGateway: bool(raw.isGateway, 'isGateway', false) || isDefaultGateway,
    isDefaultGateway,
    ipMasq: bool(raw.ipMasq, 'ipMasq', false),
    ...(raw.mtu !== undefined ? { mtu: raw.mtu as number } : {}),
    hairpinMode: bool(raw.hairpinMode, 'hairpinMode', false),
    range4,
    ...(range6 ? { range6 } : {}),
    routes,
    ...(dns ? { dns } : {}),
    runtime: { portMappings: parsePortMappings(rc.portMappings), ips: parseIps(ipList, range6 ? [range4, range6] : [range4]), ...(mac ? { mac: mac.toLowerCase() } : {}) },
    ...(prevResult ? { prevResult } : {}),
  };
}

/** Whether the container gets a default route: isDefaultGateway, or a default route in ipam.routes. */
export function wantsDefaultRoute(conf: NetConf): boolean {
  return conf.isDefaultGateway || conf.routes.some((r) => r.dst === '0.0.0.0/0' || r.dst === '::/0');
}
