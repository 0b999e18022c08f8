/**
 * Layer 4 (network): removing a macvlan network — its endpoints when forced, then its
 * reservations (or netplumb's table when it was the last network), its shim and the
 * 802.1Q parent netplumb made for it.
 * @module
 */
import { NetplumbError } from '../../errors.js';
import { isGone } from '../endpoint.js';
import { removeNetworkState } from '../remove.js';
import { FAMILY, SETS, TABLE } from '../ruleset.js';
import { parseComment } from '../tag.js';
import type { MacvlanNetwork } from './macvlan-network.js';

async function attachments(net: MacvlanNetwork): Promise<number> {
  const elements = await net.netns.nft.listElements(FAMILY, TABLE, SETS.attached).catch(() => []);
  return elements.filter((e) => parseComment(e.comment)?.network === net.name).length;
}

export async function removeMacvlanNetwork(net: MacvlanNetwork, force: boolean): Promise<void> {
  let n = await attachments(net);
  if (n > 0 && force) {
    const results = await Promise.allSettled((await net.endpoints()).map((ep) => ep.remove()));
    const bad = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (bad) throw bad.reason;
    n = await attachments(net);
  }
  if (n > 0) throw new NetplumbError(`network ${net.name} has ${n} active endpoint(s)`, 'EBUSY');
  await removeNetworkState(net.netns, net.name, net.shim);
  const gone = (e: unknown) => { if (!isGone(e)) throw e; };
  await net.netns.links.delete(net.shim).catch(gone);
  if (net.shape.tag.vlanParent) await net.netns.links.delete(net.parent).catch(gone);
}
