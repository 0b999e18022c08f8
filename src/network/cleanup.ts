/**
 * Layer 4 (network): finding and removing what netplumb left behind — after a crash of
 * the process that owned a network, a `kill -9` in the middle of create(), connect() or
 * remove(), or someone deleting half of an endpoint by hand. Everything is recognised from
 * the kernel alone: the reservations (reservation.ts), whose anchors name the process
 * that took them, and the tags (tag.ts) that mark a network or endpoint complete. Nothing without
 * such a tag is ever changed — with one documented exception, an empty file in /run/netns
 * that is not a mount (what a crash between creating the mount point and mounting on it
 * leaves, and what no `ip netns` command can use).
 * @module
 */
import { readdirSync, statSync } from 'node:fs';
import { NetplumbError, ValidationError } from '../errors.js';
import { NETNS_RUN_DIR, Netns } from '../netns.js';
import type { Family, NftRule, NftSet, SetElement, SetKey } from '../nft/index.js';
import type { Link } from '../rtnl/index.js';
import { isGone } from './endpoint.js';
import { hostIfnameOf } from './endpoints.js';
import { foreignAccepts } from './firewall.js';
import { mayBeInProgress } from './holder.js';
import { FAMILY, SETS, TABLE } from './ruleset.js';
import { parseMacvlanAlias } from './macvlan/options.js';
import { parseOverlayAlias } from './overlay/options.js';
import { type EndpointTag, parseComment, parseEndpointAlias, parseNetworkAlias } from './tag.js';

/** Options of {@link cleanupNetworks}. */
export interface CleanupOptions {
  /** The namespace acting as the host (where the bridges and netplumb's table are); default the caller's own. */
  netns?: Netns;
  /** Only leftovers of these networks (by name); default every network. Unmounted /run/netns files are then left alone. */
  networks?: string[];
  /** Find and report, but change nothing. */
  dryRun?: boolean;
}

/** Why an endpoint was reclaimed. */
export type EndpointLeftover =
  /** Its network no longer exists (or never was completed). */
  | 'network-gone'
  /** Its veth is not a port of its network's bridge (e.g. the network was removed and made again). */
  | 'not-on-bridge'
  /** Its veth is gone — its namespace was deleted, or a remove() was cut short — and only its reservation is left. */
  | 'netns-gone'
  /** Its connect() never finished and is no longer under way (the process is gone, or it has been too long). */
  | 'incomplete'
  /** A tagged veth without a reservation (the table was flushed under it). */
  | 'unreserved';

/** What {@link cleanupNetworks} removed (or, with `dryRun`, would remove). */
export interface CleanupReport {
  /** Endpoints: their host-side veths (and with them their peers) and reservations. */
  endpoints: Array<{ hostIfname: string; network: string; id: string; reason: EndpointLeftover }>;
  /** Networks whose create() never finished (and is no longer under way), or whose reservation is gone. */
  networks: Array<{ name: string; bridge: string }>;
  /** Elements of the sets and maps of `inet netplumb`, with the comment that tied them to a network or endpoint. */
  elements: Array<{ set: string; key: SetKey; comment: string }>;
  /** Rules of networks that no longer exist, in netplumb's table and (tagged accepts) in other firewalls' chains. */
  rules: Array<{ family: Family; table: string; chain: string; handle: number; comment: string }>;
  /** Whether the `inet netplumb` table itself was removed (no netplumb network left in the namespace). */
  table: boolean;
  /** /run/netns entries: mounts of namespaces netplumb created for endpoints it removed, and unmounted files. */
  netns: Array<{ path: string; reason: 'endpoint-removed' | 'not-mounted' }>;
}

/** How often the whole pass is retried when the ruleset changes under it. */
const ATTEMPTS = 8;
/** Endpoint removals in flight at once. */
const DELETIONS_IN_FLIGHT = 32;
/** The comment netplumb gives its table (ruleset.ts): the table is only removed when it carries it. */
const TABLE_COMMENT_PREFIX = 'netplumb';

function checkOptions(options: unknown): { dryRun: boolean; networks: Set<string> | undefined; netns: Netns | undefined } {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new ValidationError('options', 'must be an object');
  const o = options as Record<string, unknown>;
  if (o.netns !== undefined && !(o.netns instanceof Netns)) throw new ValidationError('netns', 'must be a Netns handle');
  if (o.netns instanceof Netns && o.netns.closed) throw new ValidationError('netns', 'the namespace handle is closed');
  if (o.dryRun !== undefined && typeof o.dryRun !== 'boolean') throw new ValidationError('dryRun', 'must be true or false');
  let networks: Set<string> | undefined;
  if (o.networks !== undefined) {
    if (!Array.isArray(o.networks)) throw new ValidationError('networks', 'must be an array of network names');
    for (const n of o.networks) {
      if (typeof n !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(n)) throw new ValidationError('networks', `${JSON.stringify(n)} is not a network name`);
    }
    networks = new Set(o.networks as string[]);
  }
  return { dryRun: o.dryRun === true, networks, netns: o.netns as Netns | undefined };
}


/** What one pass found. */
interface Plan {
  generation: number;
  /** Networks that stay: complete, or being created. */
  live: Set<string>;
  endpoints: Array<{ id: string; network: string; link?: Link; tag?: EndpointTag; reason: EndpointLeftover }>;
  networks: Array<{ name: string; bridge: string; link?: Link }>;
  rules: NftRule[];
  elements: Array<{ set: NftSet; element: SetElement }>;
  dropTable: boolean;
}

/** Reads the kernel and decides; changes nothing. */
async function plan(host: Netns, mine: (network: string) => boolean): Promise<Plan> {
  // The ruleset first: an anchor listed here whose veth is missing from the link listing
  // below was made before it, so a complete endpoint's tag would be seen; and anything
  // committed after this read changes the generation, which makes our commit fail
  // rather than act on stale facts.
  const ruleset = await host.nft.list();
  const ours = ruleset.tables.some((t) => t.family === FAMILY && t.name === TABLE && t.comment?.startsWith(TABLE_COMMENT_PREFIX));
  const sets = ours ? ruleset.sets.filter((x) => x.family === FAMILY && x.table === TABLE) : [];
  const links = await host.links.list();
  const byName = new Map(links.map((l) => [l.name, l]));
  const setOf = (name: string): SetElement[] => sets.find((x) => x.name === name)?.elements ?? [];

  // Networks: complete (tagged bridge), being created (anchor of a running create), or leftovers.
  const tagged = new Map<string, Link>();
  for (const l of links) {
    // A bridge network's bridge, or a macvlan network's shim.
    const t = l.kind === 'bridge' ? parseNetworkAlias(l.alias) : parseMacvlanAlias(l.alias);
    if (t) tagged.set(t.name, l);
  }
  const bridgeOf = new Map<string, string>();
  for (const e of setOf(SETS.bridges)) {
    const c = parseComment(e.comment);
    if (c) bridgeOf.set(c.network, String(e.key));
  }
  const live = new Set<string>();
  const p: Plan = { generation: ruleset.generation, live, endpoints: [], networks: [], rules: [], elements: [], dropTable: false };
  for (const e of setOf(SETS.networks)) {
    const c = parseComment(e.comment);
    if (!c) continue;
    if (tagged.has(c.network) || mayBeInProgress(c.holder) || !mine(c.network)) {
      live.add(c.network);
      continue;
    }
    const bridge = bridgeOf.get(c.network) ?? '';
    const link = byName.get(bridge);
    // Its bridge, unless someone else's link has that name.
    p.networks.push({ name: c.network, bridge, ...(link && (!link.alias || parseNetworkAlias(link.alias)?.name === c.network) ? { link } : {}) });
  }
  for (const [name, link] of tagged) {
    if (live.has(name) || p.networks.some((n) => n.name === name)) continue;
    if (mine(name)) p.networks.push({ name, bridge: link.name, link });
    else live.add(name);
  }
  // An overlay's VXLAN device (tagged) whose bridge network does not stay goes with it.
  for (const l of links) {
    const t = l.kind === 'vxlan' ? parseOverlayAlias(l.alias) : undefined;
    if (t && mine(t.name) && !live.has(t.name)) p.networks.push({ name: t.name, bridge: l.name, link: l });
  }

  // Endpoints: by their anchors, then tagged veths without one.
  const tags = new Map<string, { link: Link; tag: EndpointTag }>();
  for (const l of links) {
    const t = l.kind === 'veth' ? parseEndpointAlias(l.alias) : undefined;
    if (t) tags.set(t.id, { link: l, tag: t });
  }
  const anchored = new Set<string>();
  for (const e of setOf(SETS.attached)) {
    const c = parseComment(e.comment);
    if (!c?.endpoint) continue;
    anchored.add(c.endpoint);
    if (!mine(c.network)) continue;
    const found = tags.get(c.endpoint);
    const veth = found?.link ?? byName.get(hostIfnameOf(c.endpoint));
    const untaggedOrOurs = veth && (!veth.alias || found !== undefined);
    const base = { id: c.endpoint, network: c.network, ...(untaggedOrOurs && veth ? { link: veth } : {}), ...(found ? { tag: found.tag } : {}) };
    let reason: EndpointLeftover | undefined;
    if (!live.has(c.network)) reason = 'network-gone';
    // A finished anchor is the tag of an endpoint without a host-side link (macvlan).
    else if (c.done) reason = undefined;
    else if (found) reason = found.link.master === tagged.get(c.network)?.index ? undefined : 'not-on-bridge';
    else if (!mayBeInProgress(c.holder)) reason = veth ? 'incomplete' : 'netns-gone';
    if (reason) p.endpoints.push({ ...base, reason });
  }
  for (const [id, { link, tag }] of tags) {
    if (!anchored.has(id) && mine(tag.net)) p.endpoints.push({ id, network: tag.net, link, tag, reason: live.has(tag.net) ? 'unreserved' : 'network-gone' });
  }

  // nftables: whatever belongs to a network or endpoint that does not stay.
  const doomed = new Set(p.endpoints.map((e) => e.id));
  const gone = (comment: string | undefined): boolean => {
    const c = parseComment(comment);
    if (!c || !mine(c.network)) return false;
    if (!live.has(c.network)) return true;
    return c.endpoint !== undefined && (doomed.has(c.endpoint) || !anchored.has(c.endpoint));
  };
  for (const s of sets) for (const element of s.elements ?? []) if (gone(element.comment)) p.elements.push({ set: s, element });
  p.rules = [...ruleset.rules.filter((r) => r.family === FAMILY && r.table === TABLE && gone(r.comment)), ...foreignAccepts(ruleset.rules).filter((r) => gone(r.comment))];
  // No network stays: the table goes, as remove() of the last network does.
  p.dropTable = ours && live.size === 0;
  return p;
}

/** Whether /run/netns/NAME mounts the namespace with `inode`. */
function mountsInode(name: string, inode: number): boolean {
  try {
    return statSync(`${NETNS_RUN_DIR}/${name}`).ino === inode;
  } catch {
    return false;
  }
}

/**
 * Finds netplumb's leftovers in a host namespace and removes them; resolves with what it
 * removed. Like `docker network prune` for what a crash leaves, not for networks in use.
 * It judges by the reservations and tags alone (reservation.ts, tag.ts):
 *
 * - an endpoint whose reservation has no complete (tagged) veth and whose connect is no
 *   longer under way — its process gone, or over a minute old — loses its veth (when it
 *   has one), its /run/netns mount (when netplumb made and named its namespace) and
 *   every element of its reservation, in that order; so does an endpoint of a network
 *   that does not exist any more, and a tagged veth whose reservation is gone;
 * - a network whose create never finished (reservation without a tagged bridge) and is no
 *   longer under way loses its bridge (when it is untagged or its own), its rules, its
 *   reservations and its accepts in other firewalls; so does a tagged bridge whose
 *   reservation is gone;
 * - netplumb's table goes once no network is left;
 * - empty, unmounted files in /run/netns at least 2 s old (a crash between creating a
 *   mount point and mounting the namespace on it), unless `networks` restricts the cleanup.
 *
 * Safe while other processes use netplumb: operations under way are left alone, and every
 * nftables change is committed only if the ruleset did not change since it was read (the
 * pass is read again otherwise). Rejects with ValidationError for bad options,
 * NetlinkError/SystemError when the kernel refuses (e.g. EPERM without CAP_NET_ADMIN).
 */
export async function cleanupNetworks(options: CleanupOptions = {}): Promise<CleanupReport> {
  const { dryRun, networks: only, netns } = checkOptions(options);
  const host = netns ?? (await Netns.current());
  const report: CleanupReport = { endpoints: [], networks: [], elements: [], rules: [], table: false, netns: [] };
  const mine = (network: string): boolean => only === undefined || only.has(network);
  try {
    for (let attempt = 1; ; attempt++) {
      const p = await plan(host, mine);
      if (dryRun) {
        for (const e of p.endpoints) if (e.tag?.own && e.tag.ns !== undefined && mountsInode(e.tag.ns, e.tag.ino)) report.netns.push({ path: `${NETNS_RUN_DIR}/${e.tag.ns}`, reason: 'endpoint-removed' });
      } else {
        // Links first (concurrent deletions share the kernel's RCU wait), then one
        // transaction: a reservation never goes before what it reserves.
        for (let i = 0; i < p.endpoints.length; i += DELETIONS_IN_FLIGHT) {
          await Promise.all(
            p.endpoints.slice(i, i + DELETIONS_IN_FLIGHT).map(async (e) => {
              if (e.tag?.own && e.tag.ns !== undefined && (await Netns.unmount(e.tag.ns, { inode: e.tag.ino }))) report.netns.push({ path: `${NETNS_RUN_DIR}/${e.tag.ns}`, reason: 'endpoint-removed' });
              if (e.link) await host.links.delete(e.link.index).catch((err: unknown) => { if (!isGone(err)) throw err; });
            }),
          );
        }
        for (const n of p.networks) if (n.link) await host.links.delete(n.link.index).catch((err: unknown) => { if (!isGone(err)) throw err; });
        const tx = host.nft.transaction({ generation: p.generation });
        for (const r of p.rules) if (!(p.dropTable && r.family === FAMILY && r.table === TABLE)) tx.deleteRule({ family: r.family, table: r.table, chain: r.chain, handle: r.handle });
        if (p.dropTable) tx.deleteTable({ family: FAMILY, name: TABLE });
        else {
          const bySet = new Map<NftSet, SetElement[]>();
          for (const { set, element } of p.elements) bySet.set(set, [...(bySet.get(set) ?? []), element]);
          for (const [set, elements] of bySet) tx.deleteElements({ family: FAMILY, table: TABLE, set: set.name, elements: elements.map((e) => ({ key: e.key, ...(e.keyEnd !== undefined ? { keyEnd: e.keyEnd } : {}) })) });
        }
        if (tx.size > 0) {
          try {
            await tx.commit();
          } catch (e) {
            // ERESTART: the ruleset changed since it was read (someone connected, removed or
            // created meanwhile); ENOENT: an element we meant to delete went first. Read again.
            if (e instanceof NetplumbError && (e.code === 'ERESTART' || e.code === 'ENOENT') && attempt < ATTEMPTS) continue;
            throw e;
          }
        }
      }
      for (const e of p.endpoints) report.endpoints.push({ hostIfname: e.link?.name ?? hostIfnameOf(e.id), network: e.network, id: e.id, reason: e.reason });
      for (const n of p.networks) report.networks.push({ name: n.name, bridge: n.bridge });
      for (const { set, element } of p.elements) report.elements.push({ set: set.name, key: element.key, comment: element.comment as string });
      for (const r of p.rules) report.rules.push({ family: r.family, table: r.table, chain: r.chain, handle: r.handle, comment: r.comment as string });
      report.table = p.dropTable;
      break;
    }

    // /run/netns files that are not mounts: what a crash between creating the mount point
    // and mounting on it leaves. A create in flight holds its file locked, however long it
    // takes (Netns.removeStale), so only the dead's files are taken.
    if (only === undefined) {
      let names: string[] = [];
      try {
        names = readdirSync(NETNS_RUN_DIR);
      } catch {
        // No /run/netns: nothing to look at.
      }
      for (const n of names) {
        const stale = await Netns.removeStale(n, { dryRun }).catch((e: unknown) => {
          // Not a name netplumb could have made: not ours.
          if (e instanceof ValidationError) return false;
          throw e;
        });
        if (stale) report.netns.push({ path: `${NETNS_RUN_DIR}/${n}`, reason: 'not-mounted' });
      }
    }
    return report;
  } finally {
    if (netns === undefined) host.close();
  }
}
