/**
 * Layer 4 (network): what callers may ask of an overlay network — the options of create(),
 * validated before anything is sent to the kernel, the per-host address range, and the
 * tag that records the overlay on its VXLAN device.
 * @module
 */
import { ValidationError } from '../../errors.js';
import type { Netns } from '../../netns.js';
import { checkIfname } from '../../rtnl/validate.js';
import { formatAddress, lastAddress, parseAddress, parseSubnet } from '../ipam.js';
import { bool, checkNetworkName, checkObject } from '../options.js';

/** Options of {@link OverlayNetwork.create}: one host's part of an overlay shared by many. */
export interface OverlayNetworkOptions {
  /** This host's namespace (where the underlay device is); default the caller's own. */
  netns?: Netns;
  /** Network name, the same on every host (letters, digits, `_.-`; at most 64). */
  name: string;
  /** The IPv4 subnet shared by every host, e.g. `10.200.0.0/16`. */
  subnet: string;
  /** VXLAN network identifier (1-16777215), the same on every host. */
  vni: number;
  /** The underlay device (e.g. `eth0`): VXLAN packets go out through it. */
  underlay: string;
  /** This host's VTEP address on the underlay; default the underlay device's first IPv4 address. */
  local?: string;
  /** VXLAN UDP port; default 4789 (IANA's). */
  port?: number;
  /**
   * This host's share of the subnet, so hosts hand out addresses without talking to each
   * other: `hostIndex` N takes the N-th block of `hostPrefixLength` bits (flannel's
   * per-host subnet), or give the block itself as `ipRange`. One of the two is required.
   */
  hostIndex?: number;
  /** Size of each host's block for `hostIndex`; default /24. */
  hostPrefixLength?: number;
  /** This host's block, e.g. `10.200.3.0/24`. */
  ipRange?: string;
  /** The bridge's address on this host; default the first address of its block (distinct per host, so no two hosts answer for one gateway). */
  gateway?: string;
  /** MTU of the bridge, the VXLAN device and the endpoints; default the underlay's MTU − 50 (the VXLAN header). */
  mtu?: number;
  /** Masquerade traffic leaving the subnet through this host's underlay (default true). */
  masquerade?: boolean;
  /**
   * The caller supplies every remote endpoint (addRemoteEndpoint): ARP is answered on this
   * host from those entries (VXLAN proxy), and nothing is flooded to the peers for unknown
   * destinations. Default false: ARP and unknown destinations are flooded to every peer.
   */
  static?: boolean;
  /** The bridge's name; default `np-<name>` cut to 15. */
  bridge?: string;
  /** The VXLAN device's name; default `vx-<name>` cut to 15. */
  vxlan?: string;
}

/** What the VXLAN device's alias records. */
export interface OverlayTag {
  name: string;
  vni: number;
  port: number;
  local: string;
  underlay: string;
  static: boolean;
}

const TAG_PREFIX = 'netplumb:overlay ';

export function overlayAlias(tag: OverlayTag): string {
  return TAG_PREFIX + JSON.stringify(tag);
}

export function parseOverlayAlias(alias: string | undefined): OverlayTag | undefined {
  if (!alias?.startsWith(TAG_PREFIX)) return undefined;
  try {
    const t = JSON.parse(alias.slice(TAG_PREFIX.length)) as OverlayTag;
    return typeof t.name === 'string' && typeof t.vni === 'number' ? t : undefined;
  } catch {
    return undefined;
  }
}

/** The validated overlay options: the bridge network's part and the VXLAN's. @internal */
export interface OverlayShape {
  name: string;
  subnet: string;
  ipRange: string;
  gateway: string;
  vni: number;
  port: number;
  local?: string;
  underlay: string;
  mtu?: number;
  masquerade: boolean;
  static: boolean;
  bridge?: string;
  vxlan: string;
}

function int(v: unknown, field: string, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) throw new ValidationError(field, `${JSON.stringify(v)} is not an integer in ${lo}-${hi}`);
  return v;
}

/** Validates create() options; derives this host's block and gateway. */
export function describeOverlay(o: OverlayNetworkOptions): OverlayShape {
  checkObject(o);
  checkNetworkName(o.name);
  const s = parseSubnet(o.subnet, 'subnet', 4);
  const vni = int(o.vni, 'vni', 1, 0xffffff);
  const port = o.port === undefined ? 4789 : int(o.port, 'port', 1, 65535);
  const underlay = checkIfname(o.underlay, 'underlay');
  let range: string;
  if (o.ipRange !== undefined) {
    if (o.hostIndex !== undefined) throw new ValidationError('hostIndex', 'give hostIndex or ipRange, not both');
    range = parseSubnet(o.ipRange, 'ipRange', 4).cidr;
  } else {
    if (o.hostIndex === undefined) throw new ValidationError('hostIndex', 'give this host\'s index (or its ipRange): each host hands out addresses from its own block');
    const bits = o.hostPrefixLength === undefined ? 24 : int(o.hostPrefixLength, 'hostPrefixLength', s.prefixLength, 30);
    const blocks = 2 ** (bits - s.prefixLength);
    const index = int(o.hostIndex, 'hostIndex', 0, blocks - 1);
    range = `${formatAddress(4, s.network + (BigInt(index) << BigInt(32 - bits)))}/${bits}`;
  }
  const r = parseSubnet(range, 'ipRange', 4);
  if (r.network < s.network || lastAddress(r) > lastAddress(s)) throw new ValidationError('ipRange', `${r.cidr} is not inside ${s.cidr}`);
  const gw = o.gateway === undefined ? r.network + 1n : parseAddress(o.gateway, 'gateway', 4).value;
  if (o.mtu !== undefined) int(o.mtu, 'mtu', 68, 65535);
  if (o.local !== undefined) parseAddress(o.local, 'local', 4);
  return {
    name: o.name,
    subnet: s.cidr,
    ipRange: r.cidr,
    gateway: formatAddress(4, gw),
    vni,
    port,
    ...(o.local !== undefined ? { local: o.local } : {}),
    underlay,
    ...(o.mtu !== undefined ? { mtu: o.mtu } : {}),
    masquerade: bool(o.masquerade, 'masquerade', true),
    static: bool(o.static, 'static', false),
    ...(o.bridge !== undefined ? { bridge: o.bridge } : {}),
    vxlan: checkIfname(o.vxlan ?? `vx-${o.name}`.slice(0, 15), 'vxlan'),
  };
}
