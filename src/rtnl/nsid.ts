/**
 * Layer 2 (rtnetlink): namespace ids (`ip netns list-id`, `ip netns set NAME ID`). A
 * namespace names its peer namespaces by nsid — IFLA_LINK_NETNSID of a veth whose peer is
 * elsewhere is one — and nsids are local: the same namespace can have different nsids
 * as seen from different namespaces. RTM_GETNSID with NETNSA_FD asks "which nsid does the
 * namespace behind this fd have, as seen from here", which is how an nsid is resolved to
 * a namespace handle.
 * @module
 */
import { DecodeError, NetplumbError, ValidationError } from '../errors.js';
import { Attributes } from '../netlink/attributes.js';
import type { Batch } from '../netlink/batch.js';
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_ECHO } from '../netlink/constants.js';
import type { NetlinkMessage } from '../netlink/message.js';
import type { Writer } from '../netlink/writer.js';
import { type Put, needHeader, putU32 } from './attrs.js';
import * as C from './constants.js';
import type { NetnsTarget } from './link.js';
import { type RouteNamespace, dump, run } from './request.js';
import { checkFd, checkInt } from './validate.js';

/** A decoded RTM_NEWNSID/RTM_DELNSID message. */
export interface NsidEntry {
  /** NETNSA_NSID: the nsid (-1, NETNSA_NSID_NOT_ASSIGNED, when there is none). */
  nsid: number;
  /** NETNSA_CURRENT_NSID, when the request asked about another namespace's view. */
  currentNsid?: number;
}

function writeRtgenmsg(w: Writer): void {
  w.putU8(C.AF_UNSPEC);
  w.putZeros(C.RTGENMSG_LEN - 1);
}

/** NETNSA_FD or NETNSA_PID naming `target`, validated. */
function targetAttr(target: NetnsTarget): Put {
  if (target !== null && typeof target === 'object') {
    if ('fd' in target) return putU32(C.NETNSA_FD, checkFd(target.fd, 'target.fd'));
    if ('pid' in target) return putU32(C.NETNSA_PID, checkInt(target.pid, 'target.pid', 1, 0x7fffffff));
  }
  throw new ValidationError('target', 'must be a namespace handle ({ fd }) or { pid }');
}

/** Decodes an RTM_NEWNSID/RTM_DELNSID message; DecodeError when malformed. */
export function decodeNsid(msg: NetlinkMessage): NsidEntry {
  needHeader(msg.payload, C.RTGENMSG_LEN, 'rtgenmsg');
  const a = Attributes.parse(msg.payload, C.RTGENMSG_LEN);
  const nsid = a.i32(C.NETNSA_NSID);
  if (nsid === undefined) throw new DecodeError('nsid message without NETNSA_NSID', C.RTGENMSG_LEN);
  const current = a.i32(C.NETNSA_CURRENT_NSID);
  return current === undefined ? { nsid } : { nsid, currentNsid: current };
}

/** Writes `ip netns identify`-style RTM_GETNSID for the namespace `target` (NETNSA_FD / NETNSA_PID). */
export function encodeNsidGet(batch: Batch, target: NetnsTarget): void {
  const attr = targetAttr(target);
  const w = batch.begin(C.RTM_GETNSID, NLM_F_ACK, 'RTM_GETNSID');
  writeRtgenmsg(w);
  attr(w);
  batch.end();
}

/**
 * Writes `ip netns set NAME NSID` (RTM_NEWNSID): gives `target` the nsid `nsid` as seen
 * from the namespace the batch is sent in, or (`nsid` undefined) any free one.
 */
export function encodeNsidSet(batch: Batch, target: NetnsTarget, nsid?: number): void {
  const id = nsid === undefined ? C.NETNSA_NSID_NOT_ASSIGNED : checkInt(nsid, 'nsid', 0, 0x7fffffff);
  const attr = targetAttr(target);
  const w = batch.begin(C.RTM_NEWNSID, NLM_F_ACK | NLM_F_ECHO, `RTM_NEWNSID ${nsid ?? 'auto'}`);
  writeRtgenmsg(w);
  attr(w);
  w.attrI32(C.NETNSA_NSID, id);
  batch.end();
}

/**
 * The nsid `target` has as seen from `ns` (`ip netns list-id` for one namespace), or
 * undefined when none is assigned. Rejects with NetlinkError EINVAL/EBADF when `target`
 * is not a namespace.
 */
export async function nsidOf(ns: RouteNamespace, target: NetnsTarget): Promise<number | undefined> {
  const [reply] = await run(ns, (b) => encodeNsidGet(b, target));
  const msg = reply?.messages[0];
  const nsid = msg ? decodeNsid(msg).nsid : C.NETNSA_NSID_NOT_ASSIGNED;
  return nsid < 0 ? undefined : nsid;
}

/**
 * Like `ip netns set NAME NSID` (or `auto`): assigns `target` an nsid as seen from `ns`
 * and resolves with it. Rejects with NetlinkError EEXIST when `target` already has one or
 * `nsid` is taken.
 */
export async function assignNsid(ns: RouteNamespace, target: NetnsTarget, nsid?: number): Promise<number> {
  const [reply] = await run(ns, (b) => encodeNsidSet(b, target, nsid));
  const echo = reply?.messages.find((m) => m.type === C.RTM_NEWNSID);
  if (echo) return decodeNsid(echo).nsid;
  const assigned = await nsidOf(ns, target);
  if (assigned === undefined) throw new NetplumbError('RTM_NEWNSID: acknowledged, but the namespace has no nsid', 'ERR_NETPLUMB_NO_REPLY');
  return assigned;
}

/** Like `ip netns list-id`: every nsid `ns` has assigned. */
export async function listNsids(ns: RouteNamespace): Promise<NsidEntry[]> {
  const msgs = await dump(ns, (b) => {
    const w = b.begin(C.RTM_GETNSID, NLM_F_DUMP, 'RTM_GETNSID dump');
    writeRtgenmsg(w);
    b.end();
  });
  return msgs.filter((m) => m.type === C.RTM_NEWNSID).map(decodeNsid);
}

/**
 * Which of `candidates` (namespace handles) has nsid `nsid` as seen from `ns` — e.g. the
 * namespace a veth's peer is in, given its IFLA_LINK_NETNSID. Asks about every candidate
 * in one batch (one round trip) and resolves undefined when none matches.
 */
export async function findByNsid<T extends { readonly fd: number }>(ns: RouteNamespace, nsid: number, candidates: Iterable<T>): Promise<T | undefined> {
  const list = [...candidates];
  if (list.length === 0) return undefined;
  const replies = await run(ns, (b) => {
    for (const c of list) encodeNsidGet(b, c);
  });
  const i = replies.findIndex((r) => {
    const msg = r.messages[0];
    return msg !== undefined && decodeNsid(msg).nsid === nsid;
  });
  return i === -1 ? undefined : list[i];
}
