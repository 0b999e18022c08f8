/**
 * CNI plugin: the spec versions it speaks, and what each verb needs. Results are shaped
 * for the `cniVersion` of the configuration (result.ts); a version outside this list is
 * refused with code 1.
 * @module
 */
import { CNI_ERR, CniError } from './errors.js';

/** The versions `VERSION` reports, oldest first. Debian 12's podman/libcni speak at most 1.0.0. */
export const SUPPORTED_VERSIONS = ['0.4.0', '1.0.0', '1.1.0'] as const;

/** One of {@link SUPPORTED_VERSIONS}. */
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The newest version, reported when the runtime did not say which it speaks. */
export const LATEST_VERSION: CniVersion = '1.1.0';

/** The verbs of the spec. */
export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'STATUS' | 'GC' | 'VERSION';

/** The oldest spec version that has each verb (CHECK came with 0.4.0, STATUS and GC with 1.1.0). */
const VERB_SINCE: Record<CniCommand, CniVersion> = { ADD: '0.4.0', DEL: '0.4.0', CHECK: '0.4.0', STATUS: '1.1.0', GC: '1.1.0', VERSION: '0.4.0' };

/** Checks that `v` is a version this plugin speaks and that it has `command`; code 1 otherwise. */
export function negotiate(v: unknown, command: CniCommand): CniVersion {
  if (typeof v !== 'string' || !(SUPPORTED_VERSIONS as readonly string[]).includes(v)) {
    throw new CniError(
      CNI_ERR.INCOMPATIBLE_VERSION,
      `incompatible CNI version ${JSON.stringify(v)}`,
      `netplumb-cni supports ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  const version = v as CniVersion;
  if (compareVersions(version, VERB_SINCE[command]) < 0) {
    throw new CniError(CNI_ERR.INCOMPATIBLE_VERSION, `${command} needs CNI ${VERB_SINCE[command]} or later, the configuration says ${version}`);
  }
  return version;
}

/** Orders two dotted versions: negative when `a` is older than `b`. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** What `VERSION` prints. */
export function versionInfo(): { cniVersion: CniVersion; supportedVersions: CniVersion[] } {
  return { cniVersion: LATEST_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}
