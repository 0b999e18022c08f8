/**
 * CNI GC: removes every attachment of the network that the runtime no longer knows: the
 * endpoints whose owner label is a CNI attachment (`CONTAINERID/IFNAME`) not listed in
 * `cni.dev/valid-attachments` (or `cni.dev/attachments`, the key's earlier spelling).
 * Endpoints without such a label were not made by the plugin and are left alone. Then
 * leftovers of crashed calls (netplumb's cleanup) go too.
 * @module
 */
import { cleanupNetworks } from '../network/cleanup.js';
import type { BaseConf } from './config.js';
import { ownerOf } from './env.js';
import { CNI_ERR, CniError } from './errors.js';
import { openNetwork } from './network.js';

/** Reads the valid attachments as owner labels. */
export function validAttachments(raw: Record<string, unknown>): Set<string> {
  const list = raw['cni.dev/valid-attachments'] ?? raw['cni.dev/attachments'];
  if (list === undefined) return new Set();
  if (!Array.isArray(list)) throw new CniError(CNI_ERR.INVALID_CONFIG, 'cni.dev/valid-attachments must be an array of { containerID, ifname }');
  return new Set(
    list.map((a: unknown, i) => {
      const o = a as Record<string, unknown> | null;
      if (!o || typeof o.containerID !== 'string' || typeof o.ifname !== 'string') {
        throw new CniError(CNI_ERR.INVALID_CONFIG, `cni.dev/valid-attachments[${i}] must be { containerID, ifname }`);
      }
      return ownerOf(o.containerID, o.ifname);
    }),
  );
}

/** A CNI attachment label: `CONTAINERID/IFNAME`. */
const CNI_OWNER_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[^/\s]{1,15}$/;

/** Runs GC; returns the owner labels it removed (for logging). */
export async function gc(conf: BaseConf): Promise<string[]> {
  const valid = validAttachments(conf.raw);
  const net = await openNetwork(conf.name);
  const removed: string[] = [];
  if (net) {
    const stale = (await net.endpoints()).filter((ep) => ep.owner !== undefined && CNI_OWNER_RE.test(ep.owner) && !valid.has(ep.owner));
    await Promise.all(stale.map((ep) => ep.remove()));
    for (const ep of stale) removed.push(ep.owner as string);
  }
  await cleanupNetworks({});
  return removed;
}
