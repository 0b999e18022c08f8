// Issue 14, "Ports and address families as Docker users write them": ephemeral host
// ports (`-p 80`), port ranges (`-p 8000-8010:80-90`), IPv6-only networks, IPv6 host
// addresses, and the first IPv6 connection right after connect(). Real traffic from the
// lab's outside namespace; the kernel's reservations read back with `nft -j`.
import { PortAllocatedError, ValidationError } from '../dist/index.js';
import { ip, nftJson, ptest, sh } from './helpers.js';
import { HOST_ADDR, HOST_ADDR6, OUTSIDE_ADDR, OUTSIDE_ADDR6, lab, request, udpRequest, udpWhoami, whoamiServer } from './network-lab.js';

function inNs(ns, ...args) {
  return sh('ip', ['netns', 'exec', ns, ...args]);
}

/** Elements of set `name` of netplumb's table in namespace `ns` (nft's JSON). */
function elems(ns, name) {
  try {
    const set = nftJson(ns, 'list', 'set', 'inet', 'netplumb', name).nftables.find((x) => x.set)?.set;
    return set?.elem ?? [];
  } catch {
    return [];
  }
}

/** Whether netplumb's table exists in `ns`. */
function hasTable(ns) {
  return nftJson(ns).nftables.some((x) => x.table?.name === 'netplumb');
}

ptest('-p 80: an ephemeral host port from the host namespace\'s ip_local_port_range, reserved, reported and reachable', async (t) => {
  const l = await lab(t);
  inNs(l.hostName, 'sysctl', '-qw', 'net.ipv4.ip_local_port_range=41000 41002');
  const net = await l.network({ name: 'eph', subnet: '172.29.0.0/24' });
  const a = await l.container();
  const b = await l.container();
  const c = await l.container();
  // A fixed port inside the range is held first: the choice must avoid it.
  const ea = await net.connect(a, { publish: [{ hostPort: 41001, containerPort: 80 }] });
  const eb = await net.connect(b, { publish: [{ containerPort: 80 }, { containerPort: 53, protocol: 'udp' }] });
  const tcp = eb.ports.find((p) => p.protocol === 'tcp');
  const udp = eb.ports.find((p) => p.protocol === 'udp');
  t.true(tcp.hostPort === 41000 || tcp.hostPort === 41002, `tcp ${tcp.hostPort} is in the range and not 41001`);
  t.true(udp.hostPort >= 41000 && udp.hostPort <= 41002, 'udp has its own ports');
  t.deepEqual(eb.inspect().ports['80/tcp'], [{ hostIp: '0.0.0.0', hostPort: tcp.hostPort }]);
  const [read] = await net.endpoints({ netns: b });
  t.deepEqual(read.ports.find((p) => p.protocol === 'tcp'), tcp, 'read back from the kernel');
  t.true(JSON.stringify(elems(l.hostName, 'hostports')).includes(`ep=${eb.id}`), 'held in hostports');

  await whoamiServer(t, b, 80);
  await udpWhoami(t, b, 53);
  t.is(await request(l.outside, HOST_ADDR, tcp.hostPort), OUTSIDE_ADDR);
  t.is(await udpRequest(l.outside, HOST_ADDR, udp.hostPort), OUTSIDE_ADDR);

  // The last free tcp port goes to c; then the range is full.
  const ec = await net.connect(c, { publish: [{ containerPort: 80 }] });
  t.deepEqual([ea.ports[0].hostPort, tcp.hostPort, ec.ports[0].hostPort].sort(), [41000, 41001, 41002]);
  const d = await l.container();
  const err = await t.throwsAsync(net.connect(d, { publish: [{ containerPort: 80 }] }), { instanceOf: PortAllocatedError });
  t.is(err.code, 'ERR_NETPLUMB_PORT_ALLOCATED');
  t.is((await net.endpoints()).length, 3, 'the refused connect left nothing');
  // Freed by a remove, the port is free again.
  await ec.remove();
  const ed = await net.connect(d, { publish: [{ containerPort: 80 }] });
  t.is(ed.ports[0].hostPort, ec.ports[0].hostPort);
});

ptest('ephemeral ports: concurrent connects from one process never get the same host port', async (t) => {
  const l = await lab(t);
  inNs(l.hostName, 'sysctl', '-qw', 'net.ipv4.ip_local_port_range=42000 42007');
  const net = await l.network({ name: 'ephc', subnet: '172.29.1.0/24' });
  const cs = await Promise.all(Array.from({ length: 8 }, () => l.container()));
  const eps = await Promise.all(cs.map((c) => net.connect(c, { publish: [{ containerPort: 80 }] })));
  const ports = eps.map((e) => e.ports[0].hostPort).sort();
  t.deepEqual(ports, [42000, 42001, 42002, 42003, 42004, 42005, 42006, 42007]);
});

ptest('-p 8000-8002:80-82 publishes port by port; -p 9000-9005:80 takes the first free host port', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'range', subnet: '172.29.2.0/24' });
  const a = await l.container();
  const ea = await net.connect(a, { publish: [{ hostPort: 8000, hostPortEnd: 8002, containerPort: 80, containerPortEnd: 82 }] });
  t.deepEqual(ea.ports.map((p) => [p.hostPort, p.containerPort]), [[8000, 80], [8001, 81], [8002, 82]]);
  for (const p of [80, 81, 82]) await whoamiServer(t, a, p);
  for (const h of [8000, 8001, 8002]) t.is(await request(l.outside, HOST_ADDR, h), OUTSIDE_ADDR, `host port ${h}`);
  // Reads back port by port from the kernel.
  const [read] = await net.endpoints({ netns: a });
  t.deepEqual(read.ports.map((p) => p.hostPort).sort(), [8000, 8001, 8002]);

  // A range overlapping a held port is refused as a whole, naming the port; nothing is left.
  const b = await l.container();
  const err = await t.throwsAsync(net.connect(b, { publish: [{ hostPort: 8002, hostPortEnd: 8003, containerPort: 90, containerPortEnd: 91 }] }), { instanceOf: PortAllocatedError });
  t.is(err.port.hostPort, 8002);
  t.false(JSON.stringify(elems(l.hostName, 'hostports')).includes('8003') || JSON.stringify(elems(l.hostName, 'ports4')).includes('8003'));

  // One container port, a host range: the first free host port of it.
  await net.connect(b, { publish: [{ hostPort: 9000, containerPort: 80 }] });
  const c = await l.container();
  const ec = await net.connect(c, { publish: [{ hostPort: 9000, hostPortEnd: 9005, containerPort: 80 }] });
  t.is(ec.ports[0].hostPort, 9001);
  await whoamiServer(t, c, 80);
  t.is(await request(l.outside, HOST_ADDR, 9001), OUTSIDE_ADDR);

  // Validation, before anything is sent.
  const d = await l.container();
  await t.throwsAsync(net.connect(d, { publish: [{ hostPort: 7000, hostPortEnd: 7002, containerPort: 80, containerPortEnd: 81 }] }), { instanceOf: ValidationError, message: /different lengths/ });
  await t.throwsAsync(net.connect(d, { publish: [{ hostPort: 7002, hostPortEnd: 7000, containerPort: 80 }] }), { instanceOf: ValidationError, message: /before/ });
  await t.throwsAsync(net.connect(d, { publish: [{ hostPortEnd: 7000, containerPort: 80 }] }), { instanceOf: ValidationError, message: /needs hostPort/ });
  await t.throwsAsync(net.connect(d, { publish: [{ hostPort: 7000, hostPortEnd: 7001, containerPort: 80, containerPortEnd: 81 }, { hostPort: 7001, containerPort: 90 }] }), { instanceOf: ValidationError, message: /twice/ });
});

ptest('IPv6-only network: created with subnet6 alone; containers talk, a published port reaches one, remove leaves nothing', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'v6only', subnet6: 'fd00:29::/64' });
  t.is(net.subnet, undefined);
  t.is(net.gateway6, 'fd00:29::1');
  t.deepEqual(ipJson6(l.hostName, net.bridge), ['fd00:29::1/64']);
  const a = await l.container();
  const b = await l.container();
  const ea = await net.connect(a, { publish: [{ hostPort: 8080, containerPort: 80 }] });
  const eb = await net.connect(b);
  t.is(ea.ipv4, undefined);
  t.is(ea.ipv6, 'fd00:29::2');
  t.is(eb.ipv6, 'fd00:29::3');
  t.not(ea.mac, eb.mac);
  t.false(JSON.stringify(ipJsonAddrs(a.name)).includes('"inet"'), 'no IPv4 address inside');
  await whoamiServer(t, a, 80, '::');
  t.is(await request(b, ea.ipv6, 80), eb.ipv6, 'container to container');
  t.is(await request(l.outside, HOST_ADDR6, 8080), OUTSIDE_ADDR6, 'published, from outside');
  const info = await net.inspect();
  t.deepEqual(info.ipam, { subnet6: 'fd00:29::/64', gateway6: 'fd00:29::1' });
  t.deepEqual(info.endpoints.map((e) => e.ipv6).sort(), ['fd00:29::2/64', 'fd00:29::3/64']);
  t.deepEqual((await net.endpoints({ netns: a }))[0].ports, [{ protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80 }]);
  await t.throwsAsync(net.connect(await l.container(), { ipv4: '10.0.0.2' }), { instanceOf: ValidationError, message: /IPv6-only/ });
  await t.throwsAsync(net.connect(await l.container(), { publish: [{ hostIp: HOST_ADDR, hostPort: 1, containerPort: 1 }] }), { instanceOf: ValidationError, message: /IPv6-only/ });
  await net.remove({ force: true });
  t.false(hasTable(l.hostName), 'netplumb\'s table went with the last network');
  t.is(ipJsonLinks(l.hostName).filter((n) => n.startsWith('veth') || n.startsWith('np-')).length, 0);
});

ptest('IPv6 host address: hostIp on one IPv6 address reaches a dual-stack container; reservations overlap as IPv4 ones do; ::1 is refused', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'h6', subnet: '172.29.3.0/24', subnet6: 'fd00:2a::/64' });
  const a = await l.container();
  await t.throwsAsync(net.connect(a, { publish: [{ hostIp: '::1', hostPort: 8081, containerPort: 80 }] }), { instanceOf: ValidationError, message: /IPv6 loopback/ });
  const ea = await net.connect(a, { publish: [{ hostIp: HOST_ADDR6, hostPort: 8080, containerPort: 80 }, { hostIp: HOST_ADDR6, hostPort: 8081, containerPort: 80, protocol: 'udp' }] });
  await whoamiServer(t, a, 80, '::');
  t.is(await request(l.outside, HOST_ADDR6, 8080, 5000), OUTSIDE_ADDR6);
  const u = await a.udpSocket({ port: 80, family: 6 });
  u.on('message', (m, r) => u.send(r.address, r.port, r.address));
  t.teardown(() => u.close());
  t.is(await udpRequest(l.outside, HOST_ADDR6, 8081), OUTSIDE_ADDR6, 'udp too');
  // Only on that address: not on the IPv4 one, nor on the other family's any.
  const again = await request(l.outside, HOST_ADDR, 8080, 1000).catch(() => 'refused');
  t.is(again, 'refused');
  t.deepEqual(ea.inspect().ports, { '80/tcp': [{ hostIp: HOST_ADDR6, hostPort: 8080 }], '80/udp': [{ hostIp: HOST_ADDR6, hostPort: 8081 }] });
  t.deepEqual((await net.endpoints({ netns: a }))[0].ports.map((p) => `${p.hostIp}:${p.hostPort}`).sort(), ['2001:db8:1::128:8080', '2001:db8:1::128:8081']);

  // Held in hostports6: every address on 8080 overlaps, another IPv6 address or an IPv4 one does not.
  const b = await l.container();
  await t.throwsAsync(net.connect(b, { publish: [{ hostPort: 8080, containerPort: 80 }] }), { instanceOf: PortAllocatedError });
  await t.throwsAsync(net.connect(b, { publish: [{ hostIp: HOST_ADDR6, hostPort: 8080, containerPort: 80 }] }), { instanceOf: PortAllocatedError });
  const eb = await net.connect(b, { publish: [{ hostIp: HOST_ADDR, hostPort: 8080, containerPort: 80 }, { hostIp: 'fd00:2a::1', hostPort: 8080, containerPort: 80 }] });
  t.is(eb.ports.length, 2);
  t.true(JSON.stringify(elems(l.hostName, 'hostports6')).includes(`ep=${ea.id}`));
  await ea.remove();
  await eb.remove();
  t.deepEqual(elems(l.hostName, 'hostports6'), [], 'released');
});

ptest('IPv6 host address on an IPv4-only network: refused with a clear error before anything changes', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'v4only', subnet: '172.29.4.0/24' });
  const a = await l.container();
  const err = await t.throwsAsync(net.connect(a, { publish: [{ hostIp: '::1', hostPort: 8080, containerPort: 80 }] }), { instanceOf: ValidationError });
  t.regex(err.message, /no IPv6 subnet.*does not translate IPv6 to IPv4/);
  t.deepEqual(await net.endpoints(), []);
  // `[::]` is every address, as Docker reads it.
  const ep = await net.connect(a, { publish: [{ hostIp: '::', hostPort: 8080, containerPort: 80 }] });
  t.is(ep.ports[0].hostIp, '0.0.0.0');
});

function ipJson6(ns, dev) {
  return JSON.parse(sh('ip', ['-j', '-n', ns, '-6', 'addr', 'show', 'dev', dev, 'scope', 'global']))[0].addr_info.filter((a) => a.local).map((a) => `${a.local}/${a.prefixlen}`);
}
function ipJsonAddrs(ns) {
  return JSON.parse(sh('ip', ['-j', '-n', ns, 'addr', 'show', 'dev', 'eth0']));
}
function ipJsonLinks(ns) {
  return JSON.parse(sh('ip', ['-j', '-n', ns, 'link', 'show'])).map((l) => l.ifname);
}

ptest('--ip-range: addresses come from the block, the gateway may lie outside it; a block outside the subnet is refused', async (t) => {
  const l = await lab(t);
  await t.throwsAsync(l.network({ name: 'rng0', subnet: '172.29.8.0/24', ipRange: '172.29.9.0/28' }), { instanceOf: ValidationError, message: /not inside/ });
  const net = await l.network({ name: 'rng', subnet: '172.29.8.0/24', ipRange: '172.29.8.64/28' });
  t.is(net.gateway, '172.29.8.1');
  const eps = [];
  for (let i = 0; i < 3; i++) eps.push(await net.connect(await l.container()));
  t.deepEqual(eps.map((e) => e.ipv4), ['172.29.8.65', '172.29.8.66', '172.29.8.67']);
  t.is((await net.inspect()).ipam.ipRange, '172.29.8.64/28');
  await whoamiServer(t, eps[0].netns, 80);
  t.is(await request(eps[2].netns, eps[0].ipv4, 80), eps[2].ipv4);
});
