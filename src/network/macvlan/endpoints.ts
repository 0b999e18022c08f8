/**
 * Layer 4 (network): a macvlan network's endpoints, read back from the kernel — the
 * reservation elements (attachment, addresses, MAC) whose anchor is finished — so every
 * process sees the endpoints every other process connected.
 * @module
 */
import { NETNS_RUN_DIR } from '../../netns.js';
import type { EndpointInit } from '../endpoint.js';
import { type EndpointFilter, checkFilter, elements, forEachOfEndpoint, putAddresses } from '../endpoints.js';
import { SETS } from '../ruleset.js';
import { type ParsedComment, parseComment } from '../tag.js';
import type { MacvlanNetwork } from './macvlan-network.js';

/** The finished endpoints of `net` matching `filter`, made into objects by `make`. */
export async function readMacvlanEndpoints<T>(net: MacvlanNetwork, filter: EndpointFilter, make: (init: EndpointInit) => T): Promise<T[]> {
  const { owner, inode } = checkFilter(filter);
  const host = net.netns;
  const [attached, addrs4, addrs6, macs] = await Promise.all([elements(host, SETS.attached), elements(host, SETS.addrs4), elements(host, SETS.addrs6), elements(host, SETS.macs)]);
  const found = new Map<string, { anchor: ParsedComment; inode: number; ipv4?: string; ipv6?: string; mac?: string }>();
  for (const e of attached) {
    const c = parseComment(e.comment);
    if (c?.network !== net.name || !c.endpoint || !c.done || !Array.isArray(e.key)) continue;
    const ino = Number(e.key[1]);
    if ((owner !== undefined && c.owner !== owner) || (inode !== undefined && ino !== inode)) continue;
    found.set(c.endpoint, { anchor: c, inode: ino });
  }
  putAddresses((list, put) => forEachOfEndpoint(list, net.name, found, put), addrs4, addrs6, macs);
  const { shape } = net;
  const out: T[] = [];
  for (const [id, f] of found) {
    if (f.mac === undefined) continue;
    const routed = !shape.tag.internal;
    out.push(
      make({
        id,
        ...(f.anchor.owner !== undefined ? { owner: f.anchor.owner } : {}),
        ifname: f.anchor.ifname ?? 'eth0',
        hostIfname: '',
        ...(f.ipv4 !== undefined && shape.s4 ? { ipv4: f.ipv4, prefixLength: shape.s4.prefixLength } : {}),
        ...(f.ipv6 !== undefined && shape.s6 ? { ipv6: f.ipv6, prefixLength6: shape.s6.prefixLength } : {}),
        mac: f.mac,
        ...(routed && f.ipv4 !== undefined && shape.tag.gateway ? { gateway: shape.tag.gateway } : {}),
        ...(routed && f.ipv6 !== undefined && shape.tag.gateway6 ? { gateway6: shape.tag.gateway6 } : {}),
        ports: [],
        netnsInode: f.inode,
        ...(f.anchor.ns !== undefined ? { netnsPath: `${NETNS_RUN_DIR}/${f.anchor.ns}` } : {}),
        ownsNetns: f.anchor.own ?? false,
        attached: true,
      }),
    );
  }
  return out;
}
