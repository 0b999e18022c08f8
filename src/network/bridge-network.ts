/**
 * Layer 4 (network): Docker's bridge driver over netplumb's own rtnetlink and nftables.
 * A network is a bridge with the gateway address, forwarding on, and its rules in the
 * `inet netplumb` table; an endpoint is a veth created in one message with its peer
 * already in the target namespace, configured there in one more batch, with its ports
 * published as map elements. Every multi-step operation undoes itself on failure.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { NetplumbError, ValidationError } from '../errors.js';
import { Batch } from '../netlink/batch.js';
import { native } from '../native.js';
import { NETNS_RUN_DIR, Netns, validateNetnsName } from '../netns.js';
import type { Transaction } from '../nft/index.js';
import { Attributes } from '../netlink/attributes.js';
import type { Reply } from '../netlink/batch.js';
import { runPipeline } from '../netlink/pipeline.js';
import { encodeAddressAdd } from '../rtnl/address.js';
import { RtnlBatch } from '../rtnl/batch.js';
import { IFINFOMSG_LEN, IFLA_LINK, RTM_NEWLINK } from '../rtnl/constants.js';
import { encodeLinkAdd, encodeLinkSet } from '../rtnl/link.js';
import { encodeRouteAdd } from '../rtnl/route.js';
import { checkIfname } from '../rtnl/validate.js';
import { parseMac, formatHw } from '../rtnl/ip.js';
import { Endpoint, type EndpointOwner, isGone } from './endpoint.js';
import { AddressPool, type Subnet, formatAddress, macFromIPv4, overlaps, parseAddress, parseSubnet } from './ipam.js';
import { PortAllocatedError, PortRegistry, type PublishSpec, type PublishedPort, normalizePublish } from './ports.js';
import { FAMILY, PORT_MAPS, TABLE, type PortElement, addNetwork, addTable, writePorts } from './ruleset.js';
import { type EndpointTag, type NetworkTag, endpointAlias, endpointComment, networkAlias, networkComment, parseEndpointAlias, parseEndpointComment, parseNetworkAlias } from './tag.js';

/** Options of {@link BridgeNetwork.create}, like `docker network create -d bridge`. */
export interface BridgeNetworkOptions {
  /** The namespace acting as the host; default the caller's own. */
  netns?: Netns;
  /** Network name (letters, digits, `_.-`; at most 64). */
  name: string;
  /** Bridge interface name (at most 15 bytes); default `np-<name>` cut to 15. */
  bridge?: string;
  /** IPv4 subnet, e.g. `172.30.0.0/16`. */
  subnet: string;
  /** Gateway (the bridge's address); default the subnet's first address. */
  gateway?: string;
  /** IPv6 subnet for dual stack, e.g. `fd00:30::/64`. */
  subnet6?: string;
  /** IPv6 gateway; default the subnet's first address. */
  gateway6?: string;
  /** MTU of the bridge and every veth. */
  mtu?: number;
  /** Masquerade traffic leaving the subnet through another interface (default true). */
  masquerade?: boolean;
  /** Endpoints may talk to each other (default true); false isolates bridge ports (`icc=false`). */
  icc?: boolean;
  /** No traffic in or out of the host, no default route, no published ports (default false). */
  internal?: boolean;
  /** Default host address for published ports (Docker's `com.docker.network.bridge.host_binding_ipv4`). */
  hostIp?: string;
}

/** Options of {@link BridgeNetwork.connect}, like `docker run --network NET --ip ... -p ...`. */
export interface ConnectOptions {
  /** Interface name inside the namespace; default `eth0`, then `eth1` ... for further networks. */
  ifname?: string;
  /** IPv4 address; default the next free one. Must be in the subnet, not the network/gateway/broadcast address, not in use. */
  ipv4?: string;
  /** IPv6 address on dual-stack networks; default the next free one. */
  ipv6?: string;
  /** MAC address; default derived from the IPv4 address as Docker does (172.17.0.2 → 02:42:ac:11:00:02). */
  mac?: string;
  /** Ports to publish. */
  publish?: PublishSpec[];
  /** Install the default route via the gateway; default true for the first network of a namespace. */
  defaultRoute?: boolean;
  /** When netplumb creates the namespace (no `netns` given to connect): mount it as /run/netns/NAME. */
  netnsName?: string;
}

/** What {@link BridgeNetwork.inspect} answers: `docker network inspect`. */
export interface NetworkInspect {
  name: string;
  driver: 'bridge';
  bridge: string;
  /** Namespace acting as the host. */
  netns: { path?: string; inode: number };
  ipam: { subnet: string; gateway: string; subnet6?: string; gateway6?: string };
  options: { mtu?: number; masquerade: boolean; icc: boolean; internal: boolean; hostIp?: string };
  endpoints: Array<{ id: string; ifname: string; hostIfname: string; ipv4?: string; ipv6?: string; mac: string; sandboxKey?: string; ports: PublishedPort[] }>;
}

/** Steps of connect() and create() at which tests may inject a failure. @internal */
export type FaultStep =
  | 'connect:netns'
  | 'connect:link'
  | 'connect:configure'
  | 'connect:publish'
  | 'create:bridge'
  | 'create:address'
  | 'create:sysctl'
  | 'create:rules';

/** Fault injection for tests: when set, called before each step; a throw makes that step fail. @internal */
export const faultInjection: { hook: ((step: FaultStep) => void) | undefined } = { hook: undefined };

function fault(step: FaultStep): void {
  faultInjection.hook?.(step);
}

/** State shared by every network of one host namespace. */
interface HostState {
  ports: PortRegistry;
  networks: Map<string, BridgeNetwork>;
}
const hosts = new Map<number, HostState>();
function hostState(inode: number): HostState {
  let s = hosts.get(inode);
  if (!s) hosts.set(inode, (s = { ports: new PortRegistry(), networks: new Map() }));
  return s;
}

/** Interfaces netplumb gave to endpoints in one namespace, and which endpoint owns its default route. */
interface NamespaceUse {
  ifnames: Set<string>;
  defaultRoute: string | undefined;
}
const namespaces = new Map<number, NamespaceUse>();
function namespaceUse(inode: number): NamespaceUse {
  let u = namespaces.get(inode);
  if (!u) namespaces.set(inode, (u = { ifnames: new Set(), defaultRoute: undefined }));
  return u;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ValidationError(field, 'must be true or false');
  return v;
}

/** Checks the `netns` option naming the host namespace (undefined: the caller's own). */
function checkHostNetns(netns: unknown): void {
  if (netns === undefined) return;
  if (!(netns instanceof Netns)) throw new ValidationError('netns', 'must be a Netns handle');
  if (netns.closed) throw new ValidationError('netns', 'the namespace handle is closed');
}

/** Position of the ports' nftables batch in connect()'s first pipeline (after create and tagging). */
const PUBLISH_STEP = 2;

/** Runs `undo` steps in reverse, keeping the first error of the operation itself. */
async function rollback(undo: Array<() => Promise<unknown> | unknown>): Promise<void> {
  for (const step of undo.reverse()) {
    try {
      await step();
    } catch {
      // Best effort: the original failure is what the caller needs to see.
    }
  }
}

/**
 * A Docker-style bridge network in one namespace acting as the host. Create it with
 * {@link create} (or rebuild it after a restart with {@link open}), attach namespaces
 * with {@link connect}, remove it with {@link remove}.
 */
export class BridgeNetwork implements EndpointOwner {
  /** Network name. */
  readonly name: string;
  /** The bridge interface. */
  readonly bridge: string;
  /** The bridge's ifindex. */
  readonly bridgeIndex: number;
  /** The namespace acting as the host. */
  readonly netns: Netns;
  /** IPv4 subnet (CIDR). */
  readonly subnet: string;
  /** IPv4 gateway (the bridge's address). */
  readonly gateway: string;
  /** IPv6 subnet on dual-stack networks. */
  readonly subnet6: string | undefined;
  /** IPv6 gateway. */
  readonly gateway6: string | undefined;
  readonly mtu: number | undefined;
  readonly masquerade: boolean;
  readonly icc: boolean;
  readonly internal: boolean;
  readonly hostIp: string | undefined;
  private readonly ownsHost: boolean;
  private readonly pool: AddressPool;
  private readonly pool6: AddressPool | undefined;
  private readonly host: HostState;
  private readonly live = new Map<string, Endpoint>();
  private readonly unpublishQueue: Array<{ elements: readonly PortElement[]; comment: string; resolve: () => void; reject: (e: unknown) => void }> = [];
  private unpublishing = false;
  private removed = false;

  private constructor(netns: Netns, ownsHost: boolean, index: number, bridge: string, tag: NetworkTag) {
    this.netns = netns;
    this.ownsHost = ownsHost;
    this.bridgeIndex = index;
    this.bridge = bridge;
    this.name = tag.name;
    this.subnet = tag.subnet;
    this.gateway = tag.gateway;
    this.subnet6 = tag.subnet6;
    this.gateway6 = tag.gateway6;
    this.mtu = tag.mtu;
    this.masquerade = tag.masquerade;
    this.icc = tag.icc;
    this.internal = tag.internal;
    this.hostIp = tag.hostIp;
    const s = parseSubnet(tag.subnet, 'subnet', 4);
    this.pool = new AddressPool(s, parseAddress(tag.gateway, 'gateway').value);
    if (tag.subnet6 && tag.gateway6) this.pool6 = new AddressPool(parseSubnet(tag.subnet6, 'subnet6', 6), parseAddress(tag.gateway6, 'gateway6').value);
    this.host = hostState(netns.inode);
  }

  /** Validates create() options into the tag that describes the network. */
  private static describe(o: BridgeNetworkOptions): { tag: NetworkTag; bridge: string; s4: Subnet; s6?: Subnet } {
    if (o === null || typeof o !== 'object') throw new ValidationError('options', 'must be an object');
    if (typeof o.name !== 'string' || !NAME_RE.test(o.name)) {
      throw new ValidationError('name', `${JSON.stringify(o.name)} is not a network name (letters, digits, _ . -; at most 64)`);
    }
    const bridge = checkIfname(o.bridge ?? `np-${o.name}`.slice(0, 15), 'bridge');
    const s4 = parseSubnet(o.subnet, 'subnet', 4);
    const gw = o.gateway === undefined ? s4.network + 1n : parseAddress(o.gateway, 'gateway', 4).value;
    new AddressPool(s4, -1n).check(gw, 'gateway');
    const tag: NetworkTag = {
      name: o.name,
      subnet: s4.cidr,
      gateway: formatAddress(4, gw),
      masquerade: bool(o.masquerade, 'masquerade', true),
      icc: bool(o.icc, 'icc', true),
      internal: bool(o.internal, 'internal', false),
    };
    let s6: Subnet | undefined;
    if (o.subnet6 !== undefined) {
      s6 = parseSubnet(o.subnet6, 'subnet6', 6);
      const gw6 = o.gateway6 === undefined ? s6.network + 1n : parseAddress(o.gateway6, 'gateway6', 6).value;
      new AddressPool(s6, -1n).check(gw6, 'gateway6');
      tag.subnet6 = s6.cidr;
      tag.gateway6 = formatAddress(6, gw6);
    } else if (o.gateway6 !== undefined) {
      throw new ValidationError('gateway6', 'needs subnet6');
    }
    if (o.mtu !== undefined) {
      if (!Number.isInteger(o.mtu) || o.mtu < 68 || o.mtu > 65535) throw new ValidationError('mtu', `${o.mtu} is not an MTU (68-65535)`);
      tag.mtu = o.mtu;
    }
    if (o.hostIp !== undefined) {
      const a = parseAddress(o.hostIp, 'hostIp');
      tag.hostIp = formatAddress(a.family, a.value);
    }
    return { tag, bridge, ...(s6 ? { s4, s6 } : { s4 }) };
  }

  /**
   * Creates a network, like `docker network create --subnet SUBNET NAME`: the bridge with
   * the gateway address, up; forwarding on in that namespace; the network's NAT and filter
   * rules in netplumb's `inet netplumb` table (created on first use). Rejects with
   * ValidationError before changing anything for bad options, a name or bridge already
   * used by a network, or a subnet overlapping another netplumb network's; with
   * NetlinkError (e.g. EEXIST when the bridge name is taken by another link) when the
   * kernel refuses — in every case nothing is left behind.
   */
  static async create(options: BridgeNetworkOptions): Promise<BridgeNetwork> {
    const { tag, bridge, s4, s6 } = BridgeNetwork.describe(options);
    checkHostNetns(options.netns);
    const ownsHost = options.netns === undefined;
    const host = options.netns ?? (await Netns.current());
    const undo: Array<() => Promise<unknown> | unknown> = [];
    if (ownsHost) undo.push(() => host.close());
    try {
      const state = hostState(host.inode);
      if (state.networks.has(tag.name)) throw new ValidationError('name', `network ${tag.name} already exists`);
      // Other processes' networks are known from the kernel: bridges carrying our tag.
      for (const l of await host.links.list()) {
        // The bridge's alias is set by a second request of the creating batch, which the
        // kernel runs even when the create fails: on a link of that name someone else
        // made, it would overwrite their alias with our tag. Refuse the name up front.
        if (l.name === bridge) throw new ValidationError('bridge', `${bridge} already exists${parseNetworkAlias(l.alias) ? ` (the bridge of network ${parseNetworkAlias(l.alias)?.name})` : ''}`);
        const other = l.kind === 'bridge' ? parseNetworkAlias(l.alias) : undefined;
        if (!other) continue;
        if (other.name === tag.name) throw new ValidationError('name', `network ${tag.name} already exists (bridge ${l.name})`);
        if (overlaps(parseSubnet(other.subnet, 'subnet'), s4)) throw new ValidationError('subnet', `${s4.cidr} overlaps network ${other.name} (${other.subnet})`);
        if (s6 && other.subnet6 && overlaps(parseSubnet(other.subnet6, 'subnet6'), s6)) {
          throw new ValidationError('subnet6', `${s6.cidr} overlaps network ${other.name} (${other.subnet6})`);
        }
      }

      fault('create:bridge');
      const alias = networkAlias({ ...tag, pid: process.pid });
      // Undone by name and tag, registered before the request: when its reply is lost the
      // bridge may exist all the same (and one someone else made is never ours to delete).
      let taken = false; // EEXIST: the name is someone else's, whatever alias it now has
      undo.push(() => (taken ? undefined : deleteTagged(host, bridge, alias, 'bridge')));
      const link = await host.links.add({ kind: 'bridge', name: bridge, up: true, alias, ...(tag.mtu ? { mtu: tag.mtu } : {}) }).catch((e: unknown) => {
        taken = e instanceof NetplumbError && e.code === 'EEXIST';
        throw e;
      });

      fault('create:address');
      const addrs = new RtnlBatch(host).addressAdd({ link: link.index, address: `${tag.gateway}/${s4.prefixLength}`, broadcast: true });
      if (s6 && tag.gateway6) addrs.addressAdd({ link: link.index, address: `${tag.gateway6}/${s6.prefixLength}`, nodad: true });
      await addrs.commit();

      fault('create:sysctl');
      // Routing between the bridge and the rest is what a bridge network is for; a loopback
      // source DNATed to a container (host → 127.0.0.1:PORT) must be routable on the bridge.
      await Promise.all([
        host.sysctl.set('net.ipv4.ip_forward', 1),
        host.sysctl.set(`net.ipv4.conf.${bridge.replace(/\./g, '/')}.route_localnet`, 1),
        ...(s6 ? [host.sysctl.set('net.ipv6.conf.all.forwarding', 1)] : []),
      ]);

      fault('create:rules');
      const rules = { name: tag.name, bridge, subnet: tag.subnet, masquerade: tag.masquerade, internal: tag.internal, ...(tag.subnet6 ? { subnet6: tag.subnet6 } : {}) };
      // Registered before the commit: when its answer is lost the rules may be in place.
      undo.push(() => removeRules(host, tag.name, bridge));
      await BridgeNetwork.commitRules(host, (tx) => addNetwork(tx, rules));

      const net = new BridgeNetwork(host, ownsHost, link.index, bridge, tag);
      state.networks.set(tag.name, net);
      return net;
    } catch (e) {
      await rollback(undo);
      throw e;
    }
  }

  /** Commits `write` together with the table itself when it does not exist yet. */
  private static async commitRules(host: Netns, write: (tx: Transaction) => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const exists = (await host.nft.getTable(FAMILY, TABLE)) !== undefined;
      const tx = host.nft.transaction();
      if (!exists) addTable(tx);
      write(tx);
      try {
        await tx.commit();
        return;
      } catch (e) {
        // Someone created the table (EEXIST) or removed the last network and the table with
        // it (ENOENT) between our look and our commit: look again.
        if (attempt < 8 && e instanceof NetplumbError && e.code === (exists ? 'ENOENT' : 'EEXIST')) continue;
        throw e;
      }
    }
  }

  /**
   * Rebuilds a network and its endpoints from the kernel alone (bridge and veth tags,
   * map element comments), e.g. after the process that created it restarted. Endpoints
   * whose namespace cannot be found (nothing mounts it and no process is in it) are left
   * out. Rejects with NetplumbError ENOENT when there is no such network.
   */
  static async open(name: string, options: { netns?: Netns } = {}): Promise<BridgeNetwork> {
    if (typeof name !== 'string' || !NAME_RE.test(name)) throw new ValidationError('name', `${JSON.stringify(name)} is not a network name`);
    if (options === null || typeof options !== 'object') throw new ValidationError('options', 'must be an object');
    checkHostNetns(options.netns);
    const ownsHost = options.netns === undefined;
    const host = options.netns ?? (await Netns.current());
    try {
      const state = hostState(host.inode);
      const known = state.networks.get(name);
      if (known && !known.removed) {
        if (ownsHost) host.close();
        return known;
      }
      const bridges = await host.links.list({ kind: 'bridge' });
      const bridge = bridges.find((l) => parseNetworkAlias(l.alias)?.name === name);
      const tag = bridge && parseNetworkAlias(bridge.alias);
      if (!bridge || !tag) throw new NetplumbError(`network ${name} does not exist`, 'ENOENT');
      const net = new BridgeNetwork(host, ownsHost, bridge.index, bridge.name, tag);
      await net.adoptEndpoints();
      state.networks.set(name, net);
      return net;
    } catch (e) {
      if (ownsHost) host.close();
      throw e;
    }
  }

  /** Reads back the endpoints of this network from the kernel and takes ownership of them. */
  private async adoptEndpoints(): Promise<void> {
    const ports = await this.readPorts();
    const seen = new Set<string>();
    const inodes = new Map<number, number>();
    for (const info of await Netns.list()) if (info.pids[0] !== undefined) inodes.set(info.inode, info.pids[0]);
    for (const l of await this.netns.links.list({ master: this.bridgeIndex })) {
      const tag = parseEndpointAlias(l.alias);
      if (!tag || tag.net !== this.name || l.link === undefined) continue;
      const ns = await findNetns(tag, inodes);
      if (!ns) continue;
      const ep = new Endpoint(this, {
        id: tag.id,
        netns: ns,
        ownsNetns: tag.own,
        ifname: tag.if,
        ifindex: l.link,
        hostIfname: l.name,
        ...(tag.ip ? { ipv4: tag.ip } : {}),
        ...(tag.ip6 ? { ipv6: tag.ip6 } : {}),
        prefixLength: this.pool.subnet.prefixLength,
        ...(this.pool6 ? { prefixLength6: this.pool6.subnet.prefixLength } : {}),
        mac: tag.mac,
        ...(this.internal ? {} : { gateway: this.gateway }),
        ...(this.gateway6 && !this.internal ? { gateway6: this.gateway6 } : {}),
        defaultRoute: tag.dr,
        ports: (ports.get(tag.id) ?? []).filter((p) => {
          // A dual-stack publish appears in the IPv4 and the IPv6 map: report it once.
          const k = `${p.protocol}/${p.hostPort}/${p.hostIp}`;
          if (seen.has(k)) return false;
          seen.add(k);
          return true;
        }),
      });
      if (tag.ip) this.pool.reserve(parseAddress(tag.ip, 'ipv4').value, 'ipv4');
      if (tag.ip6 && this.pool6) this.pool6.reserve(parseAddress(tag.ip6, 'ipv6').value, 'ipv6');
      this.host.ports.claim(ep.ports);
      const use = namespaceUse(ns.inode);
      use.ifnames.add(tag.if);
      if (tag.dr) use.defaultRoute = tag.id;
      this.live.set(ep.id, ep);
    }
  }

  /** Published ports of this network's endpoints, by endpoint id, from the maps' element comments. */
  private async readPorts(): Promise<Map<string, PublishedPort[]>> {
    const out = new Map<string, PublishedPort[]>();
    if ((await this.netns.nft.getTable(FAMILY, TABLE)) === undefined) return out;
    for (const v of [4, 6] as const) {
      for (const [set, bound] of [[PORT_MAPS[v].any, false], [PORT_MAPS[v].addr, true]] as const) {
        for (const e of await this.netns.nft.listElements(FAMILY, TABLE, set)) {
          const owner = parseEndpointComment(e.comment);
          if (!owner || owner.network !== this.name || !Array.isArray(e.key) || !Array.isArray(e.data)) continue;
          const key = e.key as Array<string | number>;
          const data = e.data as Array<string | number>;
          const [hostIp, proto, hostPort] = bound ? key : ['0.0.0.0', ...key];
          const list = out.get(owner.endpoint) ?? [];
          list.push({ protocol: proto === 'udp' || proto === 17 ? 'udp' : 'tcp', hostIp: String(hostIp), hostPort: Number(hostPort), containerPort: Number(data[1]) });
          out.set(owner.endpoint, list);
        }
      }
    }
    return out;
  }

  /** The endpoints attached now. */
  get endpoints(): Endpoint[] {
    return [...this.live.values()];
  }

  private assertUsable(): void {
    if (this.removed) throw new NetplumbError(`network ${this.name} has been removed`, 'ERR_NETPLUMB_CLOSED');
  }

  /**
   * Attaches a namespace, like `docker run --network NET [--ip A] [-p H:C]` or `docker
   * network connect`: a veth created in one message with its peer already in `netns`
   * (named, with MAC and MTU) and the host end on the bridge and up; inside, in one more
   * batch: loopback up, the address, the interface up and the default route; IPv6 off on
   * the endpoint's links when the network has none; the ports published. Without `netns`
   * netplumb creates the namespace (named `options.netnsName`, else anonymous) and owns it.
   *
   * Rejects with ValidationError before changing anything for bad options, an address
   * outside the subnet or in use, a closed namespace handle; with PortAllocatedError when a
   * host port is taken; with NetlinkError when the kernel refuses (e.g. EEXIST when the
   * interface name is taken in the namespace). A failure at any step leaves no link,
   * address, route, element or reservation behind.
   */
  async connect(netns?: Netns, options: ConnectOptions = {}): Promise<Endpoint> {
    this.assertUsable();
    if (options === null || typeof options !== 'object') throw new ValidationError('options', 'must be an object');
    if (netns !== undefined && !(netns instanceof Netns)) throw new ValidationError('netns', 'must be a Netns handle');
    if (netns?.closed) throw new ValidationError('netns', 'the namespace handle is closed');
    if (this.internal && options.publish?.length) throw new ValidationError('publish', `network ${this.name} is internal: nothing can be published`);
    if (options.ipv6 !== undefined && !this.pool6) throw new ValidationError('ipv6', `network ${this.name} has no IPv6 subnet`);
    const mac = options.mac === undefined ? undefined : formatHw(parseMac(options.mac, 'mac'));
    const ports = normalizePublish(options.publish, this.hostIp);
    const ownsNetns = netns === undefined;
    if (options.netnsName !== undefined && !ownsNetns) throw new ValidationError('netnsName', 'only when netplumb creates the namespace');
    if (options.netnsName !== undefined) validateNetnsName(options.netnsName);
    const ifname = options.ifname === undefined ? undefined : checkIfname(options.ifname, 'ifname');
    const defaultRouteOpt = bool(options.defaultRoute, 'defaultRoute', !this.internal);
    if (defaultRouteOpt && this.internal && options.defaultRoute) throw new ValidationError('defaultRoute', `network ${this.name} is internal: it has no way out`);

    // Everything that can clash is claimed synchronously, so concurrent connects never
    // get the same address or port.
    const release: Array<() => void> = [];
    const undo: Array<() => Promise<unknown> | unknown> = [];
    let ns: Netns | undefined = netns;
    try {
      const ip4 = options.ipv4 === undefined ? this.pool.allocate('ipv4') : this.pool.reserve(parseAddress(options.ipv4, 'ipv4', 4).value, 'ipv4');
      release.push(() => this.pool.release(ip4));
      let ip6: bigint | undefined;
      if (this.pool6) {
        const p6 = this.pool6;
        ip6 = options.ipv6 === undefined ? p6.allocate('ipv6') : p6.reserve(parseAddress(options.ipv6, 'ipv6', 6).value, 'ipv6');
        const v = ip6;
        release.push(() => p6.release(v));
      }
      this.host.ports.claim(ports);
      release.push(() => this.host.ports.release(ports));
      const ipv4 = formatAddress(4, ip4);
      const ipv6 = ip6 === undefined ? undefined : formatAddress(6, ip6);

      fault('connect:netns');
      if (!ns) {
        // A named namespace is mounted in /run/netns only once its endpoint's tag exists
        // (below): a crash in between then leaves nothing cleanupNetworks() cannot trace.
        ns = await Netns.create();
        const created = ns;
        undo.push(() => created.close());
      }
      const use = namespaceUse(ns.inode);
      let name = ifname;
      if (name === undefined) for (let i = 0; use.ifnames.has((name = `eth${i}`)); i++);
      if (use.ifnames.has(name as string)) throw new ValidationError('ifname', `${name} is already used by a netplumb endpoint in that namespace`);
      const ifn = name as string;
      use.ifnames.add(ifn);
      release.push(() => use.ifnames.delete(ifn));
      const defaultRoute = defaultRouteOpt && (options.defaultRoute === true || use.defaultRoute === undefined);
      if (defaultRoute && use.defaultRoute !== undefined) throw new ValidationError('defaultRoute', 'the namespace already has a default route from another network');
      const id = randomBytes(6).toString('hex');
      if (defaultRoute) {
        use.defaultRoute = id;
        release.push(() => {
          if (use.defaultRoute === id) use.defaultRoute = undefined;
        });
      }
      const endpointMac = mac ?? macFromIPv4(ip4);
      const hostIfname = `veth${id.slice(0, 7)}`;
      // pid and np let cleanupNetworks() tell an endpoint whose connect() was cut short by a crash.
      const tag: EndpointTag = { id, net: this.name, if: ifn, ino: ns.inode, mac: endpointMac, dr: defaultRoute, own: ownsNetns, ip: ipv4, pid: process.pid };
      const nsName = ns.name ?? options.netnsName;
      if (nsName !== undefined) tag.ns = nsName;
      if (ipv6) tag.ip6 = ipv6;
      const elements = this.portElements(ports, ipv4, ipv6);
      if (elements.length) tag.np = elements.length;

      // Hop 1, in the host, on one addon thread: the veth created with its peer already in
      // place; then (its own sendmsg, so that it never runs when the create was refused and
      // the name is someone else's) tagging it, keeping IPv6 link-local off the bridge port
      // and setting hairpin (and isolation for icc=false); then the ports' nftables batch.
      // The run stops at the first step the kernel refuses.
      fault('connect:link');
      const create = new Batch();
      const mtu = this.mtu ? { mtu: this.mtu } : {};
      encodeLinkAdd(create, { kind: 'veth', name: hostIfname, master: this.bridgeIndex, up: true, ...mtu, peer: { name: ifn, netns: ns, address: endpointMac, ...mtu } }, { echo: true });
      const port = { hairpin: true, ...(this.icc ? {} : { isolated: true }) };
      const alias = endpointAlias(tag);
      const tagging = new Batch();
      encodeLinkSet(tagging, hostIfname, { alias, addrGenMode: 'none', bridgePort: port });
      const comment = endpointComment(this.name, id);
      let publish: ReturnType<Transaction['seal']> | undefined;
      if (elements.length) {
        fault('connect:publish');
        const tx = this.netns.nft.transaction();
        writePorts(tx, elements, comment, true);
        publish = tx.seal();
      }
      const hop1 = await runPipeline([
        { connection: this.netns.route, batch: create },
        { connection: this.netns.route, batch: tagging.ackLastOnly() },
        ...(publish?.batch ? [{ connection: this.netns.netfilter, batch: publish.batch }] : []),
      ]);
      const created = (hop1.results[0] as Reply[] | undefined)?.[0];
      // Undone by name and tag whatever the replies said: a lost reply (ENOBUFS) does not
      // mean the veth was not made.
      // (Not when the kernel said EEXIST: the name is someone else's, whatever alias it now has.)
      if (created?.error?.code !== 'EEXIST') undo.push(() => deleteTagged(this.netns, hostIfname, alias, 'veth'));
      if (hop1.error) {
        // The ports' batch ran but its outcome is unknown (no kernel answer): take them back.
        // (A kernel refusal, e.g. EEXIST for a taken port, applied nothing and is not undone:
        // the elements with those keys are someone else's.)
        if (hop1.failedStep === PUBLISH_STEP && publish && !Array.isArray(hop1.results[PUBLISH_STEP])) undo.push(() => this.unpublish(elements, comment));
        if (hop1.failedStep === PUBLISH_STEP && publish && Array.isArray(hop1.results[PUBLISH_STEP])) {
          try {
            publish.complete(hop1.results[PUBLISH_STEP] as Reply[]);
          } catch (e) {
            throw e instanceof NetplumbError && e.code === 'EEXIST' ? new PortAllocatedError(ports[0] as PublishedPort, e) : e;
          }
        }
        throw hop1.error;
      }
      if (publish?.batch) {
        publish.complete(hop1.results[PUBLISH_STEP] as Reply[]);
        undo.push(() => this.unpublish(elements, comment));
      }
      // Only the peer's ifindex is needed from the echo: IFLA_LINK after struct ifinfomsg.
      const echo = created?.messages.find((m) => m.type === RTM_NEWLINK);
      const peerIndex = echo ? Attributes.parse(echo.payload, IFINFOMSG_LEN).u32(IFLA_LINK) : undefined;
      if (peerIndex === undefined) throw new NetplumbError(`RTM_NEWLINK ${hostIfname}: the kernel did not echo the new link`, 'ERR_NETPLUMB_NO_REPLY');

      // Hop 2, in the namespace: IPv6 off on the new interface (as Docker does for an
      // IPv4-only network), then one sendmsg: lo up, eth0 up, address(es), default route(s).
      fault('connect:configure');
      const inner = new Batch();
      encodeLinkSet(inner, 1, { up: true });
      encodeLinkSet(inner, peerIndex, ipv6 ? { up: true } : { addrGenMode: 'none', up: true });
      encodeAddressAdd(inner, { link: peerIndex, address: `${ipv4}/${this.pool.subnet.prefixLength}`, broadcast: true });
      if (ipv6 && this.pool6) encodeAddressAdd(inner, { link: peerIndex, address: `${ipv6}/${this.pool6.subnet.prefixLength}`, nodad: true });
      if (defaultRoute) {
        encodeRouteAdd(inner, { dst: 'default', gateway: this.gateway });
        if (ipv6 && this.gateway6) encodeRouteAdd(inner, { dst: 'default', family: 6, gateway: this.gateway6 });
      }
      const hop2 = await runPipeline([
        ...(ipv6 ? [] : [{ nsFd: ns.fd, sysctl: `net/ipv6/conf/${ifn}/disable_ipv6`, value: '1' }]),
        { connection: ns.route, batch: inner.ackLastOnly() },
      ]);
      if (hop2.error) throw hop2.error;
      if (ownsNetns && options.netnsName !== undefined) {
        const anonymous = ns;
        const path = `${NETNS_RUN_DIR}/${options.netnsName}`;
        // Registered first, and only ever unmounting our own namespace (EEXIST: the name is someone else's).
        undo.push(() => (statSync(path).ino === anonymous.inode ? native.netnsUnmount(path) : undefined));
        native.netnsMount(anonymous.fd, path);
        ns = await Netns.open(options.netnsName);
        anonymous.close();
      }

      const ep = new Endpoint(this, {
        id,
        netns: ns,
        ownsNetns,
        ifname: ifn,
        ifindex: peerIndex,
        hostIfname,
        ipv4,
        ...(ipv6 ? { ipv6 } : {}),
        prefixLength: this.pool.subnet.prefixLength,
        ...(this.pool6 ? { prefixLength6: this.pool6.subnet.prefixLength } : {}),
        mac: endpointMac,
        ...(this.internal ? {} : { gateway: this.gateway }),
        ...(this.gateway6 && !this.internal ? { gateway6: this.gateway6 } : {}),
        defaultRoute,
        ports,
      });
      this.live.set(id, ep);
      return ep;
    } catch (e) {
      await rollback(undo);
      for (const r of release.reverse()) r();
      throw e;
    }
  }

  /** The map elements publishing `ports` to an endpoint's addresses. */
  private portElements(ports: readonly PublishedPort[], ipv4: string, ipv6: string | undefined): PortElement[] {
    const out: PortElement[] = [];
    for (const p of ports) {
      const any = p.hostIp === '0.0.0.0';
      const hostFamily = p.hostIp.includes(':') ? 6 : 4;
      if (any || hostFamily === 4) out.push({ protocol: p.protocol, ...(any ? {} : { hostIp: p.hostIp }), hostFamily: 4, hostPort: p.hostPort, target: ipv4, containerPort: p.containerPort });
      if (ipv6 && (any || hostFamily === 6)) out.push({ protocol: p.protocol, ...(any ? {} : { hostIp: p.hostIp }), hostFamily: 6, hostPort: p.hostPort, target: ipv6, containerPort: p.containerPort });
    }
    return out;
  }

  /**
   * Removes published-port elements. Unpublishes asked for while another is being
   * committed wait and then go together in one transaction (group commit): concurrent
   * removes then cost one nftables commit, not one each. If a combined commit fails, each
   * waiting unpublish is retried alone, so one bad element fails only its own caller.
   */
  private unpublish(elements: readonly PortElement[], comment: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.unpublishQueue.push({ elements, comment, resolve, reject });
      if (!this.unpublishing) void this.flushUnpublish();
    });
  }

  private async flushUnpublish(): Promise<void> {
    this.unpublishing = true;
    while (this.unpublishQueue.length) {
      const group = this.unpublishQueue.splice(0);
      const commit = async (members: typeof group): Promise<void> => {
        const tx = this.netns.nft.transaction();
        for (const m of members) writePorts(tx, m.elements, m.comment, false);
        await tx.commit();
      };
      try {
        await commit(group);
        for (const m of group) m.resolve();
      } catch (e) {
        if (group.length === 1) (group[0] as (typeof group)[0]).reject(e);
        else for (const m of group) await commit([m]).then(m.resolve, m.reject);
      }
    }
    this.unpublishing = false;
  }

  /** Detaches `ep` from this network: the same as `ep.remove()`. */
  disconnect(ep: Endpoint): Promise<void> {
    if (!(ep instanceof Endpoint)) return Promise.reject(new ValidationError('ep', 'must be an Endpoint'));
    if (this.live.get(ep.id) !== ep) return Promise.reject(new ValidationError('ep', `endpoint ${ep.id} is not attached to network ${this.name}`));
    return ep.remove();
  }

  /** @internal Called by Endpoint.remove(). */
  async detach(ep: Endpoint): Promise<void> {
    const work: Array<Promise<unknown>> = [];
    const elements = this.portElements(ep.ports, ep.ipv4 as string, ep.ipv6);
    if (elements.length) work.push(this.unpublish(elements, endpointComment(this.name, ep.id)).catch((e) => { if (!isGone(e)) throw e; }));
    if (ep.ownsNetns) {
      // Dropping the namespace lets the kernel destroy both veth ends in the background.
      work.push(dropNetns(ep.netns));
    } else {
      work.push(this.netns.links.delete(ep.hostIfname).catch((e) => { if (!isGone(e)) throw e; }));
    }
    const results = await Promise.allSettled(work);
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    // A step failed: the endpoint stays attached, with its address and ports, so that
    // nothing is handed out while the kernel still has it and remove() can be called again
    // (every step tolerates having been done already).
    if (bad) throw bad.reason;
    this.live.delete(ep.id);
    if (ep.ipv4) this.pool.release(parseAddress(ep.ipv4, 'ipv4').value);
    if (ep.ipv6 && this.pool6) this.pool6.release(parseAddress(ep.ipv6, 'ipv6').value);
    this.host.ports.release(ep.ports);
    const use = namespaceUse(ep.netns.inode);
    use.ifnames.delete(ep.ifname);
    if (use.defaultRoute === ep.id) use.defaultRoute = undefined;
    if (use.ifnames.size === 0) namespaces.delete(ep.netns.inode);
  }

  /** What `docker network inspect NAME` answers. */
  inspect(): NetworkInspect {
    return {
      name: this.name,
      driver: 'bridge',
      bridge: this.bridge,
      netns: { ...(this.netns.path !== undefined ? { path: this.netns.path } : {}), inode: this.netns.inode },
      ipam: { subnet: this.subnet, gateway: this.gateway, ...(this.subnet6 ? { subnet6: this.subnet6, gateway6: this.gateway6 as string } : {}) },
      options: { ...(this.mtu ? { mtu: this.mtu } : {}), masquerade: this.masquerade, icc: this.icc, internal: this.internal, ...(this.hostIp ? { hostIp: this.hostIp } : {}) },
      endpoints: this.endpoints.map((e) => ({
        id: e.id,
        ifname: e.ifname,
        hostIfname: e.hostIfname,
        ...(e.ipv4 ? { ipv4: `${e.ipv4}/${e.prefixLength}` } : {}),
        ...(e.ipv6 ? { ipv6: `${e.ipv6}/${e.prefixLength6}` } : {}),
        mac: e.mac,
        ...(e.netns.path !== undefined ? { sandboxKey: e.netns.path } : {}),
        ports: [...e.ports],
      })),
    };
  }

  /**
   * Removes the network, like `docker network rm`: its rules, its bridge (and with it any
   * address on it), and netplumb's table when no network is left. Refuses with
   * NetplumbError EBUSY while endpoints are attached, unless `force` (then they are
   * removed first).
   */
  async remove(options: { force?: boolean } = {}): Promise<void> {
    this.assertUsable();
    if (options === null || typeof options !== 'object') throw new ValidationError('options', 'must be an object');
    const force = bool(options.force, 'force', false);
    if (this.live.size > 0) {
      if (!force) throw new NetplumbError(`network ${this.name} has ${this.live.size} active endpoint(s)`, 'EBUSY');
      const results = await Promise.allSettled(this.endpoints.map((ep) => ep.remove()));
      const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (bad) throw bad.reason;
    }
    this.removed = true;
    this.host.networks.delete(this.name);
    await removeRules(this.netns, this.name, this.bridge);
    await this.netns.links.delete(this.bridgeIndex).catch((e) => {
      if (!isGone(e)) throw e;
    });
    if (this.ownsHost) this.netns.close();
  }
}

/**
 * Deletes network `name`'s rules and elements (of endpoints lost in a crash, too), or the
 * whole table when no other network is left. Committed against the generation it read —
 * a network created meanwhile by another process must not go with the table — and read
 * again when the ruleset changed.
 */
async function removeRules(host: Netns, name: string, bridge: string): Promise<void> {
  const comment = networkComment(name);
  for (let attempt = 1; ; attempt++) {
    const ruleset = await host.nft.list({ family: FAMILY, table: TABLE });
    if (!ruleset.tables.length) return;
    const tx = host.nft.transaction({ generation: ruleset.generation });
    const bridges = ruleset.sets.find((s) => s.name === 'bridges');
    const others = (bridges?.elements ?? []).filter((e) => e.key !== bridge);
    if (others.length === 0) {
      tx.deleteTable({ family: FAMILY, name: TABLE });
    } else {
      for (const r of ruleset.rules) if (r.comment === comment) tx.deleteRule({ family: FAMILY, table: TABLE, chain: r.chain, handle: r.handle });
      for (const s of ruleset.sets) {
        const mine = (s.elements ?? []).filter((e) => e.comment === comment || parseEndpointComment(e.comment)?.network === name);
        if (mine.length) tx.deleteElements({ family: FAMILY, table: TABLE, set: s.name, elements: mine.map((e) => ({ key: e.key })) });
      }
    }
    if (!tx.size) return;
    try {
      await tx.commit();
      return;
    } catch (e) {
      if (attempt < 8 && e instanceof NetplumbError && e.code === 'ERESTART') continue;
      throw e;
    }
  }
}

/**
 * Drops a namespace netplumb owns: deletes its /run/netns mount (or closes the anonymous
 * handle). Again after a delete() that failed half-way (handle closed, mount left): unmounts
 * what is still mounted there if it is that namespace.
 */
async function dropNetns(ns: Netns): Promise<void> {
  if (!ns.closed) return ns.name !== undefined ? ns.delete() : ns.close();
  if (ns.name === undefined) return;
  const path = `${NETNS_RUN_DIR}/${ns.name}`;
  let ino: number | undefined;
  try {
    ino = statSync(path).ino;
  } catch {
    return; // gone already
  }
  if (ino === ns.inode) await native.netnsUnmount(path);
}

/** Deletes link `name` if it carries `alias`, netplumb's tag of the object being undone. */
async function deleteTagged(ns: Netns, name: string, alias: string, kind: 'bridge' | 'veth'): Promise<void> {
  const l = await ns.links.find(name);
  // Ours: it carries our tag — or none, because our create ran but its reply was lost
  // before the tagging step (a name that refused our create with EEXIST never gets here;
  // bridge names were checked free just before, veth names are random).
  if (l && l.kind === kind && (l.alias === alias || !l.alias)) await ns.links.delete(l.index).catch((e: unknown) => { if (!isGone(e)) throw e; });
}

/** Finds an endpoint's namespace by its /run/netns name or, failing that, a process in it. */
async function findNetns(tag: EndpointTag, pidByInode: Map<number, number>): Promise<Netns | undefined> {
  if (tag.ns !== undefined) {
    try {
      const ns = await Netns.open(tag.ns);
      if (ns.inode === tag.ino) return ns;
      ns.close();
    } catch {
      // Unmounted meanwhile: try the processes.
    }
  }
  const pid = pidByInode.get(tag.ino);
  if (pid === undefined) return undefined;
  try {
    const ns = await Netns.fromPid(pid);
    if (ns.inode === tag.ino) return ns;
    ns.close();
  } catch {
    // The process exited.
  }
  return undefined;
}
