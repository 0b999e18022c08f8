/**
 * Layer 2 (rtnetlink): change events of one namespace (`ip monitor`), decoded, as an
 * async iterator. The socket is subscribed to the RTNLGRP_* multicast groups the options
 * name before openMonitor() returns, so every change made afterwards is seen — unless
 * the kernel drops events because the consumer is too slow (ENOBUFS), which is reported
 * as an `overflow` event: the consumer must then resync (list() again).
 * @module
 */
import { constants as osConstants } from 'node:os';
import { SystemError, ValidationError } from '../errors.js';
import { NETLINK_ROUTE } from '../netlink/constants.js';
import { type NetlinkMessage, parseMessages } from '../netlink/message.js';
import { native } from '../native.js';
import { type Address, decodeAddress } from './address.js';
import { isIpMessage } from './attrs.js';
import * as C from './constants.js';
import type { IpFamily } from './ip.js';
import { type Link, decodeLink } from './link.js';
import { type FdbEntry, type Neighbor, decodeFdbEntry, decodeNeighbor, isFdbMessage } from './neighbor.js';
import { type NsidEntry, decodeNsid } from './nsid.js';
import type { RouteNamespace } from './request.js';
import { type Route, decodeRoute } from './route.js';
import { type Rule, decodeRule } from './rule.js';
import { checkInt } from './validate.js';

/** What to watch. With none of the object options set, everything is watched. */
export interface MonitorOptions {
  /** RTNLGRP_LINK: links added, changed, removed (`ip monitor link`). */
  links?: boolean;
  /** RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR. */
  addresses?: boolean;
  /** RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE. */
  routes?: boolean;
  /** RTNLGRP_NEIGH: ARP/NDP entries and bridge FDB entries. */
  neighbors?: boolean;
  /** RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE. */
  rules?: boolean;
  /** RTNLGRP_NSID: nsids assigned and released. */
  nsids?: boolean;
  /** Only IPv4 or only IPv6 address, route and rule events. */
  family?: IpFamily;
  /**
   * Events kept for a consumer that is behind; beyond this the waiting events are dropped
   * and replaced by one `overflow` event. Default 10000.
   */
  maxQueue?: number;
  /** Receive buffer of the socket (SO_RCVBUF); default 4 MiB. */
  bufferBytes?: number;
}

/** Whether the object was added/changed (`new`) or removed (`del`). */
export type EventAction = 'new' | 'del';

/**
 * A decoded change. The object is in a property of its own (rather than spread into the
 * event) because links and routes have a `type` field of their own.
 */
export type RtnlEvent =
  | { type: 'link'; action: EventAction; link: Link }
  | { type: 'address'; action: EventAction; address: Address }
  | { type: 'route'; action: EventAction; route: Route }
  | { type: 'neighbor'; action: EventAction; neighbor: Neighbor }
  | { type: 'fdb'; action: EventAction; entry: FdbEntry }
  | { type: 'rule'; action: EventAction; rule: Rule }
  | { type: 'nsid'; action: EventAction; nsid: NsidEntry }
  /** Events were lost (the kernel's ENOBUFS, or more than maxQueue waiting): resync. */
  | { type: 'overflow' };

const DEFAULT_MAX_QUEUE = 10000;
const DEFAULT_BUFFER_BYTES = 4 << 20;

function groupsOf(o: MonitorOptions): number[] {
  const any = o.links || o.addresses || o.routes || o.neighbors || o.rules || o.nsids;
  const all = !any;
  const v4 = o.family !== 6;
  const v6 = o.family !== 4;
  const groups: number[] = [];
  if (all || o.links) groups.push(C.RTNLGRP_LINK);
  if (all || o.addresses) {
    if (v4) groups.push(C.RTNLGRP_IPV4_IFADDR);
    if (v6) groups.push(C.RTNLGRP_IPV6_IFADDR);
  }
  if (all || o.routes) {
    if (v4) groups.push(C.RTNLGRP_IPV4_ROUTE);
    if (v6) groups.push(C.RTNLGRP_IPV6_ROUTE);
  }
  if (all || o.neighbors) groups.push(C.RTNLGRP_NEIGH);
  if (all || o.rules) {
    if (v4) groups.push(C.RTNLGRP_IPV4_RULE);
    if (v6) groups.push(C.RTNLGRP_IPV6_RULE);
  }
  if (all || o.nsids) groups.push(C.RTNLGRP_NSID);
  return groups;
}

/** Decodes one notification, or undefined for message types the monitor does not report. */
function toEvent(msg: NetlinkMessage): RtnlEvent | undefined {
  switch (msg.type) {
    case C.RTM_NEWLINK:
    case C.RTM_DELLINK:
      return { type: 'link', action: msg.type === C.RTM_NEWLINK ? 'new' : 'del', link: decodeLink(msg) };
    case C.RTM_NEWADDR:
    case C.RTM_DELADDR:
      return { type: 'address', action: msg.type === C.RTM_NEWADDR ? 'new' : 'del', address: decodeAddress(msg) };
    case C.RTM_NEWROUTE:
    case C.RTM_DELROUTE:
      if (!isIpMessage(msg.payload)) return undefined;
      return { type: 'route', action: msg.type === C.RTM_NEWROUTE ? 'new' : 'del', route: decodeRoute(msg) };
    case C.RTM_NEWNEIGH:
    case C.RTM_DELNEIGH: {
      const action = msg.type === C.RTM_NEWNEIGH ? 'new' : 'del';
      return isFdbMessage(msg) ? { type: 'fdb', action, entry: decodeFdbEntry(msg) } : { type: 'neighbor', action, neighbor: decodeNeighbor(msg) };
    }
    case C.RTM_NEWRULE:
    case C.RTM_DELRULE:
      if (!isIpMessage(msg.payload)) return undefined;
      return { type: 'rule', action: msg.type === C.RTM_NEWRULE ? 'new' : 'del', rule: decodeRule(msg) };
    case C.RTM_NEWNSID:
    case C.RTM_DELNSID:
      return { type: 'nsid', action: msg.type === C.RTM_NEWNSID ? 'new' : 'del', nsid: decodeNsid(msg) };
    default:
      return undefined;
  }
}

const OVERFLOW: RtnlEvent = { type: 'overflow' };

/**
 * Decoded change events of one namespace (`ip monitor`): `for await (const ev of monitor)`.
 * The iterator ends after {@link close} (or `break`), and rejects once with the error when
 * receiving fails for another reason than ENOBUFS or a notification cannot be decoded.
 */
export class RtnlMonitor implements AsyncIterableIterator<RtnlEvent> {
  private fd: number;
  private readonly queue: RtnlEvent[] = [];
  private readonly maxQueue: number;
  private waiter: { resolve: (r: IteratorResult<RtnlEvent>) => void; reject: (e: unknown) => void } | undefined;
  private failure: Error | undefined;

  /** Opens the monitor; see {@link openMonitor}. */
  constructor(ns: RouteNamespace, options: MonitorOptions = {}) {
    if (options === null || typeof options !== 'object') throw new ValidationError('options', 'must be an object');
    if (options.family !== undefined && options.family !== 4 && options.family !== 6) throw new ValidationError('family', `${JSON.stringify(options.family)} is not 4 or 6`);
    this.maxQueue = options.maxQueue === undefined ? DEFAULT_MAX_QUEUE : checkInt(options.maxQueue, 'maxQueue', 1, 0x7fffffff);
    const bytes = options.bufferBytes === undefined ? DEFAULT_BUFFER_BYTES : checkInt(options.bufferBytes, 'bufferBytes', 4096, 0x7fffffff);
    this.fd = native.monitorOpen(NETLINK_ROUTE, ns.fd, groupsOf(options), bytes, (data, errno) => this.onData(data, errno));
  }

  /** Whether {@link close} was called. */
  get closed(): boolean {
    return this.fd < 0;
  }

  private onData(data: Buffer | null, errno: number): void {
    if (this.fd < 0) return;
    if (data === null) {
      if (errno === osConstants.errno.ENOBUFS) this.push(OVERFLOW);
      else this.fail(new SystemError(errno, 'recvmsg'));
      return;
    }
    try {
      for (const msg of parseMessages(data)) {
        const ev = toEvent(msg);
        if (ev) this.push(ev);
      }
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private push(ev: RtnlEvent): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: ev, done: false });
      return;
    }
    if (ev === OVERFLOW && this.queue.at(-1) === OVERFLOW) return;
    if (this.queue.length >= this.maxQueue) {
      // The consumer has to resync anyway: keep memory bounded and tell it so at once.
      this.queue.length = 0;
      this.queue.push(OVERFLOW);
      return;
    }
    this.queue.push(ev);
  }

  private fail(e: Error): void {
    this.failure = e;
    this.stop();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(e);
    }
  }

  /** The next event; `done` once the monitor is closed. */
  next(): Promise<IteratorResult<RtnlEvent>> {
    const ev = this.queue.shift();
    if (ev) return Promise.resolve({ value: ev, done: false });
    if (this.failure) {
      const e = this.failure;
      this.failure = undefined;
      return Promise.reject(e);
    }
    if (this.fd < 0) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter) return Promise.reject(new ValidationError('next', 'called again before the previous call resolved'));
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Closes the monitor (what `break` in `for await` calls). */
  return(): Promise<IteratorResult<RtnlEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private stop(): void {
    if (this.fd < 0) return;
    native.monitorClose(this.fd);
    this.fd = -1;
  }

  /** Unsubscribes and closes the socket; a pending `next()` resolves `done`. Events still queued are dropped. */
  close(): void {
    this.stop();
    this.queue.length = 0;
    const w = this.waiter;
    this.waiter = undefined;
    w?.resolve({ value: undefined, done: true });
  }
}

/**
 * Like `ip monitor [link] [address] [route] [neigh] [rule] [nsid]` in namespace `ns`:
 * opens a socket there subscribed to those groups and returns the events, decoded.
 * Throws SystemError when the socket cannot be opened, ClosedError (from the handle) for
 * a closed namespace, ValidationError for bad options.
 */
export function openMonitor(ns: RouteNamespace, options: MonitorOptions = {}): RtnlMonitor {
  return new RtnlMonitor(ns, options);
}
