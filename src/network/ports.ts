/**
 * Layer 4 (network): published ports — validation of what a caller asks for (Docker's
 * `-p` forms: one port, a range, an ephemeral host port, an IPv4 or IPv6 host address),
 * the choice of ephemeral host ports, and the map elements that publish them. Whether a
 * host port is free is the kernel's to say: its reservation is an exclusive element
 * (reservation.ts); an ephemeral choice that loses a race is chosen again.
 * @module
 */
import { randomInt } from 'node:crypto';
import { NetplumbError, ValidationError } from '../errors.js';
import type { SetElement } from '../nft/index.js';
import { formatAddress, parseAddress } from './ipam.js';
import type { PortElement } from './ruleset.js';

/**
 * A port to publish, as `docker run -p [hostIp:][hostPort[-hostPortEnd]:]containerPort[-containerPortEnd][/protocol]`:
 *
 * - `{ containerPort: 80 }` (`-p 80`): a free host port from the host namespace's
 *   ephemeral range (`net.ipv4.ip_local_port_range`), reported by `ep.ports` and inspect();
 * - `{ hostPort: 8080, containerPort: 80 }` (`-p 8080:80`);
 * - `{ hostPort: 8000, hostPortEnd: 8010, containerPort: 80, containerPortEnd: 90 }`
 *   (`-p 8000-8010:80-90`): port by port, both ranges of one length;
 * - `{ hostPort: 8000, hostPortEnd: 8010, containerPort: 80 }` (`-p 8000-8010:80`): the
 *   first free host port of the range;
 * - `{ containerPort: 80, containerPortEnd: 90 }` (`-p 80-90`): an ephemeral host port each.
 */
export interface PublishSpec {
  /** Port on the host (1-65535); omitted: an ephemeral port. */
  hostPort?: number;
  /** Last port of a host range (inclusive). */
  hostPortEnd?: number;
  /** Port inside the container (1-65535). */
  containerPort: number;
  /** Last port of a container range (inclusive). */
  containerPortEnd?: number;
  /** Default tcp. */
  protocol?: 'tcp' | 'udp';
  /**
   * Publish only on this host address, IPv4 or IPv6 (an IPv6 one needs an IPv6 container
   * address: the kernel does not translate IPv6 to IPv4; and not `::1`: the kernel does not
   * forward IPv6 loopback traffic). Default: every local address, IPv4 and IPv6 (or the
   * network's `hostIp`); `0.0.0.0` and `::` mean the same.
   */
  hostIp?: string;
}

/** A published port as an endpoint reports it: one host port to one container port. */
export interface PublishedPort {
  protocol: 'tcp' | 'udp';
  /** `0.0.0.0` when published on every local address (IPv4 and IPv6). */
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

/** One container port to publish, its host port fixed or still to choose from `range`. @internal */
export interface PortRequest {
  protocol: 'tcp' | 'udp';
  hostIp: string;
  containerPort: number;
  /** Fixed host port. */
  hostPort?: number;
  /** Host ports to choose from (inclusive); undefined with no hostPort: the ephemeral range. */
  range?: [number, number];
}

/** Thrown when a host port/protocol/address is already published: Docker's "port is already allocated". */
export class PortAllocatedError extends NetplumbError {
  /** The port that was asked for. */
  readonly port: PublishedPort;

  constructor(port: PublishedPort, cause?: unknown) {
    super(
      `Bind for ${port.hostIp.includes(':') ? `[${port.hostIp}]` : port.hostIp}:${port.hostPort}/${port.protocol} failed: port is already allocated`,
      'ERR_NETPLUMB_PORT_ALLOCATED',
      cause === undefined ? undefined : { cause },
    );
    this.port = port;
  }
}

/** Every local address. */
export const ANY = '0.0.0.0';

function checkPort(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw new ValidationError(field, `${JSON.stringify(v)} is not a port number (1-65535)`);
  }
  return v;
}

function checkEnd(start: number, v: unknown, field: string): number {
  const end = checkPort(v, field);
  if (end < start) throw new ValidationError(field, `${end} is before the range's first port ${start}`);
  return end;
}

/**
 * Validates publish specs into one request per container port; `defaultHostIp` is the
 * network's, `ipv6` whether endpoints have an IPv6 address. Throws ValidationError naming
 * the entry.
 */
export function normalizePublish(publish: unknown, defaultHostIp: string | undefined, families: { ipv4: boolean; ipv6: boolean } = { ipv4: true, ipv6: true }): PortRequest[] {
  if (publish === undefined) return [];
  if (!Array.isArray(publish)) throw new ValidationError('publish', 'must be an array of { hostPort?, hostPortEnd?, containerPort, containerPortEnd?, protocol?, hostIp? }');
  const out: PortRequest[] = [];
  publish.forEach((p: unknown, i) => {
    const f = `publish[${i}]`;
    if (p === null || typeof p !== 'object') throw new ValidationError(f, 'must be an object');
    const spec = p as Record<string, unknown>;
    const protocol = spec.protocol ?? 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp') throw new ValidationError(`${f}.protocol`, `${JSON.stringify(protocol)} is not tcp or udp`);
    const hostIpText = spec.hostIp ?? defaultHostIp;
    let hostIp = ANY;
    if (hostIpText !== undefined) {
      const a = parseAddress(hostIpText, `${f}.hostIp`);
      // `0.0.0.0:80` and `[::]:80` are every address, as Docker reads them.
      if (a.value !== 0n) {
        if (a.family === 6 && !families.ipv6) {
          throw new ValidationError(`${f}.hostIp`, `${String(hostIpText)} is an IPv6 address and the network has no IPv6 subnet: the kernel does not translate IPv6 to IPv4 (Docker's userland proxy does); publish on an IPv4 address or give the network subnet6`);
        }
        if (a.family === 6 && a.value === 1n) {
          // After the DNAT the reply comes back from the bridge to ::1, and IPv6 has no
          // route_localnet: the kernel drops it as a martian.
          throw new ValidationError(`${f}.hostIp`, '::1: the kernel cannot forward IPv6 loopback traffic to a container (IPv6 has no route_localnet; Docker uses its userland proxy for it); publish on another host address, or on 127.0.0.1');
        }
        if (a.family === 4 && !families.ipv4) {
          throw new ValidationError(`${f}.hostIp`, `${String(hostIpText)} is an IPv4 address and the network is IPv6-only: the kernel does not translate IPv4 to IPv6`);
        }
        hostIp = formatAddress(a.family, a.value);
      }
    }
    const c0 = checkPort(spec.containerPort, `${f}.containerPort`);
    const c1 = spec.containerPortEnd === undefined ? c0 : checkEnd(c0, spec.containerPortEnd, `${f}.containerPortEnd`);
    if (spec.hostPort === undefined) {
      if (spec.hostPortEnd !== undefined) throw new ValidationError(`${f}.hostPortEnd`, 'needs hostPort');
      for (let c = c0; c <= c1; c++) out.push({ protocol, hostIp, containerPort: c });
      return;
    }
    const h0 = checkPort(spec.hostPort, `${f}.hostPort`);
    const h1 = spec.hostPortEnd === undefined ? h0 : checkEnd(h0, spec.hostPortEnd, `${f}.hostPortEnd`);
    if (c0 === c1 && h1 > h0) {
      out.push({ protocol, hostIp, containerPort: c0, range: [h0, h1] });
      return;
    }
    if (h1 - h0 !== c1 - c0) {
      throw new ValidationError(f, `host ports ${h0}-${h1} and container ports ${c0}-${c1} are ranges of different lengths`);
    }
    for (let c = c0; c <= c1; c++) out.push({ protocol, hostIp, containerPort: c, hostPort: h0 + (c - c0) });
  });
  const seen = new Set<string>();
  for (const r of out) {
    if (r.hostPort === undefined) continue;
    const k = `${r.protocol}/${r.hostPort}@${r.hostIp}`;
    if (seen.has(k)) throw new ValidationError('publish', `${r.hostIp}:${r.hostPort}/${r.protocol} is listed twice`);
    seen.add(k);
  }
  // The same port on every address and on one address would shadow each other.
  for (const r of out) {
    if (r.hostPort !== undefined && r.hostIp !== ANY && seen.has(`${r.protocol}/${r.hostPort}@${ANY}`)) {
      throw new ValidationError('publish', `${r.hostPort}/${r.protocol} is published on every address and on ${r.hostIp}`);
    }
  }
  return out;
}

/** Whether some request's host port is still to be chosen. */
export function needsChoice(requests: readonly PortRequest[]): boolean {
  return requests.some((r) => r.hostPort === undefined);
}

/** `net.ipv4.ip_local_port_range` as read from /proc/sys ("32768\t60999"). */
export function parsePortRange(text: string): [number, number] {
  const m = /^\s*(\d+)\s+(\d+)\s*$/.exec(text);
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (!m || lo < 1 || hi > 65535 || lo > hi) throw new NetplumbError(`net.ipv4.ip_local_port_range is "${text}", not a port range`, 'ERR_NETPLUMB_BAD_SYSCTL');
  return [lo, hi];
}

/** A host binding held in the kernel, as read from the `hostports` and `hostports6` sets. */
export interface HeldBinding {
  protocol: 'tcp' | 'udp';
  hostPort: number;
  /** Undefined: every address; an IPv4 address; or `#` and the hex digest of an IPv6 one (reservation.ts). */
  hostIp?: string;
}

/** How a binding's host address is compared with a held one: IPv6 addresses by their digest. */
function addressKey(hostIp: string | undefined, digest6: (address: string) => Uint8Array): string | undefined {
  if (hostIp === undefined || hostIp === ANY) return undefined;
  if (hostIp.startsWith('#') || !hostIp.includes(':')) return hostIp;
  return `#${Buffer.from(digest6(hostIp)).toString('hex')}`;
}

/** Whether two bindings of one port would both answer some address. */
export function bindingsOverlap(a: HeldBinding, b: HeldBinding, digest6: (address: string) => Uint8Array): boolean {
  if (a.protocol !== b.protocol || a.hostPort !== b.hostPort) return false;
  const ia = addressKey(a.hostIp, digest6);
  const ib = addressKey(b.hostIp, digest6);
  return ia === undefined || ib === undefined || ia === ib;
}

/**
 * Chooses host ports for the requests that have none: for each, from a random place in its
 * range (`ephemeral` when it has none), the first port whose binding overlaps nothing in
 * `held` nor another choice of this call. Throws PortAllocatedError when a range is full.
 */
export function choosePorts(requests: readonly PortRequest[], held: readonly HeldBinding[], ephemeral: [number, number], digest6: (address: string) => Uint8Array): PublishedPort[] {
  const taken: HeldBinding[] = [...held];
  for (const r of requests) if (r.hostPort !== undefined) taken.push({ protocol: r.protocol, hostPort: r.hostPort, hostIp: r.hostIp });
  return requests.map((r) => {
    if (r.hostPort !== undefined) return { protocol: r.protocol, hostIp: r.hostIp, hostPort: r.hostPort, containerPort: r.containerPort };
    const [lo, hi] = r.range ?? ephemeral;
    const n = hi - lo + 1;
    // Docker's allocator starts past its last choice; a random start keeps concurrent
    // processes (which share no memory) from all trying the same port first.
    const start = r.range ? 0 : randomInt(n);
    for (let i = 0; i < n; i++) {
      const hostPort = lo + ((start + i) % n);
      const p = { protocol: r.protocol, hostIp: r.hostIp, hostPort, containerPort: r.containerPort };
      if (taken.some((t) => bindingsOverlap(t, p, digest6))) continue;
      taken.push(p);
      return p;
    }
    throw new PortAllocatedError({ protocol: r.protocol, hostIp: r.hostIp, hostPort: lo, containerPort: r.containerPort }, new ValidationError('publish', `no free ${r.protocol} host port in ${lo}-${hi}`));
  });
}

/** The bindings held in the kernel, from the elements of `hostports` and `hostports6` (both: proto, port, then an address or its digest). */
export function heldBindings(hostports: readonly SetElement[], hostports6: readonly SetElement[]): HeldBinding[] {
  const out: HeldBinding[] = [];
  for (const [family, list] of [[4, hostports], [6, hostports6]] as const) {
    for (const e of list) {
      if (typeof e.key !== 'string') continue;
      const v = parseAddress(e.key.split('/')[0], 'key', 6).value;
      const protocol = Number((v >> 112n) & 0xffn) === 17 ? 'udp' : 'tcp';
      const hostPort = Number((v >> 96n) & 0xffffn);
      const any = e.keyEnd !== undefined ? e.keyEnd !== e.key : e.key.includes('/');
      const hostIp = family === 4 ? formatAddress(4, v & 0xffffffffn) : `#${(v & ((1n << 96n) - 1n)).toString(16).padStart(24, '0')}`;
      out.push({ protocol, hostPort, ...(any ? {} : { hostIp }) });
    }
  }
  return out;
}

/** The map elements publishing `ports` to an endpoint's addresses: every-address ports go to both families. */
export function portElements(ports: readonly PublishedPort[], ipv4: string | undefined, ipv6: string | undefined): PortElement[] {
  const out: PortElement[] = [];
  for (const p of ports) {
    const any = p.hostIp === ANY;
    const v6host = !any && p.hostIp.includes(':');
    if (ipv4 && !v6host) out.push({ protocol: p.protocol, ...(any ? {} : { hostIp: p.hostIp }), hostFamily: 4, hostPort: p.hostPort, target: ipv4, containerPort: p.containerPort });
    if (ipv6 && (any || v6host)) out.push({ protocol: p.protocol, ...(any ? {} : { hostIp: p.hostIp }), hostFamily: 6, hostPort: p.hostPort, target: ipv6, containerPort: p.containerPort });
  }
  return out;
}
