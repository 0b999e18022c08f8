/**
 * Layer 2 (nftables): chains — NFT_MSG_NEWCHAIN/DELCHAIN attributes and the decoding of
 * dumped chains. Base chains have a type, a hook and a priority (and a device in the
 * netdev family); regular chains are jump targets.
 * @module
 */
import { ValidationError } from '../errors.js';
import type { Writer } from '../netlink/writer.js';
import * as C from './constants.js';
import { checkEnum } from './expr/common.js';
import { type Family, checkName, parsePayload } from './family.js';
import { handleOf } from './handle.js';
import { NFTNL_UDATA_CHAIN_COMMENT, commentUdata, readComment } from './udata.js';

/** Chain types (NFTA_CHAIN_TYPE). */
export type ChainType = 'filter' | 'nat' | 'route';
/** Hooks by nft's names; `ingress`/`egress` are netdev hooks (`ingress` also inet). */
export type ChainHook = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';
/** Chain policies. */
export type ChainPolicy = 'accept' | 'drop';

const INET_HOOKS = {
  prerouting: C.NF_INET_PRE_ROUTING,
  input: C.NF_INET_LOCAL_IN,
  forward: C.NF_INET_FORWARD,
  output: C.NF_INET_LOCAL_OUT,
  postrouting: C.NF_INET_POST_ROUTING,
  ingress: C.NF_INET_INGRESS,
} as const;
const NETDEV_HOOKS = { ingress: C.NF_NETDEV_INGRESS, egress: C.NF_NETDEV_EGRESS } as const;
const POLICIES = { drop: C.NF_DROP, accept: C.NF_ACCEPT } as const;

/** nft's named priorities (ip, ip6, inet, arp, netdev): `dstnat` is -100 and so on. */
const PRIORITIES: Readonly<Record<string, number>> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };
/** nft's named priorities in the bridge family. */
const BRIDGE_PRIORITIES: Readonly<Record<string, number>> = { dstnat: -300, filter: -200, out: 100, srcnat: 300 };

/**
 * A chain to create: like `nft add chain FAMILY TABLE NAME { type nat hook postrouting
 * priority srcnat; policy accept; }`. Give `type` and `hook` for a base chain, neither
 * for a regular one.
 */
export interface ChainSpec {
  family: Family;
  table: string;
  name: string;
  type?: ChainType;
  hook?: ChainHook;
  /** A number, or a name nft knows (`dstnat`, `filter`, `srcnat` ...). Default 0. */
  priority?: number | string;
  /** Base chains only; the kernel's default is accept. */
  policy?: ChainPolicy;
  /** netdev base chains: the interface. */
  device?: string;
  comment?: string;
}

/** A chain read back from the kernel. */
export interface NftChain {
  family: Family;
  table: string;
  name: string;
  handle: number;
  type?: ChainType;
  hook?: ChainHook;
  priority?: number;
  policy?: ChainPolicy;
  device?: string;
  /** How many rules jump here (NFTA_CHAIN_USE). */
  use: number;
  comment?: string;
}

function hooksOf(family: Family): Readonly<Record<string, number>> {
  return family === 'netdev' ? NETDEV_HOOKS : INET_HOOKS;
}

/** Resolves a priority given as a number or nft's name for one. */
function resolvePriority(family: Family, p: number | string, field: string): number {
  if (typeof p === 'number') {
    if (!Number.isInteger(p) || p < -0x80000000 || p > 0x7fffffff) throw new ValidationError(field, `${p} is not a 32-bit integer`);
    return p;
  }
  const table = family === 'bridge' ? BRIDGE_PRIORITIES : PRIORITIES;
  const m = typeof p === 'string' ? /^([a-z]+)\s*(?:([+-])\s*(\d+))?$/.exec(p) : null;
  const base = m && Object.hasOwn(table, m[1] as string) ? table[m[1] as string] : undefined;
  if (!m || base === undefined) throw new ValidationError(field, `${JSON.stringify(p)} is not a priority (a number or one of ${Object.keys(table).join(', ')}, optionally ± N)`);
  return base + (m[2] === '-' ? -1 : 1) * Number(m[3] ?? 0);
}

/** Writes NEWCHAIN's attributes in libnftnl's order. */
export function encodeChain(w: Writer, c: ChainSpec, field: string): void {
  w.attrString(C.NFTA_CHAIN_TABLE, checkName(c.table, `${field}.table`));
  w.attrString(C.NFTA_CHAIN_NAME, checkName(c.name, `${field}.name`));
  const base = c.type !== undefined || c.hook !== undefined;
  if (base) {
    if (c.type === undefined || c.hook === undefined) throw new ValidationError(field, 'a base chain needs both type and hook');
    if (!['filter', 'nat', 'route'].includes(c.type)) throw new ValidationError(`${field}.type`, `${JSON.stringify(c.type)} is not filter, nat or route`);
    w.attrString(C.NFTA_CHAIN_TYPE, c.type);
    if (c.policy !== undefined) w.attrBe32(C.NFTA_CHAIN_POLICY, checkEnum(c.policy, POLICIES, `${field}.policy`));
    const hook = w.beginNest(C.NFTA_CHAIN_HOOK);
    w.attrBe32(C.NFTA_HOOK_HOOKNUM, checkEnum(c.hook, hooksOf(c.family), `${field}.hook`));
    w.attrBe32(C.NFTA_HOOK_PRIORITY, resolvePriority(c.family, c.priority ?? 0, `${field}.priority`) >>> 0);
    if (c.device !== undefined) {
      if (typeof c.device !== 'string' || c.device.length === 0 || Buffer.byteLength(c.device) > 15) {
        throw new ValidationError(`${field}.device`, `${JSON.stringify(c.device)} is not an interface name`);
      }
      w.attrString(C.NFTA_HOOK_DEV, c.device);
    } else if (c.family === 'netdev') {
      throw new ValidationError(`${field}.device`, 'a netdev base chain needs a device');
    }
    w.endNest(hook);
  } else if (c.policy !== undefined || c.priority !== undefined || c.device !== undefined) {
    throw new ValidationError(field, 'policy, priority and device need a base chain (type and hook)');
  }
  if (c.comment !== undefined) w.attrBytes(C.NFTA_CHAIN_USERDATA, commentUdata(NFTNL_UDATA_CHAIN_COMMENT, c.comment, `${field}.comment`));
}

/** Writes the attributes naming a chain (DELCHAIN). */
export function encodeChainRef(w: Writer, table: string, name: string, field: string): void {
  w.attrString(C.NFTA_CHAIN_TABLE, checkName(table, `${field}.table`));
  w.attrString(C.NFTA_CHAIN_NAME, checkName(name, `${field}.name`));
}

function nameOf(table: Readonly<Record<string, number>>, n: number | undefined): string | undefined {
  for (const [k, v] of Object.entries(table)) if (v === n) return k;
  return undefined;
}

/** Decodes a NEWCHAIN message payload. */
export function decodeChain(payload: Buffer): NftChain {
  const { family, attrs: a } = parsePayload(payload);
  const c: NftChain = {
    family,
    table: a.string(C.NFTA_CHAIN_TABLE) ?? '',
    name: a.string(C.NFTA_CHAIN_NAME) ?? '',
    handle: handleOf(a.be64(C.NFTA_CHAIN_HANDLE)),
    use: a.be32(C.NFTA_CHAIN_USE) ?? 0,
  };
  const type = a.string(C.NFTA_CHAIN_TYPE);
  if (type !== undefined) c.type = type as ChainType;
  const hook = a.nested(C.NFTA_CHAIN_HOOK);
  if (hook) {
    const h = nameOf(hooksOf(family), hook.be32(C.NFTA_HOOK_HOOKNUM));
    if (h !== undefined) c.hook = h as ChainHook;
    const prio = hook.be32(C.NFTA_HOOK_PRIORITY);
    if (prio !== undefined) c.priority = prio | 0;
    const dev = hook.string(C.NFTA_HOOK_DEV);
    if (dev !== undefined) c.device = dev;
  }
  const policy = nameOf(POLICIES, a.be32(C.NFTA_CHAIN_POLICY));
  if (policy !== undefined) c.policy = policy as ChainPolicy;
  const comment = readComment(a.get(C.NFTA_CHAIN_USERDATA), NFTNL_UDATA_CHAIN_COMMENT);
  if (comment !== undefined) c.comment = comment;
  return c;
}
