/**
 * Layer 2 (rtnetlink): the addresses of one namespace (`ip address`), as `ns.addresses`.
 * @module
 */
import { type Address, type AddressFilter, type AddressSpec, decodeAddress, encodeAddressAdd, encodeAddressDelete, encodeAddressDump, encodeAddressReplace } from './address.js';
import * as C from './constants.js';
import { type RouteNamespace, dump, indexOf, resolveIndexes, run } from './request.js';

/** The addresses of one namespace. A link given by name costs one extra round trip. */
export class Addresses {
  private readonly ns: RouteNamespace;

  constructor(ns: RouteNamespace) {
    this.ns = ns;
  }

  private async resolve(spec: AddressSpec): Promise<AddressSpec> {
    if (typeof spec?.link !== 'string') return spec;
    return { ...spec, link: indexOf(spec.link, await resolveIndexes(this.ns, [spec.link])) };
  }

  /**
   * Like `ip -d address show [dev LINK]` (`-4`/`-6` with `family`): every address, decoded;
   * the kernel filters by link itself. Rejects with NetlinkError ENODEV for a missing link.
   */
  async list(filter: AddressFilter = {}): Promise<Address[]> {
    const link = indexOf(filter.link, await resolveIndexes(this.ns, [filter.link])) as number | undefined;
    const msgs = await dump(this.ns, (b) => encodeAddressDump(b, { family: filter.family, link }));
    return msgs.filter((m) => m.type === C.RTM_NEWADDR).map(decodeAddress);
  }

  /**
   * Like `ip address add ADDRESS/LEN dev LINK [peer P] [broadcast B|+] [label L] [scope S]
   * [nodad] [noprefixroute] [valid_lft V] [preferred_lft P]`. Rejects with NetlinkError
   * EEXIST when the address is already on the link, ENODEV for a missing link, EINVAL with
   * the kernel's text for what it refuses (e.g. a label not starting with the link's
   * name); with ValidationError before sending anything for a malformed address or prefix
   * length (`10.0.0.1/33`).
   */
  async add(spec: AddressSpec): Promise<void> {
    const s = await this.resolve(spec);
    await run(this.ns, (b) => encodeAddressAdd(b, s));
  }

  /** Like `ip address replace ...`: adds the address, or updates its flags and lifetimes. Rejects as {@link add} does, but never with EEXIST. */
  async replace(spec: AddressSpec): Promise<void> {
    const s = await this.resolve(spec);
    await run(this.ns, (b) => encodeAddressReplace(b, s));
  }

  /**
   * Like `ip address del ADDRESS/LEN dev LINK`. Rejects with NetlinkError EADDRNOTAVAIL
   * when the link has no such address (for IPv6, also when the prefix length differs).
   */
  async delete(spec: AddressSpec): Promise<void> {
    const s = await this.resolve(spec);
    await run(this.ns, (b) => encodeAddressDelete(b, s));
  }
}
