/**
 * Layer 2 (rtnetlink): the ARP/NDP neighbours (`ip neigh`) and bridge FDB entries
 * (`bridge fdb`) of one namespace, as `ns.neighbors` and `ns.neighbors.fdb`.
 * @module
 */
import * as C from './constants.js';
import type { IpFamily } from './ip.js';
import {
  type FdbEntry,
  type FdbSpec,
  type Neighbor,
  type NeighborFilter,
  type NeighborSpec,
  decodeFdbEntry,
  decodeNeighbor,
  encodeFdbAdd,
  encodeFdbAppend,
  encodeFdbDelete,
  encodeFdbDump,
  encodeFdbReplace,
  encodeNeighborAdd,
  encodeNeighborDelete,
  encodeNeighborDump,
  encodeNeighborReplace,
  isFdbMessage,
} from './neighbor.js';
import { type RouteNamespace, dump, indexOf, resolveIndexes, run } from './request.js';

async function resolveFilter(ns: RouteNamespace, filter: NeighborFilter): Promise<{ link?: number; master?: number }> {
  const idx = await resolveIndexes(ns, [filter.link, filter.master]);
  return { link: indexOf(filter.link, idx) as number | undefined, master: indexOf(filter.master, idx) as number | undefined };
}

async function resolveSpec<T extends { link: NeighborSpec['link']; via?: FdbSpec['via'] }>(ns: RouteNamespace, spec: T): Promise<T> {
  if (typeof spec?.link !== 'string' && typeof spec?.via !== 'string') return spec;
  const idx = await resolveIndexes(ns, [spec.link, spec.via]);
  const out = { ...spec, link: indexOf(spec.link, idx) };
  if (spec.via !== undefined) out.via = indexOf(spec.via, idx);
  return out;
}

/** The bridge forwarding database of one namespace (`bridge fdb`). */
export class Fdb {
  private readonly ns: RouteNamespace;

  constructor(ns: RouteNamespace) {
    this.ns = ns;
  }

  /**
   * Like `bridge fdb show [dev LINK] [br MASTER]`: every FDB entry (bridges' and vxlan
   * devices'), decoded; the kernel filters by link and master itself.
   */
  async list(filter: NeighborFilter = {}): Promise<FdbEntry[]> {
    const f = await resolveFilter(this.ns, filter);
    const msgs = await dump(this.ns, (b) => encodeFdbDump(b, f));
    return msgs.filter((m) => m.type === C.RTM_NEWNEIGH && isFdbMessage(m)).map(decodeFdbEntry);
  }

  /**
   * Like `bridge fdb add MAC dev LINK [dst IP] [vni N] [port P] [vlan V] [self|master]
   * [permanent|static|dynamic]`. Rejects with NetlinkError EEXIST when the entry exists,
   * EINVAL with the kernel's text for what the device refuses; ValidationError before
   * sending anything for a malformed MAC or address.
   */
  async add(spec: FdbSpec): Promise<void> {
    const s = await resolveSpec(this.ns, spec);
    await run(this.ns, (b) => encodeFdbAdd(b, s));
  }

  /** Like `bridge fdb append ...`: another vxlan remote for the MAC (00:00:00:00:00:00: another flooding destination). */
  async append(spec: FdbSpec): Promise<void> {
    const s = await resolveSpec(this.ns, spec);
    await run(this.ns, (b) => encodeFdbAppend(b, s));
  }

  /** Like `bridge fdb replace ...`. */
  async replace(spec: FdbSpec): Promise<void> {
    const s = await resolveSpec(this.ns, spec);
    await run(this.ns, (b) => encodeFdbReplace(b, s));
  }

  /** Like `bridge fdb del MAC dev LINK [dst IP] [vlan V] [self|master]`. Rejects with NetlinkError ENOENT when there is no such entry. */
  async delete(spec: FdbSpec): Promise<void> {
    const s = await resolveSpec(this.ns, spec);
    await run(this.ns, (b) => encodeFdbDelete(b, s));
  }
}

/** The ARP/NDP neighbours of one namespace, and its bridge FDB as {@link fdb}. */
export class Neighbors {
  private readonly ns: RouteNamespace;
  /** Bridge forwarding database entries (`bridge fdb`). */
  readonly fdb: Fdb;

  constructor(ns: RouteNamespace) {
    this.ns = ns;
    this.fdb = new Fdb(ns);
  }

  /**
   * Like `ip [-4|-6] neigh show [dev LINK] [master M] [proxy]`: ARP and NDP entries,
   * decoded; the kernel filters by link and master itself.
   */
  async list(filter: NeighborFilter & { family?: IpFamily; proxy?: boolean } = {}): Promise<Neighbor[]> {
    const f = await resolveFilter(this.ns, filter);
    const msgs = await dump(this.ns, (b) => encodeNeighborDump(b, { ...f, family: filter.family, proxy: filter.proxy }));
    return msgs.filter((m) => m.type === C.RTM_NEWNEIGH && !isFdbMessage(m)).map(decodeNeighbor);
  }

  /**
   * Like `ip neigh add ADDR lladdr MAC dev LINK [nud STATE] [router] [proxy]`. Rejects
   * with NetlinkError EEXIST when the entry exists, ENODEV for a missing link, EINVAL with
   * the kernel's text for what it refuses; ValidationError before sending anything for a
   * malformed address or MAC.
   */
  async add(spec: NeighborSpec): Promise<void> {
    const s = await resolveSpec(this.ns, spec);
    await run(this.ns, (b) => encodeNeighborAdd(b, s));
  }

  /** Like `ip neigh replace ...`: adds or overwrites the entry. */
  async replace(spec: NeighborSpec): Promise<void> {
    const s = await resolveSpec(this.ns, spec);
    await run(this.ns, (b) => encodeNeighborReplace(b, s));
  }

  /** Like `ip neigh del ADDR dev LINK`. Rejects with NetlinkError ENOENT when there is no such entry. */
  async delete(spec: NeighborSpec): Promise<void> {
    const s = await resolveSpec(this.ns, spec);
    await run(this.ns, (b) => encodeNeighborDelete(b, s));
  }
}
