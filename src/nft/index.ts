/**
 * Layer 2 (nftables): `ns.nft`, nftables of one namespace over NETLINK_NETFILTER —
 * transactions that change the ruleset atomically, listings that decode it, and events.
 * Never runs `nft`; what it writes reads back in `nft list ruleset` exactly as if nft had
 * written it, and it only touches the tables a caller names.
 * @module
 */
import { DecodeError, NetlinkError, NetplumbError, ValidationError } from '../errors.js';
import { Batch, type Reply } from '../netlink/batch.js';
import type { NetlinkConnection } from '../netlink/connection.js';
import { NFNL_SUBSYS_NFTABLES, NLM_F_ACK, NLM_F_DUMP } from '../netlink/constants.js';
import type { NetlinkMessage } from '../netlink/message.js';
import type { Writer } from '../netlink/writer.js';
import { type NftChain, decodeChain } from './chain.js';
import * as C from './constants.js';
import { type SetElement, type SetKey, type SetShape, decodeElementList, decodeElements, putElementKeyList } from './elements.js';
import { Attributes } from '../netlink/attributes.js';
import { type Family, NFGENMSG_LEN, checkName, familyProto, parsePayload, putNfgenmsg } from './family.js';
import { type NftMonitor, openMonitor } from './monitor.js';
import { type NftRule, decodeRule } from './rule.js';
import { type NftSet, decodeSet } from './set.js';
import { type NftTable, decodeTable } from './table.js';
import { type SetRegistry, Transaction, type TransactionOptions, setKey } from './transaction.js';

/** What Nft needs of a namespace handle (the Netns handle satisfies it). */
export interface NetfilterNamespace {
  readonly netfilter: NetlinkConnection;
  readonly fd: number;
}

/** Filter of {@link Nft.list}. */
export interface ListOptions {
  /** Only this family. */
  family?: Family;
  /** Only this table (of `family`, or of any family). */
  table?: string;
  /** Also read every set's elements (one dump per set). Default true. */
  elements?: boolean;
}

/** A consistent snapshot of (part of) the ruleset, like `nft list ruleset`. */
export interface Ruleset {
  /** The generation it was read at: pass it to {@link Nft.transaction} to commit only if nothing changed since. */
  generation: number;
  tables: NftTable[];
  chains: NftChain[];
  /** Rules in chain order, with handles, comments and decoded expressions. */
  rules: NftRule[];
  /** Sets and maps (anonymous ones too, named `__set0` ...), with elements unless `elements: false`. */
  sets: NftSet[];
}

/** Whether two decoded keys are the same value (a one-field key: a value or raw bytes). */
function sameStart(a: SetKey | undefined, b: SetKey | undefined): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b));
  // An interval starting at `b` may be listed as a prefix "b/len" or a range starting at b.
  const head = (k: SetKey | undefined): string => String(k).split('/')[0] as string;
  return a !== undefined && b !== undefined && head(a) === head(b);
}

/**
 * How often a listing is retried when the ruleset changes while it is being read. A busy
 * writer (group-committed connects, one transaction per group) commits every millisecond
 * or so for a while; a listing of a few thousand elements takes several.
 */
const LIST_RETRIES = 20;
/** Element dumps run in parallel, each on its own socket; at most this many at once. */
const ELEMENT_DUMPS_IN_FLIGHT = 8;

/** nftables of one namespace. Made by the Netns handle as `ns.nft`. */
export class Nft {
  private readonly sets: SetRegistry = new Map();

  constructor(private readonly ns: NetfilterNamespace) {}

  /**
   * Starts a transaction: changes accumulate (validated as they are added) and
   * `commit()` applies them atomically in one batch. Like `nft -f FILE`.
   * ValidationError for a bad `generation`.
   */
  transaction(options: TransactionOptions = {}): Transaction {
    return new Transaction(this.ns.netfilter, this.sets, options);
  }

  private request(msg: number, flags: number, family: Family | undefined, label: string, body?: (w: Writer) => void): Batch {
    const b = new Batch(256);
    const w = b.begin((NFNL_SUBSYS_NFTABLES << 8) | msg, flags, label);
    putNfgenmsg(w, family === undefined ? C.NFPROTO_UNSPEC : familyProto(family));
    body?.(w);
    b.end();
    return b;
  }

  private async dump(msg: number, family: Family | undefined, label: string, body?: (w: Writer) => void): Promise<NetlinkMessage[]> {
    const replies = await this.ns.netfilter.dump(() => this.request(msg, NLM_F_DUMP, family, label, body));
    return (replies[0] as Reply).messages;
  }

  /** A GET of one object: its message, or undefined when the kernel says ENOENT. */
  private async get(msg: number, family: Family, label: string, body: (w: Writer) => void): Promise<NetlinkMessage | undefined> {
    try {
      const replies = await this.ns.netfilter.execute(this.request(msg, NLM_F_ACK, family, label, body));
      return replies[0]?.messages[0];
    } catch (err) {
      if (err instanceof NetlinkError && err.code === 'ENOENT') return undefined;
      throw err;
    }
  }

  /** The ruleset's generation id (like `nft list ruleset`'s cache check); it changes with every commit. */
  async generation(): Promise<number> {
    const b = this.request(C.NFT_MSG_GETGEN, NLM_F_ACK, undefined, 'NFT_MSG_GETGEN');
    const replies = await this.ns.netfilter.execute(b);
    const msg = replies[0]?.messages[0];
    const id = msg ? Attributes.parse(msg.payload, NFGENMSG_LEN).be32(C.NFTA_GEN_ID) : undefined;
    if (id === undefined) throw new NetplumbError('NFT_MSG_GETGEN: no generation in the reply', 'ERR_NETPLUMB_NO_REPLY');
    return id;
  }

  /** Every table (of `family`): like `nft list tables`. */
  async listTables(family?: Family): Promise<NftTable[]> {
    return (await this.dump(C.NFT_MSG_GETTABLE, family, `NFT_MSG_GETTABLE ${family ?? 'all'}`)).map((m) => decodeTable(m.payload));
  }

  /** One table, or undefined when it does not exist: like `nft list table FAMILY NAME` without its content. */
  async getTable(family: Family, name: string): Promise<NftTable | undefined> {
    checkName(name, 'name');
    const m = await this.get(C.NFT_MSG_GETTABLE, family, `NFT_MSG_GETTABLE ${family} ${name}`, (w) => w.attrString(C.NFTA_TABLE_NAME, name));
    return m && decodeTable(m.payload);
  }

  /**
   * One set or map with its elements, or undefined when it does not exist: like `nft list
   * set`. Afterwards this handle knows the set's types, so transactions accept typed elements for it.
   */
  async getSet(family: Family, table: string, name: string, options: { elements?: boolean } = {}): Promise<NftSet | undefined> {
    checkName(table, 'table');
    checkName(name, 'name');
    const m = await this.get(C.NFT_MSG_GETSET, family, `NFT_MSG_GETSET ${family} ${table}/${name}`, (w) => {
      w.attrString(C.NFTA_SET_TABLE, table);
      w.attrString(C.NFTA_SET_NAME, name);
    });
    if (!m) return undefined;
    const { set, shape } = decodeSet(m.payload);
    this.sets.set(setKey(family, table, name), shape);
    if (options.elements !== false) set.elements = await this.dumpElements(family, table, name, shape);
    return set;
  }

  /** The elements of a set or map, typed by its declaration: like `nft list set` (elements only). NetplumbError ENOENT if it does not exist. */
  async listElements(family: Family, table: string, set: string): Promise<SetElement[]> {
    const s = await this.getSet(family, table, set);
    if (!s) throw new NetplumbError(`set ${family} ${table} ${set} does not exist`, 'ENOENT');
    return s.elements ?? [];
  }

  /**
   * The element of a set or map holding `key`, with its data, comment and timeout: like
   * `nft get element FAMILY TABLE SET { KEY }` — one NFT_MSG_GETSETELEM request, not a
   * dump. In an interval set it is the interval that contains `key` (reported with its
   * `key`/`keyEnd` as the listing shows it). Resolves undefined when no element holds the
   * key (the kernel's ENOENT). Rejects with NetplumbError ENOENT when the set does not
   * exist, ValidationError for a key that does not fit the set's type.
   */
  async getElement(e: { family: Family; table: string; set: string; key: SetKey }): Promise<SetElement | undefined> {
    if (!e || typeof e !== 'object') throw new ValidationError('getElement', 'must be an object');
    const { family, table, set } = e;
    checkName(table, 'table');
    checkName(set, 'set');
    familyProto(family, 'family');
    let shape = this.sets.get(setKey(family, table, set));
    if (!shape) {
      if (!(await this.getSet(family, table, set, { elements: false }))) throw new NetplumbError(`set ${family} ${table} ${set} does not exist`, 'ENOENT');
      shape = this.sets.get(setKey(family, table, set)) as SetShape;
    }
    const known = shape;
    const msg = await this.get(C.NFT_MSG_GETSETELEM, family, `NFT_MSG_GETSETELEM ${family} ${table}/${set} (get element)`, (w) => {
      w.attrString(C.NFTA_SET_ELEM_LIST_TABLE, table);
      w.attrString(C.NFTA_SET_ELEM_LIST_SET, set);
      putElementKeyList(w, known, e.key, 'key');
    });
    if (!msg) return undefined;
    const list = parsePayload(msg.payload).attrs.get(C.NFTA_SET_ELEM_LIST_ELEMENTS);
    const raw = list ? decodeElementList(list) : [];
    if (raw.length === 0) return undefined;
    if (known.interval && !(known.key && known.key.fields.length > 1) && !raw.some((r) => r.keyEnd)) {
      // A one-field interval set answers with the interval's start element only; its end
      // is a separate element, so read the set and return the interval starting there.
      const start = decodeElements({ ...known, interval: false }, raw)[0]?.key;
      const all = await this.dumpElements(family, table, set, known);
      return all.find((x) => sameStart(x.key, start));
    }
    return decodeElements(known, raw)[0];
  }

  /**
   * Every chain of every table (of `family`), with type, hook, priority and policy for base
   * chains — one dump, tables of other tools included (iptables-nft's `ip filter
   * FORWARD`): like `nft list chains`.
   */
  async listChains(family?: Family): Promise<NftChain[]> {
    if (family !== undefined) familyProto(family, 'family');
    return (await this.dump(C.NFT_MSG_GETCHAIN, family, `NFT_MSG_GETCHAIN ${family ?? 'all'}`)).map((m) => decodeChain(m.payload));
  }

  /**
   * The rules of one table, or of one chain of it, in chain order with their handles —
   * one dump the kernel filters: like `nft -a list chain FAMILY TABLE CHAIN` (rules only).
   * An empty list when the table or chain does not exist.
   */
  async listRules(family: Family, table: string, chain?: string): Promise<NftRule[]> {
    familyProto(family, 'family');
    checkName(table, 'table');
    if (chain !== undefined) checkName(chain, 'chain');
    try {
      const msgs = await this.dump(C.NFT_MSG_GETRULE, family, `NFT_MSG_GETRULE ${family} ${table}${chain === undefined ? '' : `/${chain}`}`, (w) => {
        w.attrString(C.NFTA_RULE_TABLE, table);
        if (chain !== undefined) w.attrString(C.NFTA_RULE_CHAIN, chain);
      });
      return msgs.map((m) => decodeRule(m.payload));
    } catch (err) {
      if (err instanceof NetlinkError && err.code === 'ENOENT') return [];
      throw err;
    }
  }

  /**
   * An element dump that spans several messages resumes by position, so a transaction
   * committed between two of them can tear an interval set's start from its end (the
   * kernel does not flag it as interrupted): such a dump is read again.
   */
  private async dumpElements(family: Family, table: string, set: string, shape: SetShape): Promise<SetElement[]> {
    for (let attempt = 1; ; attempt++) {
      const before = shape.interval ? await this.generation() : 0;
      const msgs = await this.dump(C.NFT_MSG_GETSETELEM, family, `NFT_MSG_GETSETELEM ${family} ${table}/${set}`, (w) => {
        w.attrString(C.NFTA_SET_ELEM_LIST_TABLE, table);
        w.attrString(C.NFTA_SET_ELEM_LIST_SET, set);
      });
      const raw = msgs.flatMap((m) => {
        const list = parsePayload(m.payload).attrs.get(C.NFTA_SET_ELEM_LIST_ELEMENTS);
        return list ? decodeElementList(list) : [];
      });
      try {
        return decodeElements(shape, raw);
      } catch (e) {
        if (!(e instanceof DecodeError) || attempt >= LIST_RETRIES || (await this.generation()) === before) throw e;
      }
    }
  }

  /**
   * Reads the ruleset (or one family or table) and decodes it: like `nft list ruleset`.
   * The snapshot is consistent: it is read again if the generation changed meanwhile.
   * Rules written by other tools decode too (expressions netplumb does not model come
   * back as `raw`). Rejects with NetplumbError EAGAIN if the ruleset keeps changing.
   */
  async list(options: ListOptions = {}): Promise<Ruleset> {
    const { family, table } = options;
    if (family !== undefined) familyProto(family);
    if (table !== undefined) checkName(table, 'table');
    for (let attempt = 0; attempt < LIST_RETRIES; attempt++) {
      const before = await this.generation();
      const keep = <T extends { table: string }>(x: T): boolean => table === undefined || x.table === table;
      const [tables, chains, rules, sets] = await Promise.all([
        this.dump(C.NFT_MSG_GETTABLE, family, `NFT_MSG_GETTABLE ${family ?? 'all'}`),
        this.dump(C.NFT_MSG_GETCHAIN, family, `NFT_MSG_GETCHAIN ${family ?? 'all'}`),
        this.dump(C.NFT_MSG_GETRULE, family, `NFT_MSG_GETRULE ${family ?? 'all'}`, (w) => {
          if (table !== undefined) w.attrString(C.NFTA_RULE_TABLE, table);
        }),
        this.dump(C.NFT_MSG_GETSET, family, `NFT_MSG_GETSET ${family ?? 'all'}`),
      ]);
      const result: Ruleset = {
        generation: before,
        tables: tables.map((m) => decodeTable(m.payload)).filter((t) => table === undefined || t.name === table),
        chains: chains.map((m) => decodeChain(m.payload)).filter(keep),
        rules: rules.map((m) => decodeRule(m.payload)).filter(keep),
        sets: [],
      };
      const decoded = sets.map((m) => decodeSet(m.payload)).filter((d) => keep(d.set));
      for (const d of decoded) this.sets.set(setKey(d.set.family, d.set.table, d.set.name), d.shape);
      result.sets = decoded.map((d) => d.set);
      if (options.elements !== false) {
        for (let i = 0; i < decoded.length; i += ELEMENT_DUMPS_IN_FLIGHT) {
          await Promise.all(
            decoded.slice(i, i + ELEMENT_DUMPS_IN_FLIGHT).map(async (d) => {
              d.set.elements = await this.dumpElements(d.set.family, d.set.table, d.set.name, d.shape);
            }),
          );
        }
      }
      if ((await this.generation()) === before) return result;
      // A random pause, growing, so that a reader gets between a writer's bursts.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt));
    }
    throw new NetplumbError(`the ruleset changed during each of ${LIST_RETRIES} reads`, 'EAGAIN');
  }

  /**
   * Ruleset change events of this namespace: like `nft monitor`. An async iterator; call
   * `close()` (or break out of `for await`) to stop. Lost events show as `{ type: 'overflow' }`.
   */
  monitor(): NftMonitor {
    return openMonitor(this.ns.fd, this.sets);
  }
}

export { Transaction };
export type { CommitResult, CreatedRule, ElementsSpec, TransactionOptions } from './transaction.js';
export type { NftTable, TableFlag, TableSpec } from './table.js';
export type { ChainHook, ChainPolicy, ChainSpec, ChainType, NftChain } from './chain.js';
export type { ExpressionInput, NftRule, RuleCompat, RuleSpec } from './rule.js';
export { iptablesAcceptRule, iptablesComment } from './iptables.js';
export type { IptablesAcceptSpec } from './iptables.js';
export type { NftSet, SetFlag, SetFlagRead, SetSpec } from './set.js';
export type { SetElement, SetKey } from './elements.js';
export type { KeyType, SetValue } from './datatypes.js';
export type { Verdict } from './data.js';
export type { Family } from './family.js';
export type { NftAction, NftChange, NftEvent, NftMonitor } from './monitor.js';
export type * from './expr/index.js';
export { decodeExpression, encodeExpression } from './expr/index.js';
export * as nft from './builder.js';
export { Concat, Field } from './builder.js';
