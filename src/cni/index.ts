/**
 * CNI plugin (`netplumb-cni`), on top of netplumb's public surface: run {@link main} as a
 * runtime would call the executable. The verbs are also exported for embedding.
 * @module
 */
export { main } from './main.js';
export { CNI_ERR, CniError } from './errors.js';
export { SUPPORTED_VERSIONS, LATEST_VERSION } from './version.js';
export type { CniVersion, CniCommand } from './version.js';
