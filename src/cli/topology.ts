/**
 * CLI: what `netplumb graph` draws, read from the kernel — namespaces with their
 * interfaces and addresses, veth pairs across namespaces (matched by the kernel's nsids),
 * bridges and their ports, vxlan peers, published ports and the NAT paths of netplumb's
 * networks. A plain data model; dot.ts turns it into Graphviz.
 * @module
 */
import { readFileSync } from 'node:fs';
import { type BridgeNetwork, type Link, Netns, findByNsid } from '../index.js';
import { openAll } from './format.js';

/** An interface in a namespace. */
export interface TopoInterface {
  /** Unique in the graph: `if_<netns inode>_<ifindex>`. */
  id: string;
  index: number;
  name: string;
  /** Link kind (`veth`, `bridge`, `device` ...). */
  kind: string;
  up: boolean;
  mac?: string;
  /** CIDRs, IPv4 first; link-local IPv6 left out. */
  addresses: string[];
  /** ifindex of its bridge (or other master) in the same namespace. */
  master?: number;
  /** What else to say (vxlan id, bridge of network N ...). */
  note?: string;
}

/** A network namespace. */
export interface TopoNamespace {
  id: string;
  inode: number;
  /** Its /run/netns names, `host` for the caller's, else the first process in it. */
  label: string;
  host: boolean;
  interfaces: TopoInterface[];
}

/** A published port: host address:port → container address:port. */
export interface TopoPort {
  id: string;
  network: string;
  protocol: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  /** Interface the DNAT leads to (undefined when its namespace is not in the graph). */
  target?: string;
  targetIp: string;
  containerPort: number;
}

/** A network's masquerade path: traffic from the subnet leaving through the uplinks. */
export interface TopoNat {
  network: string;
  subnet: string;
  /** The bridge interface. */
  from: string;
  /** The host's interfaces with a default route (none: "any other interface"). */
  to: string[];
}

/** A vxlan remote (from the FDB of a vxlan link). */
export interface TopoPeer {
  id: string;
  address: string;
  /** The vxlan interface. */
  via: string;
  vni?: number;
}

/** Everything `netplumb graph` draws. */
export interface Topology {
  namespaces: TopoNamespace[];
  /** Pairs of interface ids. */
  veths: Array<[string, string]>;
  ports: TopoPort[];
  nat: TopoNat[];
  peers: TopoPeer[];
  /** Network name by bridge interface id. */
  networks: Record<string, string>;
}

/** Options of {@link readTopology}. */
export interface TopologyOptions {
  /** Only this network: the host, and the namespaces of its endpoints. */
  network?: string;
  /**
   * Every namespace with more than loopback. Default: the caller's, the named ones, those of
   * endpoints, and those joined to any of them by veths — not unrelated processes' (such as
   * the machine's own when the caller runs in a sandbox).
   */
  all?: boolean;
}

const ifId = (inode: number, index: number): string => `if_${inode}_${index}`;

function comm(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

/** Opens every namespace netplumb can reach: the caller's first, then named ones and those of processes. */
async function openNamespaces(): Promise<Array<{ ns: Netns; label: string; host: boolean }>> {
  const host = await Netns.current();
  const out = [{ ns: host, label: 'host', host: true }];
  for (const info of await Netns.list()) {
    if (info.inode === host.inode) continue;
    try {
      const name = info.names[0];
      const pid = Math.min(...info.pids);
      if (name !== undefined) out.push({ ns: await Netns.open(name), label: info.names.join(', '), host: false });
      else if (Number.isFinite(pid)) out.push({ ns: await Netns.fromPid(pid), label: `pid ${pid} (${comm(pid)})`, host: false });
    } catch {
      // Gone meanwhile, or not ours to open.
    }
  }
  return out;
}

function describe(ns: Netns, l: Link, addresses: Map<number, string[]>): TopoInterface {
  let note: string | undefined;
  if (l.kind === 'vxlan') note = `vxlan id ${l.vxlan.id ?? '?'}`;
  return {
    id: ifId(ns.inode, l.index),
    index: l.index,
    name: l.name,
    kind: l.kind === 'other' ? l.infoKind ?? 'other' : l.kind,
    up: l.up,
    ...(l.address !== undefined && l.name !== 'lo' ? { mac: l.address } : {}),
    addresses: addresses.get(l.index) ?? [],
    ...(l.master !== undefined ? { master: l.master } : {}),
    ...(note ? { note } : {}),
  };
}

/** Reads the topology from the kernel. */
export async function readTopology(options: TopologyOptions = {}): Promise<Topology> {
  const opened = await openNamespaces();
  const topo: Topology = { namespaces: [], veths: [], ports: [], nat: [], peers: [], networks: {} };
  const nets: BridgeNetwork[] = await openAll(options.network !== undefined ? [options.network] : []);
  try {
    const host = (opened[0] as { ns: Netns }).ns;
    const wanted = new Set<number>([host.inode]);
    const epsByNet = new Map<BridgeNetwork, Awaited<ReturnType<BridgeNetwork['endpoints']>>>();
    for (const net of nets) {
      const eps = await net.endpoints();
      epsByNet.set(net, eps);
      for (const ep of eps) wanted.add(ep.netnsInode);
    }
    const links = new Map<number, Link[]>();
    for (const { ns, label, host: isHost } of opened) {
      if (options.network !== undefined && !wanted.has(ns.inode)) continue;
      let list: Link[];
      const addrs = new Map<number, string[]>();
      try {
        list = await ns.links.list();
        for (const a of await ns.addresses.list()) {
          if (a.family === 6 && a.address.toLowerCase().startsWith('fe80:')) continue;
          const l = addrs.get(a.index) ?? [];
          l.push(`${a.address}/${a.prefixlen}`);
          addrs.set(a.index, l);
        }
      } catch {
        continue; // destroyed meanwhile
      }
      for (const v of addrs.values()) v.sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
      const named = label !== 'host' && !label.startsWith('pid ');
      const shown = list.filter((l) => l.name !== 'lo' || (addrs.get(l.index) ?? []).some((a) => !a.startsWith('127.') && a !== '::1/128'));
      // Processes' namespaces with nothing but loopback (sandboxed services) say nothing about the network.
      if (!isHost && !named && shown.length === 0 && !wanted.has(ns.inode)) continue;
      if (!options.all && options.network === undefined && !isHost && !named && !wanted.has(ns.inode) && !list.some((l) => l.kind === 'veth')) continue;
      const lo = list.find((l) => l.name === 'lo');
      const interfaces = (shown.length ? shown : lo ? [lo] : []).map((l) => describe(ns, l, addrs));
      links.set(ns.inode, list);
      topo.namespaces.push({ id: `ns_${ns.inode}`, inode: ns.inode, label: isHost ? 'host' : label, host: isHost, interfaces });
    }
    const present = new Set(topo.namespaces.flatMap((n) => n.interfaces.map((i) => i.id)));

    // veth pairs: a veth's peer is IFLA_LINK in the namespace its IFLA_LINK_NETNSID names.
    const candidates = opened.filter((o) => links.has(o.ns.inode)).map((o) => o.ns);
    const seen = new Set<string>();
    for (const { ns } of opened) {
      const nsLinks = links.get(ns.inode);
      if (!nsLinks) continue;
      const byNsid = new Map<number, Netns | undefined>();
      for (const l of nsLinks) {
        if (l.kind !== 'veth' || l.link === undefined) continue;
        let peerNs: Netns | undefined = ns;
        if (l.linkNetnsid !== undefined) {
          if (!byNsid.has(l.linkNetnsid)) byNsid.set(l.linkNetnsid, await findByNsid(ns, l.linkNetnsid, candidates.filter((c) => c !== ns)));
          peerNs = byNsid.get(l.linkNetnsid);
        }
        if (!peerNs) continue;
        const a = ifId(ns.inode, l.index);
        const b = ifId(peerNs.inode, l.link);
        const key = [a, b].sort().join('|');
        if (seen.has(key) || !present.has(a) || !present.has(b)) continue;
        seen.add(key);
        topo.veths.push([a, b]);
      }
      // vxlan remotes: FDB entries with a destination address.
      for (const l of nsLinks) {
        if (l.kind !== 'vxlan') continue;
        for (const f of await ns.neighbors.fdb.list({ link: l.index })) {
          if (f.dst === undefined) continue;
          const id = `peer_${f.dst.replace(/[^0-9a-fA-F]/g, '_')}`;
          if (!topo.peers.some((p) => p.id === id && p.via === ifId(ns.inode, l.index))) {
            topo.peers.push({ id, address: f.dst, via: ifId(ns.inode, l.index), ...(f.vni !== undefined ? { vni: f.vni } : l.vxlan.id !== undefined ? { vni: l.vxlan.id } : {}) });
          }
        }
      }
    }

    if (!options.all && options.network === undefined) {
      // Reachable: from the caller's, the named and the endpoints' namespaces, along veths.
      const nsOf = (ifid: string): string => ifid.replace(/^if_(\d+)_\d+$/, 'ns_$1');
      const keep = new Set(topo.namespaces.filter((n) => n.host || !n.label.startsWith('pid ') || wanted.has(n.inode)).map((n) => n.id));
      for (let grew = true; grew; ) {
        grew = false;
        for (const [a, b] of topo.veths) {
          for (const [x, y] of [[nsOf(a), nsOf(b)], [nsOf(b), nsOf(a)]] as const) {
            if (keep.has(x) && !keep.has(y)) {
              keep.add(y);
              grew = true;
            }
          }
        }
      }
      topo.namespaces = topo.namespaces.filter((n) => keep.has(n.id));
      const kept = new Set(topo.namespaces.flatMap((n) => n.interfaces.map((i) => i.id)));
      topo.veths = topo.veths.filter(([a, b]) => kept.has(a) && kept.has(b));
      topo.peers = topo.peers.filter((p) => kept.has(p.via));
      for (const id of present) if (!kept.has(id)) present.delete(id);
    }

    // Networks: bridges, published ports (DNAT in) and masquerade (out).
    const uplinks = (await host.routes.list({ table: 'main' }))
      .filter((r) => (r.dst === '0.0.0.0/0' || r.dst === '::/0') && r.oif !== undefined)
      .map((r) => ifId(host.inode, r.oif as number))
      .filter((id, i, all) => all.indexOf(id) === i && present.has(id));
    // No default route: traffic leaves through whichever other interface has a route for it.
    if (uplinks.length === 0) {
      const bridgeIdx = new Set(nets.map((n) => n.bridgeIndex));
      const hostNs = topo.namespaces.find((n) => n.host);
      for (const i of hostNs?.interfaces ?? []) {
        if (i.name !== 'lo' && !bridgeIdx.has(i.index) && i.master === undefined && i.addresses.length > 0) uplinks.push(i.id);
      }
    }
    for (const net of nets) {
      const bridge = ifId(host.inode, net.bridgeIndex);
      topo.networks[bridge] = net.name;
      const hostNs = topo.namespaces.find((n) => n.host);
      const br = hostNs?.interfaces.find((i) => i.id === bridge);
      if (br) br.note = `network ${net.name}`;
      if (net.masquerade && !net.internal) topo.nat.push({ network: net.name, subnet: [net.subnet, net.subnet6].filter(Boolean).join(', '), from: bridge, to: uplinks });
      for (const ep of epsByNet.get(net) ?? []) {
        const nsLinks = links.get(ep.netnsInode);
        const inner = nsLinks?.find((l) => l.name === ep.ifname);
        for (const p of ep.ports) {
          topo.ports.push({
            id: `port_${topo.ports.length}`,
            network: net.name,
            protocol: p.protocol,
            hostIp: p.hostIp,
            hostPort: p.hostPort,
            ...(inner ? { target: ifId(ep.netnsInode, inner.index) } : {}),
            targetIp: (p.hostIp.includes(':') ? ep.ipv6 : ep.ipv4) ?? ep.ipv4 ?? '',
            containerPort: p.containerPort,
          });
        }
      }
    }
    return topo;
  } finally {
    for (const { ns } of opened) ns.close();
  }
}

/** A namespace's label for pictures: its name(s) or process, and its inode. */
export function namespaceTitle(n: TopoNamespace): string {
  return `${n.label} (netns ${n.inode})`;
}
