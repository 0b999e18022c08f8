/**
 * CLI: what several commands share about networks and endpoints — finding them, the
 * `-p` syntax, and Docker's JSON shapes (`docker network inspect`, `docker port`).
 * @module
 */
import { BridgeNetwork, type Endpoint, NETNS_RUN_DIR, NetplumbError, Netns, type PublishSpec, type PublishedPort, ValidationError } from '../index.js';

/** Every netplumb network of the caller's namespace, opened (close nothing: each owns its handle). */
export async function openAll(only: string[] = []): Promise<BridgeNetwork[]> {
  const names = only.length ? only : (await BridgeNetwork.list()).map((n) => n.name);
  const out: BridgeNetwork[] = [];
  for (const name of names) {
    try {
      out.push(await BridgeNetwork.open(name));
    } catch (e) {
      // Removed between the listing and the open: not there any more.
      if (only.length || !(e instanceof NetplumbError && e.code === 'ENOENT')) throw e;
    }
  }
  return out;
}

/** How a namespace is shown: its /run/netns name, else its path, else its inode. */
export function netnsLabel(path: string | undefined, inode: number): string {
  if (path?.startsWith(`${NETNS_RUN_DIR}/`)) return path.slice(NETNS_RUN_DIR.length + 1);
  return path ?? `inode:${inode}`;
}

/** The namespace label of an endpoint. */
export function endpointNetns(ep: Endpoint): string {
  return netnsLabel(ep.netnsPath, ep.netnsInode);
}

/** `0.0.0.0:8080->80/tcp`, as `docker ps` shows ports. */
export function portText(p: PublishedPort): string {
  const ip = p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp;
  return `${ip}:${p.hostPort}->${p.containerPort}/${p.protocol}`;
}

/**
 * Parses Docker's `-p` syntax: `HOSTPORT:CONTAINERPORT[/PROTO]`, `IP:HOSTPORT:CONTAINERPORT[/PROTO]`,
 * `[IPV6]:HOSTPORT:CONTAINERPORT[/PROTO]`. A host port must be given (netplumb does not pick one).
 */
export function parsePublish(text: string): PublishSpec {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(text);
  if (!m) throw new ValidationError('publish', `${JSON.stringify(text)} is not [HOSTIP:]HOSTPORT:CONTAINERPORT[/tcp|udp]`);
  const [, ip, hostPort, containerPort, protocol] = m;
  return {
    hostPort: Number(hostPort),
    containerPort: Number(containerPort),
    ...(protocol ? { protocol: protocol as 'tcp' | 'udp' } : {}),
    ...(ip ? { hostIp: ip.replace(/^\[|\]$/g, '') } : {}),
  };
}

/** Opens a namespace given as a /run/netns name or a path; undefined when there is no such namespace. */
export async function openNetns(nameOrPath: string): Promise<Netns | undefined> {
  try {
    return await Netns.open(nameOrPath);
  } catch (e) {
    if (e instanceof NetplumbError && (e.code === 'ENOENT' || e.code === 'ERR_NETPLUMB_INVALID')) return undefined;
    throw e;
  }
}

/** The endpoints that `what` names: an endpoint id, or a namespace (name or path) attached to the networks. */
export async function findEndpoints(nets: BridgeNetwork[], what: string): Promise<Array<{ net: BridgeNetwork; ep: Endpoint }>> {
  const ns = await openNetns(what);
  try {
    const out: Array<{ net: BridgeNetwork; ep: Endpoint }> = [];
    for (const net of nets) {
      for (const ep of await net.endpoints()) {
        if (ep.id === what || (ns !== undefined && ep.netnsInode === ns.inode)) out.push({ net, ep });
      }
    }
    return out;
  } finally {
    ns?.close();
  }
}

/** `docker port`'s and `docker inspect`'s NetworkSettings.Ports shape: `"80/tcp": [{ HostIp, HostPort }]`. */
export function dockerPorts(ports: readonly PublishedPort[]): Record<string, Array<{ HostIp: string; HostPort: string }>> {
  const out: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of ports) (out[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  return out;
}

/** One network in `docker network inspect`'s shape (plus netplumb's own fields where Docker has none). */
export async function dockerNetwork(net: BridgeNetwork): Promise<Record<string, unknown>> {
  const containers: Record<string, unknown> = {};
  for (const ep of await net.endpoints()) {
    containers[ep.id] = {
      Name: endpointNetns(ep),
      EndpointID: ep.id,
      MacAddress: ep.mac,
      IPv4Address: ep.ipv4 ? `${ep.ipv4}/${ep.prefixLength}` : '',
      IPv6Address: ep.ipv6 ? `${ep.ipv6}/${ep.prefixLength6}` : '',
      SandboxKey: ep.netnsPath ?? '',
      Interface: ep.ifname,
      HostInterface: ep.hostIfname,
      Ports: dockerPorts(ep.ports),
      ...(ep.owner !== undefined ? { Owner: ep.owner } : {}),
    };
  }
  const config: Array<{ Subnet: string; Gateway: string }> = [{ Subnet: net.subnet, Gateway: net.gateway }];
  if (net.subnet6 && net.gateway6) config.push({ Subnet: net.subnet6, Gateway: net.gateway6 });
  return {
    Name: net.name,
    Id: net.name,
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv4: true,
    EnableIPv6: net.subnet6 !== undefined,
    IPAM: { Driver: 'default', Options: {}, Config: config },
    Internal: net.internal,
    Attachable: true,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: {
      'com.docker.network.bridge.name': net.bridge,
      'com.docker.network.bridge.enable_icc': String(net.icc),
      'com.docker.network.bridge.enable_ip_masquerade': String(net.masquerade),
      'com.docker.network.bridge.host_binding_ipv4': net.hostIp ?? '0.0.0.0',
      ...(net.mtu !== undefined ? { 'com.docker.network.driver.mtu': String(net.mtu) } : {}),
    },
    Labels: {},
  };
}
