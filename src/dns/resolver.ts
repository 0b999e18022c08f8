/**
 * DNS: the embedded resolver, Docker's 127.0.0.11 for netplumb networks. A
 * {@link DnsResolver} is a handle owning, for each namespace it serves, a UDP socket and
 * a TCP listener bound to 127.0.0.11 on kernel-picked ports inside that namespace, and
 * the owner nft table that sends 127.0.0.11:53 there (see redirect.ts). The embedding
 * process answers from its own event loop; names come from a {@link DnsRecordsSource}
 * at every question. Everything it holds dies with the process: its sockets close, the
 * kernel deletes the owner table, and queries in the namespace are refused at once.
 * @module
 */
import type * as dgram from 'node:dgram';
import type * as net from 'node:net';
import { ClosedError, NetplumbError, ValidationError } from '../errors.js';
import { Netns } from '../netns.js';
import { ARPHRD_LOOPBACK } from '../rtnl/constants.js';
import { answer } from './answer.js';
import type { DnsRecordsSource } from './records.js';
import { addRedirect, removeRedirect } from './redirect.js';
import { EMBEDDED_DNS_ADDRESS, HOST_RESOLV_CONF } from './resolv-conf.js';
import { MessageReader, frame } from './stream.js';
import { type UpstreamOptions, forward } from './upstream.js';
import { type EndpointWatch, watchEndpoints } from './watch.js';

/** Options of {@link DnsResolver}. */
export interface DnsResolverOptions {
  /** Where names come from (the network layer's endpoints). */
  records: DnsRecordsSource;
  /** The namespace acting as the host, from which other names are forwarded; default the caller's own. */
  netns?: Netns;
  /** The host's resolv.conf naming the nameservers to forward to (read at each forwarded question). Default `/etc/resolv.conf`. */
  resolvConf?: string;
  /** How long each upstream nameserver has to answer, in ms. Default 2000. */
  upstreamTimeout?: number;
  /** TTL of the resolver's own answers, in seconds. Default 600, as Docker's. */
  ttl?: number;
  /** Forwarded questions in flight at most; beyond, SERVFAIL at once. Default 1024. */
  maxForwards?: number;
  /** A TCP client that sends nothing for this long (ms) is disconnected. Default 10000. */
  tcpIdleTimeout?: number;
  /**
   * Detach a namespace by itself once its last link other than lo is gone (its endpoints
   * were removed, by this process or another), so the resolver never keeps a dead
   * container's namespace alive. Default true.
   */
  autoDetach?: boolean;
}

/** What the resolver serves in one namespace. */
export interface DnsAttachment {
  /** Inode of the namespace. */
  netnsInode: number;
  /** Networks whose names it answers there, in the order they were attached. */
  networks: string[];
  /** The port its UDP socket is bound to on 127.0.0.11 inside the namespace (127.0.0.11:53 is DNATed to it). */
  udpPort: number;
  /** The port its TCP listener is bound to on 127.0.0.11. */
  tcpPort: number;
}

/** Sockets and networks of one served namespace. */
interface Served {
  netns: Netns;
  networks: string[];
  udp: dgram.Socket;
  tcp: net.Server;
  connections: Set<net.Socket>;
  watch: EndpointWatch | undefined;
}

/** TCP clients served at once in one namespace; further connections are refused until one ends. */
const MAX_TCP_CLIENTS = 128;

/** Network names as the network layer allows them. */
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function positive(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new ValidationError(field, `${value} is not a positive integer`);
  return value;
}

/**
 * The embedded DNS resolver of the embedding process. Like Docker's, it answers A, AAAA
 * and PTR questions about the endpoints of the networks a namespace is attached to, and
 * forwards every other question to the host's nameservers.
 *
 * ```ts
 * const dns = new DnsResolver({ records });        // records: DnsRecordsSource
 * await dns.attach(containerNs, 'mynet');            // on connect
 * await writeFile(`${rootfs}/etc/resolv.conf`, await containerResolvConf());
 * await dns.detach(containerNs, 'mynet');            // on disconnect / remove
 * await dns.close();
 * ```
 */
export class DnsResolver {
  private readonly served = new Map<number, Served>();
  /** Per namespace inode: the tail of its attach/detach chain, so they never interleave. */
  private readonly queues = new Map<number, Promise<unknown>>();
  private readonly records: DnsRecordsSource;
  private readonly upstream: UpstreamOptions;
  private readonly ttl: number;
  private readonly maxForwards: number;
  private readonly tcpIdleTimeout: number;
  private readonly autoDetach: boolean;
  private forwards = 0;
  private closed = false;

  /** Validates the options; nothing is opened before {@link attach}. ValidationError for a bad option. */
  constructor(options: DnsResolverOptions) {
    if (options === null || typeof options !== 'object') throw new ValidationError('options', 'must be an object');
    const { records } = options;
    if (records === null || typeof records !== 'object' || typeof records.lookup !== 'function') {
      throw new ValidationError('records', 'must have a lookup(network, name, type) method');
    }
    if (options.netns !== undefined && !(options.netns instanceof Netns)) throw new ValidationError('netns', 'must be a Netns handle');
    if (options.resolvConf !== undefined && (typeof options.resolvConf !== 'string' || options.resolvConf === '')) {
      throw new ValidationError('resolvConf', 'must be a path');
    }
    this.records = records;
    this.upstream = {
      resolvConf: options.resolvConf ?? HOST_RESOLV_CONF,
      timeout: positive(options.upstreamTimeout, 2000, 'upstreamTimeout'),
      netns: options.netns,
    };
    this.ttl = positive(options.ttl, 600, 'ttl');
    this.maxForwards = positive(options.maxForwards, 1024, 'maxForwards');
    this.tcpIdleTimeout = positive(options.tcpIdleTimeout, 10000, 'tcpIdleTimeout');
    if (options.autoDetach !== undefined && typeof options.autoDetach !== 'boolean') throw new ValidationError('autoDetach', 'must be a boolean');
    this.autoDetach = options.autoDetach ?? true;
  }

  /** Runs `fn` after every earlier attach/detach of the same namespace. */
  private exclusive<T>(inode: number, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(inode) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.queues.set(inode, tail);
    void tail.then(() => {
      if (this.queues.get(inode) === tail) this.queues.delete(inode);
    });
    return run;
  }

  /**
   * Serves `network`'s names in `ns` at 127.0.0.11:53 (UDP and TCP). The first network
   * of a namespace opens the sockets and the redirection; a further one (a container on
   * several networks) adds its names; attaching a network again changes nothing. The
   * namespace's `lo` must be up (connect brings it up). While attached, the resolver
   * holds the namespace (its sockets live there): call {@link detach} when the
   * container leaves the network; when its last link other than lo goes (endpoint
   * removed, by any process) the resolver detaches by itself unless `autoDetach: false`.
   * Rejects with ValidationError for a bad argument, ClosedError after {@link close},
   * NetplumbError ERR_NETPLUMB_DNS_ATTACHED when another live resolver serves the
   * namespace, NetplumbError ENETDOWN when its `lo` is down, SystemError or NetlinkError
   * when a socket or the table cannot be made; nothing is left behind on failure.
   */
  async attach(ns: Netns, network: string): Promise<DnsAttachment> {
    if (!(ns instanceof Netns)) throw new ValidationError('ns', 'must be a Netns handle');
    if (typeof network !== 'string' || !NETWORK_NAME.test(network)) throw new ValidationError('network', `"${network}" is not a network name`);
    if (this.closed) throw new ClosedError('DNS resolver');
    // A handle of our own, made now (the caller may close theirs while this waits its
    // turn); the owner table will live as long as this handle's netlink socket.
    const own = await Netns.open(`/proc/self/fd/${ns.fd}`);
    const label = ns.name ?? String(ns.inode);
    return this.exclusive(ns.inode, async () => {
      const existing = this.served.get(ns.inode);
      if (this.closed || existing) {
        own.close();
        if (!existing) throw new ClosedError('DNS resolver');
        if (!existing.networks.includes(network)) existing.networks.push(network);
        return info(ns.inode, existing);
      }
      const served = await this.open(own, label);
      served.networks.push(network);
      this.served.set(ns.inode, served);
      return info(ns.inode, served);
    });
  }

  /** Opens the sockets and the redirection in `own`'s namespace; on failure undoes what it did and closes `own`. */
  private async open(own: Netns, label: string): Promise<Served> {
    let udp: dgram.Socket | undefined;
    let tcp: net.Server | undefined;
    const connections = new Set<net.Socket>();
    try {
      // Bound while lo is down, a socket on 127.0.0.11 answers from 127.0.0.1, which the
      // client's conntrack entry does not match: its answers would be lost.
      const lo = (await own.links.list()).find((l) => l.type === ARPHRD_LOOPBACK);
      if (!lo?.up) throw new NetplumbError(`the loopback interface of namespace ${label} is down: bring it up before attaching (connect does)`, 'ENETDOWN');
      udp = await own.udpSocket({ host: EMBEDDED_DNS_ADDRESS, port: 0 });
      tcp = await own.listen({ host: EMBEDDED_DNS_ADDRESS, port: 0 });
      const served: Served = { netns: own, networks: [], udp, tcp, connections, watch: undefined };
      udp.on('message', (msg, rinfo) => {
        void this.serve(served, msg, 'udp').then((reply) => {
          if (!reply) return;
          try {
            served.udp.send(reply, rinfo.port, rinfo.address, () => {});
          } catch {
            // Detached while the answer was being made: the socket is closed.
          }
        });
      });
      udp.on('error', () => {});
      tcp.maxConnections = MAX_TCP_CLIENTS;
      tcp.on('connection', (socket) => this.serveTcp(served, socket));
      tcp.on('error', () => {});
      const ports = { udp: udp.address().port, tcp: (tcp.address() as net.AddressInfo).port };
      await addRedirect(own, ports, `netplumb: embedded DNS of process ${process.pid}`);
      if (this.autoDetach) {
        served.watch = watchEndpoints(own, () => {
          void this.release(own.inode, undefined).catch(() => {});
        });
      }
      return served;
    } catch (err) {
      try {
        udp?.close();
      } catch {
        // Closed already: Netns.udpSocket closes its socket on an error event.
      }
      tcp?.close();
      own.close();
      if (err instanceof NetplumbError) throw err;
      throw new NetplumbError(`cannot serve DNS in namespace ${label}: ${(err as Error).message}`, (err as NodeJS.ErrnoException).code ?? 'ERR_NETPLUMB_DNS', { cause: err });
    }
  }

  /**
   * Stops answering `network`'s names in `ns`; without `network`, or when it was the
   * namespace's last, closes the sockets and deletes the redirection, so 127.0.0.11:53
   * is refused there. Detaching what is not attached does nothing. Works also when the
   * namespace is otherwise gone (the resolver's own handle kept it). Rejects with
   * ValidationError for a bad argument, NetlinkError when the table cannot be deleted
   * (the sockets are closed all the same, and the kernel deletes the table with them).
   */
  async detach(ns: Netns, network?: string): Promise<void> {
    if (!(ns instanceof Netns)) throw new ValidationError('ns', 'must be a Netns handle');
    if (network !== undefined && typeof network !== 'string') throw new ValidationError('network', 'must be a string');
    await this.release(ns.inode, network);
  }

  /** detach() by inode. */
  private release(inode: number, network: string | undefined): Promise<void> {
    return this.exclusive(inode, async () => {
      const served = this.served.get(inode);
      if (!served) return;
      if (network !== undefined) {
        served.networks = served.networks.filter((n) => n !== network);
        if (served.networks.length > 0) return;
      }
      try {
        await shut(served);
      } finally {
        this.served.delete(inode);
      }
    });
  }

  /** What this resolver serves, namespace by namespace. */
  attachments(): DnsAttachment[] {
    return [...this.served].map(([inode, s]) => info(inode, s));
  }

  /** Detaches every namespace. Further attach calls reject with ClosedError. */
  async close(): Promise<void> {
    this.closed = true;
    const errors: unknown[] = [];
    for (const inode of [...this.served.keys()]) {
      await this.exclusive(inode, async () => {
        const served = this.served.get(inode);
        if (!served) return;
        await shut(served).catch((e: unknown) => errors.push(e));
        this.served.delete(inode);
      });
    }
    if (errors.length) throw errors[0];
  }

  /** The reply to one query, or undefined for none. Never rejects. */
  private async serve(served: Served, query: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    try {
      const v = await answer(query, transport, { networks: served.networks, records: this.records, ttl: this.ttl });
      if ('drop' in v) return undefined;
      if ('reply' in v) return v.reply;
      if (this.forwards >= this.maxForwards) return v.fallback;
      this.forwards++;
      try {
        return (await forward(query, transport, this.upstream)) ?? v.fallback;
      } finally {
        this.forwards--;
      }
    } catch {
      return undefined;
    }
  }

  /** A TCP client: framed queries in, framed replies out, in order; idle clients are let go. */
  private serveTcp(served: Served, socket: net.Socket): void {
    served.connections.add(socket);
    const reader = new MessageReader();
    let chain = Promise.resolve();
    socket.setTimeout(this.tcpIdleTimeout, () => socket.destroy());
    socket.on('error', () => {});
    socket.on('close', () => served.connections.delete(socket));
    socket.on('data', (chunk: Buffer) => {
      for (const q of reader.push(chunk)) {
        chain = chain.then(async () => {
          const reply = await this.serve(served, q, 'tcp');
          if (reply && !socket.destroyed) socket.write(frame(reply));
        });
      }
    });
  }
}

function info(inode: number, s: Served): DnsAttachment {
  return {
    netnsInode: inode,
    networks: [...s.networks],
    udpPort: s.udp.address().port,
    tcpPort: (s.tcp.address() as net.AddressInfo).port,
  };
}

/** Closes a namespace's sockets and table; the handle goes last, and with it the table if deleting failed. */
async function shut(s: Served): Promise<void> {
  try {
    await removeRedirect(s.netns);
  } finally {
    s.watch?.close();
    try {
      s.udp.close();
    } catch {
      // Closed already: Netns.udpSocket closes its socket on an error event.
    }
    s.tcp.close();
    for (const c of s.connections) c.destroy();
    s.netns.close();
  }
}
