/**
 * CNI plugin: the result object, kept in the 1.x form and shaped on output for the
 * `cniVersion` the runtime asked for: 0.4.0 adds `version` to each IP, 1.1.0 adds the
 * interfaces' `mtu`. Also reads a `prevResult` of any supported version back.
 * @module
 */
import type { Dns } from './config.js';
import { CNI_ERR, CniError } from './errors.js';
import type { CniVersion } from './version.js';

/** An entry of `interfaces`. */
export interface CniInterface {
  name: string;
  mac?: string;
  /** Path of the namespace, for interfaces inside the container. */
  sandbox?: string;
  /** 1.1.0 only. */
  mtu?: number;
}

/** An entry of `ips`. */
export interface CniIp {
  /** Address with prefix, e.g. `10.88.0.5/16`. */
  address: string;
  gateway?: string;
  /** Index into `interfaces`. */
  interface?: number;
}

/** An entry of `routes`. */
export interface CniRoute {
  dst: string;
  gw?: string;
}

/** A result in the 1.x form. */
export interface CniResult {
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: CniRoute[];
  dns?: Dns;
}

/** The result as printed for `version`. */
export function shapeResult(r: CniResult, version: CniVersion): Record<string, unknown> {
  const interfaces = r.interfaces.map((i) => {
    const { mtu, ...rest } = i;
    return version === '1.1.0' && mtu !== undefined ? { ...rest, mtu } : rest;
  });
  const ips = r.ips.map((ip) => (version === '0.4.0' ? { version: ip.address.includes(':') ? '6' : '4', ...ip } : ip));
  return { cniVersion: version, interfaces, ips, routes: r.routes, dns: r.dns ?? {} };
}

function arr(v: unknown, field: string): Array<Record<string, unknown>> {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => x === null || typeof x !== 'object')) throw new CniError(CNI_ERR.INVALID_CONFIG, `prevResult.${field} must be an array of objects`);
  return v as Array<Record<string, unknown>>;
}

/** Reads a prevResult (0.4.0 or 1.x) into the 1.x form. */
export function readResult(prev: Record<string, unknown>): CniResult {
  const str = (o: Record<string, unknown>, k: string, field: string): string => {
    if (typeof o[k] !== 'string') throw new CniError(CNI_ERR.INVALID_CONFIG, `prevResult.${field}.${k} must be a string`);
    return o[k] as string;
  };
  return {
    interfaces: arr(prev.interfaces, 'interfaces').map((i) => ({
      name: str(i, 'name', 'interfaces[]'),
      ...(typeof i.mac === 'string' ? { mac: i.mac } : {}),
      ...(typeof i.sandbox === 'string' ? { sandbox: i.sandbox } : {}),
      ...(typeof i.mtu === 'number' ? { mtu: i.mtu } : {}),
    })),
    ips: arr(prev.ips, 'ips').map((ip) => ({
      address: str(ip, 'address', 'ips[]'),
      ...(typeof ip.gateway === 'string' ? { gateway: ip.gateway } : {}),
      ...(typeof ip.interface === 'number' ? { interface: ip.interface } : {}),
    })),
    routes: arr(prev.routes, 'routes').map((r) => ({ dst: str(r, 'dst', 'routes[]'), ...(typeof r.gw === 'string' ? { gw: r.gw } : {}) })),
    ...(prev.dns && typeof prev.dns === 'object' && Object.keys(prev.dns).length ? { dns: prev.dns as Dns } : {}),
  };
}

/** Appends `ours` to what earlier plugins of the chain returned (their interface indexes shift ours). */
export function mergeResults(prev: CniResult, ours: CniResult): CniResult {
  const shift = prev.interfaces.length;
  return {
    interfaces: [...prev.interfaces, ...ours.interfaces],
    ips: [...prev.ips, ...ours.ips.map((ip) => (ip.interface === undefined ? ip : { ...ip, interface: ip.interface + shift }))],
    routes: [...prev.routes, ...ours.routes],
    ...((ours.dns ?? prev.dns) ? { dns: (ours.dns ?? prev.dns) as Dns } : {}),
  };
}
