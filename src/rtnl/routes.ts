/**
 * Layer 2 (rtnetlink): the routes of one namespace (`ip route`), as `ns.routes`.
 * @module
 */
import { NetplumbError } from '../errors.js';
import { isIpMessage } from './attrs.js';
import * as C from './constants.js';
import { type RouteNamespace, dump, indexOf, resolveIndexes, run } from './request.js';
import {
  type Route,
  type RouteFilter,
  type RouteGetOptions,
  type RouteSpec,
  decodeRoute,
  encodeRouteAdd,
  encodeRouteAppend,
  encodeRouteDelete,
  encodeRouteDump,
  encodeRouteGet,
  encodeRouteReplace,
} from './route.js';

/** The routes of one namespace. Links given by name cost one extra round trip (all together). */
export class Routes {
  private readonly ns: RouteNamespace;

  constructor(ns: RouteNamespace) {
    this.ns = ns;
  }

  private async resolve(spec: RouteSpec): Promise<RouteSpec> {
    const hops = Array.isArray(spec?.multipath) ? spec.multipath : [];
    const refs = [spec?.oif, ...hops.map((h) => h?.oif)];
    if (!refs.some((r) => typeof r === 'string')) return spec;
    const idx = await resolveIndexes(this.ns, refs);
    const out: RouteSpec = { ...spec, oif: indexOf(spec.oif, idx) };
    if (spec.multipath) out.multipath = hops.map((h) => ({ ...h, oif: indexOf(h.oif, idx) }));
    return out;
  }

  /**
   * Like `ip -d route show table all` (narrowed with `table`, `protocol`, `type`, `oif`,
   * `family`, which the kernel applies itself): every route, decoded, IPv4 and IPv6, local
   * table included. Rejects with NetlinkError ENODEV when `oif` does not exist.
   */
  async list(filter: RouteFilter = {}): Promise<Route[]> {
    const oif = indexOf(filter.oif, await resolveIndexes(this.ns, [filter.oif]));
    const msgs = await dump(this.ns, (b) => encodeRouteDump(b, { ...filter, oif }));
    return msgs.filter((m) => m.type === C.RTM_NEWROUTE && isIpMessage(m.payload)).map(decodeRoute);
  }

  /**
   * Like `ip route get ADDRESS [from A] [iif L] [oif L] [mark M]`: the route the kernel
   * would use for a packet to `destination`, resolved (its `table` is the table the
   * lookup found it in). Rejects with NetlinkError ENETUNREACH when there is no route,
   * EHOSTUNREACH/EACCES for unreachable/prohibit routes; ValidationError for a malformed
   * address.
   */
  async get(destination: string, options: RouteGetOptions = {}): Promise<Route> {
    const idx = await resolveIndexes(this.ns, [options.iif, options.oif]);
    const opts = { ...options, iif: indexOf(options.iif, idx), oif: indexOf(options.oif, idx) };
    const [reply] = await run(this.ns, (b) => encodeRouteGet(b, destination, opts));
    const msg = reply?.messages.find((m) => m.type === C.RTM_NEWROUTE);
    if (!msg) throw new NetplumbError(`RTM_GETROUTE ${destination}: acknowledged without a route`, 'ERR_NETPLUMB_NO_REPLY');
    return decodeRoute(msg);
  }

  /**
   * Like `ip route add DST [via GW] [dev LINK] [src A] [metric N] [table T] [proto P]
   * [scope S] [type] [nexthop ...]`. Rejects with NetlinkError EEXIST for an existing
   * route, ENETUNREACH when the gateway is not reachable through a connected prefix,
   * ENODEV for a missing link, EINVAL with the kernel's text for inconsistent fields;
   * ValidationError before sending anything for malformed input.
   */
  async add(spec: RouteSpec): Promise<void> {
    const s = await this.resolve(spec);
    await run(this.ns, (b) => encodeRouteAdd(b, s));
  }

  /** Like `ip route replace ...`: adds the route or replaces the one with the same key. Rejects as {@link add} does, but never with EEXIST. */
  async replace(spec: RouteSpec): Promise<void> {
    const s = await this.resolve(spec);
    await run(this.ns, (b) => encodeRouteReplace(b, s));
  }

  /** Like `ip route append ...`: another route with the same key (IPv6: adds a next hop). */
  async append(spec: RouteSpec): Promise<void> {
    const s = await this.resolve(spec);
    await run(this.ns, (b) => encodeRouteAppend(b, s));
  }

  /**
   * Like `ip route del DST [via GW] [dev LINK] [table T] ...`: deletes the first route
   * matching every field given. Rejects with NetlinkError ESRCH when none matches.
   */
  async delete(spec: RouteSpec): Promise<void> {
    const s = await this.resolve(spec);
    await run(this.ns, (b) => encodeRouteDelete(b, s));
  }
}
