/**
 * The `counter` expression: counts packets and bytes that reach it. nft: `counter`.
 * Debug line: `[ counter pkts 0 bytes 0 ]`.
 * @module
 */
import type { Attributes } from '../../netlink/attributes.js';
import type { Writer } from '../../netlink/writer.js';
import { NFTA_COUNTER_BYTES, NFTA_COUNTER_PACKETS, NFTA_COUNTER_PAD } from '../constants.js';
import { ValidationError } from '../../errors.js';
import type { ExprCodec } from './common.js';

/** Counts packets and bytes; values given when adding are the starting counts. */
export interface Counter {
  kind: 'counter';
  packets?: bigint;
  bytes?: bigint;
}

function checkU64(v: unknown, field: string): bigint {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) throw new ValidationError(field, 'must be a bigint between 0 and 2^64-1');
  return v;
}

export const counter: ExprCodec<Counter> = {
  name: 'counter',
  known: new Set([NFTA_COUNTER_BYTES, NFTA_COUNTER_PACKETS, NFTA_COUNTER_PAD]),
  encode(w: Writer, e: Counter, field: string) {
    if (e.bytes !== undefined) w.attrBe64(NFTA_COUNTER_BYTES, checkU64(e.bytes, `${field}.bytes`));
    if (e.packets !== undefined) w.attrBe64(NFTA_COUNTER_PACKETS, checkU64(e.packets, `${field}.packets`));
  },
  decode(a: Attributes): Counter {
    const e: Counter = { kind: 'counter' };
    const packets = a.be64(NFTA_COUNTER_PACKETS);
    const bytes = a.be64(NFTA_COUNTER_BYTES);
    if (packets !== undefined) e.packets = packets;
    if (bytes !== undefined) e.bytes = bytes;
    return e;
  },
};
