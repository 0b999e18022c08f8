/**
 * Layer 2 (rtnetlink): many rtnetlink requests sent in one sendmsg — the hot path of
 * setting up a namespace ("lo up, eth0 up, address add, default route add") in one round
 * trip. Each request is validated as it is added; only commit() does I/O.
 * @module
 */
import { ClosedError, ValidationError } from '../errors.js';
import { Batch } from '../netlink/batch.js';
import { type AddressSpec, encodeAddressAdd, encodeAddressDelete, encodeAddressReplace } from './address.js';
import { type LinkChanges, type LinkSpec, encodeLinkAdd, encodeLinkDelete, encodeLinkSet } from './link.js';
import { type FdbSpec, type NeighborSpec, encodeFdbAdd, encodeFdbAppend, encodeFdbDelete, encodeNeighborAdd, encodeNeighborDelete, encodeNeighborReplace } from './neighbor.js';
import type { RouteNamespace } from './request.js';
import { type RouteSpec, encodeRouteAdd, encodeRouteDelete, encodeRouteReplace } from './route.js';
import { type RuleSpec, encodeRuleAdd, encodeRuleDelete } from './rule.js';
import type { LinkRef } from './validate.js';

/**
 * A batch of rtnetlink changes for one namespace, sent in one sendmsg by {@link commit}:
 *
 * ```ts
 * await new RtnlBatch(ns)
 *   .linkSet(1, { up: true })
 *   .linkSet(eth0, { up: true })
 *   .addressAdd({ link: eth0, address: '172.17.0.2/16' })
 *   .routeAdd({ dst: 'default', gateway: '172.17.0.1' })
 *   .commit();
 * ```
 *
 * Links must be referred to by ifindex wherever the kernel takes only an index (addresses,
 * routes, neighbours, masters); a link's own changes may name it. Each method validates
 * its request and throws ValidationError at once, leaving the batch as it was. The kernel
 * applies the requests in order and — rtnetlink has no transactions — keeps going after
 * one fails: commit() rejects with the first failure's NetlinkError, whose `index` says
 * which request it was; the ones before it took effect, the ones after it were attempted.
 */
export class RtnlBatch {
  private readonly ns: RouteNamespace;
  private readonly batch = new Batch();
  private committed = false;

  constructor(ns: RouteNamespace) {
    this.ns = ns;
  }

  private add(write: (b: Batch) => void): this {
    if (this.committed) throw new ClosedError('committed RtnlBatch');
    try {
      write(this.batch);
    } catch (e) {
      // Encoders validate before they begin a request; this only guards the open one.
      this.batch.cancel();
      throw ValidationError.wrap(e, `request ${this.batch.length}`);
    }
    return this;
  }

  /** Number of netlink requests so far (a method can add more than one, e.g. linkSet with addrGenMode and up). */
  get length(): number {
    return this.batch.length;
  }

  /** `ip link add ...` ({@link encodeLinkAdd}); `master`/`link` by ifindex. */
  linkAdd(spec: LinkSpec): this {
    return this.add((b) => encodeLinkAdd(b, spec));
  }

  /** `ip link set dev REF ...` ({@link encodeLinkSet}). */
  linkSet(ref: LinkRef, changes: LinkChanges): this {
    return this.add((b) => encodeLinkSet(b, ref, changes));
  }

  /** `ip link del dev REF`. */
  linkDelete(ref: LinkRef): this {
    return this.add((b) => encodeLinkDelete(b, ref));
  }

  /** `ip address add ...`. */
  addressAdd(spec: AddressSpec): this {
    return this.add((b) => encodeAddressAdd(b, spec));
  }

  /** `ip address replace ...`. */
  addressReplace(spec: AddressSpec): this {
    return this.add((b) => encodeAddressReplace(b, spec));
  }

  /** `ip address del ...`. */
  addressDelete(spec: AddressSpec): this {
    return this.add((b) => encodeAddressDelete(b, spec));
  }

  /** `ip route add ...`. */
  routeAdd(spec: RouteSpec): this {
    return this.add((b) => encodeRouteAdd(b, spec));
  }

  /** `ip route replace ...`. */
  routeReplace(spec: RouteSpec): this {
    return this.add((b) => encodeRouteReplace(b, spec));
  }

  /** `ip route del ...`. */
  routeDelete(spec: RouteSpec): this {
    return this.add((b) => encodeRouteDelete(b, spec));
  }

  /** `ip neigh add ...`. */
  neighborAdd(spec: NeighborSpec): this {
    return this.add((b) => encodeNeighborAdd(b, spec));
  }

  /** `ip neigh replace ...`. */
  neighborReplace(spec: NeighborSpec): this {
    return this.add((b) => encodeNeighborReplace(b, spec));
  }

  /** `ip neigh del ...`. */
  neighborDelete(spec: NeighborSpec): this {
    return this.add((b) => encodeNeighborDelete(b, spec));
  }

  /** `bridge fdb add ...`. */
  fdbAdd(spec: FdbSpec): this {
    return this.add((b) => encodeFdbAdd(b, spec));
  }

  /** `bridge fdb append ...`. */
  fdbAppend(spec: FdbSpec): this {
    return this.add((b) => encodeFdbAppend(b, spec));
  }

  /** `bridge fdb del ...`. */
  fdbDelete(spec: FdbSpec): this {
    return this.add((b) => encodeFdbDelete(b, spec));
  }

  /** `ip rule add ...`. */
  ruleAdd(spec: RuleSpec): this {
    return this.add((b) => encodeRuleAdd(b, spec));
  }

  /** `ip rule del ...`. */
  ruleDelete(spec: RuleSpec): this {
    return this.add((b) => encodeRuleDelete(b, spec));
  }

  /**
   * Sends every request in one sendmsg and waits for all the acks (one round trip, off
   * the JS thread). Rejects with the first NetlinkError (errno, code, the kernel's extack
   * text, and `index` of the failing request). A batch commits once; an empty one
   * resolves at once.
   */
  async commit(): Promise<void> {
    if (this.committed) throw new ClosedError('committed RtnlBatch');
    this.committed = true;
    if (this.batch.length === 0) return;
    await this.ns.route.execute(this.batch.ackLastOnly());
  }
}
