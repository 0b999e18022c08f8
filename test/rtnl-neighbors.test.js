// ns.neighbors (ARP/NDP) and ns.neighbors.fdb (bridge FDB, vxlan remotes) against the
// kernel, checked through `ip -j neigh` and `bridge -j fdb` (and the other way round).
import { NetlinkError, ValidationError } from '../dist/errors.js';
import { rtnlConstants as C } from '../dist/rtnl/index.js';
import { ptest } from './helpers.js';
import { bridgej, compareFdb, compareNeighbor, freshNs, indexByName, inNs, ipj } from './fixtures/rtnl/support.js';

/** Multicast entries come and go on their own (MLD/IGMP as links go up): not compared. */
const unicast = (dst) => !/^(ff|22[4-9]\.|23\d\.)/.test(dst);

async function checkNeighbors(t, ns) {
  const ours = (await ns.neighbors.list()).filter((n) => unicast(n.dst));
  const theirs = ipj(ns, 'neigh', 'show', 'nud', 'all').filter((j) => unicast(j.dst));
  const byName = indexByName(ipj(ns, 'link', 'show'));
  t.is(ours.length, theirs.length, 'same number of neighbours');
  for (const j of theirs) compareNeighbor(t, ours.find((n) => n.dst === j.dst && n.index === byName.get(j.dev)), j, byName);
  return ours;
}

async function checkFdb(t, ns) {
  const ours = await ns.neighbors.fdb.list();
  const theirs = bridgej(ns, 'fdb', 'show');
  const byName = indexByName(ipj(ns, 'link', 'show'));
  t.is(ours.length, theirs.length, 'same number of FDB entries');
  for (const j of theirs) {
    const e = ours.find((x) => x.lladdr === j.mac && x.index === byName.get(j.ifname) && x.dst === j.dst && (x.master === undefined) === (j.master === undefined) && x.vni === j.vni);
    t.truthy(e, `found ${j.mac} dev ${j.ifname} ${j.dst ?? ''}`);
    compareFdb(t, e, j, byName);
  }
  return ours;
}

ptest('ARP and NDP entries: add, replace, delete, as ip -j neigh shows them', async (t) => {
  const ns = await freshNs(t);
  const br = await ns.links.add({ kind: 'bridge', name: 'br0', up: true });
  await ns.neighbors.add({ link: 'br0', dst: '172.17.0.2', lladdr: '02:42:ac:11:00:02' });
  await ns.neighbors.add({ link: br.index, dst: '172.17.0.3', lladdr: '02:42:ac:11:00:03', state: 'reachable' });
  await ns.neighbors.add({ link: br.index, dst: '172.17.0.4', lladdr: '02:42:ac:11:00:04', state: 'stale' });
  await ns.neighbors.add({ link: br.index, dst: '2001:db8::2', lladdr: '02:42:ac:11:00:12', router: true });
  await ns.neighbors.add({ link: br.index, dst: '172.17.0.99', proxy: true });
  let ours = await checkNeighbors(t, ns);
  t.like(ours.find((n) => n.dst === '172.17.0.2'), { family: 4, index: br.index, lladdr: '02:42:ac:11:00:02', state: C.NUD_PERMANENT });
  t.like(ours.find((n) => n.dst === '2001:db8::2'), { family: 6, state: C.NUD_PERMANENT });
  t.true((ours.find((n) => n.dst === '2001:db8::2').flags & C.NTF_ROUTER) !== 0);
  const proxies = await ns.neighbors.list({ proxy: true });
  t.deepEqual(proxies.map((n) => n.dst), ['172.17.0.99']);
  t.deepEqual(ipj(ns, 'neigh', 'show', 'proxy').map((j) => j.dst), ['172.17.0.99']);

  await ns.neighbors.replace({ link: br.index, dst: '172.17.0.2', lladdr: '02:42:ac:11:00:22', state: 'reachable' });
  await ns.neighbors.delete({ link: 'br0', dst: '172.17.0.3' });
  ours = await checkNeighbors(t, ns);
  t.like(ours.find((n) => n.dst === '172.17.0.2'), { lladdr: '02:42:ac:11:00:22', state: C.NUD_REACHABLE });
  t.false(ours.some((n) => n.dst === '172.17.0.3'));
  t.true((await ns.neighbors.list({ family: 6 })).every((n) => n.family === 6));
  t.true((await ns.neighbors.list({ link: 'br0' })).every((n) => n.index === br.index));

  await t.throwsAsync(ns.neighbors.add({ link: br.index, dst: '172.17.0.2', lladdr: '02:42:ac:11:00:02' }), { instanceOf: NetlinkError, code: 'EEXIST' });
  await t.throwsAsync(ns.neighbors.delete({ link: br.index, dst: '172.17.0.77' }), { instanceOf: NetlinkError, code: 'ENOENT' });
  const bad = await t.throwsAsync(ns.neighbors.add({ link: br.index, dst: '172.17.0.5', lladdr: '02:42:ac:11:00' }), { instanceOf: ValidationError });
  t.is(bad.field, 'lladdr');
});

ptest('neighbours added with ip decode as ip -j neigh shows them', async (t) => {
  const ns = await freshNs(t);
  inNs(ns, [
    'ip link add br0 type bridge',
    'ip link set br0 up',
    'ip neigh add 192.0.2.1 lladdr 02:00:00:00:00:01 dev br0 nud permanent',
    'ip neigh add 192.0.2.2 lladdr 02:00:00:00:00:02 dev br0 nud noarp',
    'ip neigh add 192.0.2.3 lladdr 02:00:00:00:00:03 dev br0 nud stale',
    'ip -6 neigh add 2001:db8::3 lladdr 02:00:00:00:00:13 dev br0 nud reachable router',
  ].join(' && '));
  const ours = await checkNeighbors(t, ns);
  t.is(ours.find((n) => n.dst === '192.0.2.2').state, C.NUD_NOARP);
});

ptest('bridge FDB and vxlan remote destinations: add, append, replace, delete, as bridge -j fdb shows them', async (t) => {
  const ns = await freshNs(t);
  const br = await ns.links.add({ kind: 'bridge', name: 'br0', up: true });
  const port = await ns.links.add({ kind: 'veth', name: 'p0', master: br.index, up: true, peer: { name: 'p1' } });
  const vx = await ns.links.add({ kind: 'vxlan', name: 'vx0', vxlan: { id: 100, port: 4789, local: '192.0.2.1', learning: false } });
  // A port learns (and takes dynamic entries) only once it forwards, i.e. has a carrier.
  await ns.links.set('p1', { up: true });
  await ns.neighbors.fdb.add({ link: 'p0', lladdr: '02:00:00:00:00:01', master: true, state: 'static' });
  await ns.neighbors.fdb.add({ link: port.index, lladdr: '02:00:00:00:00:02', master: true, state: 'dynamic' });
  await ns.neighbors.fdb.add({ link: port.index, lladdr: '02:00:00:00:00:03', master: true, sticky: true, state: 'static' });
  // Flooding: the all-zeros MAC with several remotes, as overlay networks configure vxlan.
  await ns.neighbors.fdb.add({ link: vx.index, lladdr: '00:00:00:00:00:00', dst: '192.0.2.10' });
  await ns.neighbors.fdb.append({ link: 'vx0', lladdr: '00:00:00:00:00:00', dst: '192.0.2.11' });
  await ns.neighbors.fdb.add({ link: vx.index, lladdr: '02:00:00:00:00:aa', dst: '192.0.2.12', vni: 200, port: 4790, via: 'p1' });
  await ns.neighbors.fdb.add({ link: vx.index, lladdr: '02:00:00:00:00:bb', dst: '192.0.2.14' });
  let ours = await checkFdb(t, ns);
  t.like(ours.find((e) => e.lladdr === '02:00:00:00:00:aa'), { dst: '192.0.2.12', vni: 200, port: 4790, index: vx.index });
  t.deepEqual(ours.filter((e) => e.index === vx.index && e.lladdr === '00:00:00:00:00:00').map((e) => e.dst).sort(), ['192.0.2.10', '192.0.2.11']);
  t.true((ours.find((e) => e.lladdr === '02:00:00:00:00:01').state & C.NUD_NOARP) !== 0, 'static is NUD_NOARP');
  t.is(ours.find((e) => e.lladdr === '02:00:00:00:00:01').master, br.index);

  await ns.neighbors.fdb.replace({ link: vx.index, lladdr: '02:00:00:00:00:aa', dst: '192.0.2.13' });
  await ns.neighbors.fdb.delete({ link: vx.index, lladdr: '00:00:00:00:00:00', dst: '192.0.2.11' });
  await ns.neighbors.fdb.delete({ link: port.index, lladdr: '02:00:00:00:00:02', master: true });
  ours = await checkFdb(t, ns);
  t.is(ours.find((e) => e.lladdr === '02:00:00:00:00:aa').dst, '192.0.2.13');
  t.false(ours.some((e) => e.dst === '192.0.2.11' || e.lladdr === '02:00:00:00:00:02'));
  t.true((await ns.neighbors.fdb.list({ link: 'vx0' })).every((e) => e.index === vx.index), 'filtered by link');
  const onBridge = await ns.neighbors.fdb.list({ master: 'br0' });
  t.true(onBridge.length > 0 && onBridge.every((e) => e.index === br.index || e.index === port.index), 'filtered by master: the bridge and its ports');

  await t.throwsAsync(ns.neighbors.fdb.add({ link: vx.index, lladdr: '02:00:00:00:00:bb', dst: '192.0.2.14' }), { instanceOf: NetlinkError, code: 'EEXIST' });
  await t.throwsAsync(ns.neighbors.fdb.delete({ link: vx.index, lladdr: '02:00:00:00:00:cc' }), { instanceOf: NetlinkError, code: 'ENOENT' });
});

ptest('FDB entries added with bridge decode as bridge -j fdb shows them', async (t) => {
  const ns = await freshNs(t);
  inNs(ns, [
    'ip link add br0 type bridge',
    'ip link add p0 type veth peer name p1',
    'ip link set p0 master br0',
    'ip link add vx0 type vxlan id 5 dstport 4789 local 192.0.2.1 remote 192.0.2.2',
    'bridge fdb add 02:00:00:00:00:01 dev p0 master static',
    'bridge fdb append 00:00:00:00:00:00 dev vx0 dst 192.0.2.3',
    'bridge fdb add 02:00:00:00:00:02 dev vx0 dst 192.0.2.4 vni 6 port 4790 src_vni 5',
  ].join(' && '));
  const ours = await checkFdb(t, ns);
  t.like(ours.find((e) => e.lladdr === '02:00:00:00:00:02'), { dst: '192.0.2.4', vni: 6, port: 4790 });
});
