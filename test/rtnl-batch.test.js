// RtnlBatch (many requests, one sendmsg) and nsids, against the kernel.
import { ClosedError, NetlinkError, ValidationError } from '../dist/errors.js';
import { assignNsid, findByNsid, listNsids, nsidOf, RtnlBatch } from '../dist/rtnl/index.js';
import { ptest, sh } from './helpers.js';
import { freshNs, ipj } from './fixtures/rtnl/support.js';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const since = (t0) => Number(process.hrtime.bigint() - t0) / 1000;

ptest('the endpoint hot path: veth in one message, then lo up, eth0 up, address and default route in one batch', async (t) => {
  const host = await freshNs(t, 'h');
  const br = await host.links.add({ kind: 'bridge', name: 'br0', up: true });
  await host.addresses.add({ link: br.index, address: '172.17.0.1/16' });
  const vethUs = [];
  const batchUs = [];
  for (let i = 0; i < 10; i++) {
    const c = await freshNs(t, 'c');
    let t0 = process.hrtime.bigint();
    const veth = await host.links.add({ kind: 'veth', name: `veth${i}`, master: br.index, up: true, peer: { name: 'eth0', netns: c, address: `02:42:ac:11:00:${(i + 2).toString(16).padStart(2, '0')}` } });
    vethUs.push(since(t0));
    const batch = new RtnlBatch(c)
      .linkSet(1, { up: true })
      .linkSet(veth.link, { up: true, addrGenMode: 'none' })
      .addressAdd({ link: veth.link, address: `172.17.0.${i + 2}/16` })
      .routeAdd({ dst: 'default', gateway: '172.17.0.1' });
    t.is(batch.length, 5, 'addrgenmode goes first, in a request of its own');
    t0 = process.hrtime.bigint();
    await batch.commit();
    batchUs.push(since(t0));

    const links = ipj(c, 'addr', 'show');
    t.true(links.find((l) => l.ifname === 'lo').flags.includes('UP'));
    const eth0 = links.find((l) => l.ifname === 'eth0');
    t.true(eth0.flags.includes('UP'));
    t.deepEqual(eth0.addr_info.map((a) => `${a.local}/${a.prefixlen}`), [`172.17.0.${i + 2}/16`], 'no IPv6 link-local');
    t.like(ipj(c, 'route', 'show', 'default')[0], { gateway: '172.17.0.1', dev: 'eth0' });
  }
  t.log(`veth add (peer into its namespace, named, with master and up): median ${median(vethUs).toFixed(0)} µs`);
  t.log(`in-namespace batch (lo up, addrgenmode, eth0 up, address, route): median ${median(batchUs).toFixed(0)} µs`);
});

ptest('a failing request rejects commit() with its NetlinkError and index; the others still ran', async (t) => {
  const ns = await freshNs(t);
  const br = await ns.links.add({ kind: 'bridge', name: 'br0' });
  await ns.addresses.add({ link: br.index, address: '10.0.0.1/24' });
  const batch = new RtnlBatch(ns)
    .linkSet(br.index, { up: true })
    .addressAdd({ link: br.index, address: '10.0.0.1/24' })
    .routeAdd({ dst: '10.9.0.0/16', gateway: '10.0.0.254' });
  const e = await t.throwsAsync(batch.commit(), { instanceOf: NetlinkError });
  t.is(e.code, 'EEXIST');
  t.is(e.index, 1);
  t.is(e.extack, 'ipv4: Address already assigned');
  t.true(ipj(ns, 'link', 'show', 'br0')[0].flags.includes('UP'), 'the request before it took effect');
  t.is(ipj(ns, 'route', 'show', '10.9.0.0/16').length, 1, 'the request after it was attempted');
  await t.throwsAsync(batch.commit(), { instanceOf: ClosedError });
});

ptest('validation happens as requests are added and leaves the batch as it was', async (t) => {
  const ns = await freshNs(t);
  const batch = new RtnlBatch(ns).linkAdd({ kind: 'bridge', name: 'br0' });
  t.is(batch.length, 1);
  t.throws(() => batch.addressAdd({ link: 'br0', address: '10.0.0.1/24' }), { instanceOf: ValidationError, message: /ifindex/ });
  t.throws(() => batch.routeAdd({ dst: '10.0.0.0/33' }), { instanceOf: ValidationError });
  t.throws(() => batch.linkAdd({ kind: 'bridge', name: 'way-too-long-name' }), { instanceOf: ValidationError });
  t.is(batch.length, 1);
  batch.linkSet('br0', { up: true, mtu: 1400, alias: 'by name' });
  await batch.commit();
  t.like(ipj(ns, 'link', 'show', 'br0')[0], { mtu: 1400, ifalias: 'by name' });
  await new RtnlBatch(ns).commit();
});

ptest('nsids: assigned, looked up, listed and resolved to a namespace handle, as ip netns list-id sees them', async (t) => {
  const host = await freshNs(t, 'h');
  const a = await freshNs(t, 'a');
  const b = await freshNs(t, 'b');
  t.is(await nsidOf(host, a), undefined);
  const ida = await assignNsid(host, a);
  const idb = await assignNsid(host, b, 42);
  t.is(idb, 42);
  t.is(await nsidOf(host, a), ida);
  t.is(await nsidOf(host, b), 42);
  const listed = (await listNsids(host)).map((e) => e.nsid).sort((x, y) => x - y);
  const theirs = JSON.parse(sh('ip', ['-j', '-n', host.name, 'netns', 'list-id'])).map((e) => e.nsid).sort((x, y) => x - y);
  t.deepEqual(listed, theirs);
  t.deepEqual(listed, [ida, 42].sort((x, y) => x - y));
  t.is(await findByNsid(host, 42, [a, b]), b);
  t.is(await findByNsid(host, 7, [a, b]), undefined);
  await t.throwsAsync(assignNsid(host, b, 43), { instanceOf: NetlinkError });
  // One set with ip: seen by netplumb.
  sh('ip', ['-n', b.name, 'netns', 'set', a.name, '9']);
  t.is(await nsidOf(b, a), 9);
});
