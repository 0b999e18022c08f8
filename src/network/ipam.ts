/**
 * Layer 4 (network): subnet arithmetic for IPv4 and IPv6 — parsing, the gateway, which
 * addresses an endpoint may have and the next-fit order of the address search. Which
 * addresses are taken is the kernel's to say (reservation.ts).
 * @module
 */
import { ValidationError } from '../errors.js';
import { formatIp, parseCidr, parseIp } from '../rtnl/ip.js';

/** A parsed subnet: `bits` is 32 or 128; addresses are bigints for one code path. */
export interface Subnet {
  family: 4 | 6;
  /** Network address. */
  network: bigint;
  prefixLength: number;
  bits: 32 | 128;
  /** The CIDR as given, normalised (host bits cleared). */
  cidr: string;
}

function toBigint(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return value;
}

/** Parses an IPv4 or IPv6 address into a bigint (ValidationError naming `field` if it is not one). */
export function parseAddress(text: unknown, field: string, family?: 4 | 6): { family: 4 | 6; value: bigint } {
  const ip = parseIp(text, field, family);
  return { family: ip.family, value: toBigint(ip.bytes) };
}

/** Formats a bigint address of `family` the way iproute2 prints it. */
export function formatAddress(family: 4 | 6, value: bigint): string {
  const bytes = new Uint8Array(family === 4 ? 4 : 16);
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return formatIp(bytes);
}

/** Parses `a.b.c.d/n` or `x::/n`; host bits must be zero, like Docker requires. */
export function parseSubnet(cidr: unknown, field: string, family?: 4 | 6, options: { hostBits?: boolean } = {}): Subnet {
  if (typeof cidr !== 'string' || !cidr.includes('/')) {
    throw new ValidationError(field, `${JSON.stringify(cidr)} is not a CIDR such as 172.30.0.0/16`);
  }
  const parsed = parseCidr(cidr, field, family);
  const addr = { family: parsed.family, value: toBigint(parsed.bytes) };
  const bits = addr.family === 4 ? 32 : 128;
  const prefixLength = parsed.prefixlen;
  // A usable bridge subnet needs room for the gateway and at least one endpoint.
  if (options.hostBits) {
    // Any prefix, host bits cleared: a range read back from the kernel.
    const mask = (1n << BigInt(bits - prefixLength)) - 1n;
    const network = addr.value & ~mask;
    return { family: addr.family, network, prefixLength, bits, cidr: `${formatAddress(addr.family, network)}/${prefixLength}` };
  }
  if (prefixLength > bits - 2) throw new ValidationError(field, `/${prefixLength} leaves no room for a gateway and endpoints`);
  const hostMask = (1n << BigInt(bits - prefixLength)) - 1n;
  if (addr.value & hostMask) {
    throw new ValidationError(field, `"${cidr}" has host bits set (did you mean ${formatAddress(addr.family, addr.value & ~hostMask)}/${prefixLength}?)`);
  }
  return { family: addr.family, network: addr.value, prefixLength, bits, cidr: `${formatAddress(addr.family, addr.value)}/${prefixLength}` };
}

/** Number of addresses in the subnet. */
function size(s: Subnet): bigint {
  return 1n << BigInt(s.bits - s.prefixLength);
}

/** Whether `value` lies inside `s`. */
export function contains(s: Subnet, value: bigint): boolean {
  return value >= s.network && value < s.network + size(s);
}

/** Whether two subnets share any address. */
export function overlaps(a: Subnet, b: Subnet): boolean {
  if (a.family !== b.family) return false;
  return contains(a, b.network) || contains(b, a.network);
}

/** Broadcast address of an IPv4 subnet (the last address; IPv6 has none but we keep the last reserved). */
export function lastAddress(s: Subnet): bigint {
  return s.network + size(s) - 1n;
}

/** The last address an endpoint may have (IPv4 keeps its broadcast address). */
export function lastHost(s: Subnet): bigint {
  return s.family === 4 ? lastAddress(s) - 1n : lastAddress(s);
}

/**
 * Checks that `value` may be given to an endpoint (or, with `gateway` undefined, be the
 * gateway): in the subnet, not its network or broadcast address, not the gateway.
 * Throws ValidationError saying why not.
 */
export function checkHost(s: Subnet, gateway: bigint | undefined, value: bigint, field: string): void {
  const text = formatAddress(s.family, value);
  if (!contains(s, value)) throw new ValidationError(field, `${text} is not in subnet ${s.cidr}`);
  if (value === s.network) throw new ValidationError(field, `${text} is the network address of ${s.cidr}`);
  if (value === gateway) throw new ValidationError(field, `${text} is the gateway of ${s.cidr}`);
  if (s.family === 4 && value === lastAddress(s)) throw new ValidationError(field, `${text} is the broadcast address of ${s.cidr}`);
}

/** The host address after `value` in next-fit order, wrapping after the last; skips the gateway. */
export function nextHost(s: Subnet, gateway: bigint, value: bigint): bigint {
  let v = value + 1n;
  for (let i = 0; i < 2; i++) {
    if (v > lastHost(s)) v = s.network + 1n;
    if (v !== gateway) return v;
    v++;
  }
  return v;
}

/** Number of addresses endpoints may have. */
export function hostCount(s: Subnet): bigint {
  return lastHost(s) - s.network - 1n; // less the gateway
}

/**
 * The MAC Docker derives from an IPv4 address: 02:42 followed by the four address bytes
 * (172.17.0.2 → 02:42:ac:11:00:02). Locally administered, unicast.
 */
export function macFromIPv4(value: bigint): string {
  const n = Number(value);
  const bytes = [0x02, 0x42, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
