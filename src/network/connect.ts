/**
 * Layer 4 (network): connecting a namespace to a bridge network. Plan (validate, pick
 * the interface name and default route from the namespace itself), then two hops to an
 * addon thread:
 *
 * 1. in the host: the reservation transaction (address, MAC, host ports, attachment,
 *    exclusive; the DNAT and forward-accept elements), then — only if the kernel took it —
 *    the veth in one message with its peer in place, then the bridge-port flags;
 * 2. in the namespace: IPv6 off when the network has none, then lo up, the interface up,
 *    address(es), default route(s); then, in the host, the veth's tag, which marks the
 *    endpoint complete.
 *
 * An address taken by someone else (EEXIST) moves the search on; any other failure undoes
 * what was done. A crash at any instant leaves a reservation naming the veth it is about,
 * so cleanupNetworks() finds everything.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { NetplumbError, ValidationError } from '../errors.js';
import { Batch, type Reply } from '../netlink/batch.js';
import { runPipeline } from '../netlink/pipeline.js';
import { Netns, validateNetnsName } from '../netns.js';
import { encodeAddressAdd } from '../rtnl/address.js';
import { parseMac, formatHw } from '../rtnl/ip.js';
import { encodeLinkAdd, encodeLinkSet, linkEcho } from '../rtnl/link.js';
import { encodeRouteAdd } from '../rtnl/route.js';
import { checkIfname } from '../rtnl/validate.js';
import { type BridgeNetwork, fault } from './bridge-network.js';
import { rollback } from './create.js';
import { purgeEndpoint } from './disconnect.js';
import { Endpoint, isGone } from './endpoint.js';
import { elements, hostIfnameOf } from './endpoints.js';
import { currentHolder, mayBeInProgress } from './holder.js';
import { checkHost, contains, formatAddress, hostCount, macFromIPv4, nextHost, parseAddress } from './ipam.js';
import { type ConnectOptions, bool, checkNames, checkObject, checkOwner } from './options.js';
import { type HeldBinding, PortAllocatedError, type PortRequest, type PublishedPort, bindingsOverlap, choosePorts, heldBindings, needsChoice, normalizePublish, parsePortRange, portElements } from './ports.js';
import { type EndpointReservation, hostIp6Digest, reserveEndpoint } from './reservation.js';
import { FAMILY, SETS, TABLE } from './ruleset.js';
import { type EndpointTag, endpointAlias, parseComment, parseEndpointAlias } from './tag.js';

/** Reservation attempts before giving up (each lost race or taken address costs one). */
const MAX_ATTEMPTS = 64;

/** What the caller fixed, as opposed to what netplumb picks (and may pick again). */
interface Fixed {
  ipv4?: bigint;
  ipv6?: bigint;
  mac?: string;
  ports: PortRequest[];
}

export async function connectEndpoint(net: BridgeNetwork, netns: Netns | undefined, options: ConnectOptions): Promise<Endpoint> {
  checkObject(options);
  if (netns !== undefined && !(netns instanceof Netns)) throw new ValidationError('netns', 'must be a Netns handle');
  if (netns?.closed) throw new ValidationError('netns', 'the namespace handle is closed');
  if (net.internal && options.publish?.length) throw new ValidationError('publish', `network ${net.name} is internal: nothing can be published`);
  if (options.ipv6 !== undefined && !net.s6) throw new ValidationError('ipv6', `network ${net.name} has no IPv6 subnet`);
  const ownsNetns = netns === undefined;
  if (options.netnsName !== undefined && !ownsNetns) throw new ValidationError('netnsName', 'only when netplumb creates the namespace');
  const fixed: Fixed = { ports: normalizePublish(options.publish, net.hostIp, { ipv4: net.s4 !== undefined, ipv6: net.s6 !== undefined }) };
  if (options.mac !== undefined) fixed.mac = formatHw(parseMac(options.mac, 'mac'));
  if (options.ipv4 !== undefined && !net.s4) throw new ValidationError('ipv4', `network ${net.name} is IPv6-only`);
  if (options.ipv4 !== undefined && net.s4) checkHost(net.s4, net.gw4, (fixed.ipv4 = parseAddress(options.ipv4, 'ipv4', 4).value), 'ipv4');
  if (options.ipv6 !== undefined && net.s6) checkHost(net.s6, net.gw6, (fixed.ipv6 = parseAddress(options.ipv6, 'ipv6', 6).value), 'ipv6');
  const owner = options.owner === undefined ? undefined : checkOwner(options.owner);
  const names = checkNames(options.name, options.aliases);
  let ifname = options.ifname === undefined ? undefined : checkIfname(options.ifname, 'ifname');
  const defaultRouteOpt = options.defaultRoute === undefined ? undefined : bool(options.defaultRoute, 'defaultRoute', false);
  if (defaultRouteOpt && net.internal) throw new ValidationError('defaultRoute', `network ${net.name} is internal: it has no way out`);
  if (options.netnsName !== undefined) validateNetnsName(options.netnsName);

  const undo: Array<() => Promise<unknown> | unknown> = [];
  try {
    fault('connect:netns');
    let ns: Netns;
    let defaultRoute: boolean;
    if (netns === undefined) {
      // A named namespace is mounted in /run/netns only once its endpoint is complete: a
      // crash before leaves an anonymous namespace, which dies with this process.
      const created = (ns = await Netns.create());
      undo.push(() => created.close());
      ifname ??= 'eth0';
      defaultRoute = defaultRouteOpt ?? !net.internal;
    } else {
      ns = netns;
      // The namespace itself says which names are free and whether it has a default route.
      const [links, routes] = await Promise.all([
        ifname === undefined ? ns.links.list() : undefined,
        defaultRouteOpt === undefined && !net.internal ? ns.routes.list({ family: net.sp.family, table: 'main' }).catch(noRoutes) : undefined,
      ]);
      if (links) {
        const names = new Set(links.map((l) => l.name));
        let i = 0;
        while (names.has(`eth${i}`)) i++;
        ifname = `eth${i}`;
      }
      defaultRoute = defaultRouteOpt ?? (!net.internal && !(routes ?? []).some((r) => r.dst === (net.s4 ? '0.0.0.0/0' : '::/0')));
    }
    const ifn = ifname as string;
    const id = randomBytes(6).toString('hex');
    const hostIfname = hostIfnameOf(id);
    const holder = currentHolder();

    // Hop 1, repeated while the address search meets addresses taken by others.
    let r: EndpointReservation | undefined;
    let peerIndex = 0;
    let scanned = false;
    // The address the caller fixed in the family the search walks (IPv6 on IPv6-only networks).
    const fixedP = net.s4 ? fixed.ipv4 : fixed.ipv6;
    const ephemeral = needsChoice(fixed.ports) ? parsePortRange(await net.netns.sysctl.get('net.ipv4.ip_local_port_range')) : undefined;
    let ports: PublishedPort[] = [];
    for (let attempt = 1; r === undefined; attempt++) {
      if (attempt > MAX_ATTEMPTS) throw new NetplumbError(`network ${net.name}: no address could be reserved in ${MAX_ATTEMPTS} attempts`, 'EAGAIN');
      const candidate = fixedP ?? (await takeCandidate(net));
      const ipv4 = net.s4 ? formatAddress(4, candidate) : undefined;
      const v6 = net.s4 ? (fixed.ipv6 ?? derive6(net, candidate)) : candidate;
      if (v6 === null) continue; // the IPv6 twin of this address is the IPv6 gateway
      const ipv6 = v6 === undefined ? undefined : formatAddress(6, v6);
      // Ephemeral host ports: chosen among those the kernel holds for no one, again after a lost race.
      ports = ephemeral ? choosePorts(fixed.ports, await readHeld(net), ephemeral, hostIp6Digest) : choosePorts(fixed.ports, [], [1, 1], hostIp6Digest);
      const attempt1: EndpointReservation = {
        network: net.name,
        bridge: net.bridge,
        id,
        ifname: ifn,
        inode: ns.inode,
        ...(ipv4 ? { ipv4 } : {}),
        ...(ipv6 ? { ipv6 } : {}),
        mac: fixed.mac ?? macFromIPv4(candidate & 0xffffffffn),
        ports: portElements(ports, ipv4, ipv6),
        ...(owner !== undefined ? { owner } : {}),
        ...(names.length ? { names } : {}),
      };
      if (fixed.ports.length) fault('connect:publish');
      const tx = net.netns.nft.transaction();
      reserveEndpoint(tx, attempt1, holder, fixedP === undefined ? formatAddress(net.sp.family, nextHost(net.sp, net.gwp, candidate)) : undefined);
      const reserve = tx.seal();
      fault('connect:link');
      const create = new Batch();
      const mtu = net.mtu ? { mtu: net.mtu } : {};
      encodeLinkAdd(create, { kind: 'veth', name: hostIfname, master: net.bridgeIndex, up: true, ...mtu, peer: { name: ifn, netns: ns, address: attempt1.mac, ...mtu } }, { echo: true });
      // Its own sendmsg, after the create: it never runs when the create was refused.
      const flags = new Batch();
      encodeLinkSet(flags, hostIfname, { addrGenMode: 'none', bridgePort: { hairpin: true, ...(net.icc ? {} : { isolated: true }) } });
      const hop1 = await runPipeline([
        { connection: net.netns.netfilter, batch: reserve.batch as Batch },
        { connection: net.netns.route, batch: create },
        { connection: net.netns.route, batch: flags.ackLastOnly() },
      ]);
      const [reserved, created] = hop1.results as [Reply[] | undefined, Reply[] | undefined];
      if (reserved === undefined) {
        // No answer: the reservation may be in place all the same.
        undo.push(() => purgeEndpoint(net.netns, net.name, id));
        throw hop1.error;
      }
      try {
        reserve.complete(reserved);
      } catch (e) {
        await diagnose(net, e, attempt1, fixed, ports, scanned);
        if (e instanceof NetplumbError && e.code === 'EEXIST' && fixedP === undefined) scanned = true;
        continue;
      }
      undo.push(() => net.releases.release(attempt1));
      // Undone by name whatever the replies said (a lost reply does not mean it was not
      // made) — not when the kernel said EEXIST: the name is someone else's.
      if (created?.[0]?.error?.code !== 'EEXIST') undo.push(() => deleteOurVeth(net.netns, hostIfname, id));
      if (hop1.error) throw hop1.error;
      peerIndex = linkEcho(created?.[0] as Reply).link ?? 0;
      if (!peerIndex) throw new NetplumbError(`RTM_NEWLINK ${hostIfname}: the echo names no peer`, 'ERR_NETPLUMB_NO_REPLY');
      r = attempt1;
    }

    // Hop 2: the namespace side, then the tag that marks the endpoint complete.
    fault('connect:configure');
    const inner = new Batch();
    encodeLinkSet(inner, 1, { up: true });
    encodeLinkSet(inner, peerIndex, r.ipv6 ? { up: true } : { addrGenMode: 'none', up: true });
    if (r.ipv4 && net.s4) encodeAddressAdd(inner, { link: peerIndex, address: `${r.ipv4}/${net.s4.prefixLength}`, broadcast: true });
    // NODAD, as libnetwork sets for container addresses: usable the moment connect() resolves.
    if (r.ipv6 && net.s6) encodeAddressAdd(inner, { link: peerIndex, address: `${r.ipv6}/${net.s6.prefixLength}`, nodad: true });
    if (defaultRoute) {
      if (r.ipv4 && net.gateway) encodeRouteAdd(inner, { dst: 'default', gateway: net.gateway });
      if (r.ipv6 && net.gateway6) encodeRouteAdd(inner, { dst: 'default', family: 6, gateway: net.gateway6 });
    }
    const tag: EndpointTag = { id, net: net.name, if: ifn, ino: ns.inode, own: ownsNetns };
    const nsName = ns.name ?? options.netnsName;
    if (nsName !== undefined) tag.ns = nsName;
    const tagging = new Batch();
    encodeLinkSet(tagging, hostIfname, { alias: endpointAlias(tag) });
    const hop2 = await runPipeline([
      ...(r.ipv6 ? [] : [{ nsFd: ns.fd, sysctl: `net/ipv6/conf/${ifn}/disable_ipv6`, value: '1' }]),
      { connection: ns.route, batch: inner.ackLastOnly() },
      { connection: net.netns.route, batch: tagging.ackLastOnly() },
    ]);
    if (hop2.error) throw hop2.error;

    if (ownsNetns && options.netnsName !== undefined) {
      const anonymous = ns;
      const name = options.netnsName;
      // Registered first, and only ever removing our own namespace's name.
      undo.push(() => Netns.unmount(name, { inode: anonymous.inode }));
      await anonymous.mount(name);
      ns = await Netns.open(name);
      anonymous.close();
    }
    return new Endpoint(net, {
      id,
      ...(owner !== undefined ? { owner } : {}),
      ...(names.length ? { names } : {}),
      ifname: ifn,
      hostIfname,
      ...(r.ipv4 && net.s4 ? { ipv4: r.ipv4, prefixLength: net.s4.prefixLength } : {}),
      ...(r.ipv6 ? { ipv6: r.ipv6 } : {}),
      ...(net.s6 ? { prefixLength6: net.s6.prefixLength } : {}),
      mac: r.mac,
      ...(net.internal ? {} : { ...(net.gateway ? { gateway: net.gateway } : {}), ...(net.gateway6 ? { gateway6: net.gateway6 } : {}) }),
      ports,
      netnsInode: ns.inode,
      ...(ns.path !== undefined ? { netnsPath: ns.path } : {}),
      netns: ns,
      ownsNetns,
      attached: true,
    });
  } catch (e) {
    await rollback(undo);
    throw e;
  }
}

/** A namespace whose main table was never used answers a filtered dump with ENOENT. */
function noRoutes(e: unknown): [] {
  if (e instanceof NetplumbError && e.code === 'ENOENT') return [];
  throw e;
}

/** The next address to try: this process's hint, first read from the bridge's cursor in the kernel. */
async function takeCandidate(net: BridgeNetwork): Promise<bigint> {
  if (net.hint === undefined) {
    const set = net.sp.family === 4 ? SETS.cursors : SETS.cursors6;
    const cursor = (await net.netns.nft.listElements(FAMILY, TABLE, set).catch(() => [])).find((e) => e.key === net.bridge);
    const v = cursor?.data === undefined ? undefined : parseAddress(cursor.data, 'cursor', net.sp.family).value;
    // Set only if no concurrent connect of this process set it while we read.
    net.hint ??= v !== undefined && contains(net.sp, v) ? v : nextHost(net.sp, net.gwp, net.sp.network);
  }
  const candidate = net.hint;
  net.hint = nextHost(net.sp, net.gwp, candidate);
  return candidate;
}

/** The IPv6 address with the IPv4 address's host part; null when that is the IPv6 gateway. */
function derive6(net: BridgeNetwork, v4: bigint): bigint | null | undefined {
  if (!net.s6 || !net.s4) return undefined;
  const v = net.s6.network + (v4 - net.s4.network);
  return v === net.gw6 ? null : v;
}

/**
 * Decides what a refused reservation means: throws the caller's error (a taken port,
 * address or MAC the caller asked for, the namespace already on the network), or returns
 * to try again (the search meets an address someone else holds; a race). On the first
 * taken address of a search, reads the taken addresses once and moves the hint past them.
 */
async function diagnose(net: BridgeNetwork, err: unknown, r: EndpointReservation, fixed: Fixed, ports: readonly PublishedPort[], scanned: boolean): Promise<void> {
  if (!(err instanceof NetplumbError) || (err.code !== 'EEXIST' && err.code !== 'ENOENT')) throw err;
  // ENOENT: the bridge's cursor is gone, so is the network.
  if (err.code === 'ENOENT') throw new NetplumbError(`network ${net.name} has been removed`, 'ENOENT', { cause: err });
  const host = net.netns;
  const read = (set: string) => elements(host, set);

  const anchor = (await read(SETS.attached)).find((e) => Array.isArray(e.key) && e.key[0] === net.bridge && Number(e.key[1]) === r.inode);
  if (anchor) {
    const c = parseComment(anchor.comment);
    // An attachment whose endpoint is gone (the namespace's inode was freed and reused) and
    // whose connect is over holds nothing real: reclaim it and try again.
    const veth = c?.endpoint ? await host.links.find(hostIfnameOf(c.endpoint)) : undefined;
    if (c?.endpoint && !veth && !mayBeInProgress(c.holder)) return purgeEndpoint(host, c.network, c.endpoint);
    throw new NetplumbError(`the namespace is already connected to network ${net.name}${c?.endpoint ? ` (endpoint ${c.endpoint})` : ''}`, 'ERR_NETPLUMB_ALREADY_CONNECTED', { cause: err });
  }
  if (ports.length) {
    const held = await readHeld(net);
    for (const [i, p] of ports.entries()) {
      if (!held.some((h) => bindingsOverlap(h, p, hostIp6Digest))) continue;
      // A port netplumb chose is chosen again; one the caller asked for is theirs to change.
      if (fixed.ports[i]?.hostPort === undefined) return;
      throw new PortAllocatedError(p, err);
    }
  }
  const addrs4 = r.ipv4 ? await read(SETS.addrs4) : [];
  if (r.ipv4 && addrs4.some((e) => e.key === r.ipv4)) {
    if (fixed.ipv4 !== undefined) throw new ValidationError('ipv4', `${r.ipv4} is already in use on ${net.subnet ?? ''}`, { cause: err });
    if (!scanned) moveHintPast(net, new Set(addrs4.map((e) => String(e.key))), parseAddress(r.ipv4, 'ipv4').value);
    return;
  }
  const addrs6 = r.ipv6 ? await read(SETS.addrs6) : [];
  if (r.ipv6 && addrs6.some((e) => e.key === r.ipv6)) {
    if (fixed.ipv6 !== undefined) throw new ValidationError('ipv6', `${r.ipv6} is already in use on ${net.subnet6 ?? ''}`, { cause: err });
    if (!net.s4 && !scanned) moveHintPast(net, new Set(addrs6.map((e) => String(e.key))), parseAddress(r.ipv6, 'ipv6').value);
    return;
  }
  if ((await read(SETS.macs)).some((e) => e.key === r.mac)) {
    if (fixed.mac !== undefined || (net.s4 ? fixed.ipv4 : fixed.ipv6) !== undefined) throw new ValidationError('mac', `${r.mac} is already in use`, { cause: err });
    return;
  }
  // Held a moment ago, released since: try again.
}

/** Moves the hint to the first address after `from` that `taken` does not hold. */
function moveHintPast(net: BridgeNetwork, taken: Set<string>, from: bigint): void {
  let v = from;
  for (let i = 0n; i < hostCount(net.sp); i++) {
    v = nextHost(net.sp, net.gwp, v);
    if (!taken.has(formatAddress(net.sp.family, v))) {
      net.hint = v;
      return;
    }
  }
  throw new ValidationError(net.s4 ? 'ipv4' : 'ipv6', `no free address left in ${net.sp.cidr}`);
}

/** The host bindings the kernel holds, from both host-port sets. */
async function readHeld(net: BridgeNetwork): Promise<HeldBinding[]> {
  const read = (set: string) => net.netns.nft.listElements(FAMILY, TABLE, set).catch(() => []);
  const [v4, v6] = await Promise.all([read(SETS.hostports), read(SETS.hostports6)]);
  return heldBindings(v4, v6);
}

/** Deletes the veth `name` made for endpoint `id`: untagged (its tagging never ran) or tagged as that endpoint. */
async function deleteOurVeth(host: Netns, name: string, id: string): Promise<void> {
  const l = await host.links.find(name);
  if (l && (!l.alias || parseEndpointAlias(l.alias)?.id === id)) await host.links.delete(l.index).catch((e: unknown) => { if (!isGone(e)) throw e; });
}
