/**
 * Layer 4 (network): Docker's bridge driver over netplumb's own rtnetlink and nftables.
 * The handle only wires the operations, one file each: create.ts, open.ts (open, list),
 * connect.ts, endpoints.ts (read back), disconnect.ts (endpoint removal), remove.ts. It
 * holds the network's fixed description and sockets, never the world's state: every
 * question about endpoints, addresses and ports is asked of the kernel.
 * @module
 */
import { NetplumbError, ValidationError } from '../errors.js';
import { Netns } from '../netns.js';
import { connectEndpoint } from './connect.js';
import { createNetwork } from './create.js';
import { ReleaseQueue, detachEndpoint } from './disconnect.js';
import { Endpoint, type EndpointOwner } from './endpoint.js';
import { type EndpointFilter, readEndpoints } from './endpoints.js';
import { type Subnet, parseAddress, parseSubnet } from './ipam.js';
import { type NetworkInfo, listNetworks, openNetwork } from './open.js';
import { type BridgeNetworkOptions, type ConnectOptions, bool, checkHostNetns, checkObject } from './options.js';
import { type NetworkEvents, openNetworkEvents } from './events.js';
import { type NetworkInspect, inspectNetwork } from './inspect.js';
import { removeNetwork } from './remove.js';
import type { NetworkTag } from './tag.js';

export type { BridgeNetworkOptions, ConnectOptions } from './options.js';
export type { NetworkInfo } from './open.js';
export type { EndpointFilter } from './endpoints.js';
export type { NetworkInspect } from './inspect.js';
export type { NetworkEvent, NetworkEvents } from './events.js';

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

/** @internal */
export function fault(step: FaultStep): void {
  faultInjection.hook?.(step);
}

/** What a handle is made of. @internal */
export interface NetworkInit {
  netns: Netns;
  ownsHost: boolean;
  bridgeIndex: number;
  bridge: string;
  tag: NetworkTag;
}

/**
 * A Docker-style bridge network in one namespace acting as the host. Create it with
 * {@link create}, find it from any process with {@link open} or {@link list}, attach
 * namespaces with {@link connect}, remove it with {@link remove}. Many processes may hold
 * handles on one network at once: the kernel arbitrates every address, MAC and port.
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
  /** IPv4 subnet (CIDR); undefined on IPv6-only networks. */
  readonly subnet: string | undefined;
  /** IPv4 gateway (the bridge's address). */
  readonly gateway: string | undefined;
  /** The part of the IPv4 subnet addresses are handed out from, when set. */
  readonly ipRange: string | undefined;
  /** IPv6 subnet on dual-stack and IPv6-only networks. */
  readonly subnet6: string | undefined;
  /** IPv6 gateway. */
  readonly gateway6: string | undefined;
  /** MTU of the bridge and its veths, when set. */
  readonly mtu: number | undefined;
  /** Whether traffic leaving the subnet is masqueraded. */
  readonly masquerade: boolean;
  /** Whether endpoints may talk to each other. */
  readonly icc: boolean;
  /** Whether the network is cut off from the outside. */
  readonly internal: boolean;
  /** Default host address of published ports. */
  readonly hostIp: string | undefined;
  /** @internal Parsed subnets and gateways. */
  readonly s4: Subnet | undefined;
  /** @internal */
  readonly s6: Subnet | undefined;
  /** @internal */
  readonly gw4: bigint | undefined;
  /** @internal */
  readonly gw6: bigint | undefined;
  /** @internal The subnet the address search walks: IPv4, or IPv6 on IPv6-only networks. */
  readonly sp: Subnet;
  /** @internal Its gateway. */
  readonly gwp: bigint;
  /** @internal Where this process's next address search starts: a hint, the kernel decides (reservation.ts). */
  hint: bigint | undefined;
  /** @internal A connect of this handle is moving the bridge's cursor in the kernel: the others leave it (connect.ts). */
  cursorMoving = false;
  /** @internal Releases of concurrent removes, committed together. */
  readonly releases: ReleaseQueue;
  private readonly ownsHost: boolean;
  private removed = false;

  private constructor(init: NetworkInit) {
    const tag = init.tag;
    this.netns = init.netns;
    this.ownsHost = init.ownsHost;
    this.bridgeIndex = init.bridgeIndex;
    this.bridge = init.bridge;
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
    this.s4 = tag.subnet ? parseSubnet(tag.subnet, 'subnet', 4) : undefined;
    this.gw4 = tag.gateway ? parseAddress(tag.gateway, 'gateway', 4).value : undefined;
    this.s6 = tag.subnet6 ? parseSubnet(tag.subnet6, 'subnet6', 6) : undefined;
    this.gw6 = tag.gateway6 ? parseAddress(tag.gateway6, 'gateway6', 6).value : undefined;
    // The address search walks the IPv4 subnet (or its ipRange), or the IPv6 one on IPv6-only networks.
    this.sp = tag.ipRange ? parseSubnet(tag.ipRange, 'ipRange', 4) : ((this.s4 ?? this.s6) as Subnet);
    this.ipRange = tag.ipRange;
    this.gwp = (this.gw4 ?? this.gw6) as bigint;
    this.releases = new ReleaseQueue(this.netns);
  }

  /**
   * Creates a network, like `docker network create --subnet SUBNET NAME`: reserves its
   * name, subnet(s) and bridge in the kernel (exclusively: another process creating the
   * same name or an overlapping subnet gets a ValidationError), installs its rules in
   * netplumb's `inet netplumb` table (created on first use) and, where another firewall's
   * forward chain drops by policy, netplumb's tagged accepts there; then the bridge with
   * the gateway address, up, forwarding on, router advertisements off. Rejects with
   * ValidationError before changing anything for bad options or a taken name, bridge or
   * subnet; with NetlinkError when the kernel refuses — in every case nothing is left.
   */
  static async create(options: BridgeNetworkOptions): Promise<BridgeNetwork> {
    return new BridgeNetwork(await createNetwork(options));
  }

  /**
   * A handle on network `name`, read from the kernel (so also a network another process
   * created). Rejects with NetplumbError ENOENT when there is no such network.
   */
  static async open(name: string, options: { netns?: Netns } = {}): Promise<BridgeNetwork> {
    return new BridgeNetwork(await openNetwork(name, options));
  }

  /** Every complete netplumb bridge network of the host namespace, read from the kernel: like `docker network ls`. */
  static list(options: { netns?: Netns } = {}): Promise<NetworkInfo[]> {
    return listNetworks(options);
  }

  /**
   * Network-level events of every network of the host namespace, from the kernel (so
   * other processes' changes too): networks created and removed, endpoints connected and
   * removed, ports published and unpublished; `resync` when notifications were lost.
   * Listening starts before it resolves. Stop with `close()` or by leaving `for await`.
   */
  static async events(options: { netns?: Netns } = {}): Promise<NetworkEvents> {
    checkObject(options);
    checkHostNetns(options.netns);
    const host = options.netns ?? (await Netns.current());
    const events = await openNetworkEvents(host).catch((e: unknown) => {
      if (options.netns === undefined) host.close();
      throw e;
    });
    if (options.netns !== undefined) return events;
    const close = events.close;
    events.close = () => {
      close();
      host.close();
    };
    return events;
  }

  /** This network's events: see {@link BridgeNetwork.events}. */
  events(): Promise<NetworkEvents> {
    try {
      this.assertUsable();
    } catch (e) {
      return Promise.reject(e);
    }
    return openNetworkEvents(this.netns, this.name);
  }

  /** @internal */
  assertUsable(): void {
    if (this.removed) throw new NetplumbError(`network ${this.name} has been removed`, 'ERR_NETPLUMB_CLOSED');
    if (this.netns.closed) throw new NetplumbError(`the host namespace handle of network ${this.name} is closed`, 'ERR_NETPLUMB_CLOSED');
  }

  /**
   * Attaches a namespace, like `docker run --network NET [--ip A] [-p H:C]` or `docker
   * network connect`. First one nftables transaction reserves, exclusively, the address
   * (IPv6 too), MAC, host ports and the namespace's attachment, and publishes the ports;
   * then a veth is created in one message with its peer already in `netns` (named, with
   * MAC and MTU) and the host end on the bridge and up; inside, in one more batch:
   * loopback up, the address, the interface up and the default route; last the host
   * veth's tag, which marks the endpoint complete. Without `netns` netplumb creates the
   * namespace (named `options.netnsName`, else anonymous) and owns it.
   *
   * Rejects with ValidationError before changing anything for bad options or an address
   * or MAC that is taken; with PortAllocatedError when a host port is taken; with
   * NetplumbError ERR_NETPLUMB_ALREADY_CONNECTED when the namespace is on this network
   * already; with NetlinkError when the kernel refuses (e.g. EEXIST when the interface
   * name is taken in the namespace). A failure at any step leaves nothing behind.
   */
  connect(netns?: Netns, options: ConnectOptions = {}): Promise<Endpoint> {
    try {
      this.assertUsable();
    } catch (e) {
      return Promise.reject(e);
    }
    return connectEndpoint(this, netns, options);
  }

  /**
   * The network's endpoints, read from the kernel (also those other processes
   * connected), optionally only those with a given owner label or in a given namespace.
   * An endpoint whose namespace was deleted under it is listed with `attached: false`
   * until it is removed or cleaned up; connects still under way are not listed.
   */
  endpoints(filter: EndpointFilter = {}): Promise<Endpoint[]> {
    try {
      this.assertUsable();
    } catch (e) {
      return Promise.reject(e);
    }
    return readEndpoints(this, filter, (init) => new Endpoint(this, init));
  }

  /** Detaches `ep` from this network: the same as `ep.remove()`. */
  disconnect(ep: Endpoint): Promise<void> {
    if (!(ep instanceof Endpoint)) return Promise.reject(new ValidationError('ep', 'must be an Endpoint'));
    if (ep.network !== this.name) return Promise.reject(new ValidationError('ep', `endpoint ${ep.id} is on network ${ep.network}, not ${this.name}`));
    return ep.remove();
  }

  /** @internal Called by Endpoint.remove(). */
  detach(ep: Endpoint): Promise<void> {
    return detachEndpoint(this, ep);
  }

  /**
   * What `docker network inspect NAME` answers, read from the kernel — with the other
   * firewalls whose forward chain drops by policy, and whether netplumb's accepts are in
   * place there.
   */
  inspect(): Promise<NetworkInspect> {
    return inspectNetwork(this);
  }

  /**
   * Removes the network, like `docker network rm`: its rules, reservations and tagged
   * accepts in other firewalls, its bridge, and netplumb's table when no network is left.
   * Refuses with NetplumbError EBUSY while endpoints are attached (whichever process made
   * them), unless `force` (then they are removed first).
   */
  async remove(options: { force?: boolean } = {}): Promise<void> {
    this.assertUsable();
    checkObject(options);
    const force = bool(options.force, 'force', false);
    await removeNetwork(this, force);
    this.removed = true;
    if (this.ownsHost) this.netns.close();
  }
}
