/**
 * Layer 2 (nftables): ruleset change events (`nft monitor`), from a netlink socket in the
 * namespace subscribed to NFNLGRP_NFTABLES, decoded into the same objects listings give.
 * @module
 */
import { DecodeError, SystemError } from '../errors.js';
import { NETLINK_NETFILTER, NFNL_SUBSYS_NFTABLES } from '../netlink/constants.js';
import { parseMessages } from '../netlink/message.js';
import { native } from '../native.js';
import { type NftChain, decodeChain } from './chain.js';
import * as C from './constants.js';
import { type SetElement, decodeElementList, decodeElements } from './elements.js';
import { Attributes } from '../netlink/attributes.js';
import { type Family, NFGENMSG_LEN, parsePayload } from './family.js';
import { type NftRule, decodeRule } from './rule.js';
import { type NftSet, decodeSet } from './set.js';
import { type NftTable, decodeTable } from './table.js';
import { type SetRegistry, setKey } from './transaction.js';

/** ENOBUFS: the socket's buffer overflowed and events were lost. */
const ENOBUFS = 105;
/** Receive buffer of a monitor socket. */
const MONITOR_BUFFER_BYTES = 4 << 20;

/** Whether an object appeared (`new`) or went away (`del`). */
export type NftAction = 'new' | 'del';

/** One decoded ruleset change, as `nft monitor` prints them. */
export type NftChange =
  | { type: 'change'; action: NftAction; object: 'table'; table: NftTable }
  | { type: 'change'; action: NftAction; object: 'chain'; chain: NftChain }
  | { type: 'change'; action: NftAction; object: 'rule'; rule: NftRule }
  | { type: 'change'; action: NftAction; object: 'set'; set: NftSet }
  | {
      type: 'change';
      action: NftAction;
      object: 'element';
      family: Family;
      table: string;
      set: string;
      /** Typed when the set's types are known to this handle (it made or listed the set), raw bytes otherwise. */
      elements: SetElement[];
    }
  /** A transaction was committed: the new generation, and who committed it. */
  | { type: 'change'; action: 'new'; object: 'gen'; generation: number; pid?: number; process?: string };

/** Events a monitor yields: changes, lost events, and messages that could not be decoded. */
export type NftEvent = NftChange | { type: 'overflow' } | { type: 'error'; error: DecodeError };

/** An async iterator of ruleset events; stop it with {@link close}. */
export interface NftMonitor extends AsyncIterableIterator<NftEvent> {
  /** Stops listening and ends the iteration. */
  close(): void;
}

function decodeChange(type: number, payload: Buffer, registry: SetRegistry): NftChange | undefined {
  const msg = type & 0xff;
  switch (msg) {
    case C.NFT_MSG_NEWTABLE:
    case C.NFT_MSG_DELTABLE:
      return { type: 'change', action: msg === C.NFT_MSG_NEWTABLE ? 'new' : 'del', object: 'table', table: decodeTable(payload) };
    case C.NFT_MSG_NEWCHAIN:
    case C.NFT_MSG_DELCHAIN:
      return { type: 'change', action: msg === C.NFT_MSG_NEWCHAIN ? 'new' : 'del', object: 'chain', chain: decodeChain(payload) };
    case C.NFT_MSG_NEWRULE:
    case C.NFT_MSG_DELRULE:
      return { type: 'change', action: msg === C.NFT_MSG_NEWRULE ? 'new' : 'del', object: 'rule', rule: decodeRule(payload) };
    case C.NFT_MSG_NEWSET:
    case C.NFT_MSG_DELSET: {
      const { set, shape } = decodeSet(payload);
      // Elements of a set announced here (typically in the same batch) decode typed.
      if (msg === C.NFT_MSG_NEWSET) registry.set(setKey(set.family, set.table, set.name), shape);
      return { type: 'change', action: msg === C.NFT_MSG_NEWSET ? 'new' : 'del', object: 'set', set };
    }
    case C.NFT_MSG_NEWSETELEM:
    case C.NFT_MSG_DELSETELEM: {
      const { family, attrs } = parsePayload(payload);
      const table = attrs.string(C.NFTA_SET_ELEM_LIST_TABLE) ?? '';
      const set = attrs.string(C.NFTA_SET_ELEM_LIST_SET) ?? '';
      const list = attrs.get(C.NFTA_SET_ELEM_LIST_ELEMENTS);
      const raw = list ? decodeElementList(list) : [];
      const shape = registry.get(setKey(family, table, set));
      const elements = shape
        ? decodeElements(shape, raw)
        : raw.map((r) => {
            const e: SetElement = { key: r.key };
            if (r.keyEnd) e.keyEnd = r.keyEnd;
            if (r.data !== undefined) e.data = r.data;
            return e;
          });
      return { type: 'change', action: msg === C.NFT_MSG_NEWSETELEM ? 'new' : 'del', object: 'element', family, table, set, elements };
    }
    case C.NFT_MSG_NEWGEN: {
      const attrs = Attributes.parse(payload, NFGENMSG_LEN);
      const ev: NftChange = { type: 'change', action: 'new', object: 'gen', generation: attrs.be32(C.NFTA_GEN_ID) ?? 0 };
      const pid = attrs.be32(C.NFTA_GEN_PROC_PID);
      if (pid !== undefined) ev.pid = pid;
      const name = attrs.string(C.NFTA_GEN_PROC_NAME);
      if (name !== undefined) ev.process = name;
      return ev;
    }
    default:
      // Objects netplumb does not model (stateful objects, flowtables, traces).
      return undefined;
  }
}

/** Opens a monitor on namespace `nsFd`. */
export function openMonitor(nsFd: number, registry: SetRegistry): NftMonitor {
  const queue: NftEvent[] = [];
  const waiting: Array<{ resolve: (r: IteratorResult<NftEvent>) => void; reject: (e: Error) => void }> = [];
  let failure: Error | undefined;
  let closed = false;
  const push = (ev: NftEvent): void => {
    const w = waiting.shift();
    if (w) w.resolve({ value: ev, done: false });
    else queue.push(ev);
  };
  const finish = (): void => {
    for (const w of waiting.splice(0)) {
      if (failure) w.reject(failure);
      else w.resolve({ value: undefined, done: true });
    }
  };
  const fd = native.monitorOpen(NETLINK_NETFILTER, nsFd, [C.NFNLGRP_NFTABLES], MONITOR_BUFFER_BYTES, (data, errno) => {
    if (closed) return;
    if (data === null) {
      if (errno === ENOBUFS) {
        push({ type: 'overflow' });
        return;
      }
      failure = new SystemError(errno, 'recvmsg');
      closed = true;
      native.monitorClose(fd);
      finish();
      return;
    }
    try {
      for (const m of parseMessages(data)) {
        if (m.type >> 8 !== NFNL_SUBSYS_NFTABLES) continue;
        try {
          const ev = decodeChange(m.type, m.payload, registry);
          if (ev) push(ev);
        } catch (err) {
          if (err instanceof DecodeError) push({ type: 'error', error: err });
          else throw err;
        }
      }
    } catch (err) {
      if (err instanceof DecodeError) push({ type: 'error', error: err });
      else throw err;
    }
  });
  const monitor: NftMonitor = {
    next(): Promise<IteratorResult<NftEvent>> {
      const ev = queue.shift();
      if (ev) return Promise.resolve({ value: ev, done: false });
      if (closed) return failure ? Promise.reject(failure) : Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
    return(): Promise<IteratorResult<NftEvent>> {
      monitor.close();
      return Promise.resolve({ value: undefined, done: true });
    },
    close(): void {
      if (closed) return;
      closed = true;
      queue.length = 0;
      native.monitorClose(fd);
      finish();
    },
    [Symbol.asyncIterator]() {
      return monitor;
    },
  };
  return monitor;
}
