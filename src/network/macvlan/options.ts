/**
 * Layer 4 (network): what callers may ask of a macvlan (or ipvlan) network — the options
 * of create() and connect(), their validation before anything is sent to the kernel, and
 * the tag that records the network on its host-side link.
 * @module
 */
import { ValidationError } from '../../errors.js';
import type { Netns } from '../../netns.js';
import { checkIfname } from '../../rtnl/validate.js';
import { type Subnet, lastAddress, parseAddress, parseSubnet } from '../ipam.js';
import { bool, checkAddressing, checkNetworkName, checkObject } from '../options.js';

/** Options of {@link MacvlanNetwork.create}, like `docker network create -d macvlan`. */
export interface MacvlanNetworkOptions {
  /** The namespace acting as the host, where the parent interface is; default the caller's own. */
  netns?: Netns;
  /** Network name (letters, digits, `_.-`; at most 64). */
  name: string;
  /**
   * The parent interface on the LAN (`-o parent=eth0`). A name `PARENT.VID` that does not
   * exist is made as an 802.1Q sub-interface of PARENT with VLAN id VID, as Docker does,
   * and removed with the network (the kernel needs 8021q).
   */
  parent: string;
  /** IPv4 subnet of the LAN segment, e.g. `192.168.1.0/24`. */
  subnet?: string;
  /** The LAN's IPv4 router; default the subnet's first address. Never given to an endpoint. */
  gateway?: string;
  /** Hand out IPv4 addresses only from this part of the subnet (`--ip-range`), to share the LAN with its DHCP server. */
  ipRange?: string;
  /** IPv6 subnet of the LAN segment. */
  subnet6?: string;
  /** The LAN's IPv6 router; default the subnet's first address. */
  gateway6?: string;
  /** MTU of the endpoints' interfaces; default the parent's. */
  mtu?: number;
  /** No default route through the gateway (`--internal`): endpoints reach only the segment. */
  internal?: boolean;
  /**
   * ipvlan instead of macvlan (`-d ipvlan -o ipvlan_mode=l2|l3`): every endpoint shares the
   * parent's MAC. Needs the kernel's ipvlan module.
   */
  ipvlan?: 'l2' | 'l3';
  /** The host-side interface that carries the network's tag; default `npm-<name>` cut to 15. */
  shim?: string;
}

/** What the network's host-side interface records about it (its IFLA_IFALIAS). */
export interface MacvlanTag {
  name: string;
  parent: string;
  /** Set when netplumb made the 802.1Q parent (and removes it with the network). */
  vlanParent?: boolean;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  subnet6?: string;
  gateway6?: string;
  mtu?: number;
  internal: boolean;
  ipvlan?: 'l2' | 'l3';
}

/** The parsed description a handle works with. @internal */
export interface MacvlanShape {
  tag: MacvlanTag;
  shim: string;
  s4?: Subnet;
  s6?: Subnet;
  /** The range the address search walks: ipRange, else the subnet; IPv6 on IPv6-only networks. */
  range: { family: 4 | 6; first: bigint; last: bigint };
  /** Addresses never handed out: the gateways. */
  gw4?: bigint;
  gw6?: bigint;
  /** `PARENT.VID` names: the lower device and the VLAN id. */
  vlan?: { lower: string; id: number };
}

const TAG_PREFIX = 'netplumb:macvlan ';

/** The shim's alias for a network. */
export function macvlanAlias(tag: MacvlanTag): string {
  const text = TAG_PREFIX + JSON.stringify(tag);
  if (Buffer.byteLength(text) > 255) throw new ValidationError('name', `the ownership tag would be ${Buffer.byteLength(text)} bytes, over the kernel's 255: use a shorter name`);
  return text;
}

/** The network an alias describes, or undefined when it is not a netplumb macvlan network. */
export function parseMacvlanAlias(alias: string | undefined): MacvlanTag | undefined {
  if (!alias?.startsWith(TAG_PREFIX)) return undefined;
  try {
    const t = JSON.parse(alias.slice(TAG_PREFIX.length)) as MacvlanTag;
    return typeof t.name === 'string' && typeof t.parent === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}

/** The parsed description of a tag (from create's options or read back). */
export function shapeOf(tag: MacvlanTag, shim: string): MacvlanShape {
  const s4 = tag.subnet ? parseSubnet(tag.subnet, 'subnet', 4) : undefined;
  const s6 = tag.subnet6 ? parseSubnet(tag.subnet6, 'subnet6', 6) : undefined;
  const gw4 = tag.gateway ? parseAddress(tag.gateway, 'gateway', 4).value : undefined;
  const gw6 = tag.gateway6 ? parseAddress(tag.gateway6, 'gateway6', 6).value : undefined;
  const sp = (s4 ?? s6) as Subnet;
  const r = tag.ipRange ? parseSubnet(tag.ipRange, 'ipRange', 4, { hostBits: true }) : sp;
  const first = r.network === sp.network ? r.network + 1n : r.network;
  const last = lastAddress(r) === lastAddress(sp) && sp.family === 4 ? lastAddress(r) - 1n : lastAddress(r);
  const m = /^(.+)\.(\d{1,4})$/.exec(tag.parent);
  return {
    tag,
    shim,
    ...(s4 ? { s4 } : {}),
    ...(s6 ? { s6 } : {}),
    ...(gw4 !== undefined ? { gw4 } : {}),
    ...(gw6 !== undefined ? { gw6 } : {}),
    range: { family: sp.family, first, last },
    ...(m ? { vlan: { lower: m[1] as string, id: Number(m[2]) } } : {}),
  };
}

/** Validates create() options into the network's shape. Throws ValidationError naming the field. */
export function describeMacvlan(o: MacvlanNetworkOptions): MacvlanShape {
  checkObject(o);
  checkNetworkName(o.name);
  const parent = checkIfname(o.parent, 'parent');
  const shim = checkIfname(o.shim ?? `npm-${o.name}`.slice(0, 15), 'shim');
  if (o.subnet === undefined && o.subnet6 === undefined) throw new ValidationError('subnet', 'give subnet (IPv4), subnet6 (IPv6) or both');
  const tag: MacvlanTag = { name: o.name, parent, internal: bool(o.internal, 'internal', false) };
  Object.assign(tag, checkAddressing(o).fields);
  if (o.ipvlan !== undefined) {
    if (o.ipvlan !== 'l2' && o.ipvlan !== 'l3') throw new ValidationError('ipvlan', `${JSON.stringify(o.ipvlan)} is not l2 or l3`);
    tag.ipvlan = o.ipvlan;
  }
  const shape = shapeOf(tag, shim);
  if (shape.vlan && (shape.vlan.id < 1 || shape.vlan.id > 4094)) throw new ValidationError('parent', `${parent}: VLAN id ${shape.vlan.id} is not 1-4094`);
  return shape;
}
