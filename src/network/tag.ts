/**
 * Layer 4 (network): the ownership tags netplumb writes into the kernel, so a network and
 * its endpoints can be rebuilt (and leftovers found) from the kernel alone. A bridge's and
 * a host-side veth's IFLA_IFALIAS hold a short JSON record behind a fixed prefix; nftables
 * rules and map elements carry comments naming the network and endpoint.
 * @module
 */
import { ValidationError } from '../errors.js';

const NETWORK_PREFIX = 'netplumb:network ';
const ENDPOINT_PREFIX = 'netplumb:endpoint ';
/** IFLA_IFALIAS holds at most this many bytes. */
const ALIAS_MAX = 255;

/** What a bridge's alias records about its network. */
export interface NetworkTag {
  name: string;
  subnet: string;
  gateway: string;
  subnet6?: string;
  gateway6?: string;
  mtu?: number;
  masquerade: boolean;
  icc: boolean;
  internal: boolean;
  hostIp?: string;
  /** Process that created the network: while it runs, a network without its rules is still being created (cleanup leaves it). */
  pid?: number;
}

/** What a host-side veth's alias records about its endpoint. */
export interface EndpointTag {
  /** Endpoint id. */
  id: string;
  /** Network name. */
  net: string;
  /** Interface name inside the namespace. */
  if: string;
  /** Inode of the endpoint's namespace. */
  ino: number;
  /** Its /run/netns name, when it has one and it fits. */
  ns?: string;
  ip?: string;
  ip6?: string;
  mac: string;
  /** Whether the endpoint installed the namespace's default route. */
  dr: boolean;
  /** Whether netplumb created the namespace for this endpoint (it then deletes it too). */
  own: boolean;
  /** Process that connected the endpoint: while it runs, an unfinished endpoint is still being connected (cleanup leaves it). */
  pid?: number;
  /** Number of port map elements connect() publishes for it: fewer in the maps means it never finished. */
  np?: number;
}

function encode(prefix: string, value: object, what: string): string {
  const text = prefix + JSON.stringify(value);
  if (Buffer.byteLength(text) > ALIAS_MAX) {
    throw new ValidationError(what, `the ownership tag would be ${Buffer.byteLength(text)} bytes, over the kernel's ${ALIAS_MAX}: use a shorter name`);
  }
  return text;
}

function decode<T>(prefix: string, alias: string | undefined): T | undefined {
  if (!alias?.startsWith(prefix)) return undefined;
  try {
    return JSON.parse(alias.slice(prefix.length)) as T;
  } catch {
    return undefined;
  }
}

/** The bridge alias for a network. */
export function networkAlias(tag: NetworkTag): string {
  return encode(NETWORK_PREFIX, tag, 'name');
}

/** The network a bridge alias describes, or undefined when it is not netplumb's. */
export function parseNetworkAlias(alias: string | undefined): NetworkTag | undefined {
  const t = decode<NetworkTag>(NETWORK_PREFIX, alias);
  return t && typeof t.name === 'string' && typeof t.subnet === 'string' ? t : undefined;
}

/** The host-side veth alias for an endpoint; drops the namespace name if it does not fit. */
export function endpointAlias(tag: EndpointTag): string {
  try {
    return encode(ENDPOINT_PREFIX, tag, 'netns');
  } catch (e) {
    if (tag.ns === undefined) throw e;
    const { ns: _dropped, ...rest } = tag;
    return encode(ENDPOINT_PREFIX, rest, 'netns');
  }
}

/** The endpoint a veth alias describes, or undefined when it is not netplumb's. */
export function parseEndpointAlias(alias: string | undefined): EndpointTag | undefined {
  const t = decode<EndpointTag>(ENDPOINT_PREFIX, alias);
  return t && typeof t.id === 'string' && typeof t.net === 'string' ? t : undefined;
}

/** Comment on a network's nftables rules. */
export function networkComment(network: string): string {
  return `netplumb net=${network}`;
}

/** Comment on an endpoint's map elements. */
export function endpointComment(network: string, endpoint: string): string {
  return `netplumb net=${network} ep=${endpoint}`;
}

/** The network of a rule or @bridges element comment (`netplumb net=NAME`), if it is one of ours. */
export function parseNetworkComment(comment: string | undefined): string | undefined {
  const m = comment ? /^netplumb net=(\S+)$/.exec(comment) : null;
  return m ? (m[1] as string) : undefined;
}

/** The endpoint id and network of an element comment, if it is one of ours. */
export function parseEndpointComment(comment: string | undefined): { network: string; endpoint: string } | undefined {
  const m = comment ? /^netplumb net=(\S+) ep=(\S+)$/.exec(comment) : null;
  return m ? { network: m[1] as string, endpoint: m[2] as string } : undefined;
}
