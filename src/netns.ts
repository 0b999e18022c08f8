/**
 * Layer 3: the network namespace handle. A namespace is a file descriptor; each handle
 * owns that fd and netlink sockets opened once inside the namespace, and exposes the
 * per-namespace APIs bound to them. Named namespaces live in /run/netns exactly as
 * `ip netns add` makes them, so `ip netns exec NAME` works on ours and we open theirs.
 * @module
 */
import * as dgram from 'node:dgram';
import { fstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import * as net from 'node:net';
import { isIP } from 'node:net';
import { ClosedError, NetplumbError, SystemError, ValidationError } from './errors.js';
import { NETLINK_NETFILTER, NETLINK_ROUTE } from './netlink/constants.js';
import { NetlinkConnection } from './netlink/connection.js';
import { native } from './native.js';
import { Nft } from './nft/index.js';
import { Addresses, Links, Neighbors, Routes, Rules, type LinkRef, type MonitorOptions, type RtnlMonitor, findByNsid, openMonitor } from './rtnl/index.js';

/** Where named namespaces are mounted (iproute2's NETNS_RUN_DIR). */
export const NETNS_RUN_DIR = '/run/netns';

const SOCK_STREAM = 1;
const SOCK_DGRAM = 2;

/** One network namespace as {@link Netns.list} sees it (like a row of `lsns -t net`). */
export interface NetnsInfo {
  /** Inode number of the namespace (what `ls -iL /proc/PID/ns/net` shows). */
  inode: number;
  /** Names under /run/netns that are mounts of it. */
  names: string[];
  /** Ids of the processes that are in it. */
  pids: number[];
}

/** A sysctl key, dotted (`net.ipv4.ip_forward`) or as a /proc/sys path (`net/ipv4/ip_forward`). */
export type SysctlKey = string;

/** Reads and writes sysctls as seen from one namespace (`ip netns exec NAME sysctl`). */
export interface Sysctl {
  /** Like `sysctl -n KEY`. Rejects with SystemError ENOENT for an unknown key. */
  get(key: SysctlKey): Promise<string>;
  /** Like `sysctl -w KEY=VALUE`. */
  set(key: SysctlKey, value: string | number): Promise<void>;
}

/** Validates a namespace name the way iproute2 does (no '/', not '.' or '..', ≤ 255 bytes). */
export function validateNetnsName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError('name', 'must be a non-empty string');
  if (name.includes('/') || name === '.' || name === '..' || name.includes('\0')) {
    throw new ValidationError('name', `"${name}" is not a valid namespace name`);
  }
  if (Buffer.byteLength(name) > 255) throw new ValidationError('name', 'is longer than 255 bytes');
  return name;
}

/** sysctl(8) key → path below /proc/sys: dots become slashes and slashes dots. */
function sysctlPath(key: SysctlKey): string {
  if (typeof key !== 'string' || key.length === 0) throw new ValidationError('key', 'must be a non-empty string');
  if (key.includes('..') || key.startsWith('/') || key.startsWith('.')) {
    throw new ValidationError('key', `"${key}" is not a sysctl key`);
  }
  return key.includes('/') && !key.includes('.') ? key : key.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** Options of the socket helpers. */
export interface ListenOptions {
  /** Address to bind; default 0.0.0.0 (or :: for `family: 6`). */
  host?: string;
  /** Port; 0 picks a free one. */
  port?: number;
  /** Address family when `host` does not say. */
  family?: 4 | 6;
  /** listen(2) backlog. */
  backlog?: number;
}

function familyOf(host: string | undefined, family: 4 | 6 | undefined): 4 | 6 {
  if (host === undefined) return family ?? 4;
  const v = isIP(host);
  if (v === 0) throw new ValidationError('host', `"${host}" is not an IP address`);
  return v as 4 | 6;
}

/** Runs a synchronous fs call, reporting its failure as SystemError (Node's error as cause). */
function fsCall<T>(syscall: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw SystemError.from(err, syscall);
  }
}

function checkPort(port: number, field = 'port'): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ValidationError(field, `${port} is not a port (0-65535)`);
  return port;
}

/**
 * A handle on one network namespace. Owns an fd for it and the netlink sockets opened
 * inside it; release them with {@link close} (or {@link delete} for one we may remove).
 */
export class Netns {
  private fdValue: number;
  /** Name under /run/netns, when it has one. */
  readonly name: string | undefined;
  /** Path the namespace was opened from or mounted at. */
  readonly path: string | undefined;
  /** Inode number: equal inodes mean the same namespace. */
  readonly inode: number;
  private routeConn: NetlinkConnection | undefined;
  private netfilterConn: NetlinkConnection | undefined;
  private sysctlApi: Sysctl | undefined;
  private linksApi: Links | undefined;
  private addressesApi: Addresses | undefined;
  private routesApi: Routes | undefined;
  private neighborsApi: Neighbors | undefined;
  private rulesApi: Rules | undefined;
  private nftApi: Nft | undefined;

  private constructor(fd: number, name: string | undefined, path: string | undefined) {
    this.fdValue = fd;
    this.name = name;
    this.path = path;
    this.inode = fsCall('fstat', () => fstatSync(fd)).ino;
  }

  /**
   * Creates a network namespace: like `ip netns add NAME` when named (mounted at
   * /run/netns/NAME), else an anonymous one that lives as long as a handle or a process
   * holds it. The unshare runs off the JS thread. Rejects with SystemError EEXIST when
   * the name is taken, ValidationError for a bad name; nothing is left behind on failure.
   */
  static async create(name?: string): Promise<Netns> {
    const path = name === undefined ? null : `${NETNS_RUN_DIR}/${validateNetnsName(name)}`;
    const fd = await native.netnsCreate(path);
    return new Netns(fd, name, path ?? undefined);
  }

  /**
   * Opens a namespace by `/run/netns` name (`ip netns add` made it, or we did) or by path
   * (e.g. `/proc/1234/ns/net`, a Docker sandbox key). Rejects with SystemError ENOENT when
   * it does not exist, EINVAL when the file is not a network namespace.
   */
  static async open(nameOrPath: string): Promise<Netns> {
    if (typeof nameOrPath !== 'string' || nameOrPath.length === 0) {
      throw new ValidationError('nameOrPath', 'must be a non-empty string');
    }
    if (nameOrPath.includes('/')) {
      const fd = native.netnsOpen(nameOrPath);
      const named = nameOrPath.startsWith(`${NETNS_RUN_DIR}/`) ? nameOrPath.slice(NETNS_RUN_DIR.length + 1) : undefined;
      return new Netns(fd, named && !named.includes('/') ? named : undefined, nameOrPath);
    }
    const path = `${NETNS_RUN_DIR}/${validateNetnsName(nameOrPath)}`;
    return new Netns(native.netnsOpen(path), nameOrPath, path);
  }

  /** Opens the namespace process `pid` is in (like `nsenter -t PID -n`). */
  static async fromPid(pid: number): Promise<Netns> {
    if (!Number.isInteger(pid) || pid <= 0) throw new ValidationError('pid', `${pid} is not a process id`);
    const path = `/proc/${pid}/ns/net`;
    return new Netns(native.netnsOpen(path), undefined, path);
  }

  /** Opens the namespace the calling thread is in. */
  static async current(): Promise<Netns> {
    return new Netns(native.netnsCurrent(), undefined, undefined);
  }

  /**
   * Every network namespace that is named under /run/netns or has a process in it (like
   * `ip netns list` and `lsns -t net` together), read from /proc and /run/netns.
   */
  static async list(): Promise<NetnsInfo[]> {
    const byInode = new Map<number, NetnsInfo>();
    const entry = (inode: number): NetnsInfo => {
      let e = byInode.get(inode);
      if (!e) {
        e = { inode, names: [], pids: [] };
        byInode.set(inode, e);
      }
      return e;
    };
    let names: string[] = [];
    try {
      names = readdirSync(NETNS_RUN_DIR);
    } catch {
      // No /run/netns yet: no named namespaces.
    }
    // A name is a namespace only while mounted: then it lives on nsfs, like /proc/self/ns/net.
    const nsfsDev = fsCall('stat', () => statSync('/proc/self/ns/net')).dev;
    for (const n of names) {
      try {
        const st = statSync(`${NETNS_RUN_DIR}/${n}`);
        if (st.dev !== nsfsDev) continue;
        entry(st.ino).names.push(n);
      } catch {
        // Raced with a deletion.
      }
    }
    for (const p of fsCall('readdir', () => readdirSync('/proc'))) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p}/ns/net`));
        if (m) entry(Number(m[1])).pids.push(Number(p));
      } catch {
        // The process exited, or we may not look.
      }
    }
    return [...byInode.values()].sort((a, b) => a.inode - b.inode);
  }

  /**
   * Removes /run/netns/NAME if it is what a create that died before mounting left: an
   * empty file, nothing mounted on it, and no create in any process holding it (a create
   * keeps its new name flock()ed until the namespace is mounted, however long that takes).
   * With `dryRun`, only says whether it would. Resolves with whether it was (or would be)
   * removed. Rejects with ValidationError for a bad name.
   */
  static async removeStale(name: string, options: { dryRun?: boolean } = {}): Promise<boolean> {
    return native.netnsRemoveStale(`${NETNS_RUN_DIR}/${validateNetnsName(name)}`, options.dryRun !== true);
  }

  /**
   * Removes the name NAME from /run/netns (unmount, MNT_DETACH, and unlink, as `ip netns
   * del NAME` does) — with `inode`, only if NAME mounts the namespace of that inode, so a
   * name that meanwhile mounts someone else's namespace is left alone. The namespace
   * itself lives on while a process or handle holds it. Resolves true when it removed
   * the name, false when there was no such name or it mounts another namespace.
   * Rejects with ValidationError for a bad name, SystemError when unmounting fails.
   */
  static async unmount(name: string, options: { inode?: number } = {}): Promise<boolean> {
    const path = `${NETNS_RUN_DIR}/${validateNetnsName(name)}`;
    const { inode } = options;
    if (inode !== undefined && (!Number.isInteger(inode) || inode <= 0)) throw new ValidationError('inode', `${inode} is not an inode number`);
    let st;
    try {
      st = statSync(path);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return false;
      throw SystemError.from(err, 'stat');
    }
    if (inode !== undefined) {
      const nsfsDev = fsCall('stat', () => statSync('/proc/self/ns/net')).dev;
      if (st.dev !== nsfsDev || st.ino !== inode) return false;
    }
    try {
      await native.netnsUnmount(path);
    } catch (err) {
      // Removed by someone else between the stat and the unlink.
      if (err instanceof SystemError && err.code === 'ENOENT') return false;
      throw err;
    }
    return true;
  }

  /**
   * Gives this namespace the name NAME: bind-mounts it at /run/netns/NAME as `ip netns
   * add`/`attach` do (so `ip netns exec NAME` works), making /run/netns a shared mount
   * first. Resolves with the path. Rejects with SystemError EEXIST when the name is
   * taken, ValidationError for a bad name; nothing is left behind on failure. The handle's
   * own `name` does not change; {@link Netns.unmount} removes the name.
   */
  async mount(name: string): Promise<string> {
    const path = `${NETNS_RUN_DIR}/${validateNetnsName(name)}`;
    native.netnsMount(this.fd, path);
    return path;
  }

  /** The namespace's fd (borrowed: valid until {@link close}). */
  get fd(): number {
    if (this.fdValue < 0) throw new ClosedError(`namespace ${this.name ?? this.inode}`);
    return this.fdValue;
  }

  /** Whether {@link close} or {@link delete} was called. */
  get closed(): boolean {
    return this.fdValue < 0;
  }

  /** The rtnetlink connection of this namespace, opened on first use and then reused. */
  get route(): NetlinkConnection {
    return (this.routeConn ??= new NetlinkConnection(NETLINK_ROUTE, this.fd));
  }

  /** The nfnetlink connection of this namespace, opened on first use and then reused. */
  get netfilter(): NetlinkConnection {
    return (this.netfilterConn ??= new NetlinkConnection(NETLINK_NETFILTER, this.fd));
  }

  /** Links of this namespace (`ip link`). */
  get links(): Links {
    return (this.linksApi ??= new Links(this));
  }

  /** Addresses of this namespace (`ip address`). */
  get addresses(): Addresses {
    return (this.addressesApi ??= new Addresses(this));
  }

  /** Routes of this namespace (`ip route`). */
  get routes(): Routes {
    return (this.routesApi ??= new Routes(this));
  }

  /** Neighbours and bridge FDB entries of this namespace (`ip neigh`, `bridge fdb`). */
  get neighbors(): Neighbors {
    return (this.neighborsApi ??= new Neighbors(this));
  }

  /** Policy routing rules of this namespace (`ip rule`). */
  get rules(): Rules {
    return (this.rulesApi ??= new Rules(this));
  }

  /** nftables of this namespace (`nft`). */
  get nft(): Nft {
    return (this.nftApi ??= new Nft(this));
  }

  /**
   * The other end of one of this namespace's veths — what `ethtool -S eth0` peer_ifindex
   * and `ip link`'s link-netnsid tell by hand in the Docker walkthroughs: its ifindex and a
   * new handle on the namespace it lives in (close it when done), found among the named
   * namespaces and those of running processes by asking the kernel which of them has the
   * link's nsid. Rejects with ValidationError when the link is not a veth, NetlinkError
   * ENODEV when there is no such link, NetplumbError ENOENT when the peer's namespace is
   * not reachable from here (nothing mounts it and no process is in it).
   */
  async vethPeer(link: LinkRef): Promise<{ ifindex: number; netns: Netns }> {
    const peer = await this.links.peer(link);
    if (peer.netnsid === undefined) {
      return { ifindex: peer.ifindex, netns: new Netns(native.netnsOpen(`/proc/thread-self/fd/${this.fd}`), this.name, this.path) };
    }
    const candidates: Netns[] = [];
    let found: Netns | undefined;
    try {
      for (const info of await Netns.list()) {
        if (info.inode === this.inode) continue;
        try {
          const name = info.names[0];
          const pid = info.pids[0];
          if (name !== undefined) candidates.push(await Netns.open(name));
          else if (pid !== undefined) candidates.push(await Netns.fromPid(pid));
        } catch {
          // Gone meanwhile, or not ours to open.
        }
      }
      found = await findByNsid(this, peer.netnsid, candidates);
      if (!found) throw new NetplumbError(`the namespace of nsid ${peer.netnsid} is not reachable from here`, 'ENOENT');
      return { ifindex: peer.ifindex, netns: found };
    } finally {
      for (const c of candidates) if (c !== found) c.close();
    }
  }

  /** Decoded rtnetlink change events of this namespace (`ip monitor`). */
  monitor(options: MonitorOptions = {}): RtnlMonitor {
    return openMonitor(this, options);
  }

  /** sysctls as seen from this namespace. */
  get sysctl(): Sysctl {
    return (this.sysctlApi ??= {
      get: async (key) => native.sysctlRead(this.fd, sysctlPath(key)),
      set: async (key, value) => native.sysctlWrite(this.fd, sysctlPath(key), String(value)),
    });
  }

  /**
   * Runs `fn` synchronously with the calling thread inside this namespace, then returns
   * it. Sockets and child processes created *synchronously* inside `fn` live in the
   * namespace (a process the caller starts from `fn` — forking happens at once). Work
   * that happens on a later tick, such as `net.connect()`'s socket, does not: use
   * {@link connect} / {@link listen} for those.
   */
  run<T>(fn: () => T): T {
    if (typeof fn !== 'function') throw new ValidationError('fn', 'must be a function');
    return native.runIn(this.fd, fn);
  }

  /** A TCP server listening inside this namespace (a plain `net.Server`). */
  async listen(options: ListenOptions = {}, onConnection?: (socket: net.Socket) => void): Promise<net.Server> {
    const family = familyOf(options.host, options.family);
    const host = options.host ?? (family === 6 ? '::' : '0.0.0.0');
    const fd = native.inetSocket(this.fd, family, SOCK_STREAM, true, host, checkPort(options.port ?? 0));
    const server = net.createServer(onConnection);
    return new Promise((resolve, reject) => {
      server.once('error', (err) => {
        server.close();
        reject(SystemError.from(err, 'listen'));
      });
      server.listen({ fd, backlog: options.backlog ?? 511 }, () => resolve(server));
    });
  }

  /**
   * A TCP connection made from inside this namespace (a plain `net.Socket`), once
   * connected. With `timeout` (ms), gives up with an ETIMEDOUT error if the connection is
   * not established by then (a dropped SYN otherwise retries for minutes).
   */
  async connect(port: number, host: string, options: { timeout?: number } = {}): Promise<net.Socket> {
    const fd = native.inetSocket(this.fd, familyOf(host, undefined), SOCK_STREAM, false, '', 0);
    const socket = new net.Socket({ fd, readable: true, writable: true });
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => {
        socket.destroy();
        reject(SystemError.from(err, 'connect'));
      };
      socket.once('error', fail);
      if (options.timeout !== undefined) {
        socket.setTimeout(options.timeout, () =>
          fail(new NetplumbError(`connect ${host}:${port} timed out after ${options.timeout} ms`, 'ETIMEDOUT')),
        );
      }
      socket.connect(checkPort(port), host, () => {
        socket.setTimeout(0);
        socket.removeListener('error', fail);
        resolve(socket);
      });
    });
  }

  /** A UDP socket inside this namespace, bound to `options.host`:`options.port`. */
  async udpSocket(options: ListenOptions = {}): Promise<dgram.Socket> {
    const family = familyOf(options.host, options.family);
    const host = options.host ?? (family === 6 ? '::' : '0.0.0.0');
    const fd = native.inetSocket(this.fd, family, SOCK_DGRAM, true, host, checkPort(options.port ?? 0));
    const socket = dgram.createSocket(family === 6 ? 'udp6' : 'udp4');
    return new Promise((resolve, reject) => {
      const failed = (err: Error): void => {
        socket.close();
        reject(SystemError.from(err, 'bind'));
      };
      socket.once('error', failed);
      socket.bind({ fd }, () => {
        // Bound: later errors are the caller's to handle, and close() stays theirs to call.
        socket.off('error', failed);
        resolve(socket);
      });
    });
  }

  /** Releases the fd and the sockets. The namespace itself lives on if it is named or in use. */
  close(): void {
    if (this.fdValue < 0) return;
    this.routeConn?.close();
    this.netfilterConn?.close();
    native.close(this.fdValue);
    this.fdValue = -1;
  }

  /**
   * Like `ip netns del NAME`: unmounts and removes the name, then closes the handle. The
   * kernel destroys the namespace (and its links) once nothing else holds it. Rejects
   * with ClosedError when called twice, SystemError when the mount is already gone.
   */
  async delete(): Promise<void> {
    if (this.fdValue < 0) throw new ClosedError(`namespace ${this.name ?? this.inode}`);
    const path = this.name !== undefined ? `${NETNS_RUN_DIR}/${this.name}` : undefined;
    this.close();
    if (path) await native.netnsUnmount(path);
  }
}
