/**
 * Layer 2 (rtnetlink): the policy routing rules of one namespace (`ip rule`), as `ns.rules`.
 * @module
 */
import { isIpMessage } from './attrs.js';
import * as C from './constants.js';
import type { IpFamily } from './ip.js';
import { type RouteNamespace, dump, run } from './request.js';
import { type Rule, type RuleSpec, decodeRule, encodeRuleAdd, encodeRuleDelete, encodeRuleDump } from './rule.js';

/** The policy routing rules of one namespace. */
export class Rules {
  private readonly ns: RouteNamespace;

  constructor(ns: RouteNamespace) {
    this.ns = ns;
  }

  /** Like `ip [-4|-6] rule show`: every rule, decoded, in priority order. */
  async list(family?: IpFamily): Promise<Rule[]> {
    const msgs = await dump(this.ns, (b) => encodeRuleDump(b, family));
    return msgs.filter((m) => m.type === C.RTM_NEWRULE && isIpMessage(m.payload)).map(decodeRule);
  }

  /**
   * Like `ip rule add [not] [from P] [to P] [iif N] [oif N] [fwmark M/MASK] [pref N]
   * [table T|goto N|blackhole|...]`. Rejects with NetlinkError EEXIST for an identical
   * rule, EINVAL with the kernel's text for inconsistent fields; ValidationError before
   * sending anything for malformed input.
   */
  async add(spec: RuleSpec): Promise<void> {
    await run(this.ns, (b) => encodeRuleAdd(b, spec));
  }

  /** Like `ip rule del ...`: deletes the first rule matching every field given. Rejects with NetlinkError ENOENT when none matches. */
  async delete(spec: RuleSpec): Promise<void> {
    await run(this.ns, (b) => encodeRuleDelete(b, spec));
  }
}
