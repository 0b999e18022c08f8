/**
 * Layer 2 (nftables): tables — NFT_MSG_NEWTABLE/DELTABLE attributes and the decoding of
 * dumped tables. A table's comment is stored as nft stores it (NFTNL_UDATA_TABLE_COMMENT).
 * @module
 */
import type { Writer } from '../netlink/writer.js';
import {
  NFTA_TABLE_FLAGS,
  NFTA_TABLE_HANDLE,
  NFTA_TABLE_NAME,
  NFTA_TABLE_OWNER,
  NFTA_TABLE_USE,
  NFTA_TABLE_USERDATA,
  NFT_TABLE_F_DORMANT,
  NFT_TABLE_F_OWNER,
} from './constants.js';
import { type Family, checkName, parsePayload } from './family.js';
import { checkFlags, flagNames } from './expr/common.js';
import { NFTNL_UDATA_TABLE_COMMENT, commentUdata, readComment } from './udata.js';
import { handleOf } from './handle.js';

/** enum nft_table_flags by nft's names. */
export const TABLE_FLAGS = { dormant: NFT_TABLE_F_DORMANT, owner: NFT_TABLE_F_OWNER } as const;
export type TableFlag = keyof typeof TABLE_FLAGS;

/** A table to create: like `nft add table FAMILY NAME { flags ...; comment "..."; }`. */
export interface TableSpec {
  family: Family;
  name: string;
  /** `dormant` (hooks off) and `owner` (the table dies with the netlink socket that made it — rarely what a library wants). */
  flags?: TableFlag[];
  comment?: string;
}

/** A table read back from the kernel. */
export interface NftTable {
  family: Family;
  name: string;
  handle: number;
  flags: TableFlag[];
  /** How many chains, sets ... it holds (NFTA_TABLE_USE). */
  use: number;
  comment?: string;
  /** Port id of the owning socket, for `owner` tables. */
  owner?: number;
}

/** Writes NEWTABLE's attributes in libnftnl's order: name, flags, user data. */
export function encodeTable(w: Writer, t: TableSpec, field: string): void {
  w.attrString(NFTA_TABLE_NAME, checkName(t.name, `${field}.name`));
  w.attrBe32(NFTA_TABLE_FLAGS, t.flags === undefined ? 0 : checkFlags(t.flags, TABLE_FLAGS, `${field}.flags`));
  if (t.comment !== undefined) w.attrBytes(NFTA_TABLE_USERDATA, commentUdata(NFTNL_UDATA_TABLE_COMMENT, t.comment, `${field}.comment`));
}

/** Writes the attributes naming a table (DELTABLE). */
export function encodeTableRef(w: Writer, name: string, field: string): void {
  w.attrString(NFTA_TABLE_NAME, checkName(name, field));
}

/** Decodes a NEWTABLE message payload (nfgenmsg + attributes). */
export function decodeTable(payload: Buffer): NftTable {
  const { family, attrs: a } = parsePayload(payload);
  const t: NftTable = {
    family,
    name: a.string(NFTA_TABLE_NAME) ?? '',
    handle: handleOf(a.be64(NFTA_TABLE_HANDLE)),
    flags: flagsOrEmpty(a.be32(NFTA_TABLE_FLAGS)),
    use: a.be32(NFTA_TABLE_USE) ?? 0,
  };
  const comment = readComment(a.get(NFTA_TABLE_USERDATA), NFTNL_UDATA_TABLE_COMMENT);
  if (comment !== undefined) t.comment = comment;
  const owner = a.be32(NFTA_TABLE_OWNER);
  if (owner !== undefined) t.owner = owner;
  return t;
}

function flagsOrEmpty(bits: number | undefined): TableFlag[] {
  // Flags newer than this code are dropped rather than failing the whole listing.
  return flagNames(TABLE_FLAGS, (bits ?? 0) & (NFT_TABLE_F_DORMANT | NFT_TABLE_F_OWNER), 'table flags');
}

