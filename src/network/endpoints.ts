/**
 * Layer 4 (network): a network's endpoints, read back from the kernel — the reservation
 * elements (attachment, addresses, MAC, published ports) and the host veths' tags — so
 * that every process sees the endpoints every other process connected.
 * @module
 */
import { NetplumbError, ValidationError } from '../errors.js';
import { NETNS_RUN_DIR, Netns } from '../netns.js';
import type { SetElement } from '../nft/index.js';
import type { BridgeNetwork } from './bridge-network.js';
import type { EndpointInit } from './endpoint.js';
import { mayBeInProgress } from './holder.js';
import { checkObject, checkOwner } from './options.js';
import type { PublishedPort } from './ports.js';
import { FAMILY, PORT_MAPS, SETS, TABLE } from './ruleset.js';
import { type EndpointTag, type ParsedComment, parseComment, parseEndpointAlias } from './tag.js';

/** Which endpoints {@link BridgeNetwork.endpoints} returns. */
export interface EndpointFilter {
  /** Only the endpoint(s) connected with this owner label. */
  owner?: string;
  /** Only the endpoint in this namespace. */
  netns?: Netns;
}

/** The host-side veth name of endpoint `id`. */
export function hostIfnameOf(id: string): string {
  return `veth${id.slice(0, 7)}`;
}

/** An endpoint's elements as read back. */
interface Found {
  anchor: ParsedComment & { endpoint: string };
  inode: number;
  ipv4?: string;
  ipv6?: string;
  mac?: string;
  ports: PublishedPort[];
}

/** Reads `set` of netplumb's table ([] when the table or set is not there; any other failure is the caller's). */
export async function elements(host: Netns, set: string): Promise<SetElement[]> {
  try {
    return await host.nft.listElements(FAMILY, TABLE, set);
  } catch (e) {
    if (e instanceof NetplumbError && e.code === 'ENOENT') return [];
    throw e;
  }
}

/** Calls `put` with each element of `list` that belongs to one of `found`, the endpoints of `network` by id. */
export function forEachOfEndpoint<F>(list: readonly SetElement[], network: string, found: ReadonlyMap<string, F>, put: (f: F, e: SetElement) => void): void {
  for (const e of list) {
    const c = parseComment(e.comment);
    const f = c?.network === network && c.endpoint !== undefined ? found.get(c.endpoint) : undefined;
    if (f) put(f, e);
  }
}

/** Fills in the found endpoints' addresses and MACs from the `addrs4`, `addrs6` and `macs` elements. */
export function putAddresses<F extends { ipv4?: string; ipv6?: string; mac?: string }>(each: (list: SetElement[], put: (f: F, e: SetElement) => void) => void, addrs4: SetElement[], addrs6: SetElement[], macs: SetElement[]): void {
  each(addrs4, (f, e) => (f.ipv4 = String(e.key)));
  each(addrs6, (f, e) => (f.ipv6 = String(e.key)));
  each(macs, (f, e) => (f.mac = String(e.key)));
}

/** Validates an endpoint filter into the owner label and namespace inode it asks for. */
export function checkFilter(filter: EndpointFilter): { owner?: string; inode?: number } {
  checkObject(filter, 'filter');
  if (filter.netns !== undefined && !(filter.netns instanceof Netns)) throw new ValidationError('filter.netns', 'must be a Netns handle');
  return {
    ...(filter.owner !== undefined ? { owner: checkOwner(filter.owner) } : {}),
    ...(filter.netns !== undefined ? { inode: filter.netns.inode } : {}),
  };
}

/** The endpoints of `net` matching `filter`, made into objects by `make`. */
export async function readEndpoints<T>(net: BridgeNetwork, filter: EndpointFilter, make: (init: EndpointInit) => T): Promise<T[]> {
  const { owner, inode } = checkFilter(filter);
  const host = net.netns;
  const filtered = owner !== undefined || inode !== undefined;
  const found = new Map<string, Found>();
  const readRest = () =>
    Promise.all([
      elements(host, SETS.addrs4),
      elements(host, SETS.addrs6),
      elements(host, SETS.macs),
      // With a filter, the matched endpoints' veths by name, not every port of the bridge.
      filtered
        ? Promise.all([...found.keys()].map((id) => host.links.find(hostIfnameOf(id)))).then((ls) => ls.filter((l) => l?.master === net.bridgeIndex))
        : host.links.list({ master: net.bridgeIndex }),
      elements(host, PORT_MAPS[4].any),
      elements(host, PORT_MAPS[4].addr),
      elements(host, PORT_MAPS[6].any),
      elements(host, PORT_MAPS[6].addr),
    ]);
  // Without a filter everything is read at once; with one, the anchors first and the rest
  // only when one matches (a CNI DEL of an unknown container costs one dump).
  const unfiltered = filtered ? undefined : readRest();
  // Awaited below; if reading the anchors fails first, its own failure is the one reported.
  unfiltered?.catch(() => undefined);
  const attached = await elements(host, SETS.attached);
  for (const e of attached) {
    const c = parseComment(e.comment);
    if (c?.network !== net.name || c.endpoint === undefined || !Array.isArray(e.key)) continue;
    const ino = Number(e.key[1]);
    if (owner !== undefined && c.owner !== owner) continue;
    if (inode !== undefined && ino !== inode) continue;
    found.set(c.endpoint, { anchor: c as Found['anchor'], inode: ino, ports: [] });
  }
  if (filtered && found.size === 0) return [];
  const [addrs4, addrs6, macs, links, ...maps] = await (unfiltered ?? readRest());
  const each = (list: SetElement[], put: (f: Found, e: SetElement) => void): void => forEachOfEndpoint(list, net.name, found, put);
  putAddresses(each, addrs4, addrs6, macs);
  // An every-address port of a dual-stack endpoint is in both families' maps: reported once,
  // from the IPv4 map (the IPv6 one serves IPv6-only endpoints).
  maps.forEach((list, i) => {
    each(list, (f, e) => {
      if (i === 2 && f.ipv4 !== undefined) return;
      const key = e.key as Array<string | number>;
      const data = e.data as Array<string | number>;
      const [hostIp, proto, hostPort] = i === 1 || i === 3 ? key : ['0.0.0.0', ...key];
      f.ports.push({ protocol: proto === 'udp' || proto === 17 ? 'udp' : 'tcp', hostIp: String(hostIp), hostPort: Number(hostPort), containerPort: Number(data[1]) });
    });
  });
  const tags = new Map<string, EndpointTag>();
  for (const l of links) {
    const t = parseEndpointAlias(l?.alias);
    if (t?.net === net.name) tags.set(t.id, t);
  }
  const out: T[] = [];
  for (const [id, f] of found) {
    const tag = tags.get(id);
    // A connect still under way is not an endpoint yet.
    if (!tag && mayBeInProgress(f.anchor.holder)) continue;
    if ((f.ipv4 === undefined && f.ipv6 === undefined) || f.mac === undefined) continue;
    out.push(
      make({
        id,
        ...(f.anchor.owner !== undefined ? { owner: f.anchor.owner } : {}),
        ...(f.anchor.names ? { names: f.anchor.names } : {}),
        ifname: tag?.if ?? f.anchor.ifname ?? 'eth0',
        hostIfname: hostIfnameOf(id),
        ...(f.ipv4 !== undefined && net.s4 ? { ipv4: f.ipv4, prefixLength: net.s4.prefixLength } : {}),
        ...(f.ipv6 !== undefined ? { ipv6: f.ipv6 } : {}),
        ...(net.s6 ? { prefixLength6: net.s6.prefixLength } : {}),
        mac: f.mac,
        ...(net.internal ? {} : { ...(net.gateway ? { gateway: net.gateway } : {}), ...(net.gateway6 ? { gateway6: net.gateway6 } : {}) }),
        ports: f.ports,
        netnsInode: f.inode,
        ...(tag?.ns !== undefined ? { netnsPath: `${NETNS_RUN_DIR}/${tag.ns}` } : {}),
        ownsNetns: tag?.own ?? false,
        attached: tag !== undefined,
      }),
    );
  }
  return out;
}
