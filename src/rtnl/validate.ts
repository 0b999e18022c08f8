/**
 * Layer 2 (rtnetlink): checks of plain input values (names, integers, link references)
 * made before anything is encoded. Each throws {@link ValidationError} naming the field,
 * so a JavaScript caller passing the wrong thing learns which option is wrong instead of
 * getting a kernel EINVAL.
 * @module
 */
import { ValidationError } from '../errors.js';
import { IFNAMSIZ } from './constants.js';

/** A link by ifindex (a positive integer) or by name. */
export type LinkRef = number | string;

/**
 * Checks an interface name as the kernel's dev_valid_name() does: 1 to IFNAMSIZ-1 (15)
 * bytes, not `.` or `..`, no `/`, `:` or whitespace.
 */
export function checkIfname(name: unknown, field: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError(field, 'must be a non-empty interface name');
  const bytes = Buffer.byteLength(name);
  if (bytes > IFNAMSIZ - 1) {
    throw new ValidationError(field, `"${name}" is ${bytes} bytes; interface names are at most ${IFNAMSIZ - 1} (IFNAMSIZ - 1)`);
  }
  if (name === '.' || name === '..' || /[/:\s\0]/.test(name)) {
    throw new ValidationError(field, `"${name}" is not a valid interface name (no "/", ":" or whitespace; not "." or "..")`);
  }
  return name;
}

/** Checks an integer in `[min, max]`. */
export function checkInt(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(field, `${String(value)} is not an integer in ${min}-${max}`);
  }
  return value;
}

/** Checks an unsigned 8-bit integer. */
export function checkU8(value: unknown, field: string): number {
  return checkInt(value, field, 0, 0xff);
}

/** Checks an unsigned 16-bit integer. */
export function checkU16(value: unknown, field: string): number {
  return checkInt(value, field, 0, 0xffff);
}

/** Checks an unsigned 32-bit integer. */
export function checkU32(value: unknown, field: string): number {
  return checkInt(value, field, 0, 0xffffffff);
}

/** Checks an unsigned 64-bit integer given as a bigint or a safe integer. */
export function checkU64(value: unknown, field: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'bigint' && value >= 0n && value <= 0xffffffffffffffffn) return value;
  throw new ValidationError(field, `${String(value)} is not an unsigned 64-bit integer`);
}

/** Checks a boolean (JavaScript callers sometimes pass "true"). */
export function checkBool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(field, `must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** Checks a string without NUL bytes of at most `maxBytes` bytes. */
export function checkString(value: unknown, field: string, maxBytes: number): string {
  if (typeof value !== 'string') throw new ValidationError(field, `must be a string, got ${typeof value}`);
  if (value.includes('\0')) throw new ValidationError(field, 'must not contain NUL bytes');
  if (Buffer.byteLength(value) > maxBytes) throw new ValidationError(field, `is longer than ${maxBytes} bytes`);
  return value;
}

/** Checks an ifindex: a positive 32-bit signed integer. */
export function checkIndex(value: unknown, field: string): number {
  return checkInt(value, field, 1, 0x7fffffff);
}

/** Checks a link reference: an ifindex or a valid interface name. */
export function checkLinkRef(ref: unknown, field: string): LinkRef {
  if (typeof ref === 'number') return checkIndex(ref, field);
  if (typeof ref === 'string') return checkIfname(ref, field);
  throw new ValidationError(field, `must be an ifindex or an interface name, got ${typeof ref}`);
}

/**
 * Checks a reference that the kernel only takes as an ifindex (IFLA_MASTER, IFLA_LINK,
 * ifa_index, RTA_OIF, ndm_ifindex ...). A name is refused with a message saying how to
 * resolve it; the convenience APIs (`links.add()`, `addresses.add()` ...) resolve names
 * themselves before calling the encoders.
 */
export function checkIndexRef(ref: unknown, field: string): number {
  if (typeof ref === 'string') {
    checkIfname(ref, field);
    throw new ValidationError(field, `"${ref}": the kernel takes an ifindex here; resolve the name with links.get() first`);
  }
  return checkIndex(ref, field);
}

/** Looks `name` up in a table of names, or checks a number in `[0, max]`. */
export function checkNamed<T extends string>(value: unknown, field: string, names: Readonly<Record<T, number>>, max: number): number {
  if (typeof value === 'string') {
    const v = (names as Record<string, number>)[value];
    if (v === undefined) throw new ValidationError(field, `"${value}" is not one of ${Object.keys(names).join(', ')}`);
    return v;
  }
  return checkInt(value, field, 0, max);
}

/** Checks a file descriptor number (a namespace fd handed to the kernel). */
export function checkFd(fd: unknown, field: string): number {
  return checkInt(fd, field, 0, 0x7fffffff);
}
