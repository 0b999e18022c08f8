/**
 * Layer 4 (network): finding networks — every question answered by the kernel (the
 * bridges' tags), so a handle opened in one process sees what all the others did.
 * @module
 */
import { NetplumbError } from '../errors.js';
import { Netns } from '../netns.js';
import type { NetworkInit } from './bridge-network.js';
import { checkHostNetns, checkNetworkName, checkObject } from './options.js';
import { type NetworkTag, parseNetworkAlias } from './tag.js';

/** A network as {@link BridgeNetwork.list} reports it: `docker network ls` with the options. */
export interface NetworkInfo extends NetworkTag {
  bridge: string;
}

/** The complete networks (tagged bridges) of `host`. */
async function bridges(host: Netns): Promise<Array<{ index: number; bridge: string; tag: NetworkTag }>> {
  const out: Array<{ index: number; bridge: string; tag: NetworkTag }> = [];
  for (const l of await host.links.list({ kind: 'bridge' })) {
    const tag = parseNetworkAlias(l.alias);
    if (tag) out.push({ index: l.index, bridge: l.name, tag });
  }
  return out;
}

/** Runs `use` on the host namespace the options name (or this process's, then closed again if `use` fails). */
export async function withHost<T>(options: { netns?: Netns }, use: (host: Netns, ownsHost: boolean) => Promise<T>): Promise<T> {
  checkObject(options);
  checkHostNetns(options.netns);
  const ownsHost = options.netns === undefined;
  const host = options.netns ?? (await Netns.current());
  try {
    return await use(host, ownsHost);
  } catch (e) {
    if (ownsHost) host.close();
    throw e;
  }
}

/** What a handle on network `name` is made of, read from the kernel. */
export function openNetwork(name: string, options: { netns?: Netns }): Promise<NetworkInit> {
  checkNetworkName(name);
  return withHost(options, async (host, ownsHost) => {
    const found = (await bridges(host)).find((b) => b.tag.name === name);
    if (!found) throw new NetplumbError(`network ${name} does not exist`, 'ENOENT');
    return { netns: host, ownsHost, bridgeIndex: found.index, bridge: found.bridge, tag: found.tag };
  });
}

/** Every network of the host namespace. */
export function listNetworks(options: { netns?: Netns }): Promise<NetworkInfo[]> {
  return withHost(options, async (host, ownsHost) => {
    const out = (await bridges(host)).map((b) => ({ ...b.tag, bridge: b.bridge }));
    if (ownsHost) host.close();
    return out;
  });
}
