/**
 * DNS: how 127.0.0.11:53 inside a container reaches the resolver's sockets while the
 * container keeps its own port 53. The sockets are bound to 127.0.0.11 on ports the
 * kernel picks; a nat table in the container's namespace DNATs 127.0.0.11:53 to them, as
 * Docker's iptables rules do:
 *
 * ```
 * table ip netplumb_dns {          # flags owner: dies with the resolver's netlink socket
 *   chain output { type nat hook output priority -100;
 *     ip daddr 127.0.0.11 udp dport 53 dnat to 127.0.0.11:UDPPORT
 *     ip daddr 127.0.0.11 tcp dport 53 dnat to 127.0.0.11:TCPPORT }
 * }
 * ```
 *
 * The table is an nftables *owner* table: the kernel deletes it when the netlink socket
 * that created it closes, so when the embedding process dies the redirection goes with
 * its sockets, and a query to 127.0.0.11:53 is refused at once (ICMP port unreachable,
 * TCP reset) rather than sent to a port nobody reads. No other process can change it,
 * so a second resolver cannot take over a namespace that has one.
 * @module
 */
import { NetlinkError, NetplumbError } from '../errors.js';
import type { Netns } from '../netns.js';
import { nft } from '../nft/index.js';
import { EMBEDDED_DNS_ADDRESS } from './resolv-conf.js';

/** The table the resolver owns in each namespace it serves. */
export const DNS_TABLE = 'netplumb_dns';
/** The port clients ask. */
export const DNS_PORT = 53;

/** The resolver's ports inside one namespace. */
export interface RedirectPorts {
  udp: number;
  tcp: number;
}

/**
 * Creates the owner table in `ns` (which must be a handle used for nothing else: the
 * table lives as long as its netlink socket). Rejects with NetplumbError
 * ERR_NETPLUMB_DNS_ATTACHED when the namespace already has one (another resolver, alive).
 */
export async function addRedirect(ns: Netns, ports: RedirectPorts, comment: string): Promise<void> {
  const t = { family: 'ip' as const, table: DNS_TABLE };
  const tx = ns.nft.transaction();
  tx.createTable({ family: 'ip', name: DNS_TABLE, flags: ['owner'], comment });
  tx.addChain({ ...t, name: 'output', type: 'nat', hook: 'output', priority: -100, policy: 'accept' });
  for (const [proto, port] of [['udp', ports.udp], ['tcp', ports.tcp]] as const) {
    const l4 = proto === 'udp' ? nft.udp : nft.tcp;
    tx.addRule({
      ...t,
      chain: 'output',
      expressions: [nft.ip.daddr.eq(EMBEDDED_DNS_ADDRESS), l4.dport.eq(DNS_PORT), nft.dnat({ addr: EMBEDDED_DNS_ADDRESS, port })],
    });
  }
  try {
    await tx.commit();
  } catch (err) {
    // EEXIST: an orphan-free table of ours exists; EPERM: another process's socket owns it.
    if (err instanceof NetlinkError && (err.code === 'EEXIST' || err.code === 'EPERM')) {
      throw new NetplumbError(`namespace ${ns.name ?? ns.inode} already has an embedded resolver (table ip ${DNS_TABLE})`, 'ERR_NETPLUMB_DNS_ATTACHED', { cause: err });
    }
    throw err;
  }
}

/** Deletes the table through the socket that owns it; a table already gone is fine. */
export async function removeRedirect(ns: Netns): Promise<void> {
  const tx = ns.nft.transaction();
  tx.deleteTable({ family: 'ip', name: DNS_TABLE });
  try {
    await tx.commit();
  } catch (err) {
    if (!(err instanceof NetlinkError && err.code === 'ENOENT')) throw err;
  }
}
