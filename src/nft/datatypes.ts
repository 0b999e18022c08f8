/**
 * Layer 2 (nftables): the data types of set keys and map values — nft's names
 * (`ipv4_addr`, `inet_service`, ...), its type numbers (enum datatypes of nftables'
 * include/datatype.h, which the kernel stores as NFTA_SET_KEY_TYPE without interpreting
 * it), sizes and byte orders — and the conversion of typed values to and from the bytes
 * the kernel compares. Concatenations (`inet_proto . inet_service`) put each field in its
 * own 32-bit register slot, as the kernel does.
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';
import { DecodeError, ValidationError } from '../errors.js';
import { HOST_LE } from '../netlink/writer.js';
import { NFT_REG32_SIZE } from './constants.js';

/** A value of one field of a set key or map value: an address, a port, a protocol, a name, a mark. */
export type SetValue = string | number;

/** A key data type, by nft's name. */
export type KeyType = 'ipv4_addr' | 'ipv6_addr' | 'ether_addr' | 'inet_proto' | 'inet_service' | 'mark' | 'ifname';

/** nftables' enum byteorder, as stored in set user data (NFTNL_UDATA_SET_KEYBYTEORDER). */
export const BYTEORDER_INVALID = 0;
export const BYTEORDER_HOST_ENDIAN = 1;
export const BYTEORDER_BIG_ENDIAN = 2;

/** nft's TYPE_BITS: a concatenation's type number is its fields' numbers, 6 bits each. */
const TYPE_BITS = 6;
/** nft's TYPE_VERDICT; the kernel's NFT_DATA_VERDICT is what goes into NFTA_SET_DATA_TYPE. */
export const TYPE_VERDICT = 1;
/** IFNAMSIZ: interface names are compared as 16 bytes, NUL-padded. */
export const IFNAMSIZ = 16;

/** How one data type is stored and converted. */
export interface DataType {
  name: KeyType;
  /** nft's TYPE_* number. */
  id: number;
  /** Size in bytes. */
  len: number;
  /** BYTEORDER_* as nft records it in set user data. */
  byteorder: number;
  /** Encodes a value; ValidationError naming `field` when it is not one. */
  encode(v: SetValue, field: string): Uint8Array;
  /** Decodes `len` bytes. */
  decode(b: Uint8Array): SetValue;
}

/** Protocol names nft prints for inet_proto (/etc/protocols). */
const PROTOCOLS: Record<string, number> = {
  icmp: 1,
  igmp: 2,
  tcp: 6,
  udp: 17,
  gre: 47,
  esp: 50,
  ah: 51,
  'ipv6-icmp': 58,
  sctp: 132,
  udplite: 136,
};
const PROTOCOL_NAMES = new Map(Object.entries(PROTOCOLS).map(([k, v]) => [v, k]));

function intValue(v: SetValue, field: string, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new ValidationError(field, `${JSON.stringify(v)} is not ${what} (0-${max})`);
  }
  return v;
}

/** Parses a dotted-quad IPv4 address. */
export function ipv4Bytes(v: unknown, field: string): Uint8Array {
  if (typeof v !== 'string' || !isIPv4(v)) throw new ValidationError(field, `${JSON.stringify(v)} is not an IPv4 address`);
  return Uint8Array.from(v.split('.').map(Number));
}

/** Parses an IPv6 address (any textual form Node accepts). */
export function ipv6Bytes(v: unknown, field: string): Uint8Array {
  if (typeof v !== 'string' || !isIPv6(v)) throw new ValidationError(field, `${JSON.stringify(v)} is not an IPv6 address`);
  let s = v;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail) {
    const b = ipv4Bytes(tail[1], field);
    s = `${s.slice(0, tail.index)}${(((b[0] as number) << 8) | (b[1] as number)).toString(16)}:${(((b[2] as number) << 8) | (b[3] as number)).toString(16)}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...new Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  return out;
}

/** Formats 4 bytes as a dotted quad. */
function formatIPv4(b: Uint8Array): string {
  return Array.from(b.subarray(0, 4)).join('.');
}

/** Formats 16 bytes as a canonical (RFC 5952) IPv6 address. */
function formatIPv6(b: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((b[i] as number) << 8) | (b[i + 1] as number)).toString(16));
  // Node's URL parser prints bracketed IPv6 hosts in the canonical compressed form.
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

function hostU32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, HOST_LE);
  return b;
}

const TYPES: Record<KeyType, DataType> = {
  ipv4_addr: {
    name: 'ipv4_addr',
    id: 7,
    len: 4,
    byteorder: BYTEORDER_BIG_ENDIAN,
    encode: (v, f) => ipv4Bytes(v, f),
    decode: formatIPv4,
  },
  ipv6_addr: {
    name: 'ipv6_addr',
    id: 8,
    len: 16,
    byteorder: BYTEORDER_BIG_ENDIAN,
    encode: (v, f) => ipv6Bytes(v, f),
    decode: formatIPv6,
  },
  ether_addr: {
    name: 'ether_addr',
    id: 9,
    len: 6,
    byteorder: BYTEORDER_BIG_ENDIAN,
    encode(v, f) {
      if (typeof v !== 'string' || !/^[0-9a-f]{1,2}(:[0-9a-f]{1,2}){5}$/i.test(v)) {
        throw new ValidationError(f, `${JSON.stringify(v)} is not a MAC address`);
      }
      return Uint8Array.from(v.split(':').map((x) => parseInt(x, 16)));
    },
    decode: (b) => Array.from(b.subarray(0, 6), (x) => x.toString(16).padStart(2, '0')).join(':'),
  },
  inet_proto: {
    name: 'inet_proto',
    id: 12,
    len: 1,
    // nft records no byte order for one-byte types.
    byteorder: BYTEORDER_INVALID,
    encode(v, f) {
      if (typeof v === 'string') {
        const n = Object.hasOwn(PROTOCOLS, v) ? PROTOCOLS[v] : undefined;
        if (n === undefined) throw new ValidationError(f, `unknown protocol ${JSON.stringify(v)} (use a number or one of ${Object.keys(PROTOCOLS).join(', ')})`);
        return Uint8Array.of(n);
      }
      return Uint8Array.of(intValue(v, f, 255, 'a protocol number'));
    },
    decode: (b) => PROTOCOL_NAMES.get(b[0] as number) ?? (b[0] as number),
  },
  inet_service: {
    name: 'inet_service',
    id: 13,
    len: 2,
    byteorder: BYTEORDER_BIG_ENDIAN,
    encode(v, f) {
      const n = intValue(v, f, 65535, 'a port');
      return Uint8Array.of(n >> 8, n & 0xff);
    },
    decode: (b) => ((b[0] as number) << 8) | (b[1] as number),
  },
  mark: {
    name: 'mark',
    id: 19,
    len: 4,
    byteorder: BYTEORDER_HOST_ENDIAN,
    encode: (v, f) => hostU32(intValue(v, f, 0xffffffff, 'a mark')),
    decode: (b) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, HOST_LE),
  },
  ifname: {
    name: 'ifname',
    id: 41,
    len: IFNAMSIZ,
    byteorder: BYTEORDER_HOST_ENDIAN,
    encode(v, f) {
      if (typeof v !== 'string' || v.length === 0) throw new ValidationError(f, `${JSON.stringify(v)} is not an interface name`);
      const raw = Buffer.from(v, 'utf8');
      if (raw.length >= IFNAMSIZ || raw.includes(0)) throw new ValidationError(f, `"${v}" is not an interface name (at most 15 bytes)`);
      const out = new Uint8Array(IFNAMSIZ);
      out.set(raw);
      return out;
    },
    decode(b) {
      const nul = b.indexOf(0);
      return Buffer.from(b.buffer, b.byteOffset, nul === -1 ? b.length : nul).toString('utf8');
    },
  },
};

const BY_ID = new Map(Object.values(TYPES).map((t) => [t.id, t]));

/** The data type named `name`; ValidationError for one netplumb does not know. */
export function dataType(name: unknown, field: string): DataType {
  const t = typeof name === 'string' && Object.hasOwn(TYPES, name) ? TYPES[name as KeyType] : undefined;
  if (!t) throw new ValidationError(field, `${JSON.stringify(name)} is not one of ${Object.keys(TYPES).join(', ')}`);
  return t;
}

/** A single or concatenated key type, resolved. */
export interface CompositeType {
  /** The fields, one for a plain type. */
  fields: DataType[];
  /** NFTA_SET_KEY_TYPE / DATA_TYPE: nft's type number, concatenations folded 6 bits a field. */
  id: number;
  /** NFTA_SET_KEY_LEN / DATA_LEN: each field of a concatenation takes whole 32-bit registers. */
  len: number;
}

/** Rounds a field length up to whole 32-bit registers. */
export function regAlign(len: number): number {
  return Math.ceil(len / NFT_REG32_SIZE) * NFT_REG32_SIZE;
}

/** Resolves `keyType` (`'ipv4_addr'` or `['inet_proto', 'inet_service']`). */
export function compositeType(spec: unknown, field: string): CompositeType {
  const names = Array.isArray(spec) ? spec : [spec];
  if (names.length === 0 || names.length > 16) throw new ValidationError(field, 'must name 1 to 16 types');
  const fields = names.map((n, i) => dataType(n, names.length > 1 ? `${field}[${i}]` : field));
  if (fields.length === 1) {
    const f = fields[0] as DataType;
    return { fields, id: f.id, len: f.len };
  }
  let id = 0;
  for (const f of fields) id = (id << TYPE_BITS) | f.id;
  return { fields, id: id >>> 0, len: fields.reduce((n, f) => n + regAlign(f.len), 0) };
}

/** Splits a type number back into field types; undefined when a field is not one netplumb knows. */
export function typeFromId(id: number, len: number): CompositeType | undefined {
  const single = BY_ID.get(id);
  if (single && single.len === len) return { fields: [single], id, len };
  const fields: DataType[] = [];
  for (let rest = id; rest !== 0; rest = Math.floor(rest / (1 << TYPE_BITS))) {
    const f = BY_ID.get(rest % (1 << TYPE_BITS));
    if (!f) return undefined;
    fields.unshift(f);
  }
  if (fields.length < 2 || fields.reduce((n, f) => n + regAlign(f.len), 0) !== len) return undefined;
  return { fields, id, len };
}

/** The nft name of a composite type, e.g. `inet_proto . inet_service`. */
export function typeName(t: CompositeType): KeyType | KeyType[] {
  return t.fields.length === 1 ? (t.fields[0] as DataType).name : t.fields.map((f) => f.name);
}

/** Encodes a key or value of type `t`: a plain value, or an array for a concatenation. */
export function encodeValue(t: CompositeType, v: unknown, field: string): Uint8Array {
  if (t.fields.length === 1) {
    if (Array.isArray(v)) throw new ValidationError(field, 'must be a single value, not an array');
    return (t.fields[0] as DataType).encode(v as SetValue, field);
  }
  if (!Array.isArray(v) || v.length !== t.fields.length) {
    throw new ValidationError(field, `must be an array of ${t.fields.length} values (${t.fields.map((f) => f.name).join(' . ')})`);
  }
  const out = new Uint8Array(t.len);
  let off = 0;
  t.fields.forEach((f, i) => {
    out.set(f.encode(v[i] as SetValue, `${field}[${i}]`), off);
    off += regAlign(f.len);
  });
  return out;
}

/** Decodes bytes of type `t`; DecodeError when the length is wrong. */
export function decodeValue(t: CompositeType, b: Uint8Array): SetValue | SetValue[] {
  if (b.length !== t.len) throw new DecodeError(`value of ${b.length} bytes where ${t.len} were expected`, 0);
  if (t.fields.length === 1) return (t.fields[0] as DataType).decode(b);
  const out: SetValue[] = [];
  let off = 0;
  for (const f of t.fields) {
    out.push(f.decode(b.subarray(off, off + f.len)));
    off += regAlign(f.len);
  }
  return out;
}
