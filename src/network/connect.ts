/**
 * Layer 4 (network): connecting a namespace to a bridge network. Plan (validate; pick the
 * endpoint's id and both veth ends' ifindexes, so every request can be written before
 * anything exists), then one hop to an addon thread that runs, in order, stopping at the
 * first refusal:
 *
 * 1. in the host: the reservation transaction (address(es), MAC, host ports, attachment,
 *    exclusive; the DNAT and forward-accept elements), then — only if the kernel took it —
 *    the veth in one message with its peer in place, then the bridge-port flags;
 * 2. in the namespace: IPv6 off when the network has none (in a namespace netplumb made,
 *    as its default, before the veth), then lo up, the interface up, address(es), the
 *    default route(s); then, in the host, the veth's tag, which marks the endpoint complete.
 *
 * What the caller did not say is asked of the kernel in the same run: the interface is
 * eth0 unless the create is refused because the namespace has one (then the first free
 * ethN, on a second try), and the default route is added unless the namespace has one of
 * the network's primary family (IPv4, or IPv6 on an IPv6-only network): its route table is
 * read before ours goes in; an EEXIST on ours stops the run before the tag, which then goes
 * alone.
 *
 * Connects of one process that reach that hop while another is in flight go together
 * (netlink/group-commit.ts): one reservation transaction and one sendmsg per host batch
 * for all of them, each connect still stopping at, and answered with, its own refusal.
 *
 * An address taken by someone else (EEXIST) moves the search on, as does an ephemeral host
 * port another process took since it was chosen; any other failure undoes what was done. A
 * crash at any instant leaves a reservation naming the veth it is about, so
 * cleanupNetworks() finds everything.
 * @module
 */
import { randomFillSync } from 'node:crypto';
import { NetplumbError, ValidationError } from '../errors.js';
import { Batch, type Reply } from '../netlink/batch.js';
import { NETLINK_ROUTE } from '../netlink/constants.js';
import { runGrouped } from '../netlink/group-commit.js';
import { type PipelineOutcome, type Step, runPipeline } from '../netlink/pipeline.js';
import { Netns, validateNetnsName } from '../netns.js';
import { RT_TABLE_MAIN } from '../rtnl/constants.js';
import { parseIp, parseMac, formatHw } from '../rtnl/ip.js';
import { encodeLinkGet } from '../rtnl/link.js';
import { decodeRoute, encodeRouteDelete, encodeRouteDump } from '../rtnl/route.js';
import { writeAddressAdd, writeBridgePortSetup, writeDefaultRouteAdd, writeLinkAlias, writeLinkUp, writeVethCreate } from '../rtnl/veth-endpoint.js';
import { checkIfname } from '../rtnl/validate.js';
import { type BridgeNetwork, fault, faultInjection } from './bridge-network.js';
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
/** Wait before trying again when the attachment held may be a namespace's gone before this one: its remove takes a veth deletion (~20 ms). */
const STALE_ATTACHMENT_WAIT_MS = 20;
/** Waits for such an attachment before taking it for this namespace's own (a connect of it under way elsewhere). */
const STALE_ATTACHMENT_WAITS = 25;
/** Chosen ifindexes lie in [INDEX_FLOOR, INDEX_CEILING): the kernel counts up from 1, so it reaches them only after 16 million links. */
const INDEX_FLOOR = 1 << 24;
const INDEX_CEILING = 0x7fffffff;

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
  const ifname = options.ifname === undefined ? undefined : checkIfname(options.ifname, 'ifname');
  const defaultRouteOpt = options.defaultRoute === undefined ? undefined : bool(options.defaultRoute, 'defaultRoute', false);
  if (defaultRouteOpt && net.internal) throw new ValidationError('defaultRoute', `network ${net.name} is internal: it has no way out`);
  if (options.netnsName !== undefined) validateNetnsName(options.netnsName);

  const undo: Array<() => Promise<unknown> | unknown> = [];
  try {
    fault('connect:netns');
    let ns: Netns;
    let defaultRoute: boolean | undefined;
    if (netns === undefined) {
      // A named namespace is mounted in /run/netns only once its endpoint is complete: a
      // crash before leaves an anonymous namespace, which dies with this process.
      const created = (ns = await Netns.create());
      undo.push(() => created.close());
      defaultRoute = defaultRouteOpt ?? !net.internal;
    } else {
      ns = netns;
      // Undefined: add one unless the namespace has one (asked of the kernel below).
      defaultRoute = net.internal ? false : defaultRouteOpt;
    }
    let ifn = ifname ?? 'eth0';
    // Not told and not known: the kernel says whether eth0 is taken (the create is refused;
    // a namespace made here has none) and whether the namespace has a default route (read
    // in the same run, before ours).
    const guessIfname = ifname === undefined && !ownsNetns;
    const probeRoute = defaultRoute === undefined;
    const addRoute = defaultRoute ?? true;
    // The namespace's batches go on a socket the addon thread opens there for them (it is
    // in the namespace for the sysctl anyway) and closes after: none is opened on the JS
    // thread, and a live endpoint holds one fd (its namespace).
    const inside = (batch: Batch): Step => ({ nsFd: ns.fd, protocol: NETLINK_ROUTE, batch });
    const bytes = randomSlice(14);
    // Another endpoint's host-side veth may have this id's name (EEXIST): then a new id.
    let id = bytes.toString('hex', 0, 6);
    let hostIfname = hostIfnameOf(id);
    const holder = currentHolder();
    const nsName = ns.name ?? options.netnsName;

    // One hop, repeated while the address search meets addresses taken by others (or, rarely,
    // the ifindexes picked are taken).
    let r: EndpointReservation | undefined;
    let scanned = false;
    // Waits so far for an attachment that may be a gone namespace's (see diagnose).
    const waits = { stale: 0 };
    // An attempt undone for its ifindexes or interface name hands its address to the next.
    let again: bigint | undefined;
    // The address the caller fixed in the family the search walks (IPv6 on IPv6-only networks).
    const fixedP = net.s4 ? fixed.ipv4 : fixed.ipv6;
    const ephemeral = needsChoice(fixed.ports) ? parsePortRange(await net.netns.sysctl.get('net.ipv4.ip_local_port_range')) : undefined;
    let ports: PublishedPort[] = [];
    for (let attempt = 1; r === undefined; attempt++) {
      if (attempt > MAX_ATTEMPTS) throw new NetplumbError(`network ${net.name}: no address could be reserved in ${MAX_ATTEMPTS} attempts`, 'EAGAIN');
      const candidate = fixedP ?? again ?? (await takeCandidate(net));
      again = undefined;
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
      // The cursor (where other processes' searches start) is moved by one connect of this
      // handle at a time: group-committed, every connect would delete and add its element in
      // one transaction, and the kernel's hash set refuses (EBUSY) a key added a 16th time
      // there. This process's own searches go by its hint.
      const moveCursor = fixedP === undefined && !net.cursorMoving;
      reserveEndpoint(tx, attempt1, holder, moveCursor ? formatAddress(net.sp.family, nextHost(net.sp, net.gwp, candidate)) : undefined);
      const reserve = tx.seal();
      fault('connect:link');
      // Both ends' ifindexes chosen here, so the namespace's requests can be written now.
      const [hostIndex, peerIndex] = pickIndexes(bytes, attempt);
      const create = new Batch(512);
      const mtu = net.mtu ? { mtu: net.mtu } : {};
      writeVethCreate(create, { name: hostIfname, index: hostIndex, master: net.bridgeIndex, peerName: ifn, peerIndex, peerAddress: parseMac(attempt1.mac, 'mac'), netnsFd: ns.fd, ...mtu });
      // Its own sendmsg, after the create: it never runs when the create was refused.
      const flags = new Batch(256);
      writeBridgePortSetup(flags, hostIfname, !net.icc);
      // The namespace's requests in one sendmsg: with `probeRoute`, first a read of its
      // routes of the primary family (before ours go in), then lo up, the interface up,
      // address(es), route(s) — the primary family's first.
      const inner = new Batch(1024);
      if (probeRoute) encodeRouteDump(inner, { family: net.sp.family });
      writeLinkUp(inner, 1);
      writeLinkUp(inner, peerIndex, !ipv6);
      if (ipv4 && net.s4) writeAddressAdd(inner, peerIndex, parseIp(ipv4, 'ipv4', 4).bytes, net.s4.prefixLength, `${ipv4}/${net.s4.prefixLength}`);
      // NODAD, as libnetwork sets for container addresses: usable the moment connect() resolves.
      if (ipv6 && net.s6) writeAddressAdd(inner, peerIndex, parseIp(ipv6, 'ipv6', 6).bytes, net.s6.prefixLength, `${ipv6}/${net.s6.prefixLength}`);
      const firstRoute = inner.length;
      const routes: Array<{ dst: 'default'; family: 4 | 6; gateway: string }> = [];
      if (addRoute) {
        if (ipv4 && net.gateway) routes.push({ dst: 'default', family: 4, gateway: net.gateway });
        if (ipv6 && net.gateway6) routes.push({ dst: 'default', family: 6, gateway: net.gateway6 });
      }
      for (const route of routes) writeDefaultRouteAdd(inner, parseIp(route.gateway, 'gateway', route.family).bytes);
      // The carrier that eth0's up gave both ends takes effect (the bridge port forwards,
      // the queues transmit) only when the kernel's linkwatch work runs, which waits for
      // rtnl_mutex behind whatever holds it. A targeted RTM_GETLINK runs a device's pending
      // linkwatch event there and then, so connect() never resolves before the endpoint
      // passes traffic: one for eth0 here, one for the host end after its tag.
      encodeLinkGet(inner, peerIndex);
      const tagging = new Batch(512);
      const tag: EndpointTag = { id, net: net.name, if: ifn, ino: ns.inode, own: ownsNetns, ...(nsName !== undefined ? { ns: nsName } : {}) };
      writeLinkAlias(tagging, hostIfname, endpointAlias(tag));
      encodeLinkGet(tagging, hostIfname);
      const [epId, vethName] = [id, hostIfname];
      // The host's batches may be group-committed with concurrent connects' (one transaction,
      // one sendmsg each); the namespace's go alone.
      const steps: Step[] = [{ connection: net.netns.netfilter, batch: reserve.batch as Batch, merge: 'transaction' }];
      // IPv6 off on the interface when the network has none. In a namespace made here, as
      // the namespace's default before the veth exists (eth0 is born with it): writing a
      // device's disable_ipv6 needs rtnl_mutex, which the kernel's link workers hold right
      // after a create, and the write then spins (restart_syscall) until they let go.
      if (!ipv6 && ownsNetns) steps.push({ nsFd: ns.fd, sysctl: 'net/ipv6/conf/default/disable_ipv6', value: '1' });
      const createStep = steps.push({ connection: net.netns.route, batch: create, merge: 'messages' }) - 1;
      steps.push({ connection: net.netns.route, batch: flags.ackLastOnly(), merge: 'messages' });
      // The configuration starts here: at the device's sysctl, or at the namespace's batch.
      const configureStep = steps.length;
      if (!ipv6 && !ownsNetns) steps.push({ nsFd: ns.fd, sysctl: `net/ipv6/conf/${ifn}/disable_ipv6`, value: '1' });
      // When the namespace has a default route, the kernel refuses ours (EEXIST) and the run
      // stops before the tag, which then goes alone.
      const innerStep = steps.push(inside(inner.ackLastOnly())) - 1;
      steps.push({ connection: net.netns.route, batch: tagging.ackLastOnly(), merge: 'messages' });
      const mark = undo.length;
      let run: PipelineOutcome;
      // Taken here, with no await since the check: no other connect of this handle got between.
      if (moveCursor) net.cursorMoving = true;
      try {
        run = await runSteps(steps, configureStep);
      } finally {
        if (moveCursor) net.cursorMoving = false;
      }
      const reserved = run.results[0] as Reply[] | undefined;
      const created = run.results[createStep] as Reply[] | undefined;
      if (reserved === undefined) {
        // No answer: the reservation may be in place all the same.
        undo.push(() => purgeEndpoint(net.netns, net.name, epId));
        throw run.error;
      }
      try {
        reserve.complete(reserved);
      } catch (e) {
        await diagnose(net, ownsNetns ? undefined : ns, e, attempt1, fixed, ports, scanned, waits);
        if (e instanceof NetplumbError && e.code === 'EEXIST' && fixedP === undefined) scanned = true;
        continue;
      }
      undo.push(() => net.releases.release(attempt1));
      const createError = created?.[0]?.error?.code;
      // Undone by name whatever the replies said (a lost reply does not mean it was not
      // made) — not when the kernel said EEXIST: the name is someone else's.
      if (createError !== 'EEXIST') undo.push(() => deleteOurVeth(net.netns, vethName, epId));
      if (run.failedStep === createStep && (createError === 'EBUSY' || createError === 'EEXIST')) {
        // An ifindex picked is taken (EBUSY), or a name (EEXIST): the host-side one (another
        // endpoint's id begins alike) or, when netplumb picked it, the interface's in the
        // namespace. Undo this attempt and try again with other indexes, another id or the
        // namespace's first free ethN.
        if (createError === 'EEXIST') {
          if (await net.netns.links.find(hostIfname)) {
            randomFillSync(bytes, 0, 6);
            id = bytes.toString('hex', 0, 6);
            hostIfname = hostIfnameOf(id);
          } else {
            const next = guessIfname ? await freeIfname(ns) : ifn;
            if (next === ifn) throw run.error;
            ifn = next;
          }
        }
        await rollback(undo.splice(mark));
        again = candidate;
        continue;
      }
      const innerReplies = run.results[innerStep] as Reply[] | undefined;
      const refused = innerReplies?.filter((x) => x.error) ?? [];
      if (probeRoute && run.failedStep === innerStep && refused.length === 1 && refused[0] === innerReplies?.[firstRoute] && refused[0]?.error?.code === 'EEXIST') {
        // The namespace has a default route: it keeps it, and gets none from this network
        // (an IPv6 one sent after the IPv4 one, in the same sendmsg, goes again).
        const hop2: Step[] = [];
        if (routes.length > 1) {
          const rest = new Batch(256);
          for (const route of routes.slice(1)) encodeRouteDelete(rest, route);
          hop2.push(inside(rest));
        }
        hop2.push({ connection: net.netns.route, batch: tagging });
        const rest = await runPipeline(hop2);
        if (rest.error) throw rest.error;
      } else if (run.error) {
        throw run.error;
      } else if (probeRoute && hasDefaultRoute(innerReplies?.[0], net.sp.family)) {
        // It had one of another metric (so ours was not refused): ours go again.
        const remove = new Batch(256);
        for (const route of routes) encodeRouteDelete(remove, route);
        const removed = await runPipeline([inside(remove)]);
        if (removed.error) throw removed.error;
      }
      r = attempt1;
    }

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

/**
 * Runs the pipeline. With a test's fault hook installed, in two runs around the
 * `connect:configure` step (after the veth, before the namespace's configuration), so a
 * fault there leaves what a crash at that instant leaves; otherwise in one.
 */
async function runSteps(steps: Step[], configure: number): Promise<PipelineOutcome> {
  if (faultInjection.hook === undefined) return runGrouped(steps);
  const first = await runPipeline(steps.slice(0, configure));
  const notRun = steps.slice(configure).map(() => undefined);
  if (first.error) return { ...first, results: [...first.results, ...notRun] };
  try {
    fault('connect:configure');
  } catch (e) {
    // As a refusal at that step: the caller undoes what the first run did.
    return { results: [...first.results, ...notRun], error: e as Error, failedStep: configure };
  }
  const rest = await runPipeline(steps.slice(configure));
  return {
    results: [...first.results, ...rest.results],
    ...(rest.error ? { error: rest.error, failedStep: configure + (rest.failedStep ?? 0) } : {}),
  };
}

/** Random bytes for ids and ifindexes, cut from a pool filled 4 KiB at a time (one call into the CSPRNG per ~290 connects, not one each). */
let randomPool = Buffer.alloc(0);
let randomAt = 0;
function randomSlice(n: number): Buffer {
  if (randomAt + n > randomPool.length) {
    randomPool = randomFillSync(Buffer.allocUnsafe(4096));
    randomAt = 0;
  }
  const out = Buffer.from(randomPool.subarray(randomAt, randomAt + n));
  randomAt += n;
  return out;
}

/** The ifindexes of a new veth's two ends: random, far above what the kernel hands out in order (a clash is EBUSY, then the next attempt picks again). */
function pickIndexes(bytes: Buffer, attempt: number): [number, number] {
  if (attempt > 1) randomFillSync(bytes, 6, 8);
  const pick = (at: number) => INDEX_FLOOR + (bytes.readUInt32LE(at) % (INDEX_CEILING - INDEX_FLOOR));
  return [pick(6), pick(10)];
}

/** The namespace's first interface name ethN that is free. */
async function freeIfname(ns: Netns): Promise<string> {
  const names = new Set((await ns.links.list()).map((l) => l.name));
  let i = 0;
  while (names.has(`eth${i}`)) i++;
  return `eth${i}`;
}

/** Whether a route dump's reply holds a default route of the main table in `family`. */
function hasDefaultRoute(reply: Reply | undefined, family: 4 | 6): boolean {
  const dst = family === 4 ? '0.0.0.0/0' : '::/0';
  return (reply?.messages ?? []).some((m) => {
    const route = decodeRoute(m);
    return route.table === RT_TABLE_MAIN && route.dst === dst;
  });
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
 * `ns` is the caller's namespace (undefined for one connect() made: it is on no network).
 */
async function diagnose(net: BridgeNetwork, ns: Netns | undefined, err: unknown, r: EndpointReservation, fixed: Fixed, ports: readonly PublishedPort[], scanned: boolean, waits: { stale: number }): Promise<void> {
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
    // The kernel gives a freed namespace's inode number to the next namespace made, so an
    // attachment that a remove under way has not released yet can name this inode for a
    // namespace gone before this one: then it is released a moment later. It is this one's
    // when its veth's peer is here — or, with no veth yet, when it stays (a connect of this
    // namespace under way elsewhere).
    const peer = ns && veth?.link !== undefined ? await ns.links.find(veth.link) : undefined;
    const here = peer !== undefined && peer.link === veth?.index;
    if (c?.endpoint && !here && waits.stale++ < STALE_ATTACHMENT_WAITS) {
      await new Promise((resolve) => setTimeout(resolve, STALE_ATTACHMENT_WAIT_MS));
      return;
    }
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
