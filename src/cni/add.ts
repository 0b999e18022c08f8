/**
 * CNI ADD: attaches the container's namespace (CNI_NETNS) to the network as interface
 * CNI_IFNAME, with the requested address/MAC, ipam routes and the runtime's port mappings
 * published; the endpoint carries the owner label `CONTAINERID/IFNAME` in the kernel, by
 * which DEL, CHECK and GC find it again. Nothing is left behind on failure.
 * @module
 */
import { ValidationError } from '../errors.js';
import { Netns } from '../netns.js';
import type { BridgeNetwork, ConnectOptions } from '../network/bridge-network.js';
import type { Endpoint } from '../network/endpoint.js';
import type { PublishSpec } from '../network/ports.js';
import { type Addr, formatAddr } from './address.js';
import { type NetConf, wantsDefaultRoute } from './config.js';
import { type CniEnv, ownerOf } from './env.js';
import { CNI_ERR, CniError } from './errors.js';
import { openOrCreate } from './network.js';
import { type CniResult, mergeResults, readResult } from './result.js';

/** Connect attempts when the plugin picks an address in a narrowed range and other calls take the same one first. */
const RANGE_ATTEMPTS = 16;

/** Opens CNI_NETNS; a path that is not a network namespace is a bad environment (code 4). */
export async function openContainerNetns(path: string): Promise<Netns> {
  try {
    return await Netns.open(path);
  } catch (e) {
    throw new CniError(CNI_ERR.INVALID_ENVIRONMENT, `CNI_NETNS ${path} is not a network namespace`, e instanceof Error ? e.message : undefined, { cause: e });
  }
}

function publishSpecs(conf: NetConf): PublishSpec[] {
  return conf.runtime.portMappings.map((m) => ({ hostPort: m.hostPort, containerPort: m.containerPort, protocol: m.protocol, ...(m.hostIP ? { hostIp: m.hostIP } : {}) }));
}

/** Whether a connect() failed because the asked-for address is taken (by a call that got there first). */
function addressTaken(e: unknown): boolean {
  return e instanceof ValidationError && e.field === 'ipv4';
}

/** Connects with an address picked in rangeStart..rangeEnd, from a random place so that concurrent calls rarely collide. */
async function connectInRange(net: BridgeNetwork, ns: Netns, o: ConnectOptions, conf: NetConf): Promise<Endpoint> {
  const r = conf.range4;
  const used = new Set((await net.endpoints()).map((e) => e.ipv4));
  used.add(net.gateway);
  const size = r.rangeEnd - r.rangeStart + 1n;
  const offset = BigInt(Math.floor(Math.random() * Number(size > 1n << 40n ? 1n << 40n : size)));
  let tries = 0;
  for (let i = 0n; i < size && tries < RANGE_ATTEMPTS; i++) {
    const ipv4 = formatAddr({ family: 4, value: r.rangeStart + ((offset + i) % size) });
    if (used.has(ipv4)) continue;
    tries++;
    try {
      return await net.connect(ns, { ...o, ipv4 });
    } catch (e) {
      if (!addressTaken(e)) throw e;
    }
  }
  throw new CniError(CNI_ERR.ADDRESS_UNAVAILABLE, `no free address in ${formatAddr({ family: 4, value: r.rangeStart })}-${formatAddr({ family: 4, value: r.rangeEnd })} of network ${conf.name}`);
}

/** Adds the non-default ipam routes inside the container (the default route is the endpoint's own). */
async function addRoutes(ns: Netns, conf: NetConf, ep: Endpoint): Promise<void> {
  for (const r of conf.routes) {
    const family = r.dst.includes(':') ? 6 : 4;
    if (r.dst === '0.0.0.0/0' || r.dst === '::/0') continue;
    const gateway = r.gw ?? (family === 4 ? ep.gateway : ep.gateway6);
    await ns.routes.add({ dst: r.dst, ...(gateway ? { gateway } : { oif: ep.ifname }) });
  }
}

/** The routes reported in the result: ipam's, plus the default route of isDefaultGateway. */
function resultRoutes(conf: NetConf, ep: Endpoint): CniResult['routes'] {
  const routes = conf.routes.map((r) => {
    const v6 = r.dst.includes(':');
    const gw = r.gw ?? (v6 ? ep.gateway6 : ep.gateway);
    return { dst: r.dst, ...(gw ? { gw } : {}) };
  });
  if (conf.isDefaultGateway) {
    if (ep.gateway && !routes.some((r) => r.dst === '0.0.0.0/0')) routes.push({ dst: '0.0.0.0/0', gw: ep.gateway });
    if (ep.gateway6 && !routes.some((r) => r.dst === '::/0')) routes.push({ dst: '::/0', gw: ep.gateway6 });
  }
  return routes;
}

/** Runs ADD and returns the result (merged after prevResult when the plugin is not first in its chain). */
export async function add(env: CniEnv, conf: NetConf): Promise<CniResult> {
  const ifname = env.ifname as string;
  const prev = conf.prevResult ? readResult(conf.prevResult) : undefined;
  const ns = await openContainerNetns(env.netns as string);
  if (await ns.links.find(ifname)) throw new CniError(CNI_ERR.ALREADY_EXISTS, `interface ${ifname} already exists in ${env.netns}`);
  const net = await openOrCreate(conf);
  const want = (f: 4 | 6): Addr | undefined => conf.runtime.ips.find((a) => a.family === f);
  const ip4 = want(4);
  const ip6 = want(6);
  const options: ConnectOptions = {
    ifname,
    owner: ownerOf(env.containerId as string, ifname),
    defaultRoute: wantsDefaultRoute(conf),
    publish: publishSpecs(conf),
    ...(ip4 ? { ipv4: formatAddr(ip4) } : {}),
    ...(ip6 ? { ipv6: formatAddr(ip6) } : {}),
    ...(conf.runtime.mac ? { mac: conf.runtime.mac } : {}),
  };
  const ep = !ip4 && conf.range4.narrowed ? await connectInRange(net, ns, options, conf) : await net.connect(ns, options);
  try {
    await addRoutes(ns, conf, ep);
    const [bridge, host] = await Promise.all([net.netns.links.find(net.bridge), net.netns.links.find(ep.hostIfname)]);
    const mtu = conf.mtu !== undefined ? { mtu: conf.mtu } : {};
    const ours: CniResult = {
      interfaces: [
        { name: net.bridge, ...(bridge?.address ? { mac: bridge.address } : {}), ...mtu },
        { name: ep.hostIfname, ...(host?.address ? { mac: host.address } : {}), ...mtu },
        { name: ep.ifname, mac: ep.mac, sandbox: env.netns as string, ...mtu },
      ],
      ips: [
        { address: `${ep.ipv4}/${ep.prefixLength}`, ...(conf.isGateway && ep.gateway ? { gateway: ep.gateway } : {}), interface: 2 },
        ...(ep.ipv6 ? [{ address: `${ep.ipv6}/${ep.prefixLength6}`, ...(conf.isGateway && ep.gateway6 ? { gateway: ep.gateway6 } : {}), interface: 2 }] : []),
      ],
      routes: resultRoutes(conf, ep),
      ...(conf.dns ? { dns: conf.dns } : {}),
    };
    return prev ? mergeResults(prev, ours) : ours;
  } catch (e) {
    // Best effort: the runtime needs to see the failure that stopped ADD, not the undo's.
    await ep.remove().catch(() => undefined);
    throw e;
  }
}
