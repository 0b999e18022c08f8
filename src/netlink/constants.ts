/**
 * Layer 1 (netlink codec): constants of the netlink wire format, named as in
 * /usr/include/linux/netlink.h and netfilter/nfnetlink.h.
 * @module
 */

/** Netlink protocol families (socket(AF_NETLINK, SOCK_RAW, proto)). */
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;

/** struct nlmsghdr is 16 bytes; everything is aligned to 4. */
export const NLMSG_HDRLEN = 16;
export const NLMSG_ALIGNTO = 4;
export const NLA_HDRLEN = 4;

/** Control message types. */
export const NLMSG_NOOP = 0x1;
export const NLMSG_ERROR = 0x2;
export const NLMSG_DONE = 0x3;
export const NLMSG_OVERRUN = 0x4;
export const NLMSG_MIN_TYPE = 0x10;

/** Flags of every request. */
export const NLM_F_REQUEST = 0x01;
export const NLM_F_MULTI = 0x02;
export const NLM_F_ACK = 0x04;
export const NLM_F_ECHO = 0x08;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;

/** Modifiers to GET requests. */
export const NLM_F_ROOT = 0x100;
export const NLM_F_MATCH = 0x200;
export const NLM_F_ATOMIC = 0x400;
export const NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH;

/** Modifiers to NEW requests. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;

/** Modifiers to DELETE requests. */
export const NLM_F_NONREC = 0x100;
export const NLM_F_BULK = 0x200;

/** Flags of NLMSG_ERROR replies. */
export const NLM_F_CAPPED = 0x100;
export const NLM_F_ACK_TLVS = 0x200;

/** Extended-ack attributes (enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;
export const NLMSGERR_ATTR_COOKIE = 3;
export const NLMSGERR_ATTR_POLICY = 4;
export const NLMSGERR_ATTR_MISS_TYPE = 5;
export const NLMSGERR_ATTR_MISS_NEST = 6;

/** Attribute type flags. */
export const NLA_F_NESTED = 1 << 15;
export const NLA_F_NET_BYTEORDER = 1 << 14;
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** nfnetlink (netfilter/nfnetlink.h). */
export const NFNETLINK_V0 = 0;
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNL_MSG_BATCH_BEGIN = NLMSG_MIN_TYPE;
export const NFNL_MSG_BATCH_END = NLMSG_MIN_TYPE + 1;
export const NFNL_BATCH_GENID = 1;

/** Rounds `len` up to the netlink alignment (NLMSG_ALIGN / NLA_ALIGN). */
export function align(len: number): number {
  return (len + 3) & ~3;
}
