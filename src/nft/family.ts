/**
 * Layer 2 (nftables): address families as nft names them, and the nfgenmsg header that
 * starts every nf_tables message.
 * @module
 */
import { DecodeError, ValidationError } from '../errors.js';
import { Attributes } from '../netlink/attributes.js';
import type { Writer } from '../netlink/writer.js';
import { NFPROTO_ARP, NFPROTO_BRIDGE, NFPROTO_INET, NFPROTO_IPV4, NFPROTO_IPV6, NFPROTO_NETDEV } from './constants.js';

/** An nftables family, as in `nft add table FAMILY NAME`. */
export type Family = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

const TO_PROTO: Record<Family, number> = {
  ip: NFPROTO_IPV4,
  ip6: NFPROTO_IPV6,
  inet: NFPROTO_INET,
  arp: NFPROTO_ARP,
  bridge: NFPROTO_BRIDGE,
  netdev: NFPROTO_NETDEV,
};
const FROM_PROTO = new Map<number, Family>(Object.entries(TO_PROTO).map(([k, v]) => [v, k as Family]));

/** NFPROTO_* of a family; ValidationError for anything else. */
export function familyProto(family: Family, field = 'family'): number {
  const p = Object.hasOwn(TO_PROTO, family) ? TO_PROTO[family] : undefined;
  if (p === undefined) throw new ValidationError(field, `${JSON.stringify(family)} is not one of ${Object.keys(TO_PROTO).join(', ')}`);
  return p;
}

/** The family of an NFPROTO_* value; DecodeError for an unknown one. */
function familyName(proto: number): Family {
  const f = FROM_PROTO.get(proto);
  if (f === undefined) throw new DecodeError(`unknown nftables family ${proto}`, 0);
  return f;
}

/** Writes struct nfgenmsg: family, NFNETLINK_V0, res_id (big-endian). */
export function putNfgenmsg(w: Writer, proto: number, resId = 0): void {
  w.putU8(proto);
  w.putU8(0);
  w.putBe16(resId);
}

/** Size of struct nfgenmsg. */
export const NFGENMSG_LEN = 4;

/**
 * Checks an object name (table, chain, set): a non-empty string of at most
 * NFT_NAME_MAXLEN - 1 bytes without NUL, as the kernel requires.
 */
export function checkName(name: unknown, field: string): string {
  if (typeof name !== 'string' || name.length === 0) throw new ValidationError(field, 'must be a non-empty string');
  if (name.includes('\0')) throw new ValidationError(field, 'must not contain NUL');
  if (Buffer.byteLength(name) > 255) throw new ValidationError(field, `"${name}" is longer than 255 bytes`);
  return name;
}

/** Splits an nf_tables message payload into its family and attributes; DecodeError when truncated. */
export function parsePayload(payload: Buffer): { family: Family; attrs: Attributes } {
  if (payload.length < NFGENMSG_LEN) throw new DecodeError(`nf_tables message of ${payload.length} bytes has no nfgenmsg`, 0);
  return { family: familyName(payload[0] as number), attrs: Attributes.parse(payload, NFGENMSG_LEN) };
}
