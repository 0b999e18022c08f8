// Placeholder until the nftables layer lands (issue 4): the shape netns.ts relies on.
import type { NetlinkConnection } from '../netlink/connection.js';
export interface NetfilterNamespace { readonly netfilter: NetlinkConnection; readonly fd: number }
export class Nft { constructor(readonly ns: NetfilterNamespace) {} }
