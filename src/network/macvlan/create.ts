/**
 * Layer 4 (network): creating a macvlan (or ipvlan) network. Reserve first — one
 * transaction takes the name and subnet(s) exclusively, beside bridge networks' (so the
 * two kinds never overlap) — then, when the parent is a `PARENT.VID` name that does not
 * exist, its 802.1Q sub-interface; last the host-side "shim" interface on the parent,
 * created down and tagged: the tag marks the network complete. There are no rules: a
 * macvlan endpoint's traffic never passes through the host's IP stack.
 * @module
 */
import { NetplumbError, ValidationError } from '../../errors.js';
import { Netns } from '../../netns.js';
import { isGone } from '../endpoint.js';
import { rollback, commitWithTable } from '../create.js';
import { currentHolder } from '../holder.js';
import { formatAddress, lastAddress } from '../ipam.js';
import { checkHostNetns } from '../options.js';
import { removeNetworkState } from '../remove.js';
import { nameKey } from '../reservation.js';
import { SETS, elementsOf } from '../ruleset.js';
import { networkComment } from '../tag.js';
import { type MacvlanNetworkOptions, type MacvlanShape, describeMacvlan, macvlanAlias } from './options.js';
import { nextInRange } from './ipam.js';

/** What a macvlan network handle is made of. @internal */
export interface MacvlanInit {
  netns: Netns;
  ownsHost: boolean;
  shape: MacvlanShape;
  parentIndex: number;
}

export async function createMacvlanNetwork(options: MacvlanNetworkOptions): Promise<MacvlanInit> {
  const shape = describeMacvlan(options);
  const { tag, shim } = shape;
  checkHostNetns(options.netns);
  const ownsHost = options.netns === undefined;
  const host = options.netns ?? (await Netns.current());
  const undo: Array<() => Promise<unknown> | unknown> = [];
  if (ownsHost) undo.push(() => host.close());
  try {
    if (await host.links.find(shim)) throw new ValidationError('shim', `${shim} already exists`);
    let parent = await host.links.find(tag.parent);
    if (!parent && !shape.vlan) throw new ValidationError('parent', `${tag.parent} does not exist`);
    if (parent && parent.kind !== 'device' && !['veth', 'bridge', 'vlan', 'dummy', 'other', 'vxlan'].includes(parent.kind)) {
      throw new ValidationError('parent', `${tag.parent} is a ${parent.kind}, which cannot be a macvlan parent`);
    }

    const comment = networkComment(tag.name);
    const first = nextInRange(shape, shape.range.first - 1n);
    let reserved = false;
    undo.push(() => (reserved ? removeNetworkState(host, tag.name, shim) : undefined));
    await commitWithTable(host, (tx) => {
      tx.createElements(elementsOf(SETS.networks, [{ key: nameKey(tag.name), comment: networkComment(tag.name, currentHolder()) }]));
      if (shape.s4) tx.createElements(elementsOf(SETS.subnets4, [{ key: formatAddress(4, shape.s4.network), keyEnd: formatAddress(4, lastAddress(shape.s4)), comment }]));
      if (shape.s6) tx.createElements(elementsOf(SETS.subnets6, [{ key: formatAddress(6, shape.s6.network), keyEnd: formatAddress(6, lastAddress(shape.s6)), comment }]));
      tx.createElements(elementsOf(shape.range.family === 4 ? SETS.cursors : SETS.cursors6, [{ key: shim, data: formatAddress(shape.range.family, first), comment }]));
    }).catch((e: unknown) => {
      if (e instanceof NetplumbError && e.code === 'EEXIST') throw new ValidationError('name', `network ${tag.name} already exists, or its subnet overlaps another network's`, { cause: e });
      throw e;
    });
    reserved = true;

    if (!parent && shape.vlan) {
      // Docker's `-o parent=eth0.10`: the sub-interface is made here and goes with the network.
      const lower = await host.links.find(shape.vlan.lower);
      if (!lower) throw new ValidationError('parent', `${shape.vlan.lower} (the lower device of ${tag.parent}) does not exist`);
      const vlanName = tag.parent;
      undo.push(() => host.links.delete(vlanName).catch((e: unknown) => { if (!isGone(e)) throw e; }));
      parent = await host.links.add({ kind: 'vlan', name: vlanName, link: lower.index, up: true, vlan: { id: shape.vlan.id } });
      tag.vlanParent = true;
    }
    if (!parent) throw new ValidationError('parent', `${tag.parent} does not exist`);
    if (!parent.up) await host.links.set(parent.index, { up: true });

    let taken = false;
    undo.push(() => (taken ? undefined : host.links.delete(shim).catch((e: unknown) => { if (!isGone(e)) throw e; })));
    const parentIndex = parent.index;
    await host.links
      .add(
        tag.ipvlan
          ? { kind: 'ipvlan', name: shim, link: parentIndex, ipvlan: { mode: tag.ipvlan }, alias: macvlanAlias(tag) }
          : { kind: 'macvlan', name: shim, link: parentIndex, macvlan: { mode: 'bridge' }, alias: macvlanAlias(tag) },
      )
      .catch((e: unknown) => {
        taken = e instanceof NetplumbError && e.code === 'EEXIST';
        throw e;
      });
    return { netns: host, ownsHost, shape, parentIndex };
  } catch (e) {
    await rollback(undo);
    throw e;
  }
}
