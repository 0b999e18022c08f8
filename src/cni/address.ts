/**
 * CNI plugin: the little address arithmetic the configuration needs (is an address in a
 * subnet, inside rangeStart..rangeEnd, the next candidate). The library validates every
 * address again before anything reaches the kernel.
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';

/** An address as a number, with its family. */
export interface Addr {
  family: 4 | 6;
  value: bigint;
}

/** Parses an IPv4 or IPv6 address; undefined when it is not one. */
export function parseAddr(text: unknown): Addr | undefined {
  if (typeof text !== 'string') return undefined;
  if (isIPv4(text)) return { family: 4, value: text.split('.').reduce((v, o) => (v << 8n) | BigInt(Number(o)), 0n) };
  if (!isIPv6(text)) return undefined;
  let t = text;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (v4?.[1]) {
    const n = parseAddr(v4[1])?.value ?? 0n;
    t = `${t.slice(0, -v4[1].length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head = '', tail] = t.split('::');
  const h = head ? head.split(':') : [];
  const tl = tail === undefined ? [] : tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl];
  return { family: 6, value: groups.reduce((v, g) => (v << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

/** Formats an address the way iproute2 prints it (IPv6 compressed). */
export function formatAddr(a: Addr): string {
  if (a.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((a.value >> s) & 0xffn)).join('.');
  const groups = [112n, 96n, 80n, 64n, 48n, 32n, 16n, 0n].map((s) => Number((a.value >> s) & 0xffffn));
  // The longest run of two or more zero groups becomes '::' (RFC 5952).
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** A subnet: network address and prefix length. */
export interface Cidr {
  family: 4 | 6;
  network: bigint;
  prefixLength: number;
  /** Normalised text, host bits cleared. */
  text: string;
}

/** Parses `a.b.c.d/n` or `x::/n` (host bits are cleared); undefined when it is not one. */
export function parseCidr(text: unknown): Cidr | undefined {
  if (typeof text !== 'string') return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const a = parseAddr(text.slice(0, slash));
  const len = Number(text.slice(slash + 1));
  if (!a || !/^\d+$/.test(text.slice(slash + 1)) || len > (a.family === 4 ? 32 : 128)) return undefined;
  const bits = a.family === 4 ? 32 : 128;
  const network = a.value & ~((1n << BigInt(bits - len)) - 1n);
  return { family: a.family, network, prefixLength: len, text: `${formatAddr({ family: a.family, value: network })}/${len}` };
}

/** Whether `a` lies in `c`. */
export function contains(c: Cidr, a: Addr): boolean {
  const bits = c.family === 4 ? 32 : 128;
  return a.family === c.family && a.value >> BigInt(bits - c.prefixLength) === c.network >> BigInt(bits - c.prefixLength);
}

/** The last address of `c` (the broadcast address for IPv4). */
export function lastOf(c: Cidr): bigint {
  const bits = c.family === 4 ? 32 : 128;
  return c.network | ((1n << BigInt(bits - c.prefixLength)) - 1n);
}
