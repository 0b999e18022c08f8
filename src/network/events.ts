/**
 * Layer 4 (network): network-level events for orchestrators — networks created and
 * removed, endpoints connected and removed, ports published and unpublished — read from
 * the kernel's own change notifications (rtnetlink for the tags that mark a network or
 * endpoint complete, nftables for reservations and published ports), so changes made by
 * every process appear. When the kernel drops notifications, a `resync` event says to
 * read the state again.
 * @module
 */
import type { Netns } from '../netns.js';
import type { NftEvent, NftMonitor, SetElement } from '../nft/index.js';
import type { RtnlEvent, RtnlMonitor } from '../rtnl/index.js';
import type { PublishedPort } from './ports.js';
import { FAMILY, PORT_MAPS, TABLE } from './ruleset.js';
import { parseComment, parseEndpointAlias, parseNetworkAlias } from './tag.js';

/** One network-level change. */
export type NetworkEvent =
  | { type: 'network-created'; network: string; bridge: string }
  | { type: 'network-removed'; network: string }
  | { type: 'endpoint-connected'; network: string; endpoint: string; hostIfname: string }
  | { type: 'endpoint-removed'; network: string; endpoint: string }
  | { type: 'port-published'; network: string; endpoint: string; port: PublishedPort }
  | { type: 'port-unpublished'; network: string; endpoint: string; port: PublishedPort }
  /** Notifications were lost: read the networks and endpoints again. */
  | { type: 'resync' };

/** An async iterator of {@link NetworkEvent}s; stop it with {@link close} (or by leaving `for await`). */
export interface NetworkEvents extends AsyncIterableIterator<NetworkEvent> {
  close(): void;
}

/** The port an element of a port map publishes (IPv4 maps only: an every-address port is in the IPv6 map too). */
function portOf(set: string, e: SetElement): PublishedPort | undefined {
  if (!Array.isArray(e.key)) return undefined;
  const key = e.key as Array<string | number>;
  const data = (Array.isArray(e.data) ? e.data : []) as Array<string | number>;
  const [hostIp, proto, hostPort] = set === PORT_MAPS[4].addr ? key : ['0.0.0.0', ...key];
  return { protocol: proto === 'udp' || proto === 17 ? 'udp' : 'tcp', hostIp: String(hostIp), hostPort: Number(hostPort), containerPort: Number(data[1] ?? 0) };
}

/**
 * Events of the networks of `host` (only of `network` when given). Opened before it
 * resolves: no change after that is missed.
 */
export async function openNetworkEvents(host: Netns, network?: string): Promise<NetworkEvents> {
  const queue: NetworkEvent[] = [];
  const waiting: Array<(r: IteratorResult<NetworkEvent>) => void> = [];
  let closed = false;
  const push = (ev: NetworkEvent): void => {
    if (network !== undefined && 'network' in ev && ev.network !== network) return;
    const w = waiting.shift();
    if (w) w({ value: ev, done: false });
    else queue.push(ev);
  };
  // Link events repeat for every change of a link (up, carrier ...): report each appearance once.
  const seen = new Set<string>();
  const links: RtnlMonitor = host.monitor({ links: true });
  const nft: NftMonitor = host.nft.monitor();
  // Learn the maps' types, so element events decode typed (a table made later announces them).
  await Promise.all([PORT_MAPS[4].any, PORT_MAPS[4].addr].map((s) => host.nft.getSet(FAMILY, TABLE, s, { elements: false }).catch(() => undefined)));
  // What is complete already is not news.
  for (const l of await host.links.list()) {
    const net = parseNetworkAlias(l.alias);
    if (net) seen.add(`net ${net.name}`);
    const ep = parseEndpointAlias(l.alias);
    if (ep) seen.add(ep.id);
  }

  // Networks and endpoints from their tagged links (one socket, so in order); ports from
  // their map elements (another socket: in order among themselves).
  const onLink = (ev: RtnlEvent): void => {
    if (ev.type === 'overflow') return push({ type: 'resync' });
    if (ev.type !== 'link') return;
    const l = ev.link;
    const net = parseNetworkAlias(l.alias);
    if (net) {
      const k = `net ${net.name}`;
      if (ev.action === 'new' && !seen.has(k)) push({ type: 'network-created', network: net.name, bridge: l.name });
      if (ev.action === 'del' && seen.has(k)) push({ type: 'network-removed', network: net.name });
      if (ev.action === 'new') seen.add(k);
      else seen.delete(k);
    }
    const ep = parseEndpointAlias(l.alias);
    if (ep) {
      if (ev.action === 'new' && !seen.has(ep.id)) push({ type: 'endpoint-connected', network: ep.net, endpoint: ep.id, hostIfname: l.name });
      if (ev.action === 'del' && seen.has(ep.id)) push({ type: 'endpoint-removed', network: ep.net, endpoint: ep.id });
      if (ev.action === 'new') seen.add(ep.id);
      else seen.delete(ep.id);
    }
  };
  const onNft = (ev: NftEvent): void => {
    if (ev.type === 'overflow') return push({ type: 'resync' });
    if (ev.type !== 'change' || ev.object !== 'element' || ev.family !== FAMILY || ev.table !== TABLE) return;
    if (ev.set !== PORT_MAPS[4].any && ev.set !== PORT_MAPS[4].addr) return;
    for (const e of ev.elements) {
      const c = parseComment(e.comment);
      const port = c?.endpoint ? portOf(ev.set, e) : undefined;
      if (c?.endpoint && port) push({ type: ev.action === 'new' ? 'port-published' : 'port-unpublished', network: c.network, endpoint: c.endpoint, port });
    }
  };
  const pump = async <T>(source: AsyncIterable<T>, on: (ev: T) => void): Promise<void> => {
    try {
      for await (const ev of source) {
        try {
          on(ev);
        } catch {
          // An element this reader cannot make sense of: whoever listens must look again.
          push({ type: 'resync' });
        }
      }
    } catch {
      if (!closed) push({ type: 'resync' });
    }
  };
  void pump(links, onLink);
  void pump(nft, onNft);

  const close = (): void => {
    if (closed) return;
    closed = true;
    links.close();
    nft.close();
    for (const w of waiting.splice(0)) w({ value: undefined, done: true });
  };
  const it: NetworkEvents = {
    next: () => {
      const ev = queue.shift();
      if (ev) return Promise.resolve({ value: ev, done: false });
      if (closed) return Promise.resolve({ value: undefined, done: true });
      return new Promise((resolve) => waiting.push(resolve));
    },
    return: () => {
      close();
      return Promise.resolve({ value: undefined, done: true });
    },
    close,
    [Symbol.asyncIterator]() {
      return it;
    },
  };
  return it;
}
