/**
 * DNS: where the embedded resolver's names come from. The resolver keeps no names of its
 * own; it asks a records source for every question, so the source can read them from the
 * kernel (the network layer's endpoint tags) and a second process sees the same names.
 * @module
 */

/** The record types the embedded resolver answers itself, as Docker's does. */
export type DnsRecordType = 'A' | 'AAAA' | 'PTR';

/**
 * The names of each network, as the network layer knows them.
 *
 * `lookup(network, name, type)` answers one question about one network:
 * - `A` / `AAAA`: `name` is an endpoint name or alias, lower-case, without a trailing
 *   dot (`db`, `database`); the answer is its IPv4 / IPv6 addresses.
 * - `PTR`: `name` is an address in text form (`172.18.0.2`, `fd00::2`, decoded from the
 *   reverse name); the answer is the names that address has on the network, the primary
 *   name first.
 *
 * Return `undefined` when the network has no such name (the question goes on to the
 * network's other names, then upstream), and an empty list when the name exists but
 * has no record of that type (the client is told "no data", as Docker answers AAAA for
 * an IPv4-only container, rather than forwarding a private name). A thrown error or a
 * rejection answers SERVFAIL.
 */
export interface DnsRecordsSource {
  lookup(network: string, name: string, type: DnsRecordType): Promise<readonly string[] | undefined> | readonly string[] | undefined;
}
