/**
 * CNI DEL: removes the attachment CONTAINERID/IFNAME — found by its owner label in the
 * kernel, so its published ports go too even when the runtime passes none. Idempotent:
 * succeeds when the network, the endpoint or the container's namespace is already gone.
 * @module
 */
import type { BaseConf } from './config.js';
import { type CniEnv, ownerOf } from './env.js';
import { openNetwork } from './network.js';

/** Runs DEL. */
export async function del(env: CniEnv, conf: BaseConf): Promise<void> {
  const net = await openNetwork(conf.name);
  if (!net) return;
  const eps = await net.endpoints({ owner: ownerOf(env.containerId as string, env.ifname as string) });
  await Promise.all(eps.map((ep) => ep.remove()));
}
