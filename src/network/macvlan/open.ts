/**
 * Layer 4 (network): finding macvlan networks — by their shims' tags, read from the kernel.
 * @module
 */
import { NetplumbError } from '../../errors.js';
import type { Netns } from '../../netns.js';
import { withHost } from '../open.js';
import { checkNetworkName } from '../options.js';
import type { MacvlanInit } from './create.js';
import { type MacvlanTag, parseMacvlanAlias, shapeOf } from './options.js';

/** A macvlan network as {@link MacvlanNetwork.list} reports it. */
export interface MacvlanNetworkInfo extends MacvlanTag {
  /** The host-side interface that carries the tag. */
  shim: string;
}

async function shims(host: Netns): Promise<Array<{ shim: string; parentIndex: number; tag: MacvlanTag }>> {
  const out: Array<{ shim: string; parentIndex: number; tag: MacvlanTag }> = [];
  for (const l of await host.links.list()) {
    if (l.kind !== 'macvlan' && l.kind !== 'ipvlan' && !(l.kind === 'other' && l.infoKind === 'ipvlan')) continue;
    const tag = parseMacvlanAlias(l.alias);
    if (tag) out.push({ shim: l.name, parentIndex: l.link ?? 0, tag });
  }
  return out;
}

export function openMacvlanNetwork(name: string, options: { netns?: Netns }): Promise<MacvlanInit> {
  checkNetworkName(name);
  return withHost(options, async (host, ownsHost) => {
    const found = (await shims(host)).find((s) => s.tag.name === name);
    if (!found) throw new NetplumbError(`macvlan network ${name} does not exist`, 'ENOENT');
    return { netns: host, ownsHost, shape: shapeOf(found.tag, found.shim), parentIndex: found.parentIndex };
  });
}

export function listMacvlanNetworks(options: { netns?: Netns }): Promise<MacvlanNetworkInfo[]> {
  return withHost(options, async (host, ownsHost) => {
    const out = (await shims(host)).map((s) => ({ ...s.tag, shim: s.shim }));
    if (ownsHost) host.close();
    return out;
  });
}
