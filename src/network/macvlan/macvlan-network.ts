/**
 * Layer 4 (network): Docker's macvlan driver (and ipvlan's, where the kernel has it). Each
 * endpoint is an interface on the parent — a LAN port — with its own MAC and an address
 * of the LAN's subnet, created directly inside its namespace; the host holds only a tagged
 * "shim" interface on the parent, which records the network. The handle wires the
 * operations, one file each: create.ts, open.ts (open, list), connect.ts, endpoints.ts,
 * disconnect.ts, remove.ts, inspect.ts. Every resource is reserved in netplumb's table as
 * on bridge networks (reservation.ts), so the two kinds share the subnet and address
 * arbitration.
 *
 * The host cannot reach its macvlan endpoints through the parent, nor they the host: the
 * kernel delivers frames between a macvlan and its parent's own stack in neither
 * direction (macvlan's nature, not a bug). The usual remedy is a macvlan interface of the
 * host on the same parent — this network's shim is one: give it an address of the subnet
 * and bring it up (`host.addresses.add({ link: net.shim, address: '192.168.1.250/32' })`,
 * `host.links.set(net.shim, { up: true })`, and a route to the endpoints' addresses
 * through it), as Docker's documentation suggests.
 * @module
 */
import { NetplumbError, ValidationError } from '../../errors.js';
import type { Netns } from '../../netns.js';
import { ReleaseQueue } from '../disconnect.js';
import { Endpoint, type EndpointOwner } from '../endpoint.js';
import type { EndpointFilter } from '../endpoints.js';
import { macFromIPv4, parseAddress } from '../ipam.js';
import { bool, checkObject } from '../options.js';
import { type MacvlanConnectOptions, connectMacvlan } from './connect.js';
import { type MacvlanInit, createMacvlanNetwork } from './create.js';
import { detachMacvlan } from './disconnect.js';
import { readMacvlanEndpoints } from './endpoints.js';
import { type MacvlanNetworkInspect, inspectMacvlan } from './inspect.js';
import { type MacvlanNetworkInfo, listMacvlanNetworks, openMacvlanNetwork } from './open.js';
import type { MacvlanNetworkOptions, MacvlanShape } from './options.js';
import { removeMacvlanNetwork } from './remove.js';

export type { MacvlanNetworkOptions } from './options.js';
export type { MacvlanConnectOptions } from './connect.js';
export type { MacvlanNetworkInfo } from './open.js';
export type { MacvlanNetworkInspect } from './inspect.js';

/**
 * A Docker-style macvlan (or ipvlan) network: containers as hosts of the parent's LAN.
 * Create it with {@link create}, find it from any process with {@link open} or
 * {@link list}, attach namespaces with {@link connect}, remove it with {@link remove}.
 */
export class MacvlanNetwork implements EndpointOwner {
  /** Network name. */
  readonly name: string;
  /** `macvlan`, or `ipvlan`. */
  readonly driver: 'macvlan' | 'ipvlan';
  /** The parent interface. */
  readonly parent: string;
  /** The host-side interface on the parent that carries the network's tag (and can give the host access, see the module comment). */
  readonly shim: string;
  /** The namespace acting as the host. */
  readonly netns: Netns;
  /** IPv4 subnet of the LAN segment. */
  readonly subnet: string | undefined;
  /** The LAN's IPv4 router. */
  readonly gateway: string | undefined;
  /** The part of the subnet addresses are handed out from. */
  readonly ipRange: string | undefined;
  /** IPv6 subnet. */
  readonly subnet6: string | undefined;
  /** The LAN's IPv6 router. */
  readonly gateway6: string | undefined;
  /** Whether endpoints get no default route. */
  readonly internal: boolean;
  /** @internal */
  readonly shape: MacvlanShape;
  /** @internal */
  readonly parentIndex: number;
  /** @internal Where this process's next address search starts: a hint, the kernel decides. */
  hint: bigint | undefined;
  /** @internal */
  readonly releases: ReleaseQueue;
  private readonly ownsHost: boolean;
  private removed = false;

  private constructor(init: MacvlanInit) {
    const t = init.shape.tag;
    this.netns = init.netns;
    this.ownsHost = init.ownsHost;
    this.shape = init.shape;
    this.parentIndex = init.parentIndex;
    this.name = t.name;
    this.driver = t.ipvlan ? 'ipvlan' : 'macvlan';
    this.parent = t.parent;
    this.shim = init.shape.shim;
    this.subnet = t.subnet;
    this.gateway = t.gateway;
    this.ipRange = t.ipRange;
    this.subnet6 = t.subnet6;
    this.gateway6 = t.gateway6;
    this.internal = t.internal;
    this.releases = new ReleaseQueue(this.netns);
  }

  /**
   * Creates a network, like `docker network create -d macvlan --subnet S --gateway G -o
   * parent=P NAME`: reserves its name and subnet(s) exclusively (an overlap with any
   * netplumb network is refused), makes the 802.1Q parent when asked for one that does not
   * exist, and the tagged shim. Rejects with ValidationError before changing anything for
   * bad options, a taken name or subnet, or a missing parent; with NetlinkError when the
   * kernel refuses (EOPNOTSUPP without macvlan, ipvlan or 8021q) — nothing is left.
   */
  static async create(options: MacvlanNetworkOptions): Promise<MacvlanNetwork> {
    return new MacvlanNetwork(await createMacvlanNetwork(options));
  }

  /** A handle on macvlan network `name`, read from the kernel. Rejects with NetplumbError ENOENT when there is none. */
  static async open(name: string, options: { netns?: Netns } = {}): Promise<MacvlanNetwork> {
    return new MacvlanNetwork(await openMacvlanNetwork(name, options));
  }

  /** Every complete netplumb macvlan/ipvlan network of the host namespace, read from the kernel. */
  static list(options: { netns?: Netns } = {}): Promise<MacvlanNetworkInfo[]> {
    return listMacvlanNetworks(options);
  }

  /** @internal */
  assertUsable(): void {
    if (this.removed) throw new NetplumbError(`network ${this.name} has been removed`, 'ERR_NETPLUMB_CLOSED');
    if (this.netns.closed) throw new NetplumbError(`the host namespace handle of network ${this.name} is closed`, 'ERR_NETPLUMB_CLOSED');
  }

  /**
   * Attaches a namespace, like `docker run --network NET [--ip A]`: reserves the address,
   * MAC and attachment exclusively, creates the interface inside `netns` in one message
   * (a macvlan in bridge mode on the parent, or an ipvlan), configures it there, and marks
   * the endpoint complete. Without `netns` netplumb creates the namespace. Rejects with
   * ValidationError for bad options (`publish` included: a LAN host has nothing to
   * publish) or a taken address or MAC; NetplumbError ERR_NETPLUMB_ALREADY_CONNECTED;
   * NetlinkError when the kernel refuses. A failure at any step leaves nothing behind.
   */
  connect(netns?: Netns, options: MacvlanConnectOptions = {}): Promise<Endpoint> {
    try {
      this.assertUsable();
    } catch (e) {
      return Promise.reject(e);
    }
    return connectMacvlan(this, netns, options);
  }

  /** The network's finished endpoints, read from the kernel, optionally filtered by owner label or namespace. */
  endpoints(filter: EndpointFilter = {}): Promise<Endpoint[]> {
    try {
      this.assertUsable();
    } catch (e) {
      return Promise.reject(e);
    }
    return readMacvlanEndpoints(this, filter, (init) => new Endpoint(this, init));
  }

  /** Detaches `ep` from this network: the same as `ep.remove()`. */
  disconnect(ep: Endpoint): Promise<void> {
    if (!(ep instanceof Endpoint)) return Promise.reject(new ValidationError('ep', 'must be an Endpoint'));
    if (ep.network !== this.name) return Promise.reject(new ValidationError('ep', `endpoint ${ep.id} is on network ${ep.network}, not ${this.name}`));
    return ep.remove();
  }

  /** @internal Called by Endpoint.remove(). */
  detach(ep: Endpoint): Promise<void> {
    // An ipvlan endpoint shows the parent's MAC; its reservation holds the derived one.
    const primary = this.shape.range.family === 4 ? ep.ipv4 : ep.ipv6;
    const mac = this.shape.tag.ipvlan && primary ? macFromIPv4(parseAddress(primary, 'address').value & 0xffffffffn) : ep.mac;
    return detachMacvlan(this, ep, mac);
  }

  /** What `docker network inspect NAME` answers, read from the kernel. */
  inspect(): Promise<MacvlanNetworkInspect> {
    return inspectMacvlan(this);
  }

  /**
   * Removes the network, like `docker network rm`: its reservations, its shim and the
   * 802.1Q parent it made. Refuses with NetplumbError EBUSY while endpoints are attached,
   * unless `force` (then they are removed first).
   */
  async remove(options: { force?: boolean } = {}): Promise<void> {
    this.assertUsable();
    checkObject(options);
    const force = bool(options.force, 'force', false);
    await removeMacvlanNetwork(this, force);
    this.removed = true;
    if (this.ownsHost) this.netns.close();
  }
}
