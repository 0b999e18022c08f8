/**
 * CLI: `netplumb port` — published ports, like `docker port CONTAINER [PRIVATE_PORT[/PROTO]]`.
 * @module
 */
import { NetplumbError, type PublishedPort, ValidationError } from '../index.js';
import { type Command, json, table } from './command.js';
import { EXIT } from './exit-codes.js';
import { dockerPorts, endpointNetns, findEndpoints, openAll } from './format.js';

function hostAddr(p: PublishedPort): string {
  return `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort}`;
}

/** `netplumb port`. */
export const portCommand: Command = {
  name: 'port',
  summary: 'List published ports of a namespace or endpoint, or of all (like `docker port`)',
  usage: '[OPTIONS] [NETNS|ENDPOINT [PRIVATE_PORT[/PROTO]]]',
  details: `Prints lines like \`80/tcp -> 0.0.0.0:8080\`; --json prints \`docker inspect\`'s NetworkSettings.Ports
shape ({"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}). Exit 4 when the namespace or
endpoint has no such published port.`,
  options: {},
  args: [0, 2],
  async run(inv) {
    const [what, privatePort] = inv.args;
    const nets = await openAll();
    if (what === undefined) {
      const rows: string[][] = [];
      const all: Array<Record<string, unknown>> = [];
      for (const net of nets) {
        for (const ep of await net.endpoints()) {
          if (!ep.ports.length) continue;
          all.push({ Endpoint: ep.id, Network: net.name, Namespace: endpointNetns(ep), Ports: dockerPorts(ep.ports) });
          for (const p of ep.ports) rows.push([endpointNetns(ep), net.name, `${p.containerPort}/${p.protocol}`, hostAddr(p), `${ep.ipv4 ?? ep.ipv6}:${p.containerPort}`]);
        }
      }
      inv.out(inv.json ? json(all) : table(['NAMESPACE', 'NETWORK', 'PORT', 'HOST', 'CONTAINER'], rows));
      return EXIT.OK;
    }
    let filter: ((p: PublishedPort) => boolean) | undefined;
    if (privatePort !== undefined) {
      const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(privatePort);
      if (!m) throw new ValidationError('PRIVATE_PORT', `${JSON.stringify(privatePort)} is not PORT[/tcp|udp]`);
      filter = (p) => p.containerPort === Number(m[1]) && p.protocol === (m[2] ?? 'tcp');
    }
    const found = await findEndpoints(nets, what);
    if (found.length === 0) throw new NetplumbError(`no endpoint or attached namespace ${JSON.stringify(what)}`, 'ENOENT');
    const ports = found.flatMap(({ ep }) => ep.ports).filter((p) => filter === undefined || filter(p));
    if (filter !== undefined && ports.length === 0) throw new NetplumbError(`no public port ${privatePort} published for ${what}`, 'ENOENT');
    if (inv.json) inv.out(json(dockerPorts(ports)));
    else if (filter !== undefined) inv.out(ports.map((p) => `${hostAddr(p)}\n`).join(''));
    else inv.out(ports.map((p) => `${p.containerPort}/${p.protocol} -> ${hostAddr(p)}\n`).join(''));
    return EXIT.OK;
  },
};
