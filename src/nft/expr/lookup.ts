/**
 * The `lookup` expression: looks a register up in a set (continue when found, or when not
 * found if inverted) or a map (then the value goes to `dreg`; `dreg` 0 makes it a verdict
 * map). nft: `ip saddr @allowed`, `ip saddr != @blocked`, `tcp dport vmap @ports`,
 * `dnat to meta l4proto . th dport map @ports`, and inline sets `tcp dport { 80, 443 }`.
 * Debug line: `[ lookup reg 1 set ports dreg 1 ]`.
 * @module
 */
import { ValidationError } from '../../errors.js';
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import { NFTA_LOOKUP_DREG, NFTA_LOOKUP_FLAGS, NFTA_LOOKUP_SET, NFTA_LOOKUP_SET_ID, NFTA_LOOKUP_SREG, NFT_LOOKUP_F_INV } from '../constants.js';
import type { KeyType } from '../datatypes.js';
import type { SetElement } from '../elements.js';
import { checkName } from '../family.js';
import { type ExprCodec, checkReg, checkUint, need } from './common.js';

/**
 * A set written inline in a rule, like nft's `{ 80, 443 }` or `vmap { tcp : accept }`: the
 * transaction creates it (anonymous and constant, named `__set%d` until the kernel names
 * it) in the same batch as the rule, and the kernel deletes it with the rule. It reads
 * back as a lookup of the kernel's name for it (e.g. `__set0`).
 */
export interface AnonymousSet {
  keyType: KeyType | KeyType[];
  /** For an inline map: the type of its values, or `verdict`. */
  dataType?: KeyType | KeyType[] | 'verdict';
  /** Elements are ranges or prefixes. */
  interval?: boolean;
  elements: SetElement[];
}

/** Looks `sreg` up in `set`; with `dreg`, a map lookup loading the value (0: verdict). */
export interface Lookup {
  kind: 'lookup';
  sreg: number;
  /** The set's name, or an inline set that the transaction creates with the rule. */
  set: string | AnonymousSet;
  /** NFTA_LOOKUP_SET_ID: the set is created in the same batch (set by the transaction). */
  setId?: number;
  dreg?: number;
  /** Continue when NOT found (`!= @set`). */
  invert?: boolean;
}

export const lookup: ExprCodec<Lookup> = {
  name: 'lookup',
  known: new Set([NFTA_LOOKUP_SET, NFTA_LOOKUP_SREG, NFTA_LOOKUP_DREG, NFTA_LOOKUP_SET_ID, NFTA_LOOKUP_FLAGS]),
  encode(w: Writer, e: Lookup, field: string) {
    if (typeof e.set !== 'string') throw new ValidationError(`${field}.set`, 'an inline set is only valid in a rule added to a transaction');
    const set = checkName(e.set, `${field}.set`);
    w.attrBe32(NFTA_LOOKUP_SREG, checkReg(e.sreg, `${field}.sreg`));
    if (e.dreg !== undefined) w.attrBe32(NFTA_LOOKUP_DREG, checkReg(e.dreg, `${field}.dreg`, true));
    w.attrString(NFTA_LOOKUP_SET, set);
    if (e.setId !== undefined) w.attrBe32(NFTA_LOOKUP_SET_ID, checkUint(e.setId, `${field}.setId`));
    if (e.invert) {
      if (e.dreg !== undefined) throw new ValidationError(`${field}.invert`, 'a map lookup cannot be inverted');
      w.attrBe32(NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
    }
  },
  decode(a: Attributes): Lookup {
    const e: Lookup = { kind: 'lookup', sreg: need(a.be32(NFTA_LOOKUP_SREG), 'NFTA_LOOKUP_SREG'), set: need(a.string(NFTA_LOOKUP_SET), 'NFTA_LOOKUP_SET') };
    const dreg = a.be32(NFTA_LOOKUP_DREG);
    if (dreg !== undefined) e.dreg = dreg;
    const id = a.be32(NFTA_LOOKUP_SET_ID);
    if (id !== undefined) e.setId = id;
    if ((a.be32(NFTA_LOOKUP_FLAGS) ?? 0) & NFT_LOOKUP_F_INV) e.invert = true;
    return e;
  },
};
