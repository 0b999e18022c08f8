/**
 * Layer 4 (network): the address search of a macvlan network — next-fit over its range
 * (`ipRange`, else the subnet), never the gateway. Which addresses are taken is the
 * kernel's to say (reservation.ts).
 * @module
 */
import type { MacvlanShape } from './options.js';

/** The address after `value` in the network's range, wrapping; skips the gateway. */
export function nextInRange(shape: MacvlanShape, value: bigint): bigint {
  const { first, last, family } = shape.range;
  const gw = family === 4 ? shape.gw4 : shape.gw6;
  let v = value + 1n;
  for (let i = 0; i < 3; i++) {
    if (v > last || v < first) v = first;
    if (v !== gw) return v;
    v++;
  }
  return v;
}

/** Number of addresses the range can hand out. */
export function rangeSize(shape: MacvlanShape): bigint {
  const gw = shape.range.family === 4 ? shape.gw4 : shape.gw6;
  const n = shape.range.last - shape.range.first + 1n;
  return gw !== undefined && gw >= shape.range.first && gw <= shape.range.last ? n - 1n : n;
}
