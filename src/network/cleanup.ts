/**
 * Layer 4 (network): finding and removing what netplumb left behind — after a crash of
 * the process that owned a network, a `kill -9` in the middle of connect() or remove(), or
 * someone deleting half of an endpoint by hand. Everything is recognised from the kernel
 * alone, by netplumb's ownership tags (see tag.ts): the `netplumb:network` alias of a
 * bridge, the `netplumb:endpoint` alias of a host-side veth, the `netplumb net=NAME
 * [ep=ID]` comments of rules and elements in the `inet netplumb` table. Nothing without
 * such a tag is ever changed — with one documented exception, an empty file in /run/netns
 * that is not a mount (what a crash between creating the mount point and mounting on it
 * leaves, and what no `ip netns` command can use).
 * @module
 */
import { lstatSync, readFileSync, readdirSync, readlinkSync, statSync, unlinkSync } from 'node:fs';
import { NetplumbError, ValidationError } from '../errors.js';
import { NETNS_RUN_DIR, Netns } from '../netns.js';
import type { NftRule, NftSet, SetKey } from '../nft/index.js';
import type { Link } from '../rtnl/index.js';
import { isGone } from './endpoint.js';
import { BRIDGES_SET, FAMILY, PORT_MAPS, TABLE } from './ruleset.js';
import { type EndpointTag, type NetworkTag, parseEndpointAlias, parseEndpointComment, parseNetworkAlias, parseNetworkComment } from './tag.js';

/** Options of {@link cleanupNetworks}. */
export interface CleanupOptions {
  /** The namespace acting as the host (where the bridges and netplumb's table are); default the caller's own. */
  netns?: Netns;
  /** Only leftovers of these networks (by name); default every network. Unmounted /run/netns files are then left alone. */
  networks?: string[];
  /** Find and report, but change nothing. */
  dryRun?: boolean;
}

/** Why an endpoint's host-side veth was removed. */
export type EndpointLeftover =
  /** Its network (a bridge carrying that network's tag) no longer exists. */
  | 'network-gone'
  /** It is not a port of its network's bridge (e.g. the network was removed and made again). */
  | 'not-on-bridge'
  /** Its namespace cannot be reached any more: no mount, process, thread or open fd holds it (it is being destroyed). */
  | 'netns-gone'
  /**
   * Its connect() never finished and the process running it is gone: the namespace side is
   * not configured (interface down, address or default route missing) or its published ports
   * are not all in the maps. Only judged for endpoints whose tag names the creating process.
   */
  | 'incomplete';

/** What {@link cleanupNetworks} removed (or, with `dryRun`, would remove). */
export interface CleanupReport {
  /** Host-side veths of endpoints (and with them their peers). */
  endpoints: Array<{ hostIfname: string; network: string; id: string; reason: EndpointLeftover }>;
  /** Networks whose create() never finished (bridge without its rules) and whose creating process is gone. */
  networks: Array<{ name: string; bridge: string }>;
  /** Elements of the sets and maps of `inet netplumb`, with the comment that tied them to a network or endpoint. */
  elements: Array<{ set: string; key: SetKey; comment: string }>;
  /** Rules of networks that no longer exist. */
  rules: Array<{ chain: string; handle: number; comment: string }>;
  /** Whether the `inet netplumb` table itself was removed (no netplumb network left in the namespace). */
  table: boolean;
  /** /run/netns entries: mounts of namespaces netplumb created for endpoints it removed, and unmounted files. */
  netns: Array<{ path: string; reason: 'endpoint-removed' | 'not-mounted' }>;
}

/**
 * An unmounted file in /run/netns is only taken for a crash's leftover once it is this old:
 * a create() in flight (in any process) has its mount point unmounted for the ~0.3 ms
 * between creating the file and mounting on it, and must not lose it.
 */
const STALE_FILE_MIN_AGE_MS = 2000;
/** How often the whole pass is retried when the ruleset changes under it. */
const ATTEMPTS = 8;
/** Endpoint removals in flight at once. */
const DELETIONS_IN_FLIGHT = 32;
/** The comment netplumb gives its table (ruleset.ts): the table is only removed when it carries it. */
const TABLE_COMMENT_PREFIX = 'netplumb';

/** An `ESRCH`-free way to ask whether a process is running (a zombie is not). */
function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * Every network namespace something still holds, by inode, with a path that opens it: nsfs
 * mounts anywhere (/run/netns, Docker's sandbox keys ...), the namespaces of processes and
 * of their threads, and namespace fds processes hold (an anonymous namespace netplumb
 * created lives only in its owner's fd). A namespace none of these holds is being destroyed.
 */
function heldNamespaces(): Map<number, string> {
  const held = new Map<number, string>();
  const note = (link: string, path: string): void => {
    const m = /^net:\[(\d+)\]$/.exec(link);
    if (m && !held.has(Number(m[1]))) held.set(Number(m[1]), path);
  };
  try {
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      // id parent maj:min root mountpoint options... - fstype source superoptions
      const f = line.split(' ');
      const sep = f.indexOf('-');
      if (sep < 0 || f[sep + 1] !== 'nsfs' || f[3] === undefined || f[4] === undefined) continue;
      note(f[3], f[4].replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
    }
  } catch {
    // No mountinfo: only processes can tell.
  }
  let pids: string[] = [];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    // Without /proc nothing is known to be held: callers then only judge by the tags.
  }
  for (const p of pids) {
    const read = (path: string): void => {
      try {
        note(readlinkSync(path), path);
      } catch {
        // Exited meanwhile, or not ours to look at.
      }
    };
    read(`/proc/${p}/ns/net`);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      // Exited.
    }
    for (const tid of tasks) if (tid !== p) read(`/proc/${p}/task/${tid}/ns/net`);
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${p}/fd`);
    } catch {
      // Exited, or not ours to look at.
    }
    for (const fd of fds) read(`/proc/${p}/fd/${fd}`);
  }
  return held;
}

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

/** One endpoint veth as found in the host namespace. */
interface FoundEndpoint {
  link: Link;
  tag: EndpointTag;
}

/** The kernel's state, read in the order that keeps the judgement safe against concurrent connect()s (see {@link cleanupNetworks}). */
interface Snapshot {
  generation: number;
  tableOurs: boolean;
  rules: NftRule[];
  sets: NftSet[];
  networks: Map<string, { link: Link; tag: NetworkTag }>;
  endpoints: FoundEndpoint[];
  held: Map<number, string>;
}

async function snapshot(host: Netns): Promise<Snapshot> {
  // nftables first: an element listed here whose endpoint veth is missing from the link
  // listing below was made before it (a veth is always created before its elements), so
  // the endpoint really is gone — and anything committed after this read changes the
  // generation, which makes the cleanup commit fail rather than act on stale facts.
  const table = await host.nft.getTable(FAMILY, TABLE);
  const ruleset = table ? await host.nft.list({ family: FAMILY, table: TABLE }) : undefined;
  const generation = ruleset ? ruleset.generation : await host.nft.generation();
  const links = await host.links.list();
  const networks = new Map<string, { link: Link; tag: NetworkTag }>();
  const endpoints: FoundEndpoint[] = [];
  for (const l of links) {
    const nt = l.kind === 'bridge' ? parseNetworkAlias(l.alias) : undefined;
    if (nt) networks.set(nt.name, { link: l, tag: nt });
    const et = l.kind === 'veth' ? parseEndpointAlias(l.alias) : undefined;
    if (et) endpoints.push({ link: l, tag: et });
  }
  // Namespaces last: a veth listed above had its namespace held when it was made.
  return {
    generation,
    tableOurs: table?.comment?.startsWith(TABLE_COMMENT_PREFIX) === true,
    rules: ruleset?.rules ?? [],
    sets: ruleset?.sets ?? [],
    networks,
    endpoints,
    held: heldNamespaces(),
  };
}

/** Whether the endpoint's namespace side and published ports are what connect() makes. */
async function endpointComplete(ep: FoundEndpoint, network: NetworkTag, nsPath: string, portElements: number): Promise<boolean> {
  const t = ep.tag;
  if (t.np !== undefined && portElements < t.np) return false;
  const port = ep.link.bridgePort;
  if (port && (port.hairpin === false || (!network.icc && port.isolated === false))) return false;
  let ns: Netns | undefined;
  try {
    ns = await Netns.open(nsPath);
    if (ns.inode !== t.ino) return true; // replaced meanwhile: not ours to judge
    const links = await ns.links.list();
    const lo = links.find((l) => l.index === 1);
    const inner = links.find((l) => l.name === t.if && l.index === ep.link.link);
    if (!lo?.up || !inner?.up) return false;
    const addrs = (await ns.addresses.list({ link: inner.index })).map((a) => a.address);
    if (t.ip !== undefined && !addrs.includes(t.ip)) return false;
    if (t.ip6 !== undefined && !addrs.includes(t.ip6)) return false;
    if (t.dr) {
      const routes = await ns.routes.list({ family: 4, table: 'main' });
      if (!routes.some((r) => r.dst === '0.0.0.0/0' && r.oif === inner.index)) return false;
    }
    return true;
  } catch (e) {
    // The namespace went away while we looked: the next pass sees the veth gone or orphaned.
    if (e instanceof NetplumbError) return true;
    throw e;
  } finally {
    ns?.close();
  }
}

/**
 * Removes one leftover endpoint: its host-side veth (the peer goes with it) and, when
 * netplumb created and named the namespace for it, that namespace's /run/netns mount.
 * Resolves with the mount path it removed (or, dry, would remove).
 */
async function removeEndpoint(host: Netns, ep: FoundEndpoint, dryRun: boolean): Promise<string | undefined> {
  const t = ep.tag;
  let removed: string | undefined;
  // A namespace netplumb was given is never touched; one it made for this endpoint goes.
  if (t.own && t.ns !== undefined) {
    const path = `${NETNS_RUN_DIR}/${t.ns}`;
    let ns: Netns | undefined;
    try {
      ns = await Netns.open(t.ns);
    } catch {
      ns = undefined; // not mounted (any more)
    }
    if (ns && ns.inode === t.ino) {
      if (!dryRun) await ns.delete();
      removed = path;
    }
    ns?.close();
  }
  if (!dryRun) {
    await host.links.delete(ep.link.index).catch((e: unknown) => {
      if (!isGone(e)) throw e;
    });
  }
  return removed;
}

/**
 * Finds netplumb's leftovers in a host namespace and removes them; resolves with what it
 * removed. Like `docker network prune` for what a crash leaves, not for networks in use:
 *
 * - host-side veths tagged as endpoints whose network no longer exists, that are no
 *   longer ports of their network's bridge, whose namespace nothing holds any more, or
 *   whose connect() never finished (checked only for endpoints whose creating process,
 *   named in the tag, is no longer running) — with the /run/netns mount of a namespace
 *   netplumb created for such an endpoint;
 * - networks whose create() never finished (a tagged bridge without its rules) when the
 *   creating process is gone and no endpoint uses the bridge;
 * - elements of `inet netplumb`'s maps and sets whose endpoint or network no longer
 *   exists, rules of networks that no longer exist, and the table itself once no
 *   network is left;
 * - empty, unmounted files in /run/netns at least 2 s old (a crash between creating a
 *   mount point and mounting the namespace on it), unless `networks` restricts the cleanup.
 *
 * Endpoints that survive can then be taken over with {@link BridgeNetwork.open}. Safe to
 * run while other processes use netplumb: live endpoints (held by a process or a mount)
 * are kept, in-flight connect()s of running processes are not judged incomplete, and
 * every nftables change is committed only if the ruleset did not change since it was read
 * (the pass is retried otherwise). Rejects with ValidationError for bad options,
 * NetlinkError/SystemError when the kernel refuses (e.g. EPERM without CAP_NET_ADMIN).
 */
export async function cleanupNetworks(options: CleanupOptions = {}): Promise<CleanupReport> {
  const { dryRun, networks: only, netns } = checkOptions(options);
  const host = netns ?? (await Netns.current());
  const report: CleanupReport = { endpoints: [], networks: [], elements: [], rules: [], table: false, netns: [] };
  const mine = (network: string): boolean => only === undefined || only.has(network);
  try {
    for (let attempt = 1; ; attempt++) {
      const s = await snapshot(host);

      // Published elements per endpoint id, for the completeness check.
      const portCount = new Map<string, number>();
      for (const set of s.sets) {
        if (![PORT_MAPS[4].any, PORT_MAPS[4].addr, PORT_MAPS[6].any, PORT_MAPS[6].addr].includes(set.name as never)) continue;
        for (const e of set.elements ?? []) {
          const owner = parseEndpointComment(e.comment);
          if (owner) portCount.set(owner.endpoint, (portCount.get(owner.endpoint) ?? 0) + 1);
        }
      }

      // Endpoints: judge each, then remove the leftovers together (concurrent link
      // deletions share the kernel's RCU wait).
      const ports = new Map<number, number>(); // bridge ifindex → tagged ports that stay on it
      const doomed: Array<{ ep: FoundEndpoint; reason: EndpointLeftover }> = [];
      for (const ep of s.endpoints) {
        const t = ep.tag;
        const net = s.networks.get(t.net);
        let reason: EndpointLeftover | undefined;
        if (!net) reason = 'network-gone';
        else if (ep.link.master !== net.link.index) reason = 'not-on-bridge';
        else if (!s.held.has(t.ino)) reason = 'netns-gone';
        else if (t.pid !== undefined && t.pid !== process.pid && !processAlive(t.pid)) {
          if (!(await endpointComplete(ep, net.tag, s.held.get(t.ino) as string, portCount.get(t.id) ?? 0))) reason = 'incomplete';
        }
        if (reason === undefined || !mine(t.net)) {
          if (ep.link.master !== undefined) ports.set(ep.link.master, (ports.get(ep.link.master) ?? 0) + 1);
          continue;
        }
        doomed.push({ ep, reason });
      }
      for (let i = 0; i < doomed.length; i += DELETIONS_IN_FLIGHT) {
        const batch = doomed.slice(i, i + DELETIONS_IN_FLIGHT);
        const mounts = await Promise.all(batch.map(({ ep }) => removeEndpoint(host, ep, dryRun)));
        // Reported in the order found (the kernel's link order), not the order deletions finished.
        batch.forEach(({ ep, reason }, j) => {
          const mount = mounts[j];
          if (mount) report.netns.push({ path: mount, reason: 'endpoint-removed' });
          report.endpoints.push({ hostIfname: ep.link.name, network: ep.tag.net, id: ep.tag.id, reason });
        });
      }
      const removedIds = new Set(doomed.map((d) => d.ep.tag.id));
      const keptIds = new Set(s.endpoints.map((e) => e.tag.id).filter((id) => !removedIds.has(id)));

      // Networks whose create() never finished: the bridge is there, its @bridges element
      // (committed with the network's rules, atomically) is not.
      const live = new Set<string>();
      const bridgesSet = s.sets.find((x) => x.name === BRIDGES_SET);
      for (const [name, net] of s.networks) {
        const complete = (bridgesSet?.elements ?? []).some((e) => e.key === net.link.name && parseNetworkComment(e.comment) === name);
        const creatorGone = net.tag.pid !== undefined && net.tag.pid !== process.pid && !processAlive(net.tag.pid);
        if (complete || !creatorGone || (ports.get(net.link.index) ?? 0) > 0 || !mine(name)) {
          live.add(name);
          continue;
        }
        if (!dryRun) {
          await host.links.delete(net.link.index).catch((e: unknown) => {
            if (!isGone(e)) throw e;
          });
        }
        report.networks.push({ name, bridge: net.link.name });
      }

      // nftables: one transaction, valid only against the generation read above.
      const tx = host.nft.transaction({ generation: s.generation });
      const elements: CleanupReport['elements'] = [];
      const rules: CleanupReport['rules'] = [];
      let dropTable = false;
      if (s.tableOurs) {
        const doomedRules = s.rules.filter((r) => {
          const network = parseNetworkComment(r.comment);
          return network !== undefined && !live.has(network);
        });
        const doomedElements = s.sets.map((set) => ({
          set,
          elements: (set.elements ?? []).filter((e) => {
            const ep = parseEndpointComment(e.comment);
            const network = ep?.network ?? parseNetworkComment(e.comment);
            if (network === undefined) return false;
            return !live.has(network) || (ep !== undefined && !keptIds.has(ep.endpoint));
          }),
        }));
        const foreign = doomedRules.some((r) => !mine(parseNetworkComment(r.comment) as string)) ||
          doomedElements.some((d) => d.elements.some((e) => !mine(parseEndpointComment(e.comment)?.network ?? (parseNetworkComment(e.comment) as string))));
        // No netplumb network is left in this namespace: the table goes, as remove() does.
        dropTable = live.size === 0 && !foreign;
        if (dropTable) tx.deleteTable({ family: FAMILY, name: TABLE });
        for (const r of doomedRules) {
          if (!mine(parseNetworkComment(r.comment) as string)) continue;
          rules.push({ chain: r.chain, handle: r.handle, comment: r.comment as string });
          if (!dropTable) tx.deleteRule({ family: FAMILY, table: TABLE, chain: r.chain, handle: r.handle });
        }
        for (const { set, elements: all } of doomedElements) {
          const gone = all.filter((e) => mine(parseEndpointComment(e.comment)?.network ?? (parseNetworkComment(e.comment) as string)));
          if (gone.length === 0) continue;
          for (const e of gone) elements.push({ set: set.name, key: e.key, comment: e.comment as string });
          if (!dropTable) tx.deleteElements({ family: FAMILY, table: TABLE, set: set.name, elements: gone.map((e) => ({ key: e.key })) });
        }
      }
      if (!dryRun && tx.size > 0) {
        try {
          await tx.commit();
        } catch (e) {
          // ERESTART: the ruleset changed since it was read (someone connected, removed or
          // created meanwhile); ENOENT: an element we meant to delete went first. Read again.
          if (e instanceof NetplumbError && (e.code === 'ERESTART' || e.code === 'ENOENT') && attempt < ATTEMPTS) continue;
          throw e;
        }
      }
      report.elements.push(...elements);
      report.rules.push(...rules);
      if (dropTable) report.table = true;
      break;
    }

    // /run/netns files that are not mounts: what a crash between creating the mount point
    // and mounting on it leaves. An empty regular file there is no namespace and cannot
    // become one, except during a create() in flight: only files at least
    // STALE_FILE_MIN_AGE_MS old are taken.
    if (only === undefined) {
      let names: string[] = [];
      try {
        names = readdirSync(NETNS_RUN_DIR);
      } catch {
        // No /run/netns: nothing to look at.
      }
      let dirDev: number | undefined;
      try {
        dirDev = statSync(NETNS_RUN_DIR).dev;
      } catch {
        dirDev = undefined;
      }
      for (const n of names) {
        const path = `${NETNS_RUN_DIR}/${n}`;
        try {
          // A mount on the file would show the mounted namespace's device (nsfs) instead.
          const st = lstatSync(path);
          if (!st.isFile() || st.size !== 0 || st.dev !== dirDev || Date.now() - st.mtimeMs < STALE_FILE_MIN_AGE_MS) continue;
          if (!dryRun) unlinkSync(path);
          report.netns.push({ path, reason: 'not-mounted' });
        } catch {
          // Raced with a create or delete: leave it.
        }
      }
    }
    return report;
  } finally {
    if (netns === undefined) host.close();
  }
}
