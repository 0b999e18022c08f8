// ns.rules against the kernel, checked through `ip -j rule` (and the other way round).
import { NetlinkError, ValidationError } from '../dist/errors.js';
import { ptest } from './helpers.js';
import { compareRule, freshNs, inNs, ipj } from './fixtures/rtnl/support.js';

async function checkAll(t, ns) {
  const ours = await ns.rules.list();
  for (const family of [4, 6]) {
    const theirs = ipj(ns, `-${family}`, 'rule', 'show');
    const mine = ours.filter((r) => r.family === family);
    t.is(mine.length, theirs.length, `IPv${family}: same number of rules`);
    for (const j of theirs) compareRule(t, mine.find((r) => r.priority === j.priority && (r.src ?? 'all') === (j.src === 'all' ? 'all' : `${j.src}/${j.srclen}`)), j);
  }
  return ours;
}

ptest('add() and delete() policy rules as ip -j rule shows them', async (t) => {
  const ns = await freshNs(t);
  await ns.links.add({ kind: 'bridge', name: 'br0' });
  await ns.rules.add({ priority: 100, src: '10.0.0.0/8', table: 100 });
  await ns.rules.add({ priority: 200, dst: '192.168.0.0/16', invert: true, fwmark: 0x10, fwmask: 0xff, iifname: 'br0', table: 1000 });
  await ns.rules.add({ priority: 300, src: '2001:db8::/32', action: 'prohibit' });
  await ns.rules.add({ priority: 400, oifname: 'br0', table: 'main', suppressPrefixlen: 0 });
  await ns.rules.add({ priority: 500, ipProto: 6, dportRange: { start: 80, end: 443 }, uidRange: { start: 1000, end: 2000 }, table: 7 });
  await ns.rules.add({ priority: 600, goto: 700 });
  await ns.rules.add({ priority: 700, action: 'nop', protocol: 'static' });
  const ours = await checkAll(t, ns);
  t.like(ours.find((r) => r.priority === 500), { ipProto: 6, dportRange: { start: 80, end: 443 }, uidRange: { start: 1000, end: 2000 }, table: 7, action: 'to_tbl' });
  t.like(ours.find((r) => r.priority === 400), { suppressPrefixlen: 0, oifname: 'br0' });
  t.like(ours.find((r) => r.priority === 600), { action: 'goto', goto: 700 });
  t.is(ours.find((r) => r.priority === 700).protocol, 4);
  t.true(ours.find((r) => r.priority === 200).invert);

  await ns.rules.delete({ priority: 100 });
  await ns.rules.delete({ priority: 300, family: 6 });
  const after = await checkAll(t, ns);
  t.false(after.some((r) => r.priority === 100 || r.priority === 300));
  t.true((await ns.rules.list(6)).every((r) => r.family === 6));
  await t.throwsAsync(ns.rules.delete({ priority: 4242 }), { instanceOf: NetlinkError, code: 'ENOENT' });
  await t.throwsAsync(ns.rules.add({ priority: 200, dst: '192.168.0.0/16', invert: true, fwmark: 0x10, fwmask: 0xff, iifname: 'br0', table: 1000 }), { instanceOf: NetlinkError, code: 'EEXIST' });
  const bad = await t.throwsAsync(ns.rules.add({ src: '10.0.0.0/99', table: 5 }), { instanceOf: ValidationError });
  t.is(bad.field, 'src');
});

ptest('rules added with ip decode as ip -j rule shows them', async (t) => {
  const ns = await freshNs(t);
  inNs(ns, [
    'ip rule add from 10.1.0.0/16 to 10.2.0.0/16 tos 0x10 lookup 55 pref 10',
    'ip rule add not fwmark 0x5 lookup 66 pref 20',
    'ip rule add iif lo blackhole pref 30',
    'ip -6 rule add from 2001:db8::/48 unreachable pref 40',
    'ip rule add sport 1000-2000 ipproto udp lookup 77 pref 50',
  ].join(' && '));
  const ours = await checkAll(t, ns);
  t.like(ours.find((r) => r.priority === 10), { src: '10.1.0.0/16', dst: '10.2.0.0/16', tos: 0x10, table: 55 });
  t.like(ours.find((r) => r.priority === 50), { sportRange: { start: 1000, end: 2000 }, ipProto: 17 });
});
