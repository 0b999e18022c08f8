/**
 * Layer 4 (network): an endpoint — one namespace's attachment to a bridge network: a veth
 * whose host end is a port of the bridge and whose other end (eth0, eth1 ...) lives in the
 * namespace with its address, MAC and default route, plus the ports published to it.
 * @module
 */
import { NetlinkError } from '../errors.js';
import type { Netns } from '../netns.js';
import type { PublishedPort } from './ports.js';

/** What {@link Endpoint.inspect} answers: `docker inspect`'s NetworkSettings and `docker port`. */
export interface EndpointInspect {
  id: string;
  network: string;
  /** Path of the namespace (`docker inspect`'s SandboxKey), when it has one. */
  sandboxKey?: string;
  /** Inode of the namespace. */
  netnsInode: number;
  /** Interface inside the namespace. */
  ifname: string;
  /** The host-side veth (what `ethtool -S eth0` peer_ifindex leads to). */
  hostIfname: string;
  ipAddress?: string;
  ipPrefixLen?: number;
  gateway?: string;
  globalIPv6Address?: string;
  globalIPv6PrefixLen?: number;
  ipv6Gateway?: string;
  macAddress: string;
  /** `docker port`: `80/tcp` → host bindings. */
  ports: Record<string, Array<{ hostIp: string; hostPort: number }>>;
}

/** What an endpoint needs from its network to remove itself. @internal */
export interface EndpointOwner {
  readonly name: string;
  /** Removes the endpoint's kernel state and releases its reservation. */
  detach(ep: Endpoint): Promise<void>;
}

/** Fields of an endpoint. @internal */
export interface EndpointInit {
  id: string;
  owner?: string;
  /** DNS names, name first. */
  names?: readonly string[];
  ifname: string;
  hostIfname: string;
  ipv4: string;
  ipv6?: string;
  prefixLength: number;
  prefixLength6?: number;
  mac: string;
  gateway?: string;
  gateway6?: string;
  ports: PublishedPort[];
  netnsInode: number;
  netnsPath?: string;
  /** A handle on the namespace, when this process connected it. */
  netns?: Netns;
  ownsNetns: boolean;
  attached: boolean;
}

/**
 * A namespace attached to a {@link BridgeNetwork}: made by `net.connect()` or read from
 * the kernel by `net.endpoints()`. Plain data fields, a snapshot of the kernel's state
 * when it was made or read, plus {@link remove}.
 */
export class Endpoint {
  /** 12 hex digits, unique per endpoint. */
  readonly id: string;
  /** The network it belongs to. */
  readonly network: string;
  /** The caller's label given to connect(), if any. */
  readonly owner: string | undefined;
  /** Its name on the network (`connect({ name })`), which the embedded DNS resolver answers. */
  readonly name: string | undefined;
  /** Its other names on the network (`connect({ aliases })`). */
  readonly aliases: readonly string[];
  /** Interface name inside the namespace (eth0 ...). */
  readonly ifname: string;
  /** The host-side veth, a port of the bridge. */
  readonly hostIfname: string;
  /** IPv4 address (no prefix). */
  readonly ipv4: string;
  /** IPv6 address (no prefix), on dual-stack networks. */
  readonly ipv6: string | undefined;
  /** Prefix length of the IPv4 subnet. */
  readonly prefixLength: number;
  /** Prefix length of the IPv6 subnet. */
  readonly prefixLength6: number | undefined;
  /** MAC address of {@link ifname}. */
  readonly mac: string;
  /** The network's IPv4 gateway (none on internal networks). */
  readonly gateway: string | undefined;
  /** The network's IPv6 gateway. */
  readonly gateway6: string | undefined;
  /** Published ports. */
  readonly ports: readonly PublishedPort[];
  /** Inode of its namespace. */
  readonly netnsInode: number;
  /** /run/netns path of its namespace, when it has one. */
  readonly netnsPath: string | undefined;
  /** The namespace handle, when this process connected the endpoint. */
  readonly netns: Netns | undefined;
  /** Whether netplumb created the namespace for it (and deletes it on remove). */
  readonly ownsNetns: boolean;
  /**
   * False when the endpoint's veth is gone (its namespace was deleted under it) while its
   * reservation remains: only {@link remove} is left to do.
   */
  readonly attached: boolean;
  private readonly net: EndpointOwner;
  private removal: Promise<void> | undefined;

  /** @internal Made by the network layer. */
  constructor(net: EndpointOwner, init: EndpointInit) {
    this.net = net;
    this.network = net.name;
    this.id = init.id;
    this.owner = init.owner;
    this.name = init.names?.[0] || undefined;
    this.aliases = Object.freeze([...(init.names ?? []).slice(1)]);
    this.ifname = init.ifname;
    this.hostIfname = init.hostIfname;
    this.ipv4 = init.ipv4;
    this.ipv6 = init.ipv6;
    this.prefixLength = init.prefixLength;
    this.prefixLength6 = init.prefixLength6;
    this.mac = init.mac;
    this.gateway = init.gateway;
    this.gateway6 = init.gateway6;
    this.ports = Object.freeze([...init.ports]);
    this.netnsInode = init.netnsInode;
    this.netnsPath = init.netnsPath;
    this.netns = init.netns;
    this.ownsNetns = init.ownsNetns;
    this.attached = init.attached;
  }

  /** Whether {@link remove} has been called. */
  get removed(): boolean {
    return this.removal !== undefined;
  }

  /**
   * Detaches the endpoint, like `docker network disconnect` (or the end of `docker run`),
   * from this or any other process. When netplumb owns the namespace it is deleted and
   * the kernel destroys it with both veth ends asynchronously (the call does not wait
   * ~20 ms for RCU); otherwise the veth is deleted. Then, in one transaction, its ports
   * are unpublished and its address, MAC and ports released. Works when the namespace is
   * already gone. Calling it again returns the same promise — unless it failed: the
   * endpoint then keeps its reservation and remove() may be called again to finish.
   */
  remove(): Promise<void> {
    return (this.removal ??= this.net.detach(this).catch((e: unknown) => {
      this.removal = undefined;
      throw e;
    }));
  }

  /** What `docker inspect` (NetworkSettings.Networks[net]) and `docker port` answer. */
  inspect(): EndpointInspect {
    const ports: EndpointInspect['ports'] = {};
    for (const p of this.ports) (ports[`${p.containerPort}/${p.protocol}`] ??= []).push({ hostIp: p.hostIp, hostPort: p.hostPort });
    return {
      id: this.id,
      network: this.network,
      ...(this.netnsPath !== undefined ? { sandboxKey: this.netnsPath } : {}),
      netnsInode: this.netnsInode,
      ifname: this.ifname,
      hostIfname: this.hostIfname,
      ipAddress: this.ipv4,
      ipPrefixLen: this.prefixLength,
      ...(this.gateway !== undefined ? { gateway: this.gateway } : {}),
      ...(this.ipv6 !== undefined ? { globalIPv6Address: this.ipv6, globalIPv6PrefixLen: this.prefixLength6 as number } : {}),
      ...(this.gateway6 !== undefined ? { ipv6Gateway: this.gateway6 } : {}),
      macAddress: this.mac,
      ports,
    };
  }
}

/** True for a NetlinkError saying the object is already gone. */
export function isGone(err: unknown): boolean {
  return err instanceof NetlinkError && (err.code === 'ENODEV' || err.code === 'ENOENT');
}
