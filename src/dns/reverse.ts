/**
 * DNS (beside the library, on its public surface): reverse-lookup names. A PTR question
 * asks about `2.0.18.172.in-addr.arpa` or a nibble name under `ip6.arpa`; the records
 * source is asked about the address itself.
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';

/**
 * The address a reverse name stands for (`2.0.18.172.in-addr.arpa` → `172.18.0.2`,
 * 32 nibbles under `ip6.arpa` → the compressed IPv6 address), or undefined when the
 * name is not a complete reverse name of one address (a zone like `18.172.in-addr.arpa`).
 */
export function addressOfReverseName(name: string): string | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n.endsWith('.in-addr.arpa')) {
    const labels = n.slice(0, -'.in-addr.arpa'.length).split('.');
    if (labels.length !== 4 || !labels.every((l) => /^(0|[1-9]\d{0,2})$/.test(l))) return undefined;
    const addr = labels.reverse().join('.');
    return isIPv4(addr) ? addr : undefined;
  }
  if (n.endsWith('.ip6.arpa')) {
    const nibbles = n.slice(0, -'.ip6.arpa'.length).split('.');
    if (nibbles.length !== 32 || !nibbles.every((x) => /^[0-9a-f]$/.test(x))) return undefined;
    const hex = nibbles.reverse().join('');
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return compressIPv6(groups.map((g) => g.replace(/^0+(?=.)/, '')));
  }
  return undefined;
}

/** The reverse name of an IPv4 or IPv6 address (`172.18.0.2` → `2.0.18.172.in-addr.arpa`), as `dig -x` asks. */
export function reverseName(address: string): string | undefined {
  if (isIPv4(address)) return `${address.split('.').reverse().join('.')}.in-addr.arpa`;
  if (!isIPv6(address)) return undefined;
  return `${expandIPv6(address).split('').reverse().join('.')}.ip6.arpa`;
}

/** The 32 hex digits of an IPv6 address. */
function expandIPv6(address: string): string {
  let a = address.toLowerCase();
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4?.[1]) {
    const b = v4[1].split('.').map(Number) as [number, number, number, number];
    a = `${a.slice(0, -v4[1].length)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head = '', tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0')).join('');
}

/** RFC 5952 text form of eight groups: the longest run (≥ 2) of zero groups becomes `::`. */
function compressIPv6(groups: string[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
