// ns.addresses against the kernel, checked through `ip -j addr` (and the other way round).
import { NetlinkError, ValidationError } from '../dist/errors.js';
import { Batch } from '../dist/netlink/batch.js';
import { rtnlConstants as C } from '../dist/rtnl/index.js';
import { ptest } from './helpers.js';
import { compareAddress, freshNs, inNs, ipBatch, ipj } from './fixtures/rtnl/support.js';

/** Every address of the namespace compared with ip's view; returns how many. */
async function checkAll(t, ns, filter) {
  const ours = await ns.addresses.list(filter);
  const theirs = ipj(ns, 'addr', 'show').flatMap((l) => l.addr_info.map((ai) => [l.ifindex, ai]));
  t.is(ours.length, theirs.length, 'same number of addresses');
  for (const [index, ai] of theirs) {
    const a = ours.find((x) => x.index === index && x.address === ai.local && x.prefixlen === ai.prefixlen);
    t.truthy(a, `found ${ai.local}`);
    compareAddress(t, a, ai, index);
  }
  return ours;
}

ptest('add() puts IPv4 and IPv6 addresses with their options where ip -j addr sees them', async (t) => {
  const ns = await freshNs(t);
  const link = await ns.links.add({ kind: 'bridge', name: 'br0', up: true });
  await ns.links.add({ kind: 'veth', name: 'p0', peer: { name: 'p1' } });
  await ns.addresses.add({ link: 'br0', address: '172.17.0.1/16', broadcast: true, label: 'br0:gw' });
  await ns.addresses.add({ link: link.index, address: '172.18.0.1/24', scope: 'link', metric: 50, noprefixroute: true });
  await ns.addresses.add({ link: 'p0', address: '10.0.0.1', peer: '10.0.0.2/31' });
  await ns.addresses.add({ link: 'br0', address: '2001:db8::1/64', nodad: true, validLifetime: 600, preferredLifetime: 300 });
  await ns.addresses.add({ link: 'br0', address: '2001:db8:1::1/64', nodad: true, noprefixroute: true });
  const all = await checkAll(t, ns);
  const gw = all.find((a) => a.address === '172.17.0.1');
  t.like(gw, { family: 4, prefixlen: 16, broadcast: '172.17.255.255', label: 'br0:gw', scope: 0 });
  const p2p = all.find((a) => a.address === '10.0.0.1');
  t.like(p2p, { peer: '10.0.0.2', prefixlen: 31 });
  const v6 = all.find((a) => a.address === '2001:db8::1');
  t.true((v6.flags & C.IFA_F_NODAD) !== 0);
  t.true(v6.cacheinfo.valid <= 600 && v6.cacheinfo.valid > 590);
  t.false((v6.flags & C.IFA_F_PERMANENT) !== 0, 'with lifetimes it is not permanent');
  t.is(all.find((a) => a.address === '172.18.0.1').metric, 50);

  // replace updates in place (lifetimes, flags) without EEXIST.
  await ns.addresses.replace({ link: 'br0', address: '2001:db8::1/64', nodad: true, validLifetime: 9000, preferredLifetime: 9000 });
  const replaced = (await ns.addresses.list({ family: 6, link: 'br0' })).find((a) => a.address === '2001:db8::1');
  t.true(replaced.cacheinfo.valid > 8990);
  await checkAll(t, ns);

  await ns.addresses.delete({ link: 'br0', address: '172.17.0.1/16' });
  await ns.addresses.delete({ link: 'br0', address: '2001:db8:1::1/64' });
  t.false(ipj(ns, 'addr', 'show', 'dev', 'br0')[0].addr_info.some((a) => a.local === '172.17.0.1' || a.local === '2001:db8:1::1'));
  await checkAll(t, ns);
  t.true((await ns.addresses.list({ family: 4 })).every((a) => a.family === 4));
  t.true((await ns.addresses.list({ link: 'p0' })).every((a) => a.index === ipj(ns, 'link', 'show', 'p0')[0].ifindex));
});

ptest('addresses added with ip decode as ip -j addr shows them', async (t) => {
  const ns = await freshNs(t);
  inNs(ns, [
    'ip link set lo up',
    'ip link add br0 type bridge',
    'ip link set br0 up',
    'ip addr add 192.0.2.1/24 brd 192.0.2.255 dev br0 label br0:a',
    'ip addr add 192.0.2.2/24 dev br0',
    'ip addr add 198.51.100.1 peer 198.51.100.2 dev br0',
    'ip addr add 2001:db8:5::1/48 dev br0 nodad noprefixroute valid_lft 1000 preferred_lft 0',
    'ip addr add 2001:db8:6::1/64 dev br0 nodad metric 77',
  ].join(' && '));
  const all = await checkAll(t, ns);
  const secondary = all.find((a) => a.address === '192.0.2.2');
  t.true((secondary.flags & C.IFA_F_SECONDARY) !== 0, 'the second address of a prefix is secondary');
  const deprecated = all.find((a) => a.address === '2001:db8:5::1');
  t.true((deprecated.flags & C.IFA_F_DEPRECATED) !== 0, 'preferred_lft 0 deprecates');
});

ptest('address errors are typed: EEXIST and invalid prefix length carry the kernel text', async (t) => {
  const ns = await freshNs(t);
  const br = await ns.links.add({ kind: 'bridge', name: 'br0' });
  await ns.addresses.add({ link: br.index, address: '10.0.0.1/24' });
  const dup = await t.throwsAsync(ns.addresses.add({ link: br.index, address: '10.0.0.1/24' }), { instanceOf: NetlinkError });
  t.is(dup.code, 'EEXIST');
  t.is(dup.extack, 'ipv4: Address already assigned');
  const gone = await t.throwsAsync(ns.addresses.delete({ link: br.index, address: '10.0.0.9/24' }), { instanceOf: NetlinkError });
  t.is(gone.code, 'EADDRNOTAVAIL');
  t.is(gone.extack, 'ipv4: Address not found');
  await t.throwsAsync(ns.addresses.add({ link: 'nope', address: '10.0.0.1/24' }), { instanceOf: NetlinkError, code: 'ENODEV' });

  // netplumb refuses /33 before sending; sent anyway (a raw request), the kernel says why.
  const refused = await t.throwsAsync(ns.addresses.add({ link: br.index, address: '10.0.0.2/33' }), { instanceOf: ValidationError });
  t.is(refused.field, 'address');
  const b = new Batch();
  const w = b.begin(C.RTM_NEWADDR, 0x604, 'RTM_NEWADDR 10.0.0.2/33 (raw)');
  w.putU8(C.AF_INET);
  w.putU8(33);
  w.putU8(0);
  w.putU8(0);
  w.putU32(br.index);
  w.attrBytes(C.IFA_LOCAL, Uint8Array.from([10, 0, 0, 2]));
  b.end();
  const kernel = await t.throwsAsync(ns.route.execute(b), { instanceOf: NetlinkError });
  t.is(kernel.code, 'EINVAL');
  t.is(kernel.extack, 'ipv4: Invalid prefix length');
  t.regex(kernel.message, /EINVAL \(errno 22\): ipv4: Invalid prefix length/);
});

ptest('a dump of 2,000 addresses decodes completely', async (t) => {
  const ns = await freshNs(t);
  inNs(ns, 'ip link add br0 type bridge');
  const lines = [];
  for (let i = 0; i < 2000; i++) lines.push(`addr add 10.${(i >> 8) & 255}.${i & 255}.1/32 dev br0`);
  ipBatch(ns, lines);
  const started = process.hrtime.bigint();
  const addrs = await ns.addresses.list({ family: 4, link: 'br0' });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.is(addrs.length, 2000);
  t.is(new Set(addrs.map((a) => a.address)).size, 2000);
  t.log(`2000 addresses listed and decoded in ${ms.toFixed(1)} ms`);
});
