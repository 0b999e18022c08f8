/**
 * Layer 2 (nftables): a small builder that reads like nft and produces the expression
 * lists nft itself would write (same registers, same shortcuts), e.g.
 *
 * ```ts
 * // nft: ip saddr 172.17.0.0/16 oifname != "docker0" masquerade
 * [ip.saddr.in('172.17.0.0/16'), meta.oifname.ne('docker0'), masquerade()]
 * // nft: fib daddr type local counter jump docker
 * [fib.daddr.type.eq('local'), counter(), jump('docker')]
 * // nft: dnat ip to meta l4proto . th dport map @ports
 * [dnat.map('ports', [meta.l4proto, th.dport])]
 * ```
 *
 * Every builder returns an array of expressions; a rule's `expressions` may mix such
 * arrays and single expressions. Protocol fields add nft's implicit dependency (`tcp
 * dport` matches `meta l4proto tcp` first). nft also adds `meta nfproto ipv4` before
 * `ip saddr` in inet, bridge and netdev tables; the builder does not know the table, so
 * put `meta.nfproto.eq('ipv4')` first there yourself.
 * @module
 */
import { ValidationError } from '../errors.js';
import { HOST_LE } from '../netlink/writer.js';
import { NF_CT_STATE_BIT, NF_CT_STATE_INVALID_BIT, NF_CT_STATE_UNTRACKED_BIT, IP_CT_ESTABLISHED, IP_CT_NEW, IP_CT_RELATED, NFT_REG32_00, NFT_REG_1, NFT_REG_VERDICT } from './constants.js';
import type { Verdict } from './data.js';
import { type KeyType, type SetValue, dataType, ipv4Bytes, ipv6Bytes, regAlign } from './datatypes.js';
import type { SetElement } from './elements.js';
import type { AnonymousSet, CtKey, Expression, FibFlag, MetaKey, NatFlag, PayloadBase } from './expr/index.js';
import { FIB_ADDR_TYPES } from './expr/fib.js';
import { LOG_LEVELS } from './expr/log.js';

/** A value a field is compared with: an address (or prefix), a port, a name ... */
export type MatchValue = SetValue;
/** Members of an inline set: values, prefixes, or `[first, last]` ranges (then the set is an interval set). */
export type SetMember = SetValue | [SetValue, SetValue] | SetValue[];

/** How a field's values become bytes. */
interface ValueCodec {
  /** Bytes compared with the register (the field's length, or a shorter prefix for wildcards). */
  bytes(v: unknown, field: string): Uint8Array;
  /** The set key type of the field, for lookups in inline sets. */
  setType?: KeyType;
  /** Address prefix support: `a.b.c.d/len`. */
  prefix?: boolean;
  /** A bit mask type (ct state): equality means "any of these bits". */
  bitmask?: boolean;
}

function hostU32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, HOST_LE);
  return b;
}

const typeCodec = (t: KeyType, prefix = false): ValueCodec => ({
  bytes: (v, f) => dataType(t, f).encode(v as SetValue, f),
  setType: t,
  prefix,
});

const ifnameCodec: ValueCodec = {
  bytes(v, f) {
    // nft compares a wildcard `veth*` as the bytes before the star, without the NUL.
    if (typeof v === 'string' && v.endsWith('*') && v.length > 1 && !v.slice(0, -1).includes('*')) return Buffer.from(v.slice(0, -1), 'utf8');
    return dataType('ifname', f).encode(v as SetValue, f);
  },
  setType: 'ifname',
};

const NFPROTOS: Record<string, number> = { ipv4: 2, ipv6: 10 };
const nfprotoCodec: ValueCodec = {
  bytes(v, f) {
    const n = typeof v === 'string' && Object.hasOwn(NFPROTOS, v) ? NFPROTOS[v] : typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 256 ? v : undefined;
    if (n === undefined) throw new ValidationError(f, `${JSON.stringify(v)} is not ipv4, ipv6 or a number`);
    return Uint8Array.of(n);
  },
};

const CT_STATES: Record<string, number> = {
  invalid: NF_CT_STATE_INVALID_BIT,
  established: NF_CT_STATE_BIT(IP_CT_ESTABLISHED),
  related: NF_CT_STATE_BIT(IP_CT_RELATED),
  new: NF_CT_STATE_BIT(IP_CT_NEW),
  untracked: NF_CT_STATE_UNTRACKED_BIT,
};
const ctStateCodec: ValueCodec = {
  bytes(v, f) {
    const names = Array.isArray(v) ? v : [v];
    let bits = 0;
    names.forEach((n, i) => {
      if (typeof n !== 'string' || !Object.hasOwn(CT_STATES, n)) throw new ValidationError(`${f}[${i}]`, `${JSON.stringify(n)} is not one of ${Object.keys(CT_STATES).join(', ')}`);
      bits |= CT_STATES[n] as number;
    });
    return hostU32(bits);
  },
  bitmask: true,
};

/** Conntrack status bits (enum ip_conntrack_status) by nft's names. */
const CT_STATUS: Record<string, number> = { expected: 1 << 0, 'seen-reply': 1 << 1, assured: 1 << 2, confirmed: 1 << 3, snat: 1 << 4, dnat: 1 << 5, dying: 1 << 9 };
const ctStatusCodec: ValueCodec = {
  bytes(v, f) {
    const names = Array.isArray(v) ? v : [v];
    let bits = 0;
    names.forEach((n, i) => {
      if (typeof n !== 'string' || !Object.hasOwn(CT_STATUS, n)) throw new ValidationError(`${f}[${i}]`, `${JSON.stringify(n)} is not one of ${Object.keys(CT_STATUS).join(', ')}`);
      bits |= CT_STATUS[n] as number;
    });
    return hostU32(bits);
  },
  bitmask: true,
};

const u32Codec: ValueCodec = {
  bytes(v, f) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new ValidationError(f, `${JSON.stringify(v)} is not a 32-bit unsigned integer`);
    return hostU32(v);
  },
};

const fibTypeCodec: ValueCodec = {
  bytes(v, f) {
    if (typeof v !== 'string' || !Object.hasOwn(FIB_ADDR_TYPES, v)) throw new ValidationError(f, `${JSON.stringify(v)} is not one of ${Object.keys(FIB_ADDR_TYPES).join(', ')}`);
    return hostU32(FIB_ADDR_TYPES[v as keyof typeof FIB_ADDR_TYPES]);
  },
};

/** The register a field at byte `offset` of a concatenation loads into (nft: reg 1, then reg 9, 10 ...). */
function concatReg(offset: number): number {
  return offset === 0 ? NFT_REG_1 : NFT_REG32_00 + offset / 4;
}

/** Something that can be loaded into a register and matched: a packet field, metadata, a concatenation. */
export class Field {
  /** @internal */
  constructor(
    /** nft's name for it, used in error messages. */
    readonly name: string,
    /** Byte length of the value it loads. */
    readonly len: number,
    private readonly loader: (reg: number) => Expression[],
    private readonly codec: ValueCodec,
    private readonly deps: readonly Expression[] = [],
    /** @internal For prefix matches: how to load only the first `n` bytes. */
    private readonly loadPrefix?: (reg: number, n: number) => Expression[],
  ) {}

  /** Expressions that load this field into `reg`, after any protocol dependency. */
  load(reg: number = NFT_REG_1): Expression[] {
    return [...this.deps, ...this.loader(reg)];
  }

  /** @internal Dependencies (e.g. `meta l4proto tcp`) that must precede the load. */
  dependencies(): readonly Expression[] {
    return this.deps;
  }

  /** @internal The load alone. */
  loadOnly(reg: number): Expression[] {
    return this.loader(reg);
  }

  /** @internal The set type, or ValidationError when the field cannot key a set. */
  setType(): KeyType {
    if (!this.codec.setType) throw new ValidationError(this.name, 'cannot be looked up in a set');
    return this.codec.setType;
  }

  private cmp(op: 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte', v: unknown): Expression[] {
    if (this.codec.bitmask) {
      // nft: `ct state established,related` is (state & mask) != 0.
      const mask = this.codec.bytes(v, this.name);
      return [
        ...this.load(),
        { kind: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, len: mask.length, mask, xor: new Uint8Array(mask.length) },
        { kind: 'cmp', op: op === 'eq' ? 'neq' : 'eq', sreg: NFT_REG_1, data: new Uint8Array(mask.length) },
      ];
    }
    if (this.codec.prefix && typeof v === 'string' && v.includes('/')) return this.prefixMatch(op, v);
    return [...this.load(), { kind: 'cmp', op, sreg: NFT_REG_1, data: this.codec.bytes(v, this.name) }];
  }

  private prefixMatch(op: 'eq' | 'neq' | 'lt' | 'lte' | 'gt' | 'gte', v: string): Expression[] {
    if (op !== 'eq' && op !== 'neq') throw new ValidationError(this.name, 'a prefix can only be compared with eq/ne');
    const [addr, lenText] = v.split('/') as [string, string];
    const bytes = this.len === 4 ? ipv4Bytes(addr, this.name) : ipv6Bytes(addr, this.name);
    const plen = /^\d+$/.test(lenText) ? Number(lenText) : NaN;
    if (!(plen >= 0 && plen <= bytes.length * 8)) throw new ValidationError(this.name, `"${v}" has a bad prefix length`);
    const mask = new Uint8Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) mask[i] = (0xff << (8 - Math.max(0, Math.min(8, plen - i * 8)))) & 0xff;
    if (bytes.some((b, i) => (b & ~(mask[i] as number) & 0xff) !== 0)) throw new ValidationError(this.name, `"${v}" has host bits set`);
    // Like nft: a prefix on a byte boundary loads only those bytes; otherwise mask them.
    if (plen % 8 === 0 && plen > 0 && this.loadPrefix) {
      return [...this.deps, ...this.loadPrefix(NFT_REG_1, plen / 8), { kind: 'cmp', op, sreg: NFT_REG_1, data: bytes.slice(0, plen / 8) }];
    }
    return [
      ...this.load(),
      { kind: 'bitwise', sreg: NFT_REG_1, dreg: NFT_REG_1, len: bytes.length, mask, xor: new Uint8Array(bytes.length) },
      { kind: 'cmp', op, sreg: NFT_REG_1, data: bytes },
    ];
  }

  /** `FIELD VALUE` (nft's implicit ==); a prefix `a.b.c.d/len` on addresses; `name*` on interface names. */
  eq(v: MatchValue | MatchValue[]): Expression[] {
    return this.cmp('eq', v);
  }

  /** `FIELD != VALUE`. */
  ne(v: MatchValue | MatchValue[]): Expression[] {
    return this.cmp('neq', v);
  }

  /** `FIELD < VALUE` (byte order comparison, as nft does). */
  lt(v: MatchValue): Expression[] {
    return this.cmp('lt', v);
  }

  /** `FIELD <= VALUE`. */
  lte(v: MatchValue): Expression[] {
    return this.cmp('lte', v);
  }

  /** `FIELD > VALUE`. */
  gt(v: MatchValue): Expression[] {
    return this.cmp('gt', v);
  }

  /** `FIELD >= VALUE`. */
  gte(v: MatchValue): Expression[] {
    return this.cmp('gte', v);
  }

  /** `FIELD FIRST-LAST`: nft writes it as two comparisons. */
  range(first: MatchValue, last: MatchValue): Expression[] {
    return [...this.load(), { kind: 'cmp', op: 'gte', sreg: NFT_REG_1, data: this.codec.bytes(first, this.name) }, { kind: 'cmp', op: 'lte', sreg: NFT_REG_1, data: this.codec.bytes(last, this.name) }];
  }

  /** `FIELD != FIRST-LAST`. */
  notRange(first: MatchValue, last: MatchValue): Expression[] {
    return [...this.load(), { kind: 'range', op: 'neq', sreg: NFT_REG_1, from: this.codec.bytes(first, this.name), to: this.codec.bytes(last, this.name) }];
  }

  /**
   * Membership: `'@name'` looks up a named set (nft `FIELD @name`); an address prefix is
   * a prefix match; an array is an inline set (`FIELD { a, b, c }`), made an interval set
   * when it holds prefixes or `[first, last]` ranges; for flag fields (ct state) any of
   * the flags.
   */
  in(v: string | readonly SetMember[]): Expression[] {
    return this.membership(v, false);
  }

  /** Non-membership: `FIELD != @name`, `FIELD != { ... }`, `FIELD != prefix`. */
  notIn(v: string | readonly SetMember[]): Expression[] {
    return this.membership(v, true);
  }

  private membership(v: string | readonly SetMember[], invert: boolean): Expression[] {
    if (typeof v === 'string' && v.startsWith('@')) {
      return [...this.load(), { kind: 'lookup', sreg: NFT_REG_1, set: setName(v, this.name), ...(invert ? { invert: true } : {}) }];
    }
    if (this.codec.bitmask || typeof v === 'string') return this.cmp(invert ? 'neq' : 'eq', v);
    if (!Array.isArray(v)) throw new ValidationError(this.name, 'in() takes "@set", a prefix, or an array of values');
    const set = inlineSet(this, v);
    return [...this.load(), { kind: 'lookup', sreg: NFT_REG_1, set, ...(invert ? { invert: true } : {}) }];
  }

  /**
   * Verdict map lookup: `FIELD vmap @name`, or inline `FIELD vmap { k : verdict, ... }`
   * given as `[[key, verdict], ...]`.
   */
  vmap(map: string | ReadonlyArray<readonly [SetMember, Verdict]>): Expression[] {
    if (typeof map === 'string') return [...this.load(), { kind: 'lookup', sreg: NFT_REG_1, set: setName(map, this.name), dreg: NFT_REG_VERDICT }];
    if (!Array.isArray(map)) throw new ValidationError(this.name, 'vmap() takes "@map" or an array of [key, verdict] pairs');
    const set = inlineSet(
      this,
      map.map((p) => p[0]),
      map.map((p) => p[1]),
    );
    return [...this.load(), { kind: 'lookup', sreg: NFT_REG_1, set, dreg: NFT_REG_VERDICT }];
  }

  /** `FIELD set VALUE` for writable metadata (meta mark, ct mark): loads the value and stores it. */
  set(v: MatchValue): Expression[] {
    const store = this.store;
    if (!store) throw new ValidationError(this.name, 'cannot be set');
    return [{ kind: 'immediate', dreg: NFT_REG_1, data: this.codec.bytes(v, this.name) }, store(NFT_REG_1)];
  }

  /** @internal How to store a register into this field, for writable fields. */
  store?: (reg: number) => Expression;
}

function setName(v: string, field: string): string {
  const name = v.startsWith('@') ? v.slice(1) : v;
  if (name.length === 0) throw new ValidationError(field, 'needs a set name after @');
  return name;
}

/** Builds the inline set (or verdict map) of `key` for members (and verdicts). */
function inlineSet(key: Field | Concat, members: readonly SetMember[], verdicts?: readonly Verdict[]): AnonymousSet {
  if (members.length === 0) throw new ValidationError(key.name, 'an inline set needs at least one member');
  const types = key instanceof Concat ? key.fields.map((f) => f.setType()) : [key.setType()];
  let interval = false;
  const elements: SetElement[] = members.map((m, i) => {
    let e: SetElement;
    if (key instanceof Concat) {
      if (!Array.isArray(m)) throw new ValidationError(`${key.name}[${i}]`, `must be an array of ${types.length} values`);
      e = { key: m as SetValue[] };
    } else if (Array.isArray(m)) {
      if (m.length !== 2) throw new ValidationError(`${key.name}[${i}]`, 'a range is [first, last]');
      e = { key: m[0] as SetValue, keyEnd: m[1] as SetValue };
      interval = true;
    } else {
      e = { key: m };
      if (typeof m === 'string' && m.includes('/')) interval = true;
    }
    const verdict = verdicts?.[i];
    if (verdict !== undefined) e.data = verdict;
    return e;
  });
  const set: AnonymousSet = { keyType: types.length === 1 ? (types[0] as KeyType) : types, elements };
  if (verdicts) set.dataType = 'verdict';
  if (interval) set.interval = true;
  return set;
}

/** A concatenation of fields (`ip daddr . meta l4proto . th dport`) for set lookups. */
export class Concat {
  /** @internal */
  constructor(readonly fields: readonly Field[]) {
    if (fields.length < 2) throw new ValidationError('concat', 'needs at least two fields');
  }

  /** nft's notation of it. */
  get name(): string {
    return this.fields.map((f) => f.name).join(' . ');
  }

  /** Dependencies first, then each field into consecutive 32-bit registers (reg 1, 9, 10 ...). */
  load(): Expression[] {
    const out: Expression[] = [];
    for (const f of this.fields) out.push(...f.dependencies());
    let off = 0;
    for (const f of this.fields) {
      out.push(...f.loadOnly(concatReg(off)));
      off += regAlign(f.len);
    }
    return out;
  }

  /** `CONCAT @set` or an inline set of arrays. */
  in(v: string | readonly SetValue[][]): Expression[] {
    return this.membership(v, false);
  }

  /** `CONCAT != @set`. */
  notIn(v: string | readonly SetValue[][]): Expression[] {
    return this.membership(v, true);
  }

  private membership(v: string | readonly SetValue[][], invert: boolean): Expression[] {
    const set = typeof v === 'string' ? setName(v, this.name) : inlineSet(this, v);
    return [...this.load(), { kind: 'lookup', sreg: NFT_REG_1, set, ...(invert ? { invert: true } : {}) }];
  }

  /** `CONCAT vmap @name`. */
  vmap(map: string): Expression[] {
    return [...this.load(), { kind: 'lookup', sreg: NFT_REG_1, set: setName(map, this.name), dreg: NFT_REG_VERDICT }];
  }
}

/** `a . b . c`: a concatenation for lookups. */
export function concat(...fields: Field[]): Concat {
  return new Concat(fields);
}

function payloadField(name: string, base: PayloadBase, offset: number, len: number, codec: ValueCodec, deps: Expression[] = []): Field {
  return new Field(
    name,
    len,
    (reg) => [{ kind: 'payload', base, offset, len, dreg: reg }],
    codec,
    deps,
    (reg, n) => [{ kind: 'payload', base, offset, len: n, dreg: reg }],
  );
}

function metaField(key: MetaKey, len: number, codec: ValueCodec, name = `meta ${key}`): Field {
  const f = new Field(name, len, (reg) => [{ kind: 'meta', key, dreg: reg }], codec);
  if (key === 'mark') f.store = (reg) => ({ kind: 'meta', key, sreg: reg });
  return f;
}

function ctField(key: CtKey, len: number, codec: ValueCodec, direction?: 'original' | 'reply'): Field {
  const f = new Field(`ct ${direction ? `${direction} ` : ''}${key}`, len, (reg) => [{ kind: 'ct', key, dreg: reg, ...(direction ? { direction } : {}) }], codec);
  if (key === 'mark') f.store = (reg) => ({ kind: 'ct', key, sreg: reg });
  return f;
}

const l4dep = (proto: number): Expression[] => [
  { kind: 'meta', key: 'l4proto', dreg: NFT_REG_1 },
  { kind: 'cmp', op: 'eq', sreg: NFT_REG_1, data: Uint8Array.of(proto) },
];

function transport(name: string, proto: number | undefined) {
  const deps = proto === undefined ? [] : l4dep(proto);
  return {
    /** Source port. */
    sport: payloadField(`${name} sport`, 'transport', 0, 2, typeCodec('inet_service'), deps),
    /** Destination port. */
    dport: payloadField(`${name} dport`, 'transport', 2, 2, typeCodec('inet_service'), deps),
  };
}

/** IPv4 header fields: `ip saddr`, `ip daddr`, `ip protocol`. */
export const ip = {
  saddr: payloadField('ip saddr', 'network', 12, 4, typeCodec('ipv4_addr', true)),
  daddr: payloadField('ip daddr', 'network', 16, 4, typeCodec('ipv4_addr', true)),
  protocol: payloadField('ip protocol', 'network', 9, 1, typeCodec('inet_proto')),
};

/** IPv6 header fields: `ip6 saddr`, `ip6 daddr`, `ip6 nexthdr`. */
export const ip6 = {
  saddr: payloadField('ip6 saddr', 'network', 8, 16, typeCodec('ipv6_addr', true)),
  daddr: payloadField('ip6 daddr', 'network', 24, 16, typeCodec('ipv6_addr', true)),
  nexthdr: payloadField('ip6 nexthdr', 'network', 6, 1, typeCodec('inet_proto')),
};

/** TCP ports, matched after `meta l4proto tcp` as nft does. */
export const tcp = transport('tcp', 6);
/** UDP ports, matched after `meta l4proto udp`. */
export const udp = transport('udp', 17);
/** Transport header ports of any protocol (`th dport`): no protocol check. */
export const th = transport('th', undefined);

/** Ethernet header fields (bridge and netdev tables): `ether saddr`, `ether daddr`. */
export const ether = {
  saddr: payloadField('ether saddr', 'll', 6, 6, typeCodec('ether_addr')),
  daddr: payloadField('ether daddr', 'll', 0, 6, typeCodec('ether_addr')),
};

/** Packet metadata: `iifname`, `oifname`, `meta l4proto`, `meta nfproto`, `meta mark`, `iif`, `oif`. */
export const meta = {
  iifname: metaField('iifname', 16, ifnameCodec, 'iifname'),
  oifname: metaField('oifname', 16, ifnameCodec, 'oifname'),
  l4proto: metaField('l4proto', 1, typeCodec('inet_proto')),
  nfproto: metaField('nfproto', 1, nfprotoCodec),
  mark: metaField('mark', 4, typeCodec('mark')),
  /** Interface index (host byte order). */
  iif: metaField('iif', 4, u32Codec, 'iif'),
  oif: metaField('oif', 4, u32Codec, 'oif'),
};

/** Conntrack: `ct state`, `ct mark`, `ct original ip saddr` ... */
export const ct = {
  state: ctField('state', 4, ctStateCodec),
  /** `ct status dnat` ...: any of the given status bits is set. */
  status: ctField('status', 4, ctStatusCodec),
  mark: ctField('mark', 4, typeCodec('mark')),
  original: {
    saddr: ctField('ip saddr', 4, typeCodec('ipv4_addr', true), 'original'),
    daddr: ctField('ip daddr', 4, typeCodec('ipv4_addr', true), 'original'),
  },
  reply: {
    saddr: ctField('ip saddr', 4, typeCodec('ipv4_addr', true), 'reply'),
    daddr: ctField('ip daddr', 4, typeCodec('ipv4_addr', true), 'reply'),
  },
};

function fibField(flags: FibFlag[], result: 'type' | 'oif'): Field {
  return new Field(`fib ${flags.join(' . ')} ${result}`, 4, (reg) => [{ kind: 'fib', flags, result, dreg: reg }], result === 'type' ? fibTypeCodec : u32Codec);
}

/** Route lookups: `fib daddr type` (compare with `local`, `unicast` ...), `fib saddr type`. */
export const fib = {
  daddr: { type: fibField(['daddr'], 'type'), oif: fibField(['daddr'], 'oif') },
  saddr: { type: fibField(['saddr'], 'type'), oif: fibField(['saddr'], 'oif') },
};

/** nft's `counter`. */
export function counter(): Expression[] {
  return [{ kind: 'counter' }];
}

/** A verdict statement: `accept`, `drop`, `return`, `continue`, `jump C`, `goto C` ... */
export function verdict(v: Verdict): Expression[] {
  return [{ kind: 'immediate', dreg: NFT_REG_VERDICT, verdict: v }];
}

/** nft's `accept`. */
export function accept(): Expression[] {
  return verdict('accept');
}

/** nft's `drop`. */
export function drop(): Expression[] {
  return verdict('drop');
}

/** nft's `return`. */
export function ret(): Expression[] {
  return verdict('return');
}

/** nft's `jump CHAIN`. */
export function jump(chain: string): Expression[] {
  return verdict({ jump: chain });
}

/** nft's `goto CHAIN`. */
export function goto(chain: string): Expression[] {
  return verdict({ goto: chain });
}

/** A port or a `[first, last]` port range of NAT statements. */
export type PortRange = number | readonly [number, number];

/** Options shared by NAT statements. */
export interface NatOptions {
  /** `random`: randomize the source port mapping. */
  random?: boolean;
  /** `fully-random`. */
  fullyRandom?: boolean;
  /** `persistent`: same address for a client across connections. */
  persistent?: boolean;
}

/** NAT flags of the options; `proto-specified` is left to the kernel, which sets it for a port register. */
function natFlags(o: NatOptions): NatFlag[] | undefined {
  const flags: NatFlag[] = [];
  if (o.random) flags.push('random');
  if (o.persistent) flags.push('persistent');
  if (o.fullyRandom) flags.push('fully-random');
  return flags.length ? flags : undefined;
}

function portBytes(p: number, field: string): Uint8Array {
  return dataType('inet_service', field).encode(p, field);
}

/** Loads a port (range) into consecutive 16-byte registers from `reg`; returns [min, max?] registers. */
function loadPorts(out: Expression[], port: PortRange, reg: number, field: string): [number, number | undefined] {
  const [min, max] = typeof port === 'number' ? [port, undefined] : port;
  out.push({ kind: 'immediate', dreg: reg, data: portBytes(min, field) });
  if (max === undefined) return [reg, undefined];
  out.push({ kind: 'immediate', dreg: reg + 1, data: portBytes(max, field) });
  return [reg, reg + 1];
}

/** nft's `masquerade [to :PORT[-PORT]] [random|fully-random|persistent]` (a port needs a protocol match before it). */
export function masquerade(o: NatOptions & { port?: PortRange } = {}): Expression[] {
  const out: Expression[] = [];
  let regs: [number, number | undefined] | undefined;
  if (o.port !== undefined) regs = loadPorts(out, o.port, NFT_REG_1, 'masquerade.port');
  const flags = natFlags(o);
  out.push({ kind: 'masq', ...(flags ? { flags } : {}), ...(regs ? { protoMin: regs[0] } : {}), ...(regs?.[1] !== undefined ? { protoMax: regs[1] } : {}) });
  return out;
}

/** nft's `redirect [to :PORT]`. */
export function redirect(o: NatOptions & { port?: PortRange } = {}): Expression[] {
  const out: Expression[] = [];
  let regs: [number, number | undefined] | undefined;
  if (o.port !== undefined) regs = loadPorts(out, o.port, NFT_REG_1, 'redirect.port');
  const flags = natFlags(o);
  out.push({ kind: 'redir', ...(regs ? { protoMin: regs[0] } : {}), ...(regs?.[1] !== undefined ? { protoMax: regs[1] } : {}), ...(flags ? { flags } : {}) });
  return out;
}

/** Target of snat/dnat: an address or `first-last` range, and optionally a port (range). */
export interface NatTarget extends NatOptions {
  /** `172.17.0.2`, `203.0.113.128-203.0.113.130` or an IPv6 address. */
  addr: string;
  port?: PortRange;
}

function natTo(type: 'snat' | 'dnat', t: NatTarget): Expression[] {
  const field = `${type}.addr`;
  if (!t || typeof t.addr !== 'string') throw new ValidationError(field, 'must be an address string');
  const [first, last] = t.addr.split('-') as [string, string | undefined];
  const v6 = first.includes(':');
  const bytes = (a: string): Uint8Array => (v6 ? ipv6Bytes(a, field) : ipv4Bytes(a, field));
  const out: Expression[] = [{ kind: 'immediate', dreg: NFT_REG_1, data: bytes(first) }];
  let reg = NFT_REG_1 + 1;
  let addrMax: number | undefined;
  if (last !== undefined) {
    out.push({ kind: 'immediate', dreg: reg, data: bytes(last) });
    addrMax = reg++;
  }
  let ports: [number, number | undefined] | undefined;
  if (t.port !== undefined) ports = loadPorts(out, t.port, reg, `${type}.port`);
  const flags = natFlags(t);
  out.push({
    kind: 'nat',
    type,
    family: v6 ? 'ip6' : 'ip',
    addrMin: NFT_REG_1,
    ...(addrMax !== undefined ? { addrMax } : {}),
    ...(ports ? { protoMin: ports[0] } : {}),
    ...(ports?.[1] !== undefined ? { protoMax: ports[1] } : {}),
    ...(flags ? { flags } : {}),
  });
  return out;
}

/** What a NAT map holds: an address, or an address and a port (Docker's published ports). */
export interface NatMapOptions extends NatOptions {
  /** The map's value type. Default `['ipv4_addr', 'inet_service']`. */
  to?: 'ipv4_addr' | 'ipv6_addr' | ['ipv4_addr' | 'ipv6_addr', 'inet_service'];
}

function natMap(type: 'snat' | 'dnat', map: string, key: Field | readonly Field[], o: NatMapOptions = {}): Expression[] {
  const to = o.to ?? ['ipv4_addr', 'inet_service'];
  const addrType = Array.isArray(to) ? to[0] : to;
  const withPort = Array.isArray(to);
  const k = Array.isArray(key) ? (key.length === 1 ? (key[0] as Field) : new Concat(key)) : (key as Field);
  const addrLen = dataType(addrType, `${type}.map.to`).len;
  const flags = natFlags(o);
  return [
    ...k.load(),
    { kind: 'lookup', sreg: NFT_REG_1, set: setName(map, `${type}.map`), dreg: NFT_REG_1 },
    {
      kind: 'nat',
      type,
      family: addrType === 'ipv6_addr' ? 'ip6' : 'ip',
      addrMin: NFT_REG_1,
      ...(withPort ? { protoMin: concatReg(addrLen) } : {}),
      ...(flags ? { flags } : {}),
    },
  ];
}

/**
 * nft's `dnat to ADDR[:PORT]`; `dnat.map(map, key)` is `dnat to KEY map @MAP` (e.g. key
 * `[meta.l4proto, th.dport]` for a map of `inet_proto . inet_service : ipv4_addr . inet_service`).
 */
export const dnat = Object.assign((t: NatTarget) => natTo('dnat', t), {
  map: (map: string, key: Field | readonly Field[], o?: NatMapOptions) => natMap('dnat', map, key, o),
});

/** nft's `snat to ADDR[:PORT]`; `snat.map(map, key)` is `snat to KEY map @MAP`. */
export const snat = Object.assign((t: NatTarget) => natTo('snat', t), {
  map: (map: string, key: Field | readonly Field[], o?: NatMapOptions) => natMap('snat', map, key, o),
});

/**
 * nft's `reject`: by default ICMP port unreachable (`reject` in an ip table); `tcpReset`
 * answers TCP with a reset (after `meta l4proto tcp`, as nft does); `icmpx` is the
 * family-independent form an inet table uses (code 1: port unreachable).
 */
export function reject(o: { tcpReset?: boolean; icmpx?: boolean; code?: number } = {}): Expression[] {
  if (o.tcpReset) return [...l4dep(6), { kind: 'reject', type: 'tcp-rst', code: 0 }];
  if (o.icmpx) return [{ kind: 'reject', type: 'icmpx-unreach', code: o.code ?? 1 }];
  return [{ kind: 'reject', type: 'icmp-unreach', code: o.code ?? 3 }];
}

const UNITS = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800 } as const;

/** nft's `limit rate [over] RATE/UNIT [burst N packets|bytes]`. */
export function limit(o: { rate: number; per?: keyof typeof UNITS; burst?: number; bytes?: boolean; over?: boolean }): Expression[] {
  const unit = o?.per === undefined ? 1 : UNITS[o.per];
  if (unit === undefined) throw new ValidationError('limit.per', `must be one of ${Object.keys(UNITS).join(', ')}`);
  return [{ kind: 'limit', rate: o.rate, unit, burst: o.burst ?? (o.bytes ? 0 : 5), type: o.bytes ? 'bytes' : 'packets', ...(o.over ? { invert: true } : {}) }];
}

/** nft's `log [prefix "..."] [level L] [group N]`. */
export function log(o: { prefix?: string; level?: keyof typeof LOG_LEVELS; group?: number; snaplen?: number; qthreshold?: number } = {}): Expression[] {
  const e: Expression = { kind: 'log' };
  if (o.prefix !== undefined) e.prefix = o.prefix;
  if (o.group !== undefined) e.group = o.group;
  if (o.snaplen !== undefined) e.snaplen = o.snaplen;
  if (o.qthreshold !== undefined) e.qthreshold = o.qthreshold;
  if (o.level !== undefined) e.level = o.level;
  return [e];
}

/** nft's `notrack`. */
export function notrack(): Expression[] {
  return [{ kind: 'notrack' }];
}
