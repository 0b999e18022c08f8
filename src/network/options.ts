/**
 * Layer 4 (network): what callers may ask of a bridge network — the options of create()
 * and connect() and their validation, done before anything is sent to the kernel.
 * @module
 */
import { ValidationError } from '../errors.js';
import { Netns } from '../netns.js';
import { checkIfname } from '../rtnl/validate.js';
import { type Subnet, checkHost, contains, formatAddress, lastAddress, parseAddress, parseSubnet } from './ipam.js';
import type { PublishSpec } from './ports.js';
import type { NetworkTag } from './tag.js';

/** Options of {@link BridgeNetwork.create}, like `docker network create -d bridge`. */
export interface BridgeNetworkOptions {
  /** The namespace acting as the host; default the caller's own. */
  netns?: Netns;
  /** Network name (letters, digits, `_.-`; at most 64). */
  name: string;
  /** Bridge interface name (at most 15 bytes); default `np-<name>` cut to 15. */
  bridge?: string;
  /** IPv4 subnet, e.g. `172.30.0.0/16`; omit it (and give `subnet6`) for an IPv6-only network. */
  subnet?: string;
  /** Gateway (the bridge's address); default the subnet's first address. */
  gateway?: string;
  /**
   * Hand out IPv4 addresses only from this part of the subnet (`--ip-range`), e.g. one
   * host's share of an overlay's subnet. The gateway need not be inside it.
   */
  ipRange?: string;
  /** IPv6 subnet, e.g. `fd00:30::/64`: dual stack with `subnet`, IPv6-only without. */
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
  /** Default host address for published ports (Docker's `com.docker.network.bridge.host_binding_ipv4`), IPv4 or IPv6. */
  hostIp?: string;
}

/** Options of {@link BridgeNetwork.connect}, like `docker run --network NET --ip ... -p ...`. */
export interface ConnectOptions {
  /** Interface name inside the namespace; default `eth0`, or the first free `ethN` in a namespace that has interfaces. */
  ifname?: string;
  /** IPv4 address; default the next free one. Must be in the subnet, not the network/gateway/broadcast address, not in use. Not on IPv6-only networks. */
  ipv4?: string;
  /** IPv6 address; default on dual-stack networks the subnet's address with the IPv4 address's host part, on IPv6-only networks the next free one. */
  ipv6?: string;
  /** MAC address; default derived from the IPv4 address as Docker does (172.17.0.2 → 02:42:ac:11:00:02), on IPv6-only networks from the IPv6 address's last 32 bits. */
  mac?: string;
  /** Ports to publish. */
  publish?: PublishSpec[];
  /** Install the default route via the gateway; default true when the namespace has none yet. */
  defaultRoute?: boolean;
  /** When netplumb creates the namespace (no `netns` given to connect): mount it as /run/netns/NAME. */
  netnsName?: string;
  /**
   * The caller's label for the endpoint, kept in the kernel with it (e.g. a CNI runtime's
   * `CONTAINERID/IFNAME`), to find it again with `net.endpoints({ owner })`. Printable
   * ASCII without spaces, at most 128 bytes.
   */
  owner?: string;
  /**
   * The endpoint's name on the network, which the embedded DNS resolver answers (like
   * `docker run --name`): a DNS label or dotted name of letters, digits, `-` and `_`.
   */
  name?: string;
  /** More names for the endpoint on this network (`--network-alias`). */
  aliases?: string[];
}

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const OWNER_RE = /^[\x21-\x7e]{1,128}$/;

/** A network name, or ValidationError. */
export function checkNetworkName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) throw new ValidationError(field, `${JSON.stringify(name)} is not a network name (letters, digits, _ . -; at most 64)`);
  return name;
}

/** An owner label, or ValidationError. */
export function checkOwner(owner: unknown): string {
  if (typeof owner !== 'string' || !OWNER_RE.test(owner)) throw new ValidationError('owner', `${JSON.stringify(owner)} is not an owner label (printable ASCII, no spaces, 1-128 bytes)`);
  return owner;
}

const DNS_NAME_RE = /^(?=.{1,63}$)[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;

/** The endpoint's DNS names (name first, '' when there is none, then aliases), lower-cased, or ValidationError. */
export function checkNames(name: unknown, aliases: unknown): string[] {
  const out: string[] = [];
  const one = (v: unknown, field: string): void => {
    if (typeof v !== 'string' || !DNS_NAME_RE.test(v)) throw new ValidationError(field, `${JSON.stringify(v)} is not a DNS name (letters, digits, - _ .; at most 63)`);
    const lower = v.toLowerCase();
    if (!out.includes(lower)) out.push(lower);
  };
  if (name !== undefined) one(name, 'name');
  // The name's place is kept, so the first alias is never taken for the name.
  else if (aliases !== undefined) out.push('');
  if (aliases !== undefined) {
    if (!Array.isArray(aliases)) throw new ValidationError('aliases', 'must be an array of names');
    aliases.forEach((a, i) => one(a, `aliases[${i}]`));
  }
  return out;
}

/** A boolean option with its default. */
export function bool(v: unknown, field: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') throw new ValidationError(field, 'must be true or false');
  return v;
}

/** An options argument must be an object. */
export function checkObject(o: unknown, field = 'options'): void {
  if (o === null || typeof o !== 'object') throw new ValidationError(field, 'must be an object');
}

/** Checks the `netns` option naming the host namespace (undefined: the caller's own). */
export function checkHostNetns(netns: unknown): void {
  if (netns === undefined) return;
  if (!(netns instanceof Netns)) throw new ValidationError('netns', 'must be a Netns handle');
  if (netns.closed) throw new ValidationError('netns', 'the namespace handle is closed');
}

/** The addressing options of a network, whatever its driver (macvlan's have the same names and types). */
export type AddressingOptions = Pick<BridgeNetworkOptions, 'subnet' | 'gateway' | 'ipRange' | 'subnet6' | 'gateway6' | 'mtu'>;

/**
 * Validates a network's addressing: each subnet with its gateway (default the subnet's
 * first address), the IPv4 range to hand out, the MTU. Returns the subnets and the fields
 * the network's tag records (canonical forms). Throws ValidationError naming the field.
 */
export function checkAddressing(o: AddressingOptions): { s4?: Subnet; s6?: Subnet; fields: AddressingOptions } {
  const fields: AddressingOptions = {};
  let s4: Subnet | undefined;
  if (o.subnet !== undefined) {
    s4 = parseSubnet(o.subnet, 'subnet', 4);
    const gw = o.gateway === undefined ? s4.network + 1n : parseAddress(o.gateway, 'gateway', 4).value;
    checkHost(s4, undefined, gw, 'gateway');
    fields.subnet = s4.cidr;
    fields.gateway = formatAddress(4, gw);
    if (o.ipRange !== undefined) {
      const r = parseSubnet(o.ipRange, 'ipRange', 4);
      if (!contains(s4, r.network) || !contains(s4, lastAddress(r))) throw new ValidationError('ipRange', `${r.cidr} is not inside ${s4.cidr}`);
      fields.ipRange = r.cidr;
    }
  } else if (o.gateway !== undefined || o.ipRange !== undefined) {
    throw new ValidationError(o.gateway !== undefined ? 'gateway' : 'ipRange', 'needs subnet');
  }
  let s6: Subnet | undefined;
  if (o.subnet6 !== undefined) {
    s6 = parseSubnet(o.subnet6, 'subnet6', 6);
    const gw6 = o.gateway6 === undefined ? s6.network + 1n : parseAddress(o.gateway6, 'gateway6', 6).value;
    checkHost(s6, undefined, gw6, 'gateway6');
    fields.subnet6 = s6.cidr;
    fields.gateway6 = formatAddress(6, gw6);
  } else if (o.gateway6 !== undefined) {
    throw new ValidationError('gateway6', 'needs subnet6');
  }
  if (o.mtu !== undefined) {
    if (!Number.isInteger(o.mtu) || o.mtu < 68 || o.mtu > 65535) throw new ValidationError('mtu', `${o.mtu} is not an MTU (68-65535)`);
    fields.mtu = o.mtu;
  }
  return { ...(s4 ? { s4 } : {}), ...(s6 ? { s6 } : {}), fields };
}

/** Validates create() options into the tag that describes the network. */
export function describe(o: BridgeNetworkOptions): { tag: NetworkTag; bridge: string; s4?: Subnet; s6?: Subnet } {
  checkObject(o);
  checkNetworkName(o.name);
  const bridge = checkIfname(o.bridge ?? `np-${o.name}`.slice(0, 15), 'bridge');
  if (o.subnet === undefined && o.subnet6 === undefined) throw new ValidationError('subnet', 'give subnet (IPv4), subnet6 (IPv6) or both');
  const tag: NetworkTag = {
    name: o.name,
    masquerade: bool(o.masquerade, 'masquerade', true),
    icc: bool(o.icc, 'icc', true),
    internal: bool(o.internal, 'internal', false),
  };
  const { s4, s6, fields } = checkAddressing(o);
  Object.assign(tag, fields);
  if (o.hostIp !== undefined) {
    const a = parseAddress(o.hostIp, 'hostIp');
    if (a.family === 6 && !s6) throw new ValidationError('hostIp', `${o.hostIp} is an IPv6 address and the network has no IPv6 subnet`);
    if (a.family === 4 && a.value !== 0n && !s4) throw new ValidationError('hostIp', `${o.hostIp} is an IPv4 address and the network is IPv6-only`);
    tag.hostIp = formatAddress(a.family, a.value);
  }
  return { tag, bridge, ...(s4 ? { s4 } : {}), ...(s6 ? { s6 } : {}) };
}
