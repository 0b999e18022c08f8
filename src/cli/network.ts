/**
 * CLI: `netplumb network create|ls|inspect|rm|connect|disconnect|prune`, Docker's network
 * commands over {@link BridgeNetwork}.
 * @module
 */
import { BridgeNetwork, type BridgeNetworkOptions, type ConnectOptions, NetplumbError, Netns, ValidationError } from '../index.js';
import { type Command, type CommandGroup, flag, json, list, str, table } from './command.js';
import { EXIT } from './exit-codes.js';
import { dockerNetwork, endpointNetns, findEndpoints, openAll, openNetns, parsePublish, portText } from './format.js';

/** The `-o` keys of Docker's bridge driver that netplumb understands. */
const DOCKER_OPTIONS: Record<string, (o: BridgeNetworkOptions, v: string) => void> = {
  'com.docker.network.bridge.name': (o, v) => (o.bridge = v),
  'com.docker.network.bridge.enable_icc': (o, v) => (o.icc = boolOption('enable_icc', v)),
  'com.docker.network.bridge.enable_ip_masquerade': (o, v) => (o.masquerade = boolOption('enable_ip_masquerade', v)),
  'com.docker.network.bridge.host_binding_ipv4': (o, v) => (o.hostIp = v),
  'com.docker.network.driver.mtu': (o, v) => (o.mtu = intOption('mtu', v)),
};

function boolOption(name: string, v: string): boolean {
  if (v !== 'true' && v !== 'false') throw new ValidationError(name, `${JSON.stringify(v)} is not true or false`);
  return v === 'true';
}

function intOption(name: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new ValidationError(name, `${JSON.stringify(v)} is not a number`);
  return Number(v);
}

/** A /16 in 172.17-31, then a /24 in 192.168, overlapping no netplumb network and no route of the host: what Docker would pick. */
async function freeSubnet(): Promise<string> {
  const taken: Array<[number, number]> = [];
  const v4 = (cidr: string): [number, number] | undefined => {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
    if (!m) return undefined;
    const n = ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
    const len = Number(m[5]);
    const size = 2 ** (32 - len);
    return [n - (n % size), size];
  };
  for (const n of await BridgeNetwork.list()) {
    const r = v4(n.subnet);
    if (r) taken.push(r);
  }
  const host = await Netns.current();
  try {
    for (const r of await host.routes.list({ family: 4, table: 'main' })) {
      if (r.dst.endsWith('/0')) continue; // the default route overlaps everything and blocks nothing
      const x = v4(r.dst);
      if (x) taken.push(x);
    }
  } finally {
    host.close();
  }
  const free = (start: number, size: number): boolean => taken.every(([s, z]) => start + size <= s || s + z <= start);
  for (let b = 17; b <= 31; b++) if (free(((172 << 24) | (b << 16)) >>> 0, 65536)) return `172.${b}.0.0/16`;
  for (let c = 0; c <= 255; c++) if (free(((192 << 24) | (168 << 16) | (c << 8)) >>> 0, 256)) return `192.168.${c}.0/24`;
  throw new NetplumbError('no free subnet left in 172.17-31.0.0/16 or 192.168.0-255.0/24: give one with --subnet', 'ERR_NETPLUMB_INVALID');
}

const create: Command = {
  name: 'network create',
  summary: 'Create a bridge network (like `docker network create`)',
  usage: '[OPTIONS] NETWORK',
  details: `Without --subnet, the first free 172.N.0.0/16 (N = 17..31), then 192.168.N.0/24, is used.
-o takes Docker's bridge options: com.docker.network.bridge.name, .enable_icc,
.enable_ip_masquerade, .host_binding_ipv4, com.docker.network.driver.mtu.`,
  options: {
    driver: { type: 'string', short: 'd', value: 'DRIVER', description: 'network driver (only "bridge")' },
    subnet: { type: 'string', multiple: true, value: 'CIDR', description: 'subnet (one IPv4, and one IPv6 for dual stack)' },
    gateway: { type: 'string', multiple: true, value: 'IP', description: 'gateway of the subnet of its family (default: its first address)' },
    bridge: { type: 'string', value: 'IFNAME', description: 'name of the bridge interface (default np-NETWORK)' },
    mtu: { type: 'string', value: 'BYTES', description: 'MTU of the bridge and every veth' },
    internal: { type: 'boolean', description: 'no traffic in or out of the host, no published ports' },
    'host-ip': { type: 'string', value: 'IP', description: 'default host address of published ports' },
    opt: { type: 'string', short: 'o', multiple: true, value: 'KEY=VALUE', description: "Docker's bridge driver options" },
  },
  args: [1, 1],
  async run(inv) {
    const o = inv.options;
    const driver = str(o, 'driver') ?? 'bridge';
    if (driver !== 'bridge') throw new ValidationError('driver', `${JSON.stringify(driver)}: only "bridge" is supported`);
    const opts: BridgeNetworkOptions = { name: inv.args[0] as string, subnet: '' };
    for (const s of list(o, 'subnet')) {
      if (s.includes(':')) opts.subnet6 = s;
      else opts.subnet = s;
    }
    for (const g of list(o, 'gateway')) {
      if (g.includes(':')) opts.gateway6 = g;
      else opts.gateway = g;
    }
    const bridge = str(o, 'bridge');
    if (bridge !== undefined) opts.bridge = bridge;
    const mtu = str(o, 'mtu');
    if (mtu !== undefined) opts.mtu = intOption('mtu', mtu);
    if (flag(o, 'internal')) opts.internal = true;
    const hostIp = str(o, 'host-ip');
    if (hostIp !== undefined) opts.hostIp = hostIp;
    for (const kv of list(o, 'opt')) {
      const i = kv.indexOf('=');
      const set = i > 0 ? DOCKER_OPTIONS[kv.slice(0, i)] : undefined;
      if (!set) throw new ValidationError('opt', `${JSON.stringify(kv)}: not KEY=VALUE with a key of ${Object.keys(DOCKER_OPTIONS).join(', ')}`);
      set(opts, kv.slice(i + 1));
    }
    if (!opts.subnet) opts.subnet = await freeSubnet();
    const net = await BridgeNetwork.create(opts);
    inv.out(inv.json ? json([await dockerNetwork(net)]) : `${net.name}\n`);
    return EXIT.OK;
  },
};

const ls: Command = {
  name: 'network ls',
  summary: 'List the networks (like `docker network ls`)',
  usage: '[OPTIONS]',
  options: { quiet: { type: 'boolean', short: 'q', description: 'print only the names' } },
  args: [0, 0],
  async run(inv) {
    const nets = await openAll();
    if (inv.json) inv.out(json(await Promise.all(nets.map(dockerNetwork))));
    else if (flag(inv.options, 'quiet')) inv.out(nets.map((n) => `${n.name}\n`).join(''));
    else {
      const rows: string[][] = [];
      for (const n of nets) {
        const eps = await n.endpoints();
        rows.push([n.name, 'bridge', n.bridge, [n.subnet, n.subnet6].filter(Boolean).join(','), [n.gateway, n.gateway6].filter(Boolean).join(','), String(eps.length), n.internal ? 'internal' : '']);
      }
      inv.out(table(['NAME', 'DRIVER', 'BRIDGE', 'SUBNET', 'GATEWAY', 'ENDPOINTS', 'FLAGS'], rows));
    }
    return EXIT.OK;
  },
};

const inspect: Command = {
  name: 'network inspect',
  summary: 'Show networks in detail (like `docker network inspect`; --json for its exact shape)',
  usage: '[OPTIONS] NETWORK...',
  options: {},
  args: [1, Infinity],
  async run(inv) {
    const nets = await openAll(inv.args);
    if (inv.json) {
      inv.out(json(await Promise.all(nets.map(dockerNetwork))));
      return EXIT.OK;
    }
    for (const n of nets) {
      const eps = await n.endpoints();
      inv.out([
        `Name:        ${n.name}`,
        `Driver:      bridge`,
        `Bridge:      ${n.bridge}`,
        `Subnet:      ${[n.subnet, n.subnet6].filter(Boolean).join(', ')}`,
        `Gateway:     ${[n.gateway, n.gateway6].filter(Boolean).join(', ')}`,
        `Options:     masquerade=${n.masquerade} icc=${n.icc} internal=${n.internal}${n.mtu ? ` mtu=${n.mtu}` : ''}${n.hostIp ? ` host-ip=${n.hostIp}` : ''}`,
        `Endpoints:   ${eps.length}`,
        '',
      ].join('\n'));
      if (eps.length) {
        inv.out(table(
          ['ENDPOINT', 'NAMESPACE', 'IFNAME', 'HOST-IF', 'IPV4', 'IPV6', 'MAC', 'PORTS'],
          eps.map((e) => [e.id, endpointNetns(e), e.ifname, e.hostIfname, e.ipv4 ? `${e.ipv4}/${e.prefixLength}` : '', e.ipv6 ? `${e.ipv6}/${e.prefixLength6}` : '', e.mac, e.ports.map(portText).join(', ')]),
        ));
      }
      inv.out('\n');
    }
    return EXIT.OK;
  },
};

const rm: Command = {
  name: 'network rm',
  summary: 'Remove networks (like `docker network rm`)',
  usage: '[OPTIONS] NETWORK...',
  details: 'Refuses (exit 5, EBUSY) while endpoints are attached, unless --force removes them first.',
  options: { force: { type: 'boolean', short: 'f', description: 'remove the endpoints too' } },
  args: [1, Infinity],
  async run(inv) {
    for (const name of inv.args) {
      const net = await BridgeNetwork.open(name);
      await net.remove({ force: flag(inv.options, 'force') });
      if (!inv.json) inv.out(`${name}\n`);
    }
    if (inv.json) inv.out(json(inv.args));
    return EXIT.OK;
  },
};

const connect: Command = {
  name: 'network connect',
  summary: 'Attach a network namespace to a network (like `docker network connect` / `docker run --network`)',
  usage: '[OPTIONS] NETWORK NETNS',
  details: `NETNS is a name under /run/netns (ip netns add NAME, netplumb ns create NAME) or a path such as
/proc/PID/ns/net. With --create, netplumb creates the namespace NETNS itself and removes it on
disconnect. Prints the endpoint id (--json: the endpoint as \`docker inspect\` shows it).`,
  options: {
    ip: { type: 'string', value: 'IPV4', description: 'IPv4 address (default: the next free one)' },
    ip6: { type: 'string', value: 'IPV6', description: 'IPv6 address on a dual-stack network' },
    publish: { type: 'string', short: 'p', multiple: true, value: '[IP:]HOST:CONTAINER[/PROTO]', description: 'publish a port, as docker run -p' },
    ifname: { type: 'string', value: 'IFNAME', description: 'interface name inside the namespace (default eth0, eth1 ...)' },
    mac: { type: 'string', value: 'MAC', description: 'MAC address (default derived from the IPv4 address, as Docker does)' },
    owner: { type: 'string', value: 'LABEL', description: 'label stored in the kernel with the endpoint (e.g. CONTAINERID/IFNAME)' },
    'no-default-route': { type: 'boolean', description: 'do not install the default route via this network' },
    create: { type: 'boolean', description: 'create the namespace NETNS (owned by the endpoint)' },
  },
  args: [2, 2],
  async run(inv) {
    const [name, target] = inv.args as [string, string];
    const o = inv.options;
    const opts: ConnectOptions = {};
    const ip = str(o, 'ip');
    if (ip !== undefined) opts.ipv4 = ip;
    const ip6 = str(o, 'ip6');
    if (ip6 !== undefined) opts.ipv6 = ip6;
    const publish = list(o, 'publish').map(parsePublish);
    if (publish.length) opts.publish = publish;
    const ifname = str(o, 'ifname');
    if (ifname !== undefined) opts.ifname = ifname;
    const mac = str(o, 'mac');
    if (mac !== undefined) opts.mac = mac;
    const owner = str(o, 'owner');
    if (owner !== undefined) opts.owner = owner;
    if (flag(o, 'no-default-route')) opts.defaultRoute = false;
    const net = await BridgeNetwork.open(name);
    let ns: Netns | undefined;
    if (flag(o, 'create')) opts.netnsName = target;
    else {
      ns = await openNetns(target);
      if (!ns) throw new NetplumbError(`no network namespace ${JSON.stringify(target)} (give a /run/netns name or a path, or --create)`, 'ENOENT');
    }
    try {
      const ep = await net.connect(ns, opts);
      inv.out(inv.json ? json({ ...ep.inspect(), ...(ep.owner !== undefined ? { owner: ep.owner } : {}) }) : `${ep.id}\n`);
    } finally {
      ns?.close();
    }
    return EXIT.OK;
  },
};

const disconnect: Command = {
  name: 'network disconnect',
  summary: 'Detach a namespace (or an endpoint by id) from a network (like `docker network disconnect`)',
  usage: '[OPTIONS] NETWORK NETNS|ENDPOINT',
  details: 'Works also when the namespace is already gone: name the endpoint by its id (netplumb endpoint ls).',
  options: { ifname: { type: 'string', value: 'IFNAME', description: 'only the endpoint with this interface name' } },
  args: [2, 2],
  async run(inv) {
    const [name, target] = inv.args as [string, string];
    const net = await BridgeNetwork.open(name);
    const ifname = str(inv.options, 'ifname');
    const found = (await findEndpoints([net], target)).filter(({ ep }) => ifname === undefined || ep.ifname === ifname);
    if (found.length === 0) throw new NetplumbError(`${target} is not connected to network ${name}`, 'ENOENT');
    for (const { ep } of found) {
      await ep.remove();
      if (!inv.json) inv.out(`${ep.id}\n`);
    }
    if (inv.json) inv.out(json(found.map(({ ep }) => ep.id)));
    return EXIT.OK;
  },
};

const prune: Command = {
  name: 'network prune',
  summary: 'Remove every network without endpoints (like `docker network prune -f`)',
  usage: '[OPTIONS]',
  options: { force: { type: 'boolean', short: 'f', description: 'accepted for Docker compatibility (netplumb never prompts)' } },
  args: [0, 0],
  async run(inv) {
    const removed: string[] = [];
    for (const net of await openAll()) {
      if ((await net.endpoints()).length > 0) continue;
      try {
        await net.remove();
        removed.push(net.name);
      } catch (e) {
        // Someone connected meanwhile: it is in use, so not pruned.
        if (!(e instanceof NetplumbError && e.code === 'EBUSY')) throw e;
      }
    }
    if (inv.json) inv.out(json({ NetworksDeleted: removed }));
    else if (removed.length) inv.out(`Deleted Networks:\n${removed.map((n) => `${n}\n`).join('')}`);
    return EXIT.OK;
  },
};

/** `netplumb network`. */
export const networkGroup: CommandGroup = {
  name: 'network',
  summary: 'Manage bridge networks',
  commands: [create, ls, inspect, rm, connect, disconnect, prune],
};
