/**
 * CNI plugin: the netplumb network behind a CNI network name, made on first use from the
 * configuration. Every ADD is its own process, so two first ADDs may race to create it:
 * the loser's create fails with "already exists" and it opens the winner's network.
 * @module
 */
import { NetplumbError } from '../errors.js';
import { BridgeNetwork, type BridgeNetworkOptions } from '../network/bridge-network.js';
import type { NetConf } from './config.js';
import { CNI_ERR, CniError } from './errors.js';

/** How long a call waits for a network another process is creating (create said it exists, open does not see it yet). */
const CREATE_RACE_ATTEMPTS = 8;

/** The options of BridgeNetwork.create() a configuration stands for. */
export function networkOptions(conf: NetConf): BridgeNetworkOptions {
  return {
    name: conf.name,
    ...(conf.bridge !== undefined ? { bridge: conf.bridge } : {}),
    subnet: conf.range4.subnet.text,
    ...(conf.range4.gateway !== undefined ? { gateway: conf.range4.gateway } : {}),
    ...(conf.range6 ? { subnet6: conf.range6.subnet.text, ...(conf.range6.gateway !== undefined ? { gateway6: conf.range6.gateway } : {}) } : {}),
    ...(conf.mtu !== undefined ? { mtu: conf.mtu } : {}),
    masquerade: conf.ipMasq,
  };
}

/** Opens network `name` from the kernel; undefined when there is none. */
export async function openNetwork(name: string): Promise<BridgeNetwork | undefined> {
  try {
    return await BridgeNetwork.open(name);
  } catch (e) {
    if (e instanceof NetplumbError && e.code === 'ENOENT') return undefined;
    throw e;
  }
}

function alreadyExists(e: unknown): boolean {
  return e instanceof NetplumbError && (e.code === 'EEXIST' || (e.code === 'ERR_NETPLUMB_INVALID' && /already exists/.test(e.message)));
}

/** Refuses a network that exists with another subnet or bridge than the configuration's. */
function checkMatches(net: BridgeNetwork, conf: NetConf): BridgeNetwork {
  const diffs: string[] = [];
  if (net.subnet !== conf.range4.subnet.text) diffs.push(`subnet ${net.subnet}, not ${conf.range4.subnet.text}`);
  if (conf.bridge !== undefined && net.bridge !== conf.bridge) diffs.push(`bridge ${net.bridge}, not ${conf.bridge}`);
  if (conf.range4.gateway !== undefined && net.gateway !== conf.range4.gateway) diffs.push(`gateway ${net.gateway}, not ${conf.range4.gateway}`);
  if (conf.range6 && net.subnet6 !== conf.range6.subnet.text) diffs.push(`IPv6 subnet ${net.subnet6 ?? 'none'}, not ${conf.range6.subnet.text}`);
  if (diffs.length) throw new CniError(CNI_ERR.INVALID_CONFIG, `network ${conf.name} exists with ${diffs.join(', ')}`, 'remove the network (all its containers) or change the configuration back');
  return net;
}

/** The configuration's network, created when it does not exist yet. */
export async function openOrCreate(conf: NetConf): Promise<BridgeNetwork> {
  let last: unknown;
  for (let attempt = 0; attempt < CREATE_RACE_ATTEMPTS; attempt++) {
    const net = await openNetwork(conf.name);
    if (net) return checkMatches(net, conf);
    try {
      return await BridgeNetwork.create(networkOptions(conf));
    } catch (e) {
      if (!alreadyExists(e)) throw e;
      last = e;
    }
    // The winner has made the bridge but not finished tagging it: give it a moment.
    await new Promise((r) => setTimeout(r, 5 << attempt));
  }
  throw new CniError(CNI_ERR.TRY_AGAIN_LATER, `network ${conf.name} is being created by another call, or its bridge name is taken`, last instanceof Error ? last.message : undefined, { cause: last });
}
