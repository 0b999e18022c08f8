/**
 * Layer 2 (rtnetlink): the attribute payload types rtnetlink uses (integers of each
 * width and byte order, booleans as u8, flags, strings, IP and MAC addresses), written
 * in two steps — every encoder first validates its input into a list of {@link Put}s,
 * then writes them — so a ValidationError never leaves half a request in a batch. Field
 * tables describe the many "one attribute, one field" structures (bridge, bridge port,
 * vxlan ...) once, for both directions.
 * @module
 */
import { DecodeError, ValidationError } from '../errors.js';
import type { Attributes, UnknownAttribute } from '../netlink/attributes.js';
import { HOST_LE, type Writer } from '../netlink/writer.js';
import { AF_INET, AF_INET6 } from './constants.js';
import { formatHw, formatIp, parseIp, parseMac } from './ip.js';
import { checkBool, checkInt, checkString, checkU16, checkU32, checkU64, checkU8 } from './validate.js';

/** One validated piece of a request, written later. */
export type Put = (w: Writer) => void;

/** An NLA_U8 attribute. */
export const putU8 = (type: number, v: number): Put => (w) => w.attrU8(type, v);
/** An NLA_U16 attribute (host order). */
export const putU16 = (type: number, v: number): Put => (w) => w.attrU16(type, v);
/** An NLA_U32 attribute (host order). */
export const putU32 = (type: number, v: number): Put => (w) => w.attrU32(type, v);
/** An NLA_S32 attribute (host order). */
export const putS32 = (type: number, v: number): Put => (w) => w.attrI32(type, v);
/** An NLA_U64 attribute (host order). */
export const putU64 = (type: number, v: bigint): Put => (w) => w.attrU64(type, v);
/** A big-endian 16-bit attribute (ports, ethertypes). */
export const putBe16 = (type: number, v: number): Put => (w) => w.attrBe16(type, v);
/** A big-endian 32-bit attribute. */
export const putBe32 = (type: number, v: number): Put => (w) => w.attrBe32(type, v);
/** A big-endian 64-bit attribute. */
export const putBe64 = (type: number, v: bigint): Put => (w) => w.attrBe64(type, v);
/** An NLA_FLAG attribute (no payload). */
export const putFlag = (type: number): Put => (w) => w.attrFlag(type);
/** An NLA_NUL_STRING attribute (with its terminating NUL). */
export const putString = (type: number, v: string): Put => (w) => w.attrString(type, v);
/**
 * A string without the terminating NUL (NLA_STRING attributes such as IFLA_INFO_KIND and
 * IFLA_IFALIAS, which iproute2 sends this way; an alias sent with a NUL keeps it).
 */
export const putText = (type: number, v: string): Put => (w) => w.attrBytes(type, Buffer.from(v, 'utf8'));
/** An NLA_BINARY attribute (addresses, structs). */
export const putBytes = (type: number, v: Uint8Array): Put => (w) => w.attrBytes(type, v);

/** A nested attribute (NLA_F_NESTED set) holding `children`. */
export function putNest(type: number, children: readonly Put[]): Put {
  return (w) => {
    const start = w.beginNest(type);
    for (const c of children) c(w);
    w.endNest(start);
  };
}

/**
 * An attribute whose payload `children` write, without NLA_F_NESTED: for payloads that
 * start with a struct (VETH_INFO_PEER) or are arrays of structs (RTA_MULTIPATH), which
 * the kernel does not parse as attribute nests — iproute2 sends them the same way.
 */
export function putContainer(type: number, children: readonly Put[]): Put {
  return (w) => {
    const start = w.beginAttr(type);
    for (const c of children) c(w);
    w.endAttr(start);
  };
}

/** Writes every put in order. */
export function writeAll(w: Writer, puts: readonly Put[]): void {
  for (const p of puts) p(w);
}

/** How a field of a field table is carried on the wire. */
export type FieldCodec =
  | 'u8'
  | 'bool' // u8 0/1
  | 'flag' // NLA_FLAG: present means true
  | 'u16'
  | 'u32'
  | 's32'
  | 'u64' // bigint
  | 'u64n' // u64 holding small values (centiseconds, sizes): a number
  | 'be16'
  | 'be32'
  | 'be64' // bigint
  | 'string'
  | 'mac'
  | 'ipv4'
  | 'ipv6'
  | 'hex' // opaque identifiers, decoded as hex text
  | 'bridgeId'; // struct ifla_bridge_id, decoded as iproute2 prints it: 8000.02:42:ac:11:00:02

/** `[field name, attribute type, codec]`; the name is the API's camelCase of the kernel's. */
export type FieldTable = ReadonlyArray<readonly [key: string, type: number, codec: FieldCodec]>;

/** The attribute types a table covers. */
export function tableTypes(table: FieldTable): Set<number> {
  return new Set(table.map((f) => f[1]));
}

/**
 * Validates the fields of `spec` named in `table` and returns their puts, in table order.
 * Fields left undefined are not sent; `field` prefixes names in errors (`bridge.priority`).
 */
export function prepareFields(table: FieldTable, spec: object, field: string): Put[] {
  const src = spec as Record<string, unknown>;
  const puts: Put[] = [];
  for (const [key, type, codec] of table) {
    const v = src[key];
    if (v === undefined) continue;
    const name = fieldName(field, key);
    switch (codec) {
      case 'u8':
        puts.push(putU8(type, checkU8(v, name)));
        break;
      case 'bool':
        puts.push(putU8(type, checkBool(v, name) ? 1 : 0));
        break;
      case 'flag':
        if (checkBool(v, name)) puts.push(putFlag(type));
        break;
      case 'u16':
        puts.push(putU16(type, checkU16(v, name)));
        break;
      case 'u32':
        puts.push(putU32(type, checkU32(v, name)));
        break;
      case 's32':
        puts.push(putS32(type, checkInt(v, name, -0x80000000, 0x7fffffff)));
        break;
      case 'u64':
      case 'u64n':
        puts.push(putU64(type, checkU64(v, name)));
        break;
      case 'be16':
        puts.push(putBe16(type, checkU16(v, name)));
        break;
      case 'be32':
        puts.push(putBe32(type, checkU32(v, name)));
        break;
      case 'be64':
        puts.push(putBe64(type, checkU64(v, name)));
        break;
      case 'string':
        puts.push(putString(type, checkString(v, name, 255)));
        break;
      case 'mac':
        puts.push(putBytes(type, parseMac(v, name)));
        break;
      case 'ipv4':
        puts.push(putBytes(type, parseIp(v, name, 4).bytes));
        break;
      case 'ipv6':
        puts.push(putBytes(type, parseIp(v, name, 6).bytes));
        break;
      case 'hex':
      case 'bridgeId':
        throw new ValidationError(name, 'is read-only');
    }
  }
  return puts;
}

function bridgeId(d: Buffer): string {
  if (d.length < 8) throw new DecodeError(`bridge id of ${d.length} bytes, needs 8`, 0);
  return `${formatHw(d.subarray(0, 2)).replace(':', '')}.${formatHw(d.subarray(2, 8))}`;
}

/** Decodes the attributes named in `table` into `out` (absent attributes stay undefined). */
export function decodeFields(attrs: Attributes, table: FieldTable, target: object): void {
  const out = target as Record<string, unknown>;
  for (const [key, type, codec] of table) {
    const d = attrs.get(type);
    if (d === undefined) continue;
    switch (codec) {
      case 'u8':
        out[key] = attrs.u8(type);
        break;
      case 'bool':
        out[key] = attrs.u8(type) !== 0;
        break;
      case 'flag':
        out[key] = true;
        break;
      case 'u16':
        out[key] = attrs.u16(type);
        break;
      case 'u32':
        out[key] = attrs.u32(type);
        break;
      case 's32':
        out[key] = attrs.i32(type);
        break;
      case 'u64':
        out[key] = attrs.u64(type);
        break;
      case 'u64n':
        out[key] = Number(attrs.u64(type));
        break;
      case 'be16':
        out[key] = attrs.be16(type);
        break;
      case 'be32':
        out[key] = attrs.be32(type);
        break;
      case 'be64':
        out[key] = attrs.be64(type);
        break;
      case 'string':
        out[key] = attrs.string(type);
        break;
      case 'mac':
      case 'hex':
        out[key] = formatHw(d);
        break;
      case 'ipv4':
      case 'ipv6':
        out[key] = ipText(d, type);
        break;
      case 'bridgeId':
        out[key] = bridgeId(d);
        break;
    }
  }
}

/** An address attribute as text; DecodeError unless it is 4 or 16 bytes. */
export function ipText(d: Buffer, type: number): string {
  if (d.length !== 4 && d.length !== 16) throw new DecodeError(`address attribute ${type} has ${d.length} bytes`, 0);
  return formatIp(d);
}

/** An optional address attribute as text. */
export function ipAttr(attrs: Attributes, type: number): string | undefined {
  const d = attrs.get(type);
  return d === undefined ? undefined : ipText(d, type);
}

/** An optional hardware address attribute as text. */
export function hwAttr(attrs: Attributes, type: number): string | undefined {
  const d = attrs.get(type);
  return d === undefined ? undefined : formatHw(d);
}

const reverseTables = new WeakMap<object, Map<number, string>>();

/** The name of a value of a closed kernel enum; DecodeError for a value the UAPI does not define. */
export function decodeName<T extends string>(names: Readonly<Record<T, number>>, value: number, what: string): T {
  let reverse = reverseTables.get(names);
  if (!reverse) {
    reverse = new Map();
    // The first name wins where two share a value (`universe` and `global`).
    for (const [k, v] of Object.entries(names) as Array<[T, number]>) if (!reverse.has(v)) reverse.set(v, k);
    reverseTables.set(names, reverse);
  }
  const name = reverse.get(value);
  if (name === undefined) throw new DecodeError(`unknown ${what} ${value}`, 0);
  return name as T;
}

/** Checks that a family header of `size` bytes fits in a payload. */
export function needHeader(payload: Buffer, size: number, what: string): void {
  if (payload.length < size) throw new DecodeError(`${what} payload of ${payload.length} bytes, needs ${size}`, 0);
}

/** A u32 in host byte order at `offset` of a struct payload (bounds-checked). */
export function structU32(d: Buffer, offset: number, what: string): number {
  if (d.length < offset + 4) throw new DecodeError(`${what} of ${d.length} bytes is too short`, 0);
  return HOST_LE ? d.readUInt32LE(offset) : d.readUInt32BE(offset);
}

/** Host-order u32s laid out as a struct (e.g. struct br_boolopt_multi). */
export function u32Struct(values: readonly number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => (HOST_LE ? b.writeUInt32LE(v, i * 4) : b.writeUInt32BE(v, i * 4)));
  return b;
}

/** Host-order u16s laid out as a struct (e.g. struct fib_rule_port_range). */
export function u16Struct(values: readonly number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => (HOST_LE ? b.writeUInt16LE(v, i * 2) : b.writeUInt16BE(v, i * 2)));
  return b;
}

/** A u16 in host byte order at `offset` of a struct payload (bounds-checked). */
export function structU16(d: Buffer, offset: number, what: string): number {
  if (d.length < offset + 2) throw new DecodeError(`${what} of ${d.length} bytes is too short`, 0);
  return HOST_LE ? d.readUInt16LE(offset) : d.readUInt16BE(offset);
}

/** An s32 in host byte order at `offset` of a struct payload (bounds-checked). */
export function structS32(d: Buffer, offset: number, what: string): number {
  if (d.length < offset + 4) throw new DecodeError(`${what} of ${d.length} bytes is too short`, 0);
  return HOST_LE ? d.readInt32LE(offset) : d.readInt32BE(offset);
}

/** A u64 in host byte order at `offset` of a struct payload (bounds-checked). */
export function structU64(d: Buffer, offset: number, what: string): bigint {
  if (d.length < offset + 8) throw new DecodeError(`${what} of ${d.length} bytes is too short`, 0);
  return HOST_LE ? d.readBigUInt64LE(offset) : d.readBigUInt64BE(offset);
}

/**
 * The (last) attribute of `type` kept whole — type and bytes copied — for a container
 * part of which was not decoded, so nothing the kernel said is lost.
 */
export function keepWhole(attrs: Attributes, type: number): UnknownAttribute[] {
  const raw = attrs.all(type).at(-1);
  return raw ? [{ type: raw.type, nested: raw.nested, data: Uint8Array.from(raw.data) }] : [];
}

/** Whether every attribute of `attrs` is of a type in `known` (nothing would be left unknown). */
export function allKnown(attrs: Attributes, known: ReadonlySet<number>): boolean {
  for (const a of attrs.list) if (!known.has(a.type)) return false;
  return true;
}

/** A NUL-terminated string payload (everything before the first NUL). */
export function cString(d: Buffer): string {
  const nul = d.indexOf(0);
  return d.toString('utf8', 0, nul === -1 ? d.length : nul);
}

/** `parent.key`, or `key` at the top level: the field name used in ValidationErrors. */
export function fieldName(parent: string, key: string): string {
  return parent ? `${parent}.${key}` : key;
}

/**
 * Whether a route or rule message is of AF_INET/AF_INET6. Dumps of every family and the
 * rule notification groups also carry the multicast routing families
 * (RTNL_FAMILY_IPMR/IP6MR), which are not decoded as routes or rules.
 */
export function isIpMessage(payload: Buffer): boolean {
  return payload[0] === AF_INET || payload[0] === AF_INET6;
}
