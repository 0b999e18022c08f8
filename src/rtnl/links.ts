/**
 * Layer 2 (rtnetlink): the links of one namespace (`ip link`), as `ns.links`.
 * @module
 */
import { NetlinkError, NetplumbError, ValidationError } from '../errors.js';
import * as C from './constants.js';
import {
  type Link,
  type LinkChanges,
  type LinkFilter,
  type LinkSpec,
  type NetnsTarget,
  decodeLink,
  encodeLinkAdd,
  encodeLinkDelete,
  encodeLinkDump,
  encodeLinkGet,
  encodeLinkSet,
} from './link.js';
import { Batch, type Reply } from '../netlink/batch.js';
import { type Step, runPipeline } from '../netlink/pipeline.js';
import { native } from '../native.js';
import { type RouteNamespace, dump, indexOf, resolveIndexes, run } from './request.js';
import { type LinkRef, checkIfname } from './validate.js';

/** Where the other end of a veth is. */
export interface VethPeer {
  /** Its ifindex, in the namespace `netnsid` names (or in this one). */
  ifindex: number;
  /**
   * IFLA_LINK_NETNSID: the nsid, as seen from the namespace the veth was read in, of the
   * namespace the peer lives in; absent when the peer is in the same namespace. Resolve it
   * to a namespace with {@link findByNsid}.
   */
  netnsid?: number;
}

/** Filters of {@link Links.list}. */
export interface LinkListFilter extends Omit<LinkFilter, 'master'> {
  /** Only ports of this master (ifindex or name). */
  master?: LinkRef;
}

/**
 * A tun or tap device to create (`ip tuntap add NAME mode tun|tap [multi_queue] [vnet_hdr]
 * [user U] [group G]`), persistent, without packet information headers (IFF_NO_PI).
 */
export interface TunSpec {
  kind: 'tun' | 'tap';
  name: string;
  /** IFF_MULTI_QUEUE. */
  multiQueue?: boolean;
  /** IFF_VNET_HDR. */
  vnetHdr?: boolean;
  /** TUNSETOWNER: uid allowed to attach. */
  owner?: number;
  /** TUNSETGROUP: gid allowed to attach. */
  group?: number;
  /** Set after creation in one batch, like for any link. */
  mtu?: number;
  /** MAC address (tap). */
  address?: string;
  up?: boolean;
  /** Enslave to this bridge (ifindex or name). */
  master?: LinkRef;
  alias?: string;
}

function checkId(v: unknown, field: string): number {
  if (v === undefined) return -1;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new ValidationError(field, `${JSON.stringify(v)} is not a uid/gid`);
  return v;
}

function hasConnection(t: NetnsTarget): t is NetnsTarget & RouteNamespace {
  return 'route' in t && 'fd' in t;
}

/** The links of one namespace. Every method is one netlink round trip unless it says otherwise. */
export class Links {
  private readonly ns: RouteNamespace;

  constructor(ns: RouteNamespace) {
    this.ns = ns;
  }

  /**
   * Like `ip -d link show [master M] [type KIND]`: every link, decoded. The kernel filters
   * by master and kind itself. Rejects with NetlinkError ENODEV when `master` is a name
   * that does not exist.
   */
  async list(filter: LinkListFilter = {}): Promise<Link[]> {
    if (filter === null || typeof filter !== 'object') throw new ValidationError('filter', 'must be an object');
    const idx = await resolveIndexes(this.ns, [filter.master]);
    const master = indexOf(filter.master, idx) as number | undefined;
    const msgs = await dump(this.ns, (b) => encodeLinkDump(b, { ...filter, master }));
    const links = msgs.filter((m) => m.type === C.RTM_NEWLINK).map(decodeLink);
    // A kernel that does not know the kind (module not loaded) ignores the kind filter.
    return filter.kind === undefined ? links : links.filter((l) => (l.kind === 'other' ? l.infoKind : l.kind) === filter.kind);
  }

  /**
   * Like `ip -d link show dev REF`: one link by ifindex or name, with a targeted
   * RTM_GETLINK. Rejects with NetlinkError ENODEV when there is no such link,
   * ValidationError for a name longer than 15 bytes.
   */
  async get(ref: LinkRef): Promise<Link> {
    const [reply] = await run(this.ns, (b) => encodeLinkGet(b, ref));
    const msg = reply?.messages[0];
    if (!msg) throw new NetplumbError(`RTM_GETLINK ${String(ref)}: acknowledged without the link`, 'ERR_NETPLUMB_NO_REPLY');
    return decodeLink(msg);
  }

  /** Like {@link get}, but resolves undefined instead of rejecting when there is no such link. */
  async find(ref: LinkRef): Promise<Link | undefined> {
    try {
      return await this.get(ref);
    } catch (e) {
      if (e instanceof NetlinkError && e.code === 'ENODEV') return undefined;
      throw e;
    }
  }

  /**
   * Like `ip link add NAME [link L] [master M] [up] type KIND ...`: creates the link in one
   * RTM_NEWLINK — a veth together with its peer, already named and already in its target
   * namespace (never created here and moved) — and resolves with the new link as the
   * kernel echoes it (NLM_F_ECHO). Names given for `master`/`link`/`vxlan.link` cost one
   * extra round trip (all of them together); pass ifindexes to avoid it.
   *
   * When `spec.netns` puts the link itself in another namespace, the echo goes there, so
   * it is read back through that namespace's own handle: `spec.netns` must then be a Netns.
   *
   * Rejects with NetlinkError EEXIST when a link of that name exists (in the namespace it
   * would be created in), ENODEV for a missing master or lower link, ENOTSUP (EOPNOTSUPP)
   * with the kernel's text "Unknown device type" when it lacks the kind, EINVAL with its
   * text for options it refuses; with ValidationError before sending anything for a name
   * over 15 bytes, a malformed MAC or address, an out-of-range number. tun/tap devices
   * (which the kernel makes only through the TUNSETIFF ioctl, like `ip tuntap add`) are
   * created persistent by the addon inside this namespace, then configured; SystemError
   * EBUSY when the name is taken.
   */
  async add(spec: LinkSpec | TunSpec): Promise<Link> {
    if (spec !== null && typeof spec === 'object' && (spec.kind === 'tun' || spec.kind === 'tap')) return this.addTun(spec);
    return this.addLink(spec as LinkSpec);
  }

  private async addLink(spec: LinkSpec): Promise<Link> {
    if (spec === null || typeof spec !== 'object') throw new ValidationError('spec', 'must be a link spec object');
    if (spec.netns !== undefined && !hasConnection(spec.netns)) {
      throw new ValidationError('netns', 'Links.add() reads the new link back from its namespace: pass a Netns handle (or use RtnlBatch to create into { fd } / { pid })');
    }
    const vxlanLink = spec.kind === 'vxlan' ? spec.vxlan?.link : undefined;
    const lower = 'link' in spec ? spec.link : undefined;
    const idx = await resolveIndexes(this.ns, [spec.master, lower, vxlanLink]);
    const resolved = { ...spec, master: indexOf(spec.master, idx) } as LinkSpec;
    if ('link' in resolved) resolved.link = indexOf(resolved.link, idx);
    if (resolved.kind === 'vxlan' && resolved.vxlan) resolved.vxlan = { ...resolved.vxlan, link: indexOf(resolved.vxlan.link, idx) };

    // The alias goes in a second step on the same addon thread, which does not run when the
    // create is refused (the name would then be someone else's link).
    const { alias, ...bare } = resolved;
    if (alias !== undefined && spec.netns !== undefined) throw new ValidationError('alias', 'cannot be set on a link created in another namespace here; set it there');
    const create = new Batch();
    // A link created in another namespace is echoed there, not here: ask for no echo then.
    encodeLinkAdd(create, bare as LinkSpec, { echo: spec.netns === undefined });
    const steps: Step[] = [{ connection: this.ns.route, batch: create }];
    if (alias !== undefined) {
      const tag = new Batch();
      encodeLinkSet(tag, spec.name, { alias });
      steps.push({ connection: this.ns.route, batch: tag });
    }
    const outcome = await runPipeline(steps);
    if (outcome.error) throw outcome.error;
    const replies = outcome.results[0] as Reply[];
    const echo = replies[0]?.messages.filter((m) => m.type === C.RTM_NEWLINK).at(-1);
    let link: Link;
    if (echo) {
      link = decodeLink(echo);
      // The kernel echoes the link as it was when brought up, before it enslaves it and
      // before the separate alias request; both were acknowledged, so they are in place.
      if (typeof resolved.master === 'number') link.master = resolved.master;
      if (resolved.alias !== undefined) link.alias = resolved.alias;
    } else if (spec.netns !== undefined && hasConnection(spec.netns)) {
      link = await new Links(spec.netns).get(spec.name);
    } else {
      link = await this.get(spec.name);
    }
    return link;
  }

  /**
   * tun/tap: created with TUNSETIFF on an addon thread inside this namespace, then given
   * its other settings in one batch; removed again if that batch fails.
   */
  private async addTun(spec: TunSpec): Promise<Link> {
    const name = checkIfname(spec.name, 'name');
    const owner = checkId(spec.owner, 'owner');
    const group = checkId(spec.group, 'group');
    const changes: LinkChanges = {};
    if (spec.mtu !== undefined) changes.mtu = spec.mtu;
    if (spec.address !== undefined) changes.address = spec.address;
    if (spec.master !== undefined) changes.master = spec.master;
    if (spec.alias !== undefined) changes.alias = spec.alias;
    if (spec.up !== undefined) changes.up = spec.up;
    // Validate the follow-up changes before the device exists.
    if (Object.keys(changes).length) encodeLinkSet(new Batch(), name, { ...changes, master: typeof changes.master === 'string' ? 1 : changes.master });
    // TUNSETIFF attaches to an existing persistent device of that name instead of failing.
    if (await this.find(name)) throw new NetplumbError(`a link named ${name} exists`, 'EEXIST');
    await native.tunCreate(this.ns.fd, name, spec.kind === 'tap', spec.multiQueue === true, spec.vnetHdr === true, owner, group);
    try {
      if (Object.keys(changes).length) await this.set(name, changes);
      return await this.get(name);
    } catch (e) {
      await this.delete(name).catch(() => {});
      throw e;
    }
  }

  /**
   * Like `ip link set dev REF ...` (and `bridge link set dev REF ...` for `bridgePort`):
   * applies `changes` in one batch — usually one request; see {@link encodeLinkSet}. A
   * name for `master` (or, when renaming or changing bridge port options, for `ref`) costs
   * one extra round trip. Rejects with NetlinkError ENODEV when the link or master does not
   * exist, EEXIST when renaming onto a taken name, EBUSY when renaming a link that is up;
   * with ValidationError before sending anything for malformed changes.
   */
  async set(ref: LinkRef, changes: LinkChanges): Promise<void> {
    const needsIndex = typeof ref === 'string' && changes !== null && typeof changes === 'object' && (changes.name !== undefined || changes.bridgePort !== undefined);
    const idx = await resolveIndexes(this.ns, [changes?.master, needsIndex ? ref : undefined]);
    const resolved: LinkChanges = changes?.master === undefined ? changes : { ...changes, master: indexOf(changes.master, idx) };
    await run(this.ns, (b) => encodeLinkSet(b, needsIndex ? indexOf(ref, idx) : ref, resolved));
  }

  /**
   * Like `ip link del dev REF`. Deleting either end of a veth deletes both. The kernel
   * waits for RCU before answering (milliseconds). Rejects with NetlinkError ENODEV when
   * there is no such link, ENOTSUP (EOPNOTSUPP) for a link that cannot be deleted (e.g. `lo`).
   */
  async delete(ref: LinkRef): Promise<void> {
    await run(this.ns, (b) => encodeLinkDelete(b, ref));
  }

  /**
   * The other end of a veth, from either side (what `ethtool -S` peer_ifindex and `ip
   * link`'s link-netnsid tell): its ifindex and, when it is in another namespace, that
   * namespace's nsid as seen from here. Takes a link already read, or reads it (one round
   * trip). Rejects with ValidationError when the link is not a veth, NetlinkError ENODEV
   * when there is no such link.
   */
  async peer(link: LinkRef | Link): Promise<VethPeer> {
    const l = typeof link === 'object' && link !== null ? link : await this.get(link);
    if (l.kind !== 'veth') throw new ValidationError('link', `${l.name} is a ${l.kind === 'other' ? l.infoKind : l.kind}, not a veth`);
    if (l.link === undefined) throw new ValidationError('link', `${l.name} reports no peer (IFLA_LINK)`);
    return l.linkNetnsid === undefined ? { ifindex: l.link } : { ifindex: l.link, netnsid: l.linkNetnsid };
  }
}
