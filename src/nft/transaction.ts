/**
 * Layer 2 (nftables): transactions. A transaction accumulates changes — each validated
 * and encoded the moment it is added, so a ValidationError is thrown by the call that
 * added the bad change — and `commit()` sends them all as one NFNL batch
 * (NFNL_MSG_BATCH_BEGIN ... NFNL_MSG_BATCH_END) in one sendmsg. The kernel applies a
 * batch atomically: if any message fails, none of it takes effect.
 * @module
 */
import { NetlinkError, NetplumbError, ValidationError } from '../errors.js';
import { Batch, type Reply } from '../netlink/batch.js';
import type { NetlinkConnection } from '../netlink/connection.js';
import { NLA_F_NESTED, NLA_TYPE_MASK } from '../netlink/constants.js';
import { NFNL_BATCH_GENID, NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFNL_SUBSYS_NFTABLES, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL, NLM_F_REPLACE } from '../netlink/constants.js';
import type { Writer } from '../netlink/writer.js';
import { type ChainSpec, encodeChain, encodeChainRef } from './chain.js';
import * as C from './constants.js';
import { type SetElement, type SetShape, type Unit, encodeElements, putElementList, writeUnit } from './elements.js';
import type { AnonymousSet, Expression, Lookup } from './expr/index.js';
import { type Family, checkName, familyProto, putNfgenmsg } from './family.js';
import { checkHandle } from './handle.js';
import { type ExpressionInput, type RuleSpec, decodeRule, encodeRule, encodeRuleRef, flattenExpressions } from './rule.js';
import { type ResolvedSet, type SetSpec, encodeSet, encodeSetRef, resolveSet, shapeOf } from './set.js';
import { type TableSpec, encodeTable, encodeTableRef } from './table.js';
import { compositeType } from './datatypes.js';

/** Bytes of elements per NEWSETELEM message: the element list is one attribute, whose length is 16 bits. */
const ELEMENT_BYTES_PER_MESSAGE = 60_000;
/** AF_UNSPEC in the nfgenmsg of batch begin/end. */
const AF_UNSPEC = 0;
/** The kernel's answer to a batch whose NFNL_BATCH_GENID is stale (include/linux/errno.h). */
const ERESTART = 85;

/** A set of this or an earlier transaction, by `family table name`. */
export type SetRegistry = Map<string, SetShape>;

/** Key of a set in a {@link SetRegistry}. */
export function setKey(family: Family, table: string, name: string): string {
  return `${family} ${table} ${name}`;
}

/** Options of {@link Nft.transaction}. */
export interface TransactionOptions {
  /**
   * Ruleset generation the changes were computed against (from {@link Nft.generation} or
   * `list().generation`): the commit then fails with NetlinkError ERESTART, changing
   * nothing, if anyone changed the ruleset since (NFNL_BATCH_GENID).
   */
  generation?: number;
}


/** Elements to add to or delete from a set. */
export interface ElementsSpec {
  family: Family;
  table: string;
  set: string;
  elements: readonly SetElement[];
  /**
   * The set's key type, when neither this transaction, an earlier commit nor a listing on
   * this handle has told netplumb (it needs it to encode typed values).
   */
  keyType?: SetSpec['keyType'];
  /** The map's value type, in the same case. */
  dataType?: SetSpec['dataType'];
  /** The set's interval flag, in the same case. */
  interval?: boolean;
}

/** A rule added by a transaction; `handle` is filled in once the commit succeeds. */
export interface CreatedRule {
  family: Family;
  table: string;
  chain: string;
  /** The kernel's handle for the rule (for deleteRule), known after commit. */
  handle: number | undefined;
}

/** What a successful commit did. */
export interface CommitResult {
  /** Rules added or replaced, in order, with their handles. */
  rules: CreatedRule[];
}

/** One change as added: the requests it produced, for naming it in errors. */
interface Change {
  /** First and last request index in the batch. */
  first: number;
  last: number;
  /** Byte offsets (relative to the request) of each expression of a rule. */
  expressionOffsets?: { request: number; offsets: number[]; kinds: string[] };
}

interface PendingEcho {
  request: number;
  rule: CreatedRule;
}

interface SetChange {
  key: string;
  shape: SetShape | undefined;
}

/**
 * Changes to the ruleset, sent as one atomic batch by {@link commit}. Made by
 * `ns.nft.transaction()`. Every method validates and encodes at once and throws
 * ValidationError for bad input; nothing is sent before {@link commit}. Only the tables
 * named in the changes are touched.
 */
export class Transaction {
  // 1 KiB: from Node's buffer pool (which serves up to 4 KiB); most transactions fit, bigger ones grow.
  private readonly batch = new Batch(1024);
  private readonly changes: Change[] = [];
  private readonly echoes: PendingEcho[] = [];
  private readonly localSets = new Map<string, { shape: SetShape; id: number }>();
  private readonly setChanges: SetChange[] = [];
  private nextSetId = 1;
  private state: 'open' | 'committing' | 'done' = 'open';
  private readonly generationChecked: boolean;

  /** @internal Made by Nft.transaction(). */
  constructor(
    private readonly conn: NetlinkConnection,
    private readonly registry: SetRegistry,
    options: TransactionOptions = {},
  ) {
    const w = this.batch.begin(NFNL_MSG_BATCH_BEGIN, 0, 'NFNL_MSG_BATCH_BEGIN', false);
    putNfgenmsg(w, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
    this.generationChecked = options.generation !== undefined;
    if (options.generation !== undefined) {
      if (!Number.isInteger(options.generation) || options.generation < 0 || options.generation > 0xffffffff) {
        throw new ValidationError('generation', `${options.generation} is not a generation id`);
      }
      w.attrBe32(NFNL_BATCH_GENID, options.generation);
    }
    this.batch.end();
  }

  /** Number of changes added so far. */
  get size(): number {
    return this.changes.length;
  }

  /**
   * Runs `write` for each message of one change; on a ValidationError, drops everything
   * this change wrote so the transaction stays as it was.
   */
  private change(write: () => Omit<Change, 'first' | 'last'> | void): void {
    if (this.state !== 'open') throw new NetplumbError('the transaction was already committed', 'ERR_NETPLUMB_COMMITTED');
    const first = this.batch.length;
    const offset = this.batch.writer.offset;
    const echoes = this.echoes.length;
    const sets = new Map(this.localSets);
    const setChanges = this.setChanges.length;
    const nextSetId = this.nextSetId;
    try {
      const extra = write() ?? {};
      this.changes.push({ first, last: this.batch.length - 1, ...extra });
    } catch (err) {
      this.batch.cancel();
      this.batch.requests.length = first;
      this.batch.writer.offset = offset;
      this.echoes.length = echoes;
      this.localSets.clear();
      for (const [k, v] of sets) this.localSets.set(k, v);
      this.setChanges.length = setChanges;
      this.nextSetId = nextSetId;
      throw ValidationError.wrap(err, `change ${this.changes.length}`);
    }
  }

  private message(msg: number, flags: number, family: Family, label: string, field: string, body: (w: Writer) => void): number {
    const proto = familyProto(family, `${field}.family`);
    const w = this.batch.begin((NFNL_SUBSYS_NFTABLES << 8) | msg, flags | NLM_F_ACK, label);
    putNfgenmsg(w, proto);
    body(w);
    this.batch.end();
    return this.batch.length - 1;
  }

  /**
   * Adds a table, or keeps it if it exists (the kernel then updates only its flags; the
   * comment is set when the table is created): like `nft add table`. Never touches any
   * other table.
   */
  addTable(t: TableSpec): void {
    this.table(t, 0, 'addTable');
  }

  /** Creates a table; the commit fails with EEXIST if it exists: like `nft create table`. */
  createTable(t: TableSpec): void {
    this.table(t, NLM_F_EXCL, 'createTable');
  }

  private table(t: TableSpec, flags: number, field: string): void {
    this.change(() => {
      checkObject(t, field);
      this.message(C.NFT_MSG_NEWTABLE, flags, t.family, `NFT_MSG_NEWTABLE ${t.family} ${String(t.name)}`, field, (w) => encodeTable(w, t, field));
    });
  }

  /** Deletes a table with everything in it: like `nft delete table`. ENOENT if it does not exist. */
  deleteTable(t: { family: Family; name: string }): void {
    this.change(() => {
      checkObject(t, 'deleteTable');
      this.message(C.NFT_MSG_DELTABLE, 0, t.family, `NFT_MSG_DELTABLE ${t.family} ${String(t.name)}`, 'deleteTable', (w) => encodeTableRef(w, t.name, 'deleteTable.name'));
      this.forgetSets(t.family, t.name);
    });
  }

  /** Deletes every rule of every chain of a table, keeping chains and sets: like `nft flush table`. */
  flushTable(t: { family: Family; name: string }): void {
    this.change(() => {
      checkObject(t, 'flushTable');
      this.message(C.NFT_MSG_DELRULE, 0, t.family, `NFT_MSG_DELRULE ${t.family} ${String(t.name)} (flush table)`, 'flushTable', (w) => encodeRuleRef(w, t.name, undefined, undefined, 'flushTable'));
    });
  }

  /**
   * Adds a chain, or updates the policy of an existing one: like `nft add chain`. A base
   * chain's type, hook and priority cannot change (the commit fails with EEXIST/EOPNOTSUPP).
   */
  addChain(c: ChainSpec): void {
    this.chain(c, NLM_F_CREATE, 'addChain');
  }

  /** Creates a chain; EEXIST if it exists: like `nft create chain`. */
  createChain(c: ChainSpec): void {
    this.chain(c, NLM_F_CREATE | NLM_F_EXCL, 'createChain');
  }

  private chain(c: ChainSpec, flags: number, field: string): void {
    this.change(() => {
      checkObject(c, field);
      this.message(C.NFT_MSG_NEWCHAIN, flags, c.family, `NFT_MSG_NEWCHAIN ${c.family} ${String(c.table)}/${String(c.name)}`, field, (w) => encodeChain(w, c, field));
    });
  }

  /** Deletes a chain: like `nft delete chain`. EBUSY while it has rules or is jumped to. */
  deleteChain(c: { family: Family; table: string; name: string }): void {
    this.change(() => {
      checkObject(c, 'deleteChain');
      this.message(C.NFT_MSG_DELCHAIN, 0, c.family, `NFT_MSG_DELCHAIN ${c.family} ${String(c.table)}/${String(c.name)}`, 'deleteChain', (w) =>
        encodeChainRef(w, c.table, c.name, 'deleteChain'),
      );
    });
  }

  /** Deletes every rule of a chain: like `nft flush chain`. */
  flushChain(c: { family: Family; table: string; name: string }): void {
    this.change(() => {
      checkObject(c, 'flushChain');
      this.message(C.NFT_MSG_DELRULE, 0, c.family, `NFT_MSG_DELRULE ${c.family} ${String(c.table)}/${String(c.name)} (flush chain)`, 'flushChain', (w) =>
        encodeRuleRef(w, c.table, c.name, undefined, 'flushChain'),
      );
    });
  }

  /**
   * Adds a set or map, or keeps it if it exists with the same declaration: like `nft add
   * set` / `nft add map`. Its types are remembered, so elements can be given as typed values.
   */
  addSet(s: SetSpec): void {
    this.set(s, NLM_F_CREATE, 'addSet');
  }

  /** Creates a set or map; EEXIST if it exists: like `nft create set`. */
  createSet(s: SetSpec): void {
    this.set(s, NLM_F_CREATE | NLM_F_EXCL, 'createSet');
  }

  private set(s: SetSpec, flags: number, field: string): void {
    this.change(() => {
      const r = resolveSet(s, field);
      const id = this.nextSetId++;
      this.message(C.NFT_MSG_NEWSET, flags, s.family, `NFT_MSG_NEWSET ${s.family} ${s.table}/${s.name}`, field, (w) => encodeSet(w, r, id, undefined, field));
      const key = setKey(s.family, s.table, s.name);
      const shape = shapeOf(r);
      this.localSets.set(key, { shape, id });
      this.setChanges.push({ key, shape });
    });
  }

  /** Deletes a set or map: like `nft delete set`. EBUSY while a rule uses it. */
  deleteSet(s: { family: Family; table: string; name: string }): void {
    this.change(() => {
      checkObject(s, 'deleteSet');
      this.message(C.NFT_MSG_DELSET, 0, s.family, `NFT_MSG_DELSET ${s.family} ${String(s.table)}/${String(s.name)}`, 'deleteSet', (w) => encodeSetRef(w, s.table, s.name, 'deleteSet'));
      const key = setKey(s.family, s.table, s.name);
      this.localSets.delete(key);
      this.setChanges.push({ key, shape: undefined });
    });
  }

  /** Deletes every element of a set: like `nft flush set`. */
  flushSet(s: { family: Family; table: string; name: string }): void {
    this.change(() => {
      checkObject(s, 'flushSet');
      this.message(C.NFT_MSG_DELSETELEM, 0, s.family, `NFT_MSG_DELSETELEM ${s.family} ${String(s.table)}/${String(s.name)} (flush set)`, 'flushSet', (w) => {
        // nft names the set before the table here; the kernel does not mind either way.
        w.attrString(C.NFTA_SET_ELEM_LIST_SET, checkName(s.name, 'flushSet.name'));
        w.attrString(C.NFTA_SET_ELEM_LIST_TABLE, checkName(s.table, 'flushSet.table'));
      });
    });
  }

  /**
   * Adds elements to a set or map: like `nft add element`. Values are typed by the set's
   * declaration (see {@link SetElement}); an element that exists is kept (its data is not
   * replaced: delete it first). Large lists are split into messages of at most ~60 KB,
   * all in this one batch.
   */
  addElements(e: ElementsSpec): void {
    this.elements(e, C.NFT_MSG_NEWSETELEM, NLM_F_CREATE, 'addElements');
  }

  /** Adds elements; the commit fails with EEXIST if any exists: like `nft create element`. */
  createElements(e: ElementsSpec): void {
    this.elements(e, C.NFT_MSG_NEWSETELEM, NLM_F_CREATE | NLM_F_EXCL, 'createElements');
  }

  /** Deletes elements (by key; data is ignored): like `nft delete element`. ENOENT if one is missing. */
  deleteElements(e: ElementsSpec): void {
    this.elements(e, C.NFT_MSG_DELSETELEM, 0, 'deleteElements');
  }

  private shapeFor(e: ElementsSpec, field: string): { shape: SetShape; id: number | undefined } {
    const key = setKey(e.family, e.table, e.set);
    if (e.keyType !== undefined) {
      const keyT = compositeType(e.keyType, `${field}.keyType`);
      const data = e.dataType === undefined ? undefined : e.dataType === 'verdict' ? ('verdict' as const) : compositeType(e.dataType, `${field}.dataType`);
      return {
        shape: { key: keyT, keyLen: keyT.len, data, dataLen: data === undefined || data === 'verdict' ? 0 : data.len, interval: e.interval === true },
        id: this.localSets.get(key)?.id,
      };
    }
    const local = this.localSets.get(key);
    if (local) return local;
    const known = this.registry.get(key);
    if (known) return { shape: known, id: undefined };
    throw new ValidationError(
      `${field}.set`,
      `the types of set ${e.family} ${e.table} ${e.set} are unknown: add the set in this transaction, read it first (nft.getSet / nft.list), or pass keyType (and dataType)`,
    );
  }

  private elements(e: ElementsSpec, msg: number, flags: number, field: string): void {
    this.change(() => {
      checkObject(e, field);
      checkName(e.table, `${field}.table`);
      checkName(e.set, `${field}.set`);
      familyProto(e.family, `${field}.family`);
      const { shape, id } = this.shapeFor(e, field);
      const units = encodeElements(shape, e.elements, `${field}.elements`, msg === C.NFT_MSG_DELSETELEM);
      const name = msg === C.NFT_MSG_NEWSETELEM ? 'NFT_MSG_NEWSETELEM' : 'NFT_MSG_DELSETELEM';
      for (let i = 0; i < units.length; ) {
        let bytes = 0;
        let j = i;
        while (j < units.length && (j === i || bytes + (units[j] as Uint8Array).length <= ELEMENT_BYTES_PER_MESSAGE)) bytes += (units[j++] as Uint8Array).length;
        const part = units.slice(i, j);
        const label = `${name} ${e.family} ${e.table}/${e.set}${units.length > part.length ? ` (elements ${i}-${j - 1})` : ''}`;
        this.message(msg, flags, e.family, label, field, (w) => {
          w.attrString(C.NFTA_SET_ELEM_LIST_TABLE, e.table);
          w.attrString(C.NFTA_SET_ELEM_LIST_SET, e.set);
          if (id !== undefined && msg === C.NFT_MSG_NEWSETELEM) w.attrBe32(C.NFTA_SET_ELEM_LIST_SET_ID, id);
          putElementList(w, part);
        });
        i = j;
      }
    });
  }

  /**
   * @internal Element changes whose elements are already wire bytes (keys padded as the
   * set's types want): what add/create/deleteElements write, without the typed encoding,
   * for a hot path that builds the bytes of sets it declared itself. The set must exist
   * before the transaction. Units are packed into messages of at most ~60 KB.
   */
  elementUnits(op: 'add' | 'create' | 'delete', family: Family, table: string, set: string, units: readonly Unit[]): void {
    const msg = op === 'delete' ? C.NFT_MSG_DELSETELEM : C.NFT_MSG_NEWSETELEM;
    const flags = op === 'add' ? NLM_F_CREATE : op === 'create' ? NLM_F_CREATE | NLM_F_EXCL : 0;
    const field = `${op}Elements`;
    const name = msg === C.NFT_MSG_NEWSETELEM ? 'NFT_MSG_NEWSETELEM' : 'NFT_MSG_DELSETELEM';
    const label = `${name} ${family} ${table}/${set}`;
    if (this.state !== 'open') throw new NetplumbError('the transaction was already committed', 'ERR_NETPLUMB_COMMITTED');
    // Like change(), without its snapshot of set state: pre-encoded elements touch none.
    const first = this.batch.length;
    const offset = this.batch.writer.offset;
    try {
      let i = 0;
      while (i < units.length) {
        this.message(msg, flags, family, label, field, (w) => {
          w.attrString(C.NFTA_SET_ELEM_LIST_TABLE, table);
          w.attrString(C.NFTA_SET_ELEM_LIST_SET, set);
          const list = w.beginNest(C.NFTA_SET_ELEM_LIST_ELEMENTS);
          for (let k = 1; i < units.length && (k === 1 || w.offset - list < ELEMENT_BYTES_PER_MESSAGE); k++, i++) {
            // Numbered 1, 2, 3 ... as libnftnl does (the kernel ignores the numbers).
            const n = w.beginNest((k & NLA_TYPE_MASK) | NLA_F_NESTED);
            writeUnit(w, units[i] as Unit);
            w.endNest(n);
          }
          w.endNest(list);
        });
      }
    } catch (err) {
      this.batch.cancel();
      this.batch.requests.length = first;
      this.batch.writer.offset = offset;
      throw ValidationError.wrap(err, `change ${this.changes.length}`);
    }
    this.changes.push({ first, last: this.batch.length - 1 });
  }

  /**
   * Appends a rule to a chain (or, with `position`, places it after that rule): like `nft
   * add rule`. Inline sets in lookups are created with it. Returns the rule, whose handle
   * is known after commit.
   */
  addRule(r: RuleSpec): CreatedRule {
    return this.rule(r, NLM_F_CREATE | NLM_F_APPEND, undefined, 'addRule');
  }

  /** Prepends a rule (or, with `position`, places it before that rule): like `nft insert rule`. */
  insertRule(r: RuleSpec): CreatedRule {
    return this.rule(r, NLM_F_CREATE, undefined, 'insertRule');
  }

  /** Replaces the rule with `handle` in place: like `nft replace rule ... handle H`. */
  replaceRule(r: RuleSpec & { handle: number }): CreatedRule {
    return this.rule(r, NLM_F_REPLACE, checkHandle(r?.handle, 'replaceRule.handle'), 'replaceRule');
  }

  /** Deletes one rule by handle: like `nft delete rule FAMILY TABLE CHAIN handle H`. */
  deleteRule(r: { family: Family; table: string; chain: string; handle: number }): void {
    this.change(() => {
      checkObject(r, 'deleteRule');
      this.message(C.NFT_MSG_DELRULE, 0, r.family, `NFT_MSG_DELRULE ${r.family} ${String(r.table)}/${String(r.chain)} handle ${String(r.handle)}`, 'deleteRule', (w) =>
        encodeRuleRef(w, r.table, r.chain, r.handle, 'deleteRule'),
      );
    });
  }

  private rule(r: RuleSpec, flags: number, handle: bigint | undefined, field: string): CreatedRule {
    let created: CreatedRule | undefined;
    this.change(() => {
      checkObject(r, field);
      checkName(r.table, `${field}.table`);
      checkName(r.chain, `${field}.chain`);
      familyProto(r.family, `${field}.family`);
      const position = r.position === undefined ? undefined : checkHandle(r.position, `${field}.position`);
      const expressions = this.inlineSets(r, flattenExpressions(r.expressions as readonly ExpressionInput[], `${field}.expressions`), field);
      const rule: CreatedRule = { family: r.family, table: r.table, chain: r.chain, handle: undefined };
      let offsets: number[] = [];
      const request = this.message(C.NFT_MSG_NEWRULE, flags | NLM_F_ECHO, r.family, `NFT_MSG_NEWRULE ${r.family} ${r.table}/${r.chain}`, field, (w) => {
        offsets = encodeRule(w, r, expressions, handle, position, field);
      });
      const base = (this.batch.requests[request] as { offset: number }).offset;
      this.echoes.push({ request, rule });
      created = rule;
      return { expressionOffsets: { request, offsets: offsets.map((o) => o - base), kinds: expressions.map((e) => (e.kind === 'raw' ? e.name : e.kind)) } };
    });
    return created as CreatedRule;
  }

  /** Creates the inline sets of a rule's lookups and points the lookups at them. */
  private inlineSets(r: RuleSpec, expressions: Expression[], field: string): Expression[] {
    return expressions.map((e, i) => {
      if (!e || e.kind !== 'lookup' || typeof e.set === 'string') return e;
      const anon: AnonymousSet = e.set;
      const sub = `${field}.expressions[${i}].set`;
      if (!anon || typeof anon !== 'object') throw new ValidationError(sub, 'must be a set name or an inline set');
      const spec: SetSpec = { family: r.family, table: r.table, name: '__set%d', keyType: anon.keyType };
      if (anon.dataType !== undefined) spec.dataType = anon.dataType;
      if (anon.interval) spec.flags = ['interval'];
      const resolved: ResolvedSet = resolveSet(spec, sub);
      if (!Array.isArray(anon.elements) || anon.elements.length === 0) throw new ValidationError(`${sub}.elements`, 'an inline set needs elements');
      const id = this.nextSetId++;
      const units = encodeElements(shapeOf(resolved), anon.elements, `${sub}.elements`, false);
      this.message(C.NFT_MSG_NEWSET, NLM_F_CREATE, r.family, `NFT_MSG_NEWSET ${r.family} ${r.table}/__set%d (inline set)`, sub, (w) =>
        encodeSet(w, resolved, id, { size: units.length }, sub),
      );
      this.message(C.NFT_MSG_NEWSETELEM, NLM_F_CREATE, r.family, `NFT_MSG_NEWSETELEM ${r.family} ${r.table}/__set%d (inline set)`, sub, (w) => {
        w.attrString(C.NFTA_SET_ELEM_LIST_TABLE, r.table);
        w.attrString(C.NFTA_SET_ELEM_LIST_SET, '__set%d');
        w.attrBe32(C.NFTA_SET_ELEM_LIST_SET_ID, id);
        putElementList(w, units);
      });
      const out: Lookup = { ...e, set: '__set%d', setId: id };
      return out;
    });
  }

  private forgetSets(family: Family, table: string): void {
    const prefix = `${family} ${table} `;
    for (const k of [...this.localSets.keys()]) if (k.startsWith(prefix)) this.localSets.delete(k);
    this.setChanges.push({ key: prefix, shape: undefined });
  }

  /**
   * Sends every change as one batch; the kernel applies all or nothing. Resolves with the
   * handles of added rules. Rejects with NetlinkError naming the first change the kernel
   * refused (`change` is its position among the changes, `index` the failing message's
   * position in the batch, BATCH_BEGIN being 0; `operation` says what it was and,
   * for rules, which expression the kernel blamed), with errno and extended-ack text;
   * ERESTART when `generation` was given and the ruleset has changed since. A
   * transaction is committed at most once.
   */
  async commit(): Promise<CommitResult> {
    const { batch, complete } = this.seal();
    if (!batch) return complete([]);
    try {
      return complete(await this.conn.execute(batch, { allowErrors: true }));
    } finally {
      this.state = 'done';
    }
  }

  /**
   * @internal Closes the transaction into its batch without sending it, for a caller
   * that sends it together with other work (a netlink pipeline); `complete(replies)` then
   * does with the kernel's answer what commit() does: throws the failing change's error,
   * or records handles and set types and returns the result. `batch` is undefined when
   * there is nothing to send.
   */
  seal(): { batch: Batch | undefined; complete(replies: Reply[]): CommitResult } {
    if (this.state !== 'open') throw new NetplumbError('the transaction was already committed', 'ERR_NETPLUMB_COMMITTED');
    this.state = 'committing';
    const result: CommitResult = { rules: this.echoes.map((e) => e.rule) };
    if (this.changes.length === 0) {
      this.state = 'done';
      return { batch: undefined, complete: () => result };
    }
    const w = this.batch.begin(NFNL_MSG_BATCH_END, 0, 'NFNL_MSG_BATCH_END', false);
    putNfgenmsg(w, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
    this.batch.end();
    const complete = (replies: Reply[]): CommitResult => {
      this.state = 'done';
      this.check(replies);
      for (const e of this.echoes) {
        const echo = replies[e.request]?.messages.find((m) => (m.type & 0xff) === C.NFT_MSG_NEWRULE);
        if (echo) e.rule.handle = decodeRule(echo.payload).handle;
      }
      for (const c of this.setChanges) {
        if (c.shape) this.registry.set(c.key, c.shape);
        else for (const k of [...this.registry.keys()]) if (k === c.key || (c.key.endsWith(' ') && k.startsWith(c.key))) this.registry.delete(k);
      }
      return result;
    };
    return { batch: this.batch.ackLastOnly(), complete };
  }

  /** @internal The connection the transaction commits on. */
  get connection(): NetlinkConnection {
    return this.conn;
  }

  /**
   * Throws the error of the first refused request, renamed after the change it belongs to
   * (`index` stays the message's position in the batch; `change` says which change).
   */
  private check(replies: Reply[]): void {
    const failed = replies.find((r) => r.error);
    if (failed?.error) {
      const err = failed.error;
      const requestIndex = replies.indexOf(failed);
      const at = { index: requestIndex, type: err.type, seq: err.seq };
      if (requestIndex === 0) {
        // Only ERESTART on a generation-checked batch means "stale generation"; anything
        // else refused here (EPERM without CAP_NET_ADMIN ...) refused the whole batch.
        const stale = err.errno === ERESTART && this.generationChecked;
        const operation = stale ? 'NFNL_MSG_BATCH_BEGIN (the ruleset changed since the given generation)' : 'NFNL_MSG_BATCH_BEGIN (the whole batch was refused)';
        throw new NetlinkError(err.errno, { operation, ...at }, err.extack, err.extackOffset, { cause: err });
      }
      const changeIndex = this.changes.findIndex((c) => requestIndex >= c.first && requestIndex <= c.last);
      const change = this.changes[changeIndex];
      let operation = err.operation;
      const ex = change?.expressionOffsets;
      if (ex && ex.request === requestIndex && err.extackOffset !== undefined) {
        // The kernel points at the attribute it blamed; say which expression holds it.
        let k = -1;
        ex.offsets.forEach((o, i) => {
          if (err.extackOffset !== undefined && err.extackOffset >= o) k = i;
        });
        if (k >= 0) operation += ` expression ${k} (${ex.kinds[k]})`;
      }
      if (changeIndex < 0) throw new NetlinkError(err.errno, { operation, ...at }, err.extack, err.extackOffset, { cause: err });
      throw new NetlinkError(err.errno, { operation: `change ${changeIndex}: ${operation}`, ...at, change: changeIndex }, err.extack, err.extackOffset, { cause: err });
    }
    for (const r of replies) {
      if (r.request.expectsReply && !r.complete) throw new NetplumbError(`${r.request.operation}: the kernel sent no reply`, 'ERR_NETPLUMB_NO_REPLY');
    }
  }
}

function checkObject(v: unknown, field: string): void {
  if (!v || typeof v !== 'object') throw new ValidationError(field, 'must be an object');
}
