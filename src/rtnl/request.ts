/**
 * Layer 2 (rtnetlink): what the object APIs need from a namespace — its rtnetlink
 * connection — and the three ways they use it: one batch of requests, one dump, and
 * resolving link names to the ifindexes most requests need (all names in one batch).
 * @module
 */
import { Batch, type Reply } from '../netlink/batch.js';
import type { NetlinkConnection } from '../netlink/connection.js';
import type { NetlinkMessage } from '../netlink/message.js';
import { decodeLink, encodeLinkGet } from './link.js';
import type { LinkRef } from './validate.js';

/**
 * A network namespace as the rtnetlink APIs see it: its rtnetlink connection (sockets
 * opened inside it) and its fd. A Netns handle is one.
 */
export interface RouteNamespace {
  readonly route: NetlinkConnection;
  readonly fd: number;
}

/** Writes requests with `write` into a fresh batch and executes it (throws the first NetlinkError). */
export async function run(ns: RouteNamespace, write: (batch: Batch) => void): Promise<Reply[]> {
  const batch = new Batch();
  write(batch);
  return ns.route.execute(batch);
}

/** Runs the dump `write` builds (again if the kernel reports it interrupted) and returns its messages. */
export async function dump(ns: RouteNamespace, write: (batch: Batch) => void): Promise<NetlinkMessage[]> {
  const replies = await ns.route.dump(() => {
    const batch = new Batch();
    write(batch);
    return batch;
  });
  return replies.flatMap((r) => r.messages);
}

/**
 * The ifindexes of `refs`: numbers as they are, names looked up with one targeted
 * RTM_GETLINK each, all in one batch. Rejects with NetlinkError ENODEV for a missing name.
 */
export async function resolveIndexes(ns: RouteNamespace, refs: ReadonlyArray<LinkRef | undefined | null>): Promise<Map<string, number>> {
  const names = [...new Set(refs.filter((r): r is string => typeof r === 'string'))];
  const out = new Map<string, number>();
  if (names.length === 0) return out;
  const replies = await run(ns, (b) => {
    for (const n of names) encodeLinkGet(b, n);
  });
  replies.forEach((r, i) => {
    const msg = r.messages[0];
    if (msg) out.set(names[i] as string, decodeLink(msg).index);
  });
  return out;
}

/** `ref` with a name replaced by its ifindex from `indexes`. */
export function indexOf<T extends LinkRef | undefined | null>(ref: T, indexes: Map<string, number>): T | number {
  return typeof ref === 'string' ? (indexes.get(ref) ?? ref) : ref;
}
