/**
 * Layer 2 (rtnetlink): IPv4/IPv6 addresses, CIDR prefixes and link-layer (MAC) addresses
 * as text in the API and as bytes on the wire. Parsing validates and throws
 * {@link ValidationError} naming the field, so malformed input never reaches the kernel;
 * formatting matches what iproute2 prints (glibc's inet_ntop), so decoded objects compare
 * equal to `ip -j` output.
 * @module
 */
import { ValidationError } from '../errors.js';
import { AF_INET, AF_INET6 } from './constants.js';

/** IP version of an address, route, rule or neighbour. */
export type IpFamily = 4 | 6;

/** An IP address in wire form. */
export interface IpBytes {
  family: IpFamily;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
}

/** An IP prefix in wire form. */
export interface CidrBytes extends IpBytes {
  /** Prefix length: 0-32 for IPv4, 0-128 for IPv6. */
  prefixlen: number;
}

/** AF_INET / AF_INET6 for an IP version; ValidationError for anything else. */
export function afOf(family: IpFamily): number {
  if (family === 4) return AF_INET;
  if (family === 6) return AF_INET6;
  throw new ValidationError('family', `${String(family)} is not 4 or 6`);
}

/** The IP version of AF_INET / AF_INET6, or undefined for any other family. */
export function ipFamilyOf(af: number): IpFamily | undefined {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;
}

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i] as string;
    // Decimal only: inet_aton's octal and hex forms are a classic source of surprises.
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    out[i] = v;
  }
  return out;
}

function parseIPv6(text: string): Uint8Array | undefined {
  if (text.length > 45) return undefined;
  let head = text;
  let v4: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (lastColon !== -1 && text.indexOf('.', lastColon) !== -1) {
    v4 = parseIPv4(text.slice(lastColon + 1));
    if (!v4) return undefined;
    // Keep a "::" right before the dotted quad ("::1.2.3.4"); drop a single ":".
    head = text.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const groupsWanted = v4 ? 6 : 8;
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parseGroups(halves[0] as string);
  const right = halves.length === 2 ? parseGroups(halves[1] as string) : [];
  if (!left || !right) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const missing = groupsWanted - left.length - right.length;
    if (missing < 1) return undefined;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right];
  } else {
    if (left.length !== groupsWanted) return undefined;
    groups = left;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (v4) out.set(v4, 12);
  return out;
}

/**
 * Parses an IPv4 or IPv6 address (no prefix, no zone). Throws ValidationError naming
 * `field` when it is not one, or when it is not of `family` if that is given.
 */
export function parseIp(text: unknown, field: string, family?: IpFamily): IpBytes {
  if (typeof text !== 'string') throw new ValidationError(field, `must be an IP address string, got ${typeof text}`);
  const v4 = text.includes(':') ? undefined : parseIPv4(text);
  const bytes = v4 ?? (text.includes(':') ? parseIPv6(text) : undefined);
  if (!bytes) throw new ValidationError(field, `"${text}" is not an IPv4 or IPv6 address`);
  const f: IpFamily = bytes.length === 4 ? 4 : 6;
  if (family !== undefined && f !== family) {
    throw new ValidationError(field, `"${text}" is IPv${f}, expected an IPv${family} address`);
  }
  return { family: f, bytes };
}

/**
 * Parses `address/prefixlen` (or a bare address, meaning a host prefix). The address part
 * may have host bits set (`10.0.0.2/24` is an interface address). Throws ValidationError
 * naming `field` for a malformed address or an out-of-range prefix length.
 */
export function parseCidr(text: unknown, field: string, family?: IpFamily): CidrBytes {
  if (typeof text !== 'string') throw new ValidationError(field, `must be a CIDR string such as 10.0.0.0/24, got ${typeof text}`);
  const slash = text.indexOf('/');
  const ip = parseIp(slash === -1 ? text : text.slice(0, slash), field, family);
  const max = ip.family === 4 ? 32 : 128;
  if (slash === -1) return { ...ip, prefixlen: max };
  const len = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(len) || Number(len) > max) {
    throw new ValidationError(field, `"${text}" has an invalid prefix length (0-${max} for IPv${ip.family})`);
  }
  return { ...ip, prefixlen: Number(len) };
}

/** The address with every bit after `prefixlen` cleared (the network of a prefix). */
export function networkOf(bytes: Uint8Array, prefixlen: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let bit = prefixlen; bit < out.length * 8; bit++) out[bit >> 3] = (out[bit >> 3] as number) & ~(0x80 >> (bit & 7));
  return out;
}

/** The address with every bit after `prefixlen` set (the IPv4 broadcast of a prefix). */
export function broadcastOf(bytes: Uint8Array, prefixlen: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let bit = prefixlen; bit < out.length * 8; bit++) out[bit >> 3] = (out[bit >> 3] as number) | (0x80 >> (bit & 7));
  return out;
}

/** Whether an address is multicast (224.0.0.0/4 or ff00::/8). */
export function isMulticast(ip: IpBytes): boolean {
  const b0 = ip.bytes[0] as number;
  return ip.family === 4 ? (b0 & 0xf0) === 0xe0 : b0 === 0xff;
}

/**
 * Formats 4 or 16 bytes as an address, exactly as glibc's inet_ntop (and so iproute2)
 * does — including its dotted tail for IPv4-mapped and IPv4-compatible IPv6 addresses.
 * Other lengths come back as colon-separated hex (see {@link formatHw}).
 */
export function formatIp(bytes: Uint8Array): string {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length !== 16) return formatHw(bytes);
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(((bytes[i * 2] as number) << 8) | (bytes[i * 2 + 1] as number));
  // The longest run of zero words (the first one on a tie), if at least two long.
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (
      i === 6 &&
      bestBase === 0 &&
      (bestLen === 6 || (bestLen === 7 && words[7] !== 1) || (bestLen === 5 && words[5] === 0xffff))
    ) {
      out += `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
      return out;
    }
    out += (words[i] as number).toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) out += ':';
  return out;
}

/** Formats `bytes` with prefix length as `address/prefixlen`. */
export function formatCidr(bytes: Uint8Array, prefixlen: number): string {
  return `${formatIp(bytes)}/${prefixlen}`;
}

/**
 * Parses a 48-bit MAC address written as six colon- (or dash-) separated hex bytes,
 * `02:42:ac:11:00:02`. Throws ValidationError naming `field` otherwise.
 */
export function parseMac(text: unknown, field: string): Uint8Array {
  if (typeof text !== 'string' || !/^[0-9a-fA-F]{1,2}([:-][0-9a-fA-F]{1,2}){5}$/.test(text)) {
    throw new ValidationError(field, `${JSON.stringify(text)} is not a MAC address (like 02:42:ac:11:00:02)`);
  }
  return Uint8Array.from(text.split(/[:-]/), (h) => parseInt(h, 16));
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** Formats a hardware address of any length as lower-case colon-separated hex, as `ip` does. */
export function formatHw(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += i === 0 ? HEX[bytes[i] as number] : `:${HEX[bytes[i] as number]}`;
  return out;
}
