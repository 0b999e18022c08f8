/**
 * Layer 4 (network): published ports — validation of what a caller asks for and the map
 * elements that publish them. Whether a host port is free is the kernel's to say: its
 * reservation is an exclusive element (reservation.ts).
 * @module
 */
import { NetplumbError, ValidationError } from '../errors.js';
import { formatAddress, parseAddress } from './ipam.js';
import type { PortElement } from './ruleset.js';

/** A port to publish, as `docker run -p [hostIp:]hostPort:containerPort[/protocol]`. */
export interface PublishSpec {
  /** Port on the host (1-65535). */
  hostPort: number;
  /** Port inside the container (1-65535). */
  containerPort: number;
  /** Default tcp. */
  protocol?: 'tcp' | 'udp';
  /** Publish only on this host IPv4 address; default: every local address, IPv4 and IPv6 (or the network's `hostIp`). */
  hostIp?: string;
}

/** A published port as an endpoint reports it. */
export interface PublishedPort {
  protocol: 'tcp' | 'udp';
  /** `0.0.0.0` (or `::`) when published on every local address. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
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

function checkPort(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw new ValidationError(field, `${JSON.stringify(v)} is not a port number (1-65535)`);
  }
  return v;
}

/** Validates publish specs; `defaultHostIp` is the network's. Throws ValidationError naming the entry. */
export function normalizePublish(publish: unknown, defaultHostIp: string | undefined): PublishedPort[] {
  if (publish === undefined) return [];
  if (!Array.isArray(publish)) throw new ValidationError('publish', 'must be an array of { hostPort, containerPort, protocol?, hostIp? }');
  const out: PublishedPort[] = [];
  const seen = new Set<string>();
  publish.forEach((p: unknown, i) => {
    const f = `publish[${i}]`;
    if (p === null || typeof p !== 'object') throw new ValidationError(f, 'must be an object');
    const spec = p as Record<string, unknown>;
    const protocol = spec.protocol ?? 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp') throw new ValidationError(`${f}.protocol`, `${JSON.stringify(protocol)} is not tcp or udp`);
    const hostIpText = spec.hostIp ?? defaultHostIp;
    let hostIp = '0.0.0.0';
    if (hostIpText !== undefined) {
      const a = parseAddress(hostIpText, `${f}.hostIp`);
      if (a.family === 6) throw new ValidationError(`${f}.hostIp`, `${String(hostIpText)}: publishing on one IPv6 host address is not supported; omit hostIp to publish on every address, IPv6 included`);
      hostIp = formatAddress(4, a.value);
    }
    const port: PublishedPort = {
      protocol,
      hostIp,
      hostPort: checkPort(spec.hostPort, `${f}.hostPort`),
      containerPort: checkPort(spec.containerPort, `${f}.containerPort`),
    };
    const k = `${port.protocol}/${port.hostPort}`;
    if (seen.has(`${k}@${hostIp}`)) throw new ValidationError(f, `${hostIp}:${port.hostPort}/${protocol} is listed twice`);
    seen.add(`${k}@${hostIp}`);
    out.push(port);
  });
  // The same port on every address and on one address would shadow each other.
  for (const p of out) {
    if (p.hostIp !== '0.0.0.0' && seen.has(`${p.protocol}/${p.hostPort}@0.0.0.0`)) {
      throw new ValidationError('publish', `${p.hostPort}/${p.protocol} is published on every address and on ${p.hostIp}`);
    }
  }
  return out;
}

/** The map elements publishing `ports` to an endpoint's addresses: every-address ports go to both families. */
export function portElements(ports: readonly PublishedPort[], ipv4: string, ipv6: string | undefined): PortElement[] {
  const out: PortElement[] = [];
  for (const p of ports) {
    const any = p.hostIp === '0.0.0.0';
    out.push({ protocol: p.protocol, ...(any ? {} : { hostIp: p.hostIp }), hostFamily: 4, hostPort: p.hostPort, target: ipv4, containerPort: p.containerPort });
    if (ipv6 && any) out.push({ protocol: p.protocol, hostFamily: 6, hostPort: p.hostPort, target: ipv6, containerPort: p.containerPort });
  }
  return out;
}
