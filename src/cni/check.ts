/**
 * CNI CHECK: compares what the kernel holds for the attachment CONTAINERID/IFNAME with the
 * runtime's prevResult and reports every difference (code 104, one per line in
 * `details`): the endpoint and its namespace, the interface (up, MAC), its addresses, the
 * routes, the host-side veth on the bridge, and the published ports.
 * @module
 */
import type { Netns } from '../netns.js';
import type { BridgeNetwork } from '../network/bridge-network.js';
import type { Endpoint } from '../network/endpoint.js';
import type { NetConf } from './config.js';
import { type CniEnv, ownerOf } from './env.js';
import { CNI_ERR, CniError } from './errors.js';
import { openContainerNetns } from './add.js';
import { openNetwork } from './network.js';
import { type CniResult, readResult } from './result.js';

/** What the container's namespace holds for the endpoint. */
async function checkNamespace(ns: Netns, ep: Endpoint, prev: CniResult, conf: NetConf, diffs: string[]): Promise<void> {
  const link = await ns.links.find(ep.ifname);
  if (!link) {
    diffs.push(`interface ${ep.ifname} is missing from the container's namespace`);
    return;
  }
  if (!link.up) diffs.push(`interface ${ep.ifname} is down`);
  if (link.address !== ep.mac) diffs.push(`interface ${ep.ifname} has MAC ${link.address}, the endpoint ${ep.mac}`);
  const have = new Set((await ns.addresses.list({ link: link.index })).map((a) => `${a.address}/${a.prefixlen}`));
  const idx = prev.interfaces.findIndex((i) => i.name === ep.ifname && i.sandbox !== undefined);
  for (const ip of prev.ips.filter((i) => i.interface === idx)) if (!have.has(ip.address)) diffs.push(`address ${ip.address} is missing from ${ep.ifname}`);
  const routes = await ns.routes.list();
  // Only the routes this plugin installs: other plugins of the chain answer for theirs.
  const ours = new Set(conf.routes.map((r) => r.dst));
  if (conf.isDefaultGateway) ours.add('0.0.0.0/0');
  for (const r of prev.routes.filter((p) => ours.has(p.dst))) {
    const found = routes.some((k) => k.dst === r.dst && (r.gw === undefined || k.gateway === r.gw));
    if (!found) diffs.push(`route ${r.dst}${r.gw ? ` via ${r.gw}` : ''} is missing from the container's namespace`);
  }
}

/** prevResult against the endpoint read from the kernel. */
function checkResult(ep: Endpoint, prev: CniResult, env: CniEnv, diffs: string[]): void {
  const iface = prev.interfaces.find((i) => i.name === ep.ifname && i.sandbox !== undefined);
  if (!iface) {
    diffs.push(`prevResult has no interface ${ep.ifname} with a sandbox`);
    return;
  }
  if (iface.mac !== undefined && iface.mac.toLowerCase() !== ep.mac) diffs.push(`prevResult says MAC ${iface.mac}, the kernel ${ep.mac}`);
  if (iface.sandbox !== env.netns) diffs.push(`prevResult says sandbox ${iface.sandbox}, CNI_NETNS is ${env.netns}`);
  const idx = prev.interfaces.indexOf(iface);
  const mine = new Set([`${ep.ipv4}/${ep.prefixLength}`, ...(ep.ipv6 ? [`${ep.ipv6}/${ep.prefixLength6}`] : [])]);
  const listed = new Set(prev.ips.filter((i) => i.interface === idx).map((i) => i.address));
  for (const a of listed) if (!mine.has(a)) diffs.push(`prevResult says address ${a}, the endpoint has ${[...mine].join(', ')}`);
  for (const a of mine) if (!listed.has(a)) diffs.push(`the endpoint's address ${a} is not in prevResult`);
}

/** The host side: the veth exists, is up, and is a port of the bridge. */
async function checkHost(net: BridgeNetwork, ep: Endpoint, diffs: string[]): Promise<void> {
  const [bridge, veth] = await Promise.all([net.netns.links.find(net.bridge), net.netns.links.find(ep.hostIfname)]);
  if (!bridge) diffs.push(`bridge ${net.bridge} is missing`);
  if (!veth) diffs.push(`host interface ${ep.hostIfname} is missing`);
  else {
    if (!veth.up) diffs.push(`host interface ${ep.hostIfname} is down`);
    if (bridge && veth.master !== bridge.index) diffs.push(`host interface ${ep.hostIfname} is not a port of ${net.bridge}`);
  }
}

/** The runtime's port mappings against the endpoint's published ports (when the runtime passed them). */
function checkPorts(conf: NetConf, ep: Endpoint, diffs: string[]): void {
  const rc = conf.raw.runtimeConfig as Record<string, unknown> | undefined;
  if (!rc || rc.portMappings === undefined) return;
  const key = (p: { protocol: string; hostPort: number; containerPort: number; hostIp?: string }): string => `${p.hostIp && p.hostIp !== '0.0.0.0' && p.hostIp !== '::' ? p.hostIp : '*'}:${p.hostPort}->${p.containerPort}/${p.protocol}`;
  const want = new Set(conf.runtime.portMappings.map((m) => key({ ...m, ...(m.hostIP ? { hostIp: m.hostIP } : {}) })));
  const have = new Set(ep.ports.map(key));
  for (const k of want) if (!have.has(k)) diffs.push(`port ${k} is not published`);
  for (const k of have) if (!want.has(k)) diffs.push(`port ${k} is published but not in runtimeConfig.portMappings`);
}

/** Runs CHECK: resolves when everything matches. */
export async function check(env: CniEnv, conf: NetConf): Promise<void> {
  if (!conf.prevResult) throw new CniError(CNI_ERR.INVALID_CONFIG, 'CHECK needs prevResult');
  const prev = readResult(conf.prevResult);
  const net = await openNetwork(conf.name);
  if (!net) throw new CniError(CNI_ERR.CHECK_MISMATCH, `network ${conf.name} does not exist`);
  const owner = ownerOf(env.containerId as string, env.ifname as string);
  const eps = await net.endpoints({ owner });
  const ep = eps[0];
  if (!ep) throw new CniError(CNI_ERR.UNKNOWN_CONTAINER, `no attachment ${owner} on network ${conf.name}`);
  const diffs: string[] = [];
  if (!ep.attached) diffs.push(`the endpoint's interface is gone (its namespace was deleted)`);
  if (eps.length > 1) diffs.push(`${eps.length} endpoints carry owner ${owner}`);
  const ns = await openContainerNetns(env.netns as string);
  if (ns.inode !== ep.netnsInode) diffs.push(`the endpoint lives in namespace inode ${ep.netnsInode}, CNI_NETNS ${env.netns} is inode ${ns.inode}`);
  checkResult(ep, prev, env, diffs);
  await checkNamespace(ns, ep, prev, conf, diffs);
  await checkHost(net, ep, diffs);
  checkPorts(conf, ep, diffs);
  if (diffs.length) throw new CniError(CNI_ERR.CHECK_MISMATCH, `CHECK ${owner}: ${diffs.length} difference(s) from prevResult`, diffs.join('\n'));
}
