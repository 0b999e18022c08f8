// Issue 10 §4: closed by default, as Docker is. Each case with real traffic and a negative
// control that shows the test could fail.
import { ipJson, ip, nftJson, ptest, sh } from './helpers.js';
import { HOST_ADDR, OUTSIDE_ADDR, lab, request, unreachable, whoamiServer } from './network-lab.js';

function inNs(ns, cmd, ...args) {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
}

/** Handle of the rule of `chain` in netplumb's table whose JSON contains `needle`. */
function ruleHandle(hostName, chain, needle) {
  const r = nftJson(hostName, '-a', 'list', 'chain', 'inet', 'netplumb', chain).nftables.find((x) => x.rule && JSON.stringify(x.rule.expr).includes(needle));
  return r?.rule.handle;
}

ptest('from outside, only published ports reach a container, even with a route to its subnet', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'closed', subnet: '172.28.0.0/24' });
  const c = await l.container();
  const ep = await net.connect(c, { publish: [{ hostPort: 8080, containerPort: 80 }] });
  await whoamiServer(t, c, 80);
  await whoamiServer(t, c, 81);
  ip(l.outName, 'route', 'add', '172.28.0.0/24', 'via', HOST_ADDR);
  t.is(await request(l.outside, HOST_ADDR, 8080), OUTSIDE_ADDR);
  t.true(await unreachable(l.outside, ep.ipv4, 81), 'an unpublished port is closed');
  // Negative control: without the network's inbound drop the port is open.
  sh('ip', ['netns', 'exec', l.hostName, 'nft', 'flush', 'chain', 'inet', 'netplumb', 'inbound']);
  t.is(await request(l.outside, ep.ipv4, 81), OUTSIDE_ADDR);
});

/** How many of 5 datagrams sent from `from` to 127.0.0.1:9999 the host's loopback-bound socket got. */
async function loopbackDatagrams(l, from) {
  const server = await l.host.udpSocket({ host: '127.0.0.1', port: 9999 });
  let got = 0;
  server.on('message', () => got++);
  const client = await from.udpSocket({ family: 4 });
  for (let i = 0; i < 5; i++) client.send('x', 9999, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 500));
  client.close();
  server.close();
  return got;
}

ptest('route_localnet does not open the host\'s loopback services to containers (CVE-2020-8558)', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'lo', subnet: '172.28.1.0/24' });
  const c = await l.container();
  await net.connect(c);
  // A container that sends to 127.0.0.1 through its gateway, as an attacker would.
  ip(c.name, 'route', 'del', 'table', 'local', 'local', '127.0.0.0/8', 'dev', 'lo');
  ip(c.name, 'route', 'del', 'table', 'local', 'local', '127.0.0.1', 'dev', 'lo');
  ip(c.name, 'route', 'add', '127.0.0.0/8', 'via', net.gateway, 'dev', 'eth0');
  inNs(c.name, 'sysctl', '-qw', 'net.ipv4.conf.eth0.route_localnet=1');
  t.is(await loopbackDatagrams(l, c), 0);
  // Negative control: without netplumb's input drop the host's 127.0.0.1 service receives them.
  const handle = ruleHandle(l.hostName, 'input', '"drop"');
  t.truthy(handle);
  inNs(l.hostName, 'nft', 'delete', 'rule', 'inet', 'netplumb', 'input', 'handle', String(handle));
  t.true((await loopbackDatagrams(l, c)) > 0);
});

/** Sends one router advertisement for fd00:99::/64 from `ns`'s eth0 to all nodes (a raw ICMPv6 socket, hop limit 255). */
function sendRouterAdvertisement(ns) {
  const py = `
import socket, struct
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex('eth0'))
ra = struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, 1800, 0, 0)
prefix = struct.pack('!BBBBIII', 3, 4, 64, 0xc0, 86400, 14400, 0) + socket.inet_pton(socket.AF_INET6, 'fd00:99::')
s.sendto(ra + prefix, ('ff02::1', 0, 0, socket.if_nametoindex('eth0')))
`;
  sh('ip', ['netns', 'exec', ns, 'python3', '-c', py]);
}

/** Whether the host learned fd00:99::/64 from an advertisement on the bridge (a route or an address). */
function learned(hostName, bridge) {
  const routes = JSON.parse(sh('ip', ['-j', '-n', hostName, '-6', 'route', 'show', 'dev', bridge]) || '[]');
  const addrs = JSON.parse(sh('ip', ['-j', '-n', hostName, '-6', 'addr', 'show', 'dev', bridge]) || '[]');
  return routes.some((r) => r.dst === 'fd00:99::/64') || addrs.some((l) => l.addr_info.some((x) => x.local.startsWith('fd00:99:')));
}

ptest('bridges take no router advertisements from their containers', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'ra', subnet: '172.28.2.0/24', subnet6: 'fd00:28::/64' });
  t.is(inNs(l.hostName, 'sysctl', '-n', `net.ipv6.conf.${net.bridge}.accept_ra`).trim(), '0');
  const c = await l.container();
  await net.connect(c);
  // The container's link-local address must be usable (past duplicate address detection) to send from.
  for (let i = 0; i < 100 && !ipJson(c.name, '-6', 'addr', 'show', 'dev', 'eth0', 'scope', 'link').some((x) => x.addr_info.some((a) => !a.tentative)); i++) await new Promise((r) => setTimeout(r, 100));
  sendRouterAdvertisement(c.name);
  await new Promise((r) => setTimeout(r, 500));
  t.false(learned(l.hostName, net.bridge));
  // Negative control: a bridge that takes advertisements (2: even while forwarding) learns the prefix.
  inNs(l.hostName, 'sysctl', '-qw', `net.ipv6.conf.${net.bridge}.accept_ra=2`);
  let got = false;
  for (let i = 0; i < 5 && !got; i++) {
    sendRouterAdvertisement(c.name);
    await new Promise((r) => setTimeout(r, 500));
    got = learned(l.hostName, net.bridge);
  }
  t.true(got);
});

ptest('connecting a namespace already on the network is refused and changes nothing', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'twice', subnet: '172.28.3.0/24' });
  const c = await l.container();
  await net.connect(c, { publish: [{ hostPort: 8081, containerPort: 80 }] });
  const state = () => [
    ipJson(l.hostName, 'link').map((x) => [x.ifname, x.ifalias, x.master]),
    ipJson(c.name, 'addr').map((x) => [x.ifname, x.address, x.addr_info.map((a) => a.local)]),
    nftJson(l.hostName, 'list', 'table', 'inet', 'netplumb'),
  ];
  const before = state();
  const e = await t.throwsAsync(net.connect(c, { publish: [{ hostPort: 8082, containerPort: 80 }] }));
  t.is(e.code, 'ERR_NETPLUMB_ALREADY_CONNECTED');
  t.deepEqual(state(), before);
  // Another network is fine: eth1.
  const other = await l.network({ name: 'twice2', subnet: '172.28.4.0/24' });
  const ep2 = await other.connect(c);
  t.is(ep2.ifname, 'eth1');
});
