/**
 * Layer 4 (network): connecting a namespace to a macvlan (or ipvlan) network. One
 * nftables transaction reserves, exclusively, the address(es), MAC and the namespace's
 * attachment; then the interface is created directly inside the namespace in one message
 * (RTM_NEWLINK with IFLA_LINK naming the parent and IFLA_NET_NS_FD the namespace), and
 * configured there in one batch (lo up, the interface up, addresses, default route via the
 * LAN's gateway); last the anchor is rewritten as finished, which marks the endpoint
 * complete — there is no host-side link to carry a tag. A failure at any step undoes the
 * steps before it.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { NetplumbError, ValidationError } from '../../errors.js';
import { Netns, validateNetnsName } from '../../netns.js';
import { RtnlBatch } from '../../rtnl/batch.js';
import { formatHw, parseMac } from '../../rtnl/ip.js';
import { checkIfname } from '../../rtnl/validate.js';
import { rollback } from '../create.js';
import { purgeEndpoint } from '../disconnect.js';
import { Endpoint, isGone } from '../endpoint.js';
import { currentHolder, mayBeInProgress } from '../holder.js';
import { checkHost, formatAddress, macFromIPv4, parseAddress } from '../ipam.js';
import { type ConnectOptions, bool, checkObject, checkOwner } from '../options.js';
import { type EndpointReservation, reserveEndpoint } from '../reservation.js';
import { FAMILY, SETS, TABLE, elementsOf } from '../ruleset.js';
import { doneComment, parseComment } from '../tag.js';
import { nextInRange, rangeSize } from './ipam.js';
import type { MacvlanShape } from './options.js';
import type { LinkSpec, NetnsTarget } from '../../rtnl/link.js';
import type { MacvlanNetwork } from './macvlan-network.js';

/** Options of {@link MacvlanNetwork.connect}: a bridge network's, without published ports. */
export type MacvlanConnectOptions = Omit<ConnectOptions, 'publish'>;

const MAX_ATTEMPTS = 64;

export async function connectMacvlan(net: MacvlanNetwork, netns: Netns | undefined, options: MacvlanConnectOptions): Promise<Endpoint> {
  checkObject(options);
  if (netns !== undefined && !(netns instanceof Netns)) throw new ValidationError('netns', 'must be a Netns handle');
  if (netns?.closed) throw new ValidationError('netns', 'the namespace handle is closed');
  if ((options as ConnectOptions).publish !== undefined) {
    throw new ValidationError('publish', `network ${net.name} is a ${net.driver} network: its endpoints are on the LAN with their own addresses, there is nothing to publish`);
  }
  const shape = net.shape;
  if (options.ipv4 !== undefined && !shape.s4) throw new ValidationError('ipv4', `network ${net.name} has no IPv4 subnet`);
  if (options.ipv6 !== undefined && !shape.s6) throw new ValidationError('ipv6', `network ${net.name} has no IPv6 subnet`);
  if (options.mac !== undefined && shape.tag.ipvlan) throw new ValidationError('mac', 'ipvlan endpoints share the parent\'s MAC');
  const ownsNetns = netns === undefined;
  if (options.netnsName !== undefined && !ownsNetns) throw new ValidationError('netnsName', 'only when netplumb creates the namespace');
  if (options.netnsName !== undefined) validateNetnsName(options.netnsName);
  const mac = options.mac === undefined ? undefined : formatHw(parseMac(options.mac, 'mac'));
  let ipv4 = options.ipv4 === undefined ? undefined : parseAddress(options.ipv4, 'ipv4', 4).value;
  let ipv6 = options.ipv6 === undefined ? undefined : parseAddress(options.ipv6, 'ipv6', 6).value;
  if (ipv4 !== undefined && shape.s4) checkHost(shape.s4, shape.gw4, ipv4, 'ipv4');
  if (ipv6 !== undefined && shape.s6) checkHost(shape.s6, shape.gw6, ipv6, 'ipv6');
  const owner = options.owner === undefined ? undefined : checkOwner(options.owner);
  const defaultRoute = options.defaultRoute === undefined ? !shape.tag.internal : bool(options.defaultRoute, 'defaultRoute', false);
  if (defaultRoute && shape.tag.internal) throw new ValidationError('defaultRoute', `network ${net.name} is internal: it has no way out`);
  let ifname = options.ifname === undefined ? undefined : checkIfname(options.ifname, 'ifname');
  const fixedP = shape.range.family === 4 ? ipv4 : ipv6;

  const host = net.netns;
  const undo: Array<() => Promise<unknown> | unknown> = [];
  try {
    let ns: Netns;
    if (netns === undefined) {
      const created = (ns = await Netns.create());
      undo.push(() => created.close());
      ifname ??= 'eth0';
    } else {
      ns = netns;
      if (ifname === undefined) {
        const names = new Set((await ns.links.list()).map((l) => l.name));
        let i = 0;
        while (names.has(`eth${i}`)) i++;
        ifname = `eth${i}`;
      }
    }
    const ifn = ifname;
    const id = randomBytes(6).toString('hex');

    let r: EndpointReservation | undefined;
    for (let attempt = 1; r === undefined; attempt++) {
      if (attempt > MAX_ATTEMPTS) throw new NetplumbError(`network ${net.name}: no address could be reserved in ${MAX_ATTEMPTS} attempts`, 'EAGAIN');
      const candidate = fixedP ?? (await takeCandidate(net));
      const v4 = shape.range.family === 4 ? candidate : ipv4;
      const v6 = shape.range.family === 6 ? candidate : (ipv6 ?? derive6(net, candidate));
      const attempt1: EndpointReservation = {
        network: net.name,
        bridge: net.shim,
        id,
        ifname: ifn,
        inode: ns.inode,
        ...(v4 !== undefined ? { ipv4: formatAddress(4, v4) } : {}),
        ...(v6 !== undefined ? { ipv6: formatAddress(6, v6) } : {}),
        // ipvlan endpoints share the parent's MAC: the one reserved only keeps the key unique.
        mac: mac ?? macFromIPv4(candidate & 0xffffffffn),
        ports: [],
        ...(owner !== undefined ? { owner } : {}),
      };
      const tx = host.nft.transaction();
      reserveEndpoint(tx, attempt1, currentHolder(), fixedP === undefined ? formatAddress(shape.range.family, nextInRange(shape, candidate)) : undefined);
      try {
        await tx.commit();
      } catch (e) {
        await diagnose(net, e, attempt1, fixedP !== undefined, mac !== undefined);
        continue;
      }
      undo.push(() => net.releases.release(attempt1));
      r = attempt1;
    }

    // The interface, created inside the namespace in one message.
    let taken = false;
    undo.push(() => (taken ? undefined : ns.links.delete(ifn).catch((e: unknown) => { if (!isGone(e)) throw e; })));
    await new RtnlBatch(host)
      .linkAdd(endpointLinkSpec(shape, ifn, net.parentIndex, ns, r.mac))
      .commit()
      .catch((e: unknown) => {
        taken = e instanceof NetplumbError && e.code === 'EEXIST';
        throw e;
      });

    // Inside: one batch.
    const link = await ns.links.get(ifn);
    const inner = new RtnlBatch(ns).linkSet(1, { up: true });
    inner.linkSet(link.index, r.ipv6 ? { up: true } : { addrGenMode: 'none', up: true });
    if (r.ipv4 && shape.s4) inner.addressAdd({ link: link.index, address: `${r.ipv4}/${shape.s4.prefixLength}`, broadcast: true });
    // NODAD as on bridge networks: usable the moment connect() resolves.
    if (r.ipv6 && shape.s6) inner.addressAdd({ link: link.index, address: `${r.ipv6}/${shape.s6.prefixLength}`, nodad: true });
    if (defaultRoute) {
      if (r.ipv4 && shape.tag.gateway) inner.routeAdd({ dst: 'default', gateway: shape.tag.gateway });
      if (r.ipv6 && shape.tag.gateway6) inner.routeAdd({ dst: 'default', family: 6, gateway: shape.tag.gateway6 });
    }
    await inner.commit();

    let nsName = ns.name ?? options.netnsName;
    if (ownsNetns && options.netnsName !== undefined) {
      const anonymous = ns;
      const name = options.netnsName;
      undo.push(() => Netns.unmount(name, { inode: anonymous.inode }));
      await anonymous.mount(name);
      ns = await Netns.open(name);
      anonymous.close();
      nsName = name;
    }

    // The finished anchor is the endpoint's tag.
    const done = host.nft.transaction();
    const anchorKey = [{ key: [net.shim, r.inode] }];
    done.deleteElements(elementsOf(SETS.attached, anchorKey));
    done.createElements(elementsOf(SETS.attached, [{ key: [net.shim, r.inode], comment: doneComment(net.name, id, { ifname: ifn, ...(nsName !== undefined ? { ns: nsName } : {}), own: ownsNetns, ...(owner !== undefined ? { owner } : {}) }) }]));
    await done.commit();

    return new Endpoint(net, {
      id,
      ...(owner !== undefined ? { owner } : {}),
      ifname: ifn,
      hostIfname: '',
      ...(r.ipv4 && shape.s4 ? { ipv4: r.ipv4, prefixLength: shape.s4.prefixLength } : {}),
      ...(r.ipv6 && shape.s6 ? { ipv6: r.ipv6, prefixLength6: shape.s6.prefixLength } : {}),
      mac: shape.tag.ipvlan ? (link.address ?? r.mac) : r.mac,
      ...(defaultRoute ? { ...(r.ipv4 && shape.tag.gateway ? { gateway: shape.tag.gateway } : {}), ...(r.ipv6 && shape.tag.gateway6 ? { gateway6: shape.tag.gateway6 } : {}) } : {}),
      ports: [],
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

  function derive6(n: MacvlanNetwork, v4: bigint): bigint | undefined {
    if (!n.shape.s6 || !n.shape.s4) return undefined;
    const v = n.shape.s6.network + (v4 - n.shape.s4.network);
    return v === n.shape.gw6 ? v + 0x10000n : v;
  }
}

/**
 * The one RTM_NEWLINK that makes an endpoint's interface inside its namespace: a macvlan in
 * bridge mode with the reserved MAC, or an ipvlan (which has the parent's). @internal
 */
export function endpointLinkSpec(shape: MacvlanShape, ifname: string, parentIndex: number, ns: NetnsTarget, mac: string): LinkSpec {
  const mtu = shape.tag.mtu ? { mtu: shape.tag.mtu } : {};
  return shape.tag.ipvlan
    ? { kind: 'ipvlan', name: ifname, link: parentIndex, netns: ns, ...mtu, ipvlan: { mode: shape.tag.ipvlan, flags: 0 } }
    : { kind: 'macvlan', name: ifname, link: parentIndex, netns: ns, address: mac, ...mtu, macvlan: { mode: 'bridge' } };
}

/** The next address to try: this process's hint, first read from the network's cursor in the kernel. */
async function takeCandidate(net: MacvlanNetwork): Promise<bigint> {
  const { range } = net.shape;
  if (net.hint === undefined) {
    const set = range.family === 4 ? SETS.cursors : SETS.cursors6;
    const cursor = (await net.netns.nft.listElements(FAMILY, TABLE, set).catch(() => [])).find((e) => e.key === net.shim);
    const v = cursor?.data === undefined ? undefined : parseAddress(cursor.data, 'cursor', range.family).value;
    net.hint ??= v !== undefined && v >= range.first && v <= range.last ? v : nextInRange(net.shape, range.first - 1n);
  }
  const candidate = net.hint;
  net.hint = nextInRange(net.shape, candidate);
  return candidate;
}

/** What a refused reservation means: the caller's error, or (returning) try again. */
async function diagnose(net: MacvlanNetwork, err: unknown, r: EndpointReservation, fixedAddress: boolean, fixedMac: boolean): Promise<void> {
  if (!(err instanceof NetplumbError) || (err.code !== 'EEXIST' && err.code !== 'ENOENT')) throw err;
  if (err.code === 'ENOENT') throw new NetplumbError(`network ${net.name} has been removed`, 'ENOENT', { cause: err });
  const host = net.netns;
  const read = (set: string) => host.nft.listElements(FAMILY, TABLE, set).catch(() => []);
  const anchor = (await read(SETS.attached)).find((e) => Array.isArray(e.key) && e.key[0] === net.shim && Number(e.key[1]) === r.inode);
  if (anchor) {
    const c = parseComment(anchor.comment);
    // An unfinished attachment of a connect that is over holds nothing real: reclaim it.
    if (c?.endpoint && !c.done && !mayBeInProgress(c.holder)) return purgeEndpoint(host, c.network, c.endpoint);
    throw new NetplumbError(`the namespace is already connected to network ${net.name}${c?.endpoint ? ` (endpoint ${c.endpoint})` : ''}`, 'ERR_NETPLUMB_ALREADY_CONNECTED', { cause: err });
  }
  const taken = new Set([...(await read(SETS.addrs4)), ...(await read(SETS.addrs6))].map((e) => String(e.key)));
  const mine = net.shape.range.family === 4 ? r.ipv4 : r.ipv6;
  if (mine !== undefined && taken.has(mine)) {
    if (fixedAddress) throw new ValidationError(net.shape.range.family === 4 ? 'ipv4' : 'ipv6', `${mine} is already in use on network ${net.name}`, { cause: err });
    if (BigInt(taken.size) >= rangeSize(net.shape)) throw new ValidationError('ipv4', `no free address left in network ${net.name}`, { cause: err });
    return;
  }
  const other = net.shape.range.family === 4 ? r.ipv6 : r.ipv4;
  if (other !== undefined && taken.has(other)) throw new ValidationError(net.shape.range.family === 4 ? 'ipv6' : 'ipv4', `${other} is already in use on network ${net.name}`, { cause: err });
  if ((await read(SETS.macs)).some((e) => e.key === r.mac)) {
    if (fixedMac || fixedAddress) throw new ValidationError('mac', `${r.mac} is already in use`, { cause: err });
    return;
  }
  // Held a moment ago, released since: try again.
}
