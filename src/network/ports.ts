/**
 * Layer 4 (network): published ports — validation of what a caller asks for, and the
 * registry of host ports taken in one host namespace, so that "port is already allocated"
 * is known before anything is created (the kernel's exclusive map insert stays the final
 * word across processes).
 * @module
 */
import { NetplumbError, ValidationError } from '../errors.js';
import { formatAddress, parseAddress } from './ipam.js';

/** A port to publish, as `docker run -p [hostIp:]hostPort:containerPort[/protocol]`. */
export interface PublishSpec {
  /** Port on the host (1-65535). */
  hostPort: number;
  /** Port inside the container (1-65535). */
  containerPort: number;
  /** Default tcp. */
  protocol?: 'tcp' | 'udp';
  /** Publish only on this host address (IPv4 or IPv6); default: every local address (and the network's `hostIp`). */
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
      hostIp = formatAddress(a.family, a.value);
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

/** Host ports taken in one host namespace: `proto/port` → the addresses it is bound to. */
export class PortRegistry {
  private readonly taken = new Map<string, Set<string>>();

  private conflict(p: PublishedPort): boolean {
    const ips = this.taken.get(`${p.protocol}/${p.hostPort}`);
    if (!ips) return false;
    return ips.has(p.hostIp) || ips.has('0.0.0.0') || (p.hostIp === '0.0.0.0' && ips.size > 0);
  }

  /** Claims every port or none; throws PortAllocatedError for the first that is taken. */
  claim(ports: readonly PublishedPort[]): void {
    for (const p of ports) if (this.conflict(p)) throw new PortAllocatedError(p);
    for (const p of ports) {
      const k = `${p.protocol}/${p.hostPort}`;
      let ips = this.taken.get(k);
      if (!ips) this.taken.set(k, (ips = new Set()));
      ips.add(p.hostIp);
    }
  }

  /** Releases ports claimed before. */
  release(ports: readonly PublishedPort[]): void {
    for (const p of ports) {
      const k = `${p.protocol}/${p.hostPort}`;
      const ips = this.taken.get(k);
      ips?.delete(p.hostIp);
      if (ips?.size === 0) this.taken.delete(k);
    }
  }
}
