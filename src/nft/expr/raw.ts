/**
 * Any expression netplumb does not model (or cannot represent exactly): its name and the
 * bytes of its NFTA_EXPR_DATA, written back unchanged. Rules written by other tools
 * therefore always decode, and re-encode to the same bytes.
 * @module
 */

/** An expression kept as NFTA_EXPR_NAME and the NFTA_EXPR_DATA payload (absent: no data attribute). */
export interface Raw {
  kind: 'raw';
  name: string;
  data?: Uint8Array;
}
