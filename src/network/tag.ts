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
}

/** What a host-side veth's alias records about its endpoint, written when connect() has finished. */
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
  /** Whether netplumb created the namespace for this endpoint (it then deletes it too). */
  own: boolean;
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

/** Who took a reservation: a process (pid and start time, so a reused pid is not mistaken for it) and when. */
export interface Holder {
  pid: number;
  /** The process's start time, in clock ticks after boot (/proc/PID/stat field 22). */
  start: number;
  /** CLOCK_MONOTONIC seconds when the reservation was taken. */
  time: number;
}

/** What a reservation's comment says. */
export interface ParsedComment {
  network: string;
  /** Set on an endpoint's elements. */
  endpoint?: string;
  /** On the anchor elements (a network's name, an endpoint's attachment). */
  holder?: Holder;
  /** On an endpoint's anchor: the interface name inside its namespace. */
  ifname?: string;
  /** On an endpoint's anchor: the caller's label (`connect({ owner })`). */
  owner?: string;
  /** On an endpoint's anchor: its DNS names, name first (`connect({ name, aliases })`). */
  names?: string[];
}

/** Comment on a network's rules and reservations. */
export function networkComment(network: string, holder?: Holder): string {
  return `netplumb net=${network}${holder ? ` ${holderText(holder)}` : ''}`;
}

/** Comment on an endpoint's elements; its anchor (the attachment) also names holder, interface and owner. */
export function endpointComment(network: string, endpoint: string, anchor?: { holder: Holder; ifname: string; owner?: string; names?: readonly string[] }): string {
  const base = `netplumb net=${network} ep=${endpoint}`;
  if (!anchor) return base;
  const text = `${base} if=${anchor.ifname} ${holderText(anchor.holder)}${anchor.owner !== undefined ? ` owner=${anchor.owner}` : ''}${anchor.names?.length ? ` names=${anchor.names.join(',')}` : ''}`;
  // NFT_USERDATA_MAXLEN is 256 bytes, the comment's TLV header and NUL included.
  if (Buffer.byteLength(text) > COMMENT_MAX) throw new ValidationError('owner', `the endpoint's reservation comment would be ${Buffer.byteLength(text)} bytes, over ${COMMENT_MAX}: use a shorter owner label, name or aliases`);
  return text;
}

/** Longest comment an element may carry (NFT_USERDATA_MAXLEN less the TLV header and NUL). */
const COMMENT_MAX = 253;

function holderText(h: Holder): string {
  return `pid=${h.pid}:${h.start} t=${h.time}`;
}

/** Reads one of our comments (`netplumb net=NAME [ep=ID] [if=IF] [pid=P:S t=T] [owner=LABEL]`); undefined when it is not ours. */
export function parseComment(comment: string | undefined): ParsedComment | undefined {
  if (!comment?.startsWith('netplumb ')) return undefined;
  const fields = new Map<string, string>();
  for (const part of comment.slice(9).split(' ')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return undefined;
    fields.set(part.slice(0, eq), part.slice(eq + 1));
  }
  const network = fields.get('net');
  if (!network) return undefined;
  const out: ParsedComment = { network };
  const ep = fields.get('ep');
  if (ep) out.endpoint = ep;
  const pid = /^(\d+):(\d+)$/.exec(fields.get('pid') ?? '');
  const time = Number(fields.get('t'));
  if (pid && Number.isFinite(time)) out.holder = { pid: Number(pid[1]), start: Number(pid[2]), time };
  const ifname = fields.get('if');
  if (ifname) out.ifname = ifname;
  const owner = fields.get('owner');
  if (owner !== undefined) out.owner = owner;
  const names = fields.get('names');
  if (names) out.names = names.split(',');
  return out;
}
