// Hostile input: a table of bad arguments for every public entry point — wrong types,
// out-of-range numbers, overlong names, malformed CIDRs and MACs, IPv6 where IPv4 is
// expected, a subnet overlapping another network, closed and deleted Netns handles. Each
// must throw or reject with a typed error (a NetplumbError subclass with a code: never a
// TypeError, a crash or a hang) and change nothing, checked through `ip -j`/`nft -j`.
import { readdirSync } from 'node:fs';
import { BridgeNetwork, Netns, NetplumbError, cleanupNetworks, validateNetnsName } from '../dist/index.js';
import { ip, ipJson, nftJson, ptest, uniqueName } from './helpers.js';
import { lab } from './network-lab.js';

// Bad values by kind, reused across entry points.
const NOT_OBJECT = [null, 'options', 42, true, Symbol('x')];
const BAD_NAME = [null, 42, {}, [], '', ' ', 'x'.repeat(65), 'a/b', 'bad name', '-lead', '..', 'ünïcödé', 'nul\0'];
const BAD_IFNAME = [null, 7, {}, '', 'x'.repeat(16), 'a/b', 'a:b', 'has space', '.', '..', 'tab\t', 'é'.repeat(8)];
const BAD_CIDR = [null, 42, {}, '', 'not-a-cidr', '10.0.0.0', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/8x', '10.0.0.1/8', '300.0.0.0/8', '10.0.0.0/31', '10.0.0.0/32', 'fd00::/64', '10.0.0.0/ 8', '1.2.3/24'];
const BAD_CIDR6 = [null, 5, '', 'fd00::/129', 'fd00::1/64', '10.0.0.0/8', 'fd00:::/64', 'fd00::/127'];
const BAD_IPV4 = [null, 42, {}, '', '10.0.0.256', '1.2.3', '1.2.3.4.5', 'fd00::5', '::ffff:10.1.0.5', '10.1.0.5/24', ' 10.1.0.5'];
const BAD_IPV6 = [null, 6, '', 'fd00::g', '10.1.0.5', 'fd00::1/64', ':::'];
const BAD_MAC = [null, 12, {}, '', 'zz:zz:zz:zz:zz:zz', '02:42:ac:11:00', '02:42:ac:11:00:02:03', '0242ac110002', '02-42-ac-11-00-02x', '02:42:ac:11:00:2g'];
const BAD_PORT = [0, -1, 65536, 1.5, NaN, Infinity, '80', null, {}, 2 ** 32];
const BAD_MTU = [0, 67, 65536, 1.5, '1500', -1, null, NaN];
const BAD_BOOL = ['yes', 1, 0, null, {}, 'false'];
const BAD_NETNS_NAME = [null, 42, '', '.', '..', 'a/b', 'n'.repeat(256), 'nul\0'];

/** An entry: what is called, with which bad input; `fn` throws or rejects. */
function entries(ctx) {
  const { l, net, net6, c, closed, deleted, ep } = ctx;
  const base = { netns: l.host, name: 'hx', subnet: '10.40.0.0/24' };
  const out = [];
  const add = (label, fn) => out.push({ label, fn });
  const each = (label, values, fn) => values.forEach((v) => add(`${label} = ${describe(v)}`, () => fn(v)));

  // BridgeNetwork.create
  each('create(options)', NOT_OBJECT, (v) => BridgeNetwork.create(v));
  each('create.name', BAD_NAME, (v) => BridgeNetwork.create({ ...base, name: v }));
  // (null, like undefined, means the default bridge name.)
  each('create.bridge', BAD_IFNAME.filter((v) => v !== null), (v) => BridgeNetwork.create({ ...base, bridge: v }));
  each('create.subnet', BAD_CIDR, (v) => BridgeNetwork.create({ ...base, subnet: v }));
  each('create.gateway', [...BAD_IPV4, '10.40.1.1', '10.40.0.0', '10.40.0.255'], (v) => BridgeNetwork.create({ ...base, gateway: v }));
  each('create.subnet6', BAD_CIDR6, (v) => BridgeNetwork.create({ ...base, subnet6: v }));
  each('create.gateway6', [...BAD_IPV6, 'fd00:41::1'], (v) => BridgeNetwork.create({ ...base, subnet6: 'fd00:40::/64', gateway6: v }));
  add('create.gateway6 without subnet6', () => BridgeNetwork.create({ ...base, gateway6: 'fd00:40::1' }));
  each('create.mtu', BAD_MTU, (v) => BridgeNetwork.create({ ...base, mtu: v }));
  for (const k of ['masquerade', 'icc', 'internal']) each(`create.${k}`, BAD_BOOL, (v) => BridgeNetwork.create({ ...base, [k]: v }));
  each('create.hostIp', [null, 42, '', 'nowhere', '1.2.3.4/32', '10.0.0.256'], (v) => BridgeNetwork.create({ ...base, hostIp: v }));
  each('create.netns', [closed, deleted, {}, 'name', 42, { fd: 3 }], (v) => BridgeNetwork.create({ ...base, netns: v }));
  each('create overlapping subnet', ['10.50.0.0/24', '10.50.0.128/25', '10.0.0.0/8', '10.50.0.0/16'], (v) => BridgeNetwork.create({ ...base, subnet: v }));
  add('create overlapping subnet6', () => BridgeNetwork.create({ ...base, subnet6: 'fd00:50::/48' }));
  add('create existing name', () => BridgeNetwork.create({ ...base, name: net.name }));
  add('create bridge name taken by a foreign link', () => BridgeNetwork.create({ ...base, bridge: 'foreign0' }));
  add('create bridge name of another network', () => BridgeNetwork.create({ ...base, bridge: net.bridge }));

  // BridgeNetwork.open
  each('open(name)', BAD_NAME, (v) => BridgeNetwork.open(v, { netns: l.host }));
  add('open(missing)', () => BridgeNetwork.open('nosuchnet', { netns: l.host }));
  each('open.netns', [closed, deleted, {}, 'x'], (v) => BridgeNetwork.open(net.name, { netns: v }));
  each('open(options)', [null, 'x', 42], (v) => BridgeNetwork.open(net.name, v));
  each('list(options)', [null, 'x', 42, { netns: closed }, { netns: {} }], (v) => BridgeNetwork.list(v));
  each('endpoints(filter)', [null, 'x', 42, { owner: 42 }, { owner: '' }, { owner: 'has space' }, { netns: {} }, { netns: 'x' }], (v) => net.endpoints(v));

  // net.connect
  each('connect(netns)', [closed, deleted, {}, 'name', 42, l.host.inode], (v) => net.connect(v));
  each('connect(options)', NOT_OBJECT, (v) => net.connect(c, v));
  each('connect.ipv4', [...BAD_IPV4, '10.50.1.9', '10.50.0.0', '10.50.0.1', '10.50.0.255', ctx.usedIp], (v) => net.connect(c, { ipv4: v }));
  add('connect a namespace already on the network', () => net.connect(ep.netns));
  each('connect.owner', [null, 42, {}, '', 'has space', 'x'.repeat(129), 'nul\0', 'tab\t', 'é'], (v) => net.connect(c, { owner: v }));
  add('connect.ipv6 on an IPv4-only network', () => net.connect(c, { ipv6: 'fd00:50::9' }));
  each('connect.ipv6', [...BAD_IPV6, 'fd00:51::9', 'fd00:50::', 'fd00:50::1'], (v) => net6.connect(c, { ipv6: v }));
  each('connect.mac', BAD_MAC, (v) => net.connect(c, { mac: v }));
  each('connect.ifname', [...BAD_IFNAME, 'eth0'], (v) => net.connect(ep.netns, { ifname: v }));
  each('connect.defaultRoute', BAD_BOOL, (v) => net.connect(c, { defaultRoute: v }));
  each('connect.netnsName', BAD_NETNS_NAME, (v) => net.connect(undefined, { netnsName: v }));
  add('connect.netnsName with a given namespace', () => net.connect(c, { netnsName: 'x' }));
  add('connect.netnsName taken', () => net.connect(undefined, { netnsName: c.name }));
  each('connect.publish', ['80:80', 42, {}, [null], [42], [{}]], (v) => net.connect(c, { publish: v }));
  each('connect.publish.hostPort', BAD_PORT, (v) => net.connect(c, { publish: [{ hostPort: v, containerPort: 80 }] }));
  each('connect.publish.containerPort', BAD_PORT, (v) => net.connect(c, { publish: [{ hostPort: 80, containerPort: v }] }));
  each('connect.publish.protocol', ['sctp', 'TCP', 6, ''], (v) => net.connect(c, { publish: [{ hostPort: 80, containerPort: 80, protocol: v }] }));
  // (null, like undefined, means the default for protocol and hostIp.)
  // (One IPv6 host address cannot be published on: every-address ports cover IPv6.)
  each('connect.publish.hostIp', [42, '', 'nowhere', '10.0.0.256', '1.2.3.4/32', '2001:db8:1::128', '::'], (v) => net.connect(c, { publish: [{ hostPort: 80, containerPort: 80, hostIp: v }] }));
  add('connect.publish twice the same port', () => net.connect(c, { publish: [{ hostPort: 81, containerPort: 80 }, { hostPort: 81, containerPort: 81 }] }));
  add('connect.publish a port already allocated', () => net.connect(c, { publish: [{ hostPort: 8080, containerPort: 80 }] }));
  add('connect.publish a port already allocated, on one address', () => net.connect(c, { publish: [{ hostPort: 8080, containerPort: 80, hostIp: '203.0.113.128' }] }));
  add('connect.publish a port already allocated on another network', () => net6.connect(c, { publish: [{ hostPort: 8080, containerPort: 80 }] }));
  add('connect.publish on an internal network', () => ctx.internal.connect(c, { publish: [{ hostPort: 82, containerPort: 80 }] }));
  add('connect on a removed network', () => ctx.removedNet.connect(c));

  // disconnect / remove
  each('disconnect(ep)', [null, {}, 'ep', 42], (v) => net.disconnect(v));
  add('disconnect(an endpoint of another network)', () => net6.disconnect(ep));
  each('remove(options)', [null, 'x', 42], (v) => ctx.busy.remove(v));
  each('remove.force', BAD_BOOL.filter((v) => v !== null), (v) => ctx.busy.remove({ force: v }));
  add('remove a removed network', () => ctx.removedNet.remove());

  // cleanupNetworks
  each('cleanupNetworks(options)', [null, 'x', 42, []], (v) => cleanupNetworks(v));
  each('cleanupNetworks.netns', [closed, deleted, {}, 'x'], (v) => cleanupNetworks({ netns: v }));
  each('cleanupNetworks.networks', ['net', 42, [null], ['bad name'], [42]], (v) => cleanupNetworks({ netns: l.host, networks: v }));
  each('cleanupNetworks.dryRun', BAD_BOOL.filter((v) => v !== null), (v) => cleanupNetworks({ netns: l.host, dryRun: v }));

  // Netns
  each('Netns.create(name)', [...BAD_NETNS_NAME.filter((v) => v !== null), c.name], (v) => Netns.create(v));
  each('Netns.open', [null, 42, '', '/nonexistent/ns', '/etc/hostname', '/proc/self/ns/mnt', '/run/netns/nosuch', 'nosuch', '..'], (v) => Netns.open(v));
  each('Netns.fromPid', [0, -1, 1.5, '1', null, 2 ** 31, NaN], (v) => Netns.fromPid(v));
  each('validateNetnsName', BAD_NETNS_NAME, (v) => validateNetnsName(v));
  add('delete() twice', () => deleted.delete());
  for (const [what, h] of [['closed', closed], ['deleted', deleted]]) {
    add(`${what}.links.list`, () => h.links.list());
    add(`${what}.links.add`, () => h.links.add({ kind: 'bridge', name: 'd0' }));
    add(`${what}.addresses.list`, () => h.addresses.list());
    add(`${what}.routes.add`, () => h.routes.add({ dst: '10.1.0.0/16', oif: 'lo' }));
    add(`${what}.nft.list`, () => h.nft.list());
    add(`${what}.sysctl.get`, () => h.sysctl.get('net.ipv4.ip_forward'));
    add(`${what}.sysctl.set`, () => h.sysctl.set('net.ipv4.ip_forward', 1));
    add(`${what}.monitor`, () => h.monitor());
    add(`${what}.listen`, () => h.listen({ port: 0 }));
    add(`${what}.connect`, () => h.connect(80, '127.0.0.1'));
    add(`${what}.udpSocket`, () => h.udpSocket());
    add(`${what}.run`, () => h.run(() => 1));
  }
  const h = l.host;
  each('sysctl.get(key)', [null, 42, '', '/etc/passwd', '../../etc/passwd', 'net..ipv4', '.net', 'net.ipv4.nosuch'], (v) => h.sysctl.get(v));
  each('sysctl.set(key)', [null, '', '/etc/passwd', '../x', 'net.ipv4.nosuch'], (v) => h.sysctl.set(v, 1));
  each('sysctl.set(value)', ['not-a-number', {}, '1 2'], (v) => h.sysctl.set('net.ipv4.ip_forward', v));
  each('monitor(options)', [null, 'x', { maxQueue: 0 }, { maxQueue: -1 }, { maxQueue: 1.5 }, { bufferBytes: 1 }, { bufferBytes: 'big' }, { family: 5 }], (v) => h.monitor(v).close());
  each('listen(options)', [{ port: 70000 }, { port: -1 }, { port: 1.5 }, { host: 'nowhere' }, { host: '10.0.0.256' }, { host: '203.0.113.200' }], (v) => h.listen(v).then((s) => s.close()));
  each('connect(port, host)', [[-1, '127.0.0.1'], [70000, '127.0.0.1'], [80, 'nowhere'], [80, ''], ['80', '127.0.0.1']], ([p, a]) => h.connect(p, a));
  each('udpSocket(options)', [{ port: 65536 }, { host: 'x' }], (v) => h.udpSocket(v).then((s) => s.close()));
  each('run(fn)', [null, 42, 'fn'], (v) => h.run(v));

  // rtnetlink
  each('links.add(spec)', NOT_OBJECT, (v) => h.links.add(v));
  each('links.add.kind', ['bogus', null, 42], (v) => h.links.add({ kind: v, name: 'x0' }));
  each('links.add.name', BAD_IFNAME, (v) => h.links.add({ kind: 'bridge', name: v }));
  each('links.add.mtu', BAD_MTU, (v) => h.links.add({ kind: 'bridge', name: 'x0', mtu: v }));
  each('links.add.address', BAD_MAC, (v) => h.links.add({ kind: 'bridge', name: 'x0', address: v }));
  add('links.add name taken', () => h.links.add({ kind: 'bridge', name: 'uplink' }));
  each('links.add veth peer.netns', [closed, deleted, {}, 'x'], (v) => h.links.add({ kind: 'veth', name: 'x0', peer: { name: 'x1', netns: v } }));
  each('links.add bridge master', ['nosuch', -1, 0.5], (v) => h.links.add({ kind: 'bridge', name: 'x0', master: v }));
  each('links.set(ref)', [null, {}, -1, 1.5, 'nosuch', 'x'.repeat(16)], (v) => h.links.set(v, { up: true }));
  each('links.set(changes)', [null, 'up', 42, {}, { up: 'yes' }, { mtu: -1 }, { name: 'x'.repeat(16) }, { address: 'zz' }], (v) => h.links.set('uplink', v));
  each('links.delete', [null, {}, -1, 'nosuch', 'lo', 'x'.repeat(16)], (v) => h.links.delete(v));
  each('links.get', [null, {}, 0, 'nosuch', 'x'.repeat(16)], (v) => h.links.get(v));
  each('links.list(filter)', [null, 'x', { master: 'nosuch' }, { kind: 42 }], (v) => h.links.list(v));
  each('addresses.add(spec)', [...NOT_OBJECT, { link: 'uplink' }, { link: 'uplink', address: '10.0.0.1/33' }, { link: 'uplink', address: 'fd00::1/129' }, { link: 'uplink', address: 'x/24' }, { link: 'nosuch', address: '10.0.0.1/24' }, { link: 'uplink', address: '10.0.0.1/24', broadcast: 'fd00::1' }, { link: -3, address: '10.0.0.1/24' }], (v) => h.addresses.add(v));
  each('addresses.delete(spec)', [null, { link: 'uplink', address: '198.51.100.77/24' }, { link: 'uplink', address: 'bad' }], (v) => h.addresses.delete(v));
  each('routes.add(spec)', [...NOT_OBJECT, { dst: 'bad' }, { dst: '10.0.0.0/33', oif: 'lo' }, { dst: '10.9.0.0/16', gateway: 'fd00::1' }, { dst: '10.9.0.0/16', gateway: '10.0.0.256' }, { dst: '10.9.0.0/16', oif: 'nosuch' }, { dst: '10.9.0.0/16', oif: 'lo', table: 2 ** 32 }, { dst: '10.9.0.0/16', oif: 'lo', type: 'bogus' }, { dst: '10.9.0.0/16', oif: 'lo', priority: -1 }, { dst: '10.9.0.0/16', gateway: '192.0.2.99' }], (v) => h.routes.add(v));
  each('routes.delete(spec)', [null, { dst: '10.99.0.0/16', oif: 'lo' }, { dst: 'bad' }], (v) => h.routes.delete(v));
  each('routes.get', [null, 42, 'bad', '10.0.0.0/8x'], (v) => h.routes.get(v));
  each('neighbors.add(spec)', [...NOT_OBJECT, { link: 'uplink', dst: 'bad', lladdr: '02:00:00:00:00:01' }, { link: 'uplink', dst: '203.0.113.9', lladdr: 'zz' }, { link: 'nosuch', dst: '203.0.113.9', lladdr: '02:00:00:00:00:01' }, { link: 'uplink', dst: '203.0.113.9', lladdr: '02:00:00:00:00:01', state: 'bogus' }], (v) => h.neighbors.add(v));
  each('rules.add(spec)', [...NOT_OBJECT, { priority: -1, table: 5 }, { priority: 2 ** 32, table: 5 }, { src: 'bad', table: 5 }, { src: '10.0.0.0/33', table: 5 }, { table: 'bogus' }, { src: '10.0.0.0/8', dst: 'fd00::/8', table: 5 }, { action: 'bogus' }], (v) => h.rules.add(v));
  each('nft.transaction(options)', [{ generation: -1 }, { generation: 1.5 }, { generation: 2 ** 32 }, { generation: 'x' }], (v) => h.nft.transaction(v));
  each('nft.list(options)', [{ family: 'bogus' }, { table: 'x'.repeat(300) }, { table: 42 }], (v) => h.nft.list(v));
  each('nft.getTable', [['bogus', 't'], ['inet', ''], ['inet', 42]], ([f, n]) => h.nft.getTable(f, n));
  const tx = (write) => {
    const t = h.nft.transaction();
    write(t);
    return t.commit();
  };
  each('tx.createTable', [null, {}, { family: 'bogus', name: 't' }, { family: 'inet', name: '' }, { family: 'inet', name: 'x'.repeat(300) }, { family: 'inet', name: 't', comment: 'x'.repeat(300) }], (v) => tx((t) => t.createTable(v)));
  add('tx.createTable netplumb (exists)', () => tx((t) => t.createTable({ family: 'inet', name: 'netplumb' })));
  each('tx.addChain', [{ family: 'inet', table: 'netplumb', name: 'c', type: 'bogus', hook: 'input', priority: 0 }, { family: 'inet', table: 'nosuch', name: 'c' }, { family: 'inet', table: 'netplumb', name: 'c', type: 'filter', hook: 'nohook', priority: 0 }, { family: 'inet', table: 'netplumb', name: 'c', type: 'filter', hook: 'input', priority: 'x' }], (v) => tx((t) => t.addChain(v)));
  each('tx.addRule', [{ family: 'inet', table: 'netplumb', chain: 'nosuch', expressions: [] }, { family: 'inet', table: 'netplumb', chain: 'forward', expressions: 'drop' }, { family: 'inet', table: 'netplumb', chain: 'forward', expressions: [{ type: 'bogus' }] }, { family: 'inet', table: 'netplumb', chain: 'forward', expressions: [null] }], (v) => tx((t) => t.addRule(v)));
  each('tx.addElements', [{ family: 'inet', table: 'netplumb', set: 'ports4', elements: [{ key: ['tcp', 70000], data: ['10.0.0.1', 80] }] }, { family: 'inet', table: 'netplumb', set: 'ports4', elements: [{ key: ['bogusproto', 80], data: ['10.0.0.1', 80] }] }, { family: 'inet', table: 'netplumb', set: 'ports4', elements: [{ key: ['tcp', 80], data: ['fd00::1', 80] }] }, { family: 'inet', table: 'netplumb', set: 'nosuchset', elements: [{ key: 'x' }] }, { family: 'inet', table: 'netplumb', set: 'bridges', elements: [{ key: 'x'.repeat(20) }] }, { family: 'inet', table: 'netplumb', set: 'ports4', elements: 'all' }], (v) => tx((t) => t.addElements(v)));
  each('tx.deleteElements', [{ family: 'inet', table: 'netplumb', set: 'ports4', elements: [{ key: ['tcp', 1] }] }], (v) => tx((t) => t.deleteElements(v)));
  each('tx.deleteTable', [{ family: 'inet', name: 'nosuch' }, { family: 'bogus', name: 'netplumb' }], (v) => tx((t) => t.deleteTable(v)));
  return out;
}

function describe(v) {
  if (typeof v === 'symbol') return 'Symbol';
  if (v instanceof Netns) return `Netns(${v.closed ? 'closed' : 'open'})`;
  if (typeof v === 'string' && v.length > 20) return `"${v.slice(0, 8)}…" (${v.length})`;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

ptest.serial('a table of hostile inputs for every public entry point: typed errors, no change', async (t) => {
  t.timeout(110000);
  const l = await lab(t);
  const net = await l.network({ name: 'hostile', subnet: '10.50.0.0/24' });
  const net6 = await l.network({ name: 'hostile6', subnet: '10.51.0.0/24', subnet6: 'fd00:50::/64' });
  const internal = await l.network({ name: 'hint', subnet: '10.52.0.0/24', internal: true });
  const busy = await l.network({ name: 'hbusy', subnet: '10.53.0.0/24' });
  const removedNet = await BridgeNetwork.create({ netns: l.host, name: 'hgone', subnet: '10.54.0.0/24' });
  await removedNet.remove();
  const c = await l.container();
  const ep = await net.connect(await l.container(), { publish: [{ hostPort: 8080, containerPort: 80 }] });
  await busy.connect(await l.container());
  const closed = await Netns.create(uniqueName('hc'));
  closed.close();
  t.teardown(() => ip(null, 'netns', 'del', closed.name));
  const deleted = await Netns.create(uniqueName('hd'));
  await deleted.delete();
  ip(l.hostName, 'link', 'add', 'foreign0', 'type', 'bridge');
  const ctx = { l, net, net6, c, closed, deleted, ep, internal, busy, removedNet, usedIp: ep.ipv4 };

  // Only this process's entries (uniqueName includes the pid): other test files run beside this one.
  const nsList = () => readdirSync('/run/netns').filter((n) => n.includes(String(process.pid))).sort();
  // IPv6 link-local addresses (and their local and anycast routes) are the kernel's own
  // autoconfiguration, which finishes (DAD) a while after a link comes up: left out.
  const linkLocal = (a) => a?.startsWith('fe80:');
  const snapshot = () => ({
    links: ipJson(l.hostName, '-d', 'link').map((x) => `${x.ifname} ${x.flags.filter((f) => f === 'UP').join()} ${x.mtu} ${x.master ?? ''} ${x.ifalias ?? ''} ${x.address}`).sort(),
    addrs: ipJson(l.hostName, 'addr').map((x) => `${x.ifname} ${x.addr_info.map((a) => a.local).filter((a) => !linkLocal(a)).join(',')}`).sort(),
    routes: ipJson(l.hostName, 'route', 'show', 'table', 'all').filter((r) => !linkLocal(r.dst)).map((r) => JSON.stringify(r)).sort(),
    rules: ipJson(l.hostName, 'rule'),
    neigh: ipJson(l.hostName, 'neigh').filter((n) => n.state?.includes('PERMANENT')),
    // Of the bridges' address cursors only the keys: a next-fit hint that a refused attempt may move on.
    nft: JSON.stringify(nftJson(l.hostName), (k, v) => (k === 'map' && v?.name === 'cursors' ? { name: 'cursors', keys: (v.elem ?? []).map(([e]) => e.elem?.val ?? e) } : v)),
    c: ipJson(c.name, 'addr').map((x) => x.ifname),
    ns: nsList(),
  });
  const before = snapshot();
  const table = entries(ctx);
  const bad = [];
  for (const { label, fn } of table) {
    let error;
    let value;
    try {
      value = await fn();
    } catch (e) {
      error = e;
    }
    if (!error) {
      bad.push(`${label} ⇒ did not fail (${describe(value)})`);
      // Undo whatever it made so the next entries start from the same state.
      if (value?.remove) await value.remove({ force: true }).catch(() => {});
      if (value instanceof Netns) await (value.name ? value.delete() : value.close());
    } else if (!(error instanceof NetplumbError) || typeof error.code !== 'string') {
      bad.push(`${label} ⇒ untyped ${error?.constructor?.name}: ${error?.message}`);
    }
  }
  const after = snapshot();
  t.deepEqual(bad, [], 'every input refused with a typed error');
  t.deepEqual(after, before, 'nothing changed');
  // The network still works after all that: the refused addresses and ports are free.
  const again = await net.connect(c, { ipv4: '10.50.0.3', publish: [{ hostPort: 81, containerPort: 80 }] });
  t.is(again.ipv4, '10.50.0.3');
  t.log(`RELIABILITY hostile ${JSON.stringify({ inputs: table.length, slots: new Set(table.map((e) => e.label.split(' = ')[0])).size, })}`);
});
