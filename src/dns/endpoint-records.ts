/**
 * DNS: a records source that reads names from the kernel — the endpoints of netplumb
 * bridge networks, as every process sees them (`net.endpoints()`), named by the caller
 * (for instance by their owner label, or the name and aliases the network layer stores
 * with them). What is read is reused only while the host's nftables generation is
 * unchanged: endpoints are connected and removed by nftables transactions (their
 * reservation elements), so any connect or remove, by any process, makes the next
 * question read the kernel again. One generation query per question otherwise.
 * @module
 */
import { NetplumbError, ValidationError } from '../errors.js';
import { Netns } from '../netns.js';
import { BridgeNetwork } from '../network/bridge-network.js';
import type { Endpoint } from '../network/endpoint.js';
import type { DnsRecordType, DnsRecordsSource } from './records.js';

/** Options of {@link endpointRecords}. */
export interface EndpointRecordsOptions {
  /** The namespace acting as the host of the networks. */
  netns: Netns;
  /** The DNS names of an endpoint (compared without case); default the `name` and `aliases` given to connect(). */
  namesOf?(endpoint: Endpoint): readonly string[];
}

/** One network's names, read at one generation. */
interface Snapshot {
  generation: number;
  byName: Map<string, { ipv4: string[]; ipv6: string[] }>;
  byAddress: Map<string, string[]>;
}

/**
 * A {@link DnsRecordsSource} answering from the endpoints of the host's bridge networks,
 * read from the kernel. A network that does not exist has no names. Lookups reject with
 * the network layer's errors when the kernel cannot be read (the resolver answers SERVFAIL).
 */
export function endpointRecords(options: EndpointRecordsOptions): DnsRecordsSource {
  if (options === null || typeof options !== 'object') throw new ValidationError('options', 'must be an object');
  const { netns } = options;
  const namesOf = options.namesOf ?? ((ep: Endpoint): string[] => (ep.name ? [ep.name, ...ep.aliases] : [...ep.aliases]));
  if (!(netns instanceof Netns)) throw new ValidationError('netns', 'must be a Netns handle');
  if (typeof namesOf !== 'function') throw new ValidationError('namesOf', 'must be a function');
  const snapshots = new Map<string, { generation: number; snapshot: Promise<Snapshot> }>();

  const read = async (network: string, generation: number): Promise<Snapshot> => {
    const snap: Snapshot = { generation, byName: new Map(), byAddress: new Map() };
    let eps: Endpoint[];
    try {
      eps = await (await BridgeNetwork.open(network, { netns })).endpoints();
    } catch (err) {
      if (err instanceof NetplumbError && err.code === 'ENOENT') return snap;
      throw err;
    }
    for (const ep of eps) {
      const names = [...new Set(namesOf(ep).map((n) => n.toLowerCase().replace(/\.$/, '')))];
      for (const n of names) {
        let e = snap.byName.get(n);
        if (!e) snap.byName.set(n, (e = { ipv4: [], ipv6: [] }));
        e.ipv4.push(ep.ipv4);
        if (ep.ipv6) e.ipv6.push(ep.ipv6);
      }
      // An address points back at the endpoint's first name only, as Docker's resolver answers.
      const primary = names.slice(0, 1);
      if (primary.length) {
        snap.byAddress.set(ep.ipv4, primary);
        if (ep.ipv6) snap.byAddress.set(ep.ipv6, primary);
      }
    }
    return snap;
  };

  const snapshot = async (network: string): Promise<Snapshot> => {
    const generation = await netns.nft.generation();
    const cached = snapshots.get(network);
    // Questions arriving together at one generation share one read.
    if (cached && cached.generation === generation) return cached.snapshot;
    const p = read(network, generation);
    snapshots.set(network, { generation, snapshot: p });
    p.catch(() => {
      if (snapshots.get(network)?.snapshot === p) snapshots.delete(network);
    });
    return p;
  };

  return {
    async lookup(network: string, name: string, type: DnsRecordType): Promise<readonly string[] | undefined> {
      const s = await snapshot(network);
      if (type === 'PTR') return s.byAddress.get(name);
      const e = s.byName.get(name);
      if (!e) return undefined;
      return type === 'A' ? e.ipv4 : e.ipv6;
    },
  };
}
