/**
 * Layer 4 (network): Docker's overlay driver in flannel's vxlan style, with the caller's
 * control plane. On each host an overlay is a bridge network (every endpoint connected as
 * on bridge networks: veth in one message, address, routes, published ports, masquerade
 * out through this host's underlay) plus one more bridge port: a VXLAN device (VNI, UDP
 * 4789, local VTEP, underlay device, no learning) that carries the subnet to the other
 * hosts. Each host hands out addresses from its own block of the shared subnet (given as
 * `ipRange`, or derived from `hostIndex`: block N of `hostPrefixLength` bits), so hosts
 * never collide and never talk to each other about it; each host's bridge has its own
 * gateway address in its block. The caller tells each host about the others, from its own
 * store (etcd, the Kubernetes API ...): {@link OverlayNetwork.addPeer} /
 * {@link OverlayNetwork.removePeer} and, when it knows them,
 * {@link OverlayNetwork.addRemoteEndpoint} — see examples/overlay.js. The operations are
 * one file each: create.ts, open.ts, peers.ts, inspect.ts, remove.ts.
 * @module
 */
import type { Netns } from '../../netns.js';
import type { BridgeNetwork } from '../bridge-network.js';
import type { Endpoint } from '../endpoint.js';
import type { EndpointFilter } from '../endpoints.js';
import type { ConnectOptions } from '../options.js';
import { type OverlayInit, createOverlay } from './create.js';
import { type OverlayNetworkInspect, inspectOverlay } from './inspect.js';
import { openOverlay } from './open.js';
import type { OverlayNetworkOptions, OverlayTag } from './options.js';
import { type OverlayPeer, type RemoteEndpoint, addPeer, addRemoteEndpoint, readPeers, removePeer, removeRemoteEndpoint } from './peers.js';
import { removeOverlay } from './remove.js';

export type { OverlayNetworkOptions } from './options.js';
export type { OverlayPeer, RemoteEndpoint } from './peers.js';
export type { OverlayNetworkInspect } from './inspect.js';

/** One host's part of an overlay network shared by many hosts. */
export class OverlayNetwork {
  /** Network name, the same on every host. */
  readonly name: string;
  /** The shared IPv4 subnet. */
  readonly subnet: string;
  /** This host's block of it. */
  readonly ipRange: string;
  /** This host's gateway (its bridge's address). */
  readonly gateway: string;
  /** VXLAN network identifier. */
  readonly vni: number;
  /** VXLAN UDP port. */
  readonly port: number;
  /** This host's VTEP address. */
  readonly local: string;
  /** The underlay device. */
  readonly underlay: string;
  /** The VXLAN device, a port of {@link bridge}. */
  readonly vxlan: string;
  /** The bridge. */
  readonly bridge: string;
  /** MTU of the bridge, the VXLAN device and the endpoints. */
  readonly mtu: number | undefined;
  /** Whether the caller supplies every remote endpoint (ARP answered locally, no flooding). */
  readonly static: boolean;
  /** The namespace acting as this host. */
  readonly netns: Netns;
  /** The bridge network this host's part is built on (its endpoints, published ports and rules). */
  readonly bridgeNetwork: BridgeNetwork;
  /** @internal */
  readonly vxlanIndex: number;
  private readonly ownsHost: boolean;

  private constructor(init: OverlayInit) {
    const n = init.net;
    const t: OverlayTag = init.tag;
    this.bridgeNetwork = n;
    this.name = n.name;
    this.subnet = n.subnet as string;
    this.ipRange = n.ipRange as string;
    this.gateway = n.gateway as string;
    this.bridge = n.bridge;
    this.mtu = n.mtu;
    this.netns = n.netns;
    this.vni = t.vni;
    this.port = t.port;
    this.local = t.local;
    this.underlay = t.underlay;
    this.static = t.static;
    this.vxlan = init.vxlan;
    this.vxlanIndex = init.vxlanIndex;
    this.ownsHost = init.ownsHost;
  }

  /**
   * Creates this host's part: the bridge network on this host's block (reserved and
   * tagged as bridge networks are), then the VXLAN device on the underlay, enslaved and
   * tagged. MTU defaults to the underlay's less 50. Rejects with ValidationError before
   * changing anything for bad options (no hostIndex/ipRange, a missing underlay, a VTEP it
   * cannot find); with NetlinkError when the kernel refuses (EEXIST: another VXLAN device
   * has this VNI, port and local address) — nothing is left.
   */
  static async create(options: OverlayNetworkOptions): Promise<OverlayNetwork> {
    return new OverlayNetwork(await createOverlay(options));
  }

  /** A handle on this host's part of overlay `name`, read from the kernel. Rejects with NetplumbError ENOENT when there is none. */
  static async open(name: string, options: { netns?: Netns } = {}): Promise<OverlayNetwork> {
    return new OverlayNetwork(await openOverlay(name, options));
  }

  /** Attaches a namespace, exactly as {@link BridgeNetwork.connect} (published ports included); its address comes from this host's block. */
  connect(netns?: Netns, options: ConnectOptions = {}): Promise<Endpoint> {
    return this.bridgeNetwork.connect(netns, options);
  }

  /** This host's endpoints, read from the kernel. */
  endpoints(filter: EndpointFilter = {}): Promise<Endpoint[]> {
    return this.bridgeNetwork.endpoints(filter);
  }

  /** Tells this host about another: one FDB entry, the all-zeros MAC towards `vtep`. Idempotent. */
  addPeer(peer: OverlayPeer): Promise<void> {
    return addPeer(this, peer);
  }

  /** Forgets a peer: its FDB entry and the remote endpoints behind it, so no traffic goes there any more. */
  removePeer(vtep: string): Promise<void> {
    return removePeer(this, vtep);
  }

  /** Tells this host where a remote endpoint is: its MAC's VTEP (FDB), then its ARP answer (a permanent neighbour). Replaces what was there. */
  addRemoteEndpoint(endpoint: RemoteEndpoint): Promise<void> {
    return addRemoteEndpoint(this, endpoint);
  }

  /** Forgets a remote endpoint, by its IP. */
  removeRemoteEndpoint(ip: string): Promise<void> {
    return removeRemoteEndpoint(this, ip);
  }

  /** The peers and remote endpoints this host knows, read from the kernel. */
  peers(): Promise<{ peers: OverlayPeer[]; remoteEndpoints: RemoteEndpoint[] }> {
    return readPeers(this);
  }

  /** What `docker network inspect` answers, with the VXLAN device, the peers and the remote endpoints, read from the kernel. */
  inspect(): Promise<OverlayNetworkInspect> {
    return inspectOverlay(this);
  }

  /** Removes this host's part: the VXLAN device (its FDB and neighbour entries with it), then the bridge network (`force` removes its endpoints first). */
  async remove(options: { force?: boolean } = {}): Promise<void> {
    await removeOverlay(this, options);
    if (this.ownsHost) this.netns.close();
  }
}
