// ns.routes against the kernel, checked through `ip -j -d route` (and the other way round).
import { NetlinkError, ValidationError } from '../dist/errors.js';
import { rtnlConstants as C } from '../dist/rtnl/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { ptest } from './helpers.js';
import { compareRoute, freshNs, indexByName, inNs, ipBatch, ipj, routeDst } from './fixtures/rtnl/support.js';

/** Every route of every table compared with ip's view (both families); returns ours. */
async function checkAll(t, ns) {
  const readAt = Date.now();
  const ours = await ns.routes.list();
  const byName = indexByName(ipj(ns, 'link', 'show'));
  const theirs = [
    ...ipj(ns, '-d', '-4', 'route', 'show', 'table', 'all').map((j) => [4, j]),
    ...ipj(ns, '-d', '-6', 'route', 'show', 'table', 'all').map((j) => [6, j]),
  ];
  const apart = Math.ceil((Date.now() - readAt) / 1000);
  t.is(ours.length, theirs.length, 'same number of routes');
  const left = [...ours];
  for (const [family, j] of theirs) {
    const i = left.findIndex(
      (r) =>
        r.family === family &&
        r.dst === routeDst(j, family) &&
        r.type === (j.type ?? 'unicast') &&
        r.table === ({ main: 254, local: 255, default: 253 }[j.table] ?? Number(j.table)) &&
        r.gateway === j.gateway &&
        r.oif === (j.dev === undefined ? undefined : byName.get(j.dev)),
    );
    t.not(i, -1, `found ${j.type} ${j.dst} table ${j.table}`);
    if (i !== -1) compareRoute(t, left.splice(i, 1)[0], j, byName, apart);
  }
  return ours;
}

/**
 * Waits (bounded) until IPv6 duplicate address detection has finished on every link that
 * is up: the kernel adds an address's local route only then, so before it the route
 * tables still change under a comparison with `ip -j route`.
 */
async function addressesSettled(t, ns) {
  for (let i = 0; i < 100; i++) {
    const links = ipj(ns, '-6', 'addr', 'show').filter((l) => l.ifname !== 'lo' && l.flags.includes('UP') && !l.flags.includes('NO-CARRIER'));
    const ready = links.every((l) => l.addr_info.some((a) => a.scope === 'link') && l.addr_info.every((a) => !a.tentative));
    if (ready && links.length > 0) return;
    await sleep(100);
  }
  t.fail('IPv6 addresses still tentative after 10 s');
}

async function setup(t) {
  const ns = await freshNs(t);
  const br = await ns.links.add({ kind: 'bridge', name: 'br0', up: true });
  const veth = await ns.links.add({ kind: 'veth', name: 'v0', up: true, master: br.index, peer: { name: 'v1' } });
  await ns.links.set('v1', { up: true });
  await ns.addresses.add({ link: br.index, address: '172.17.0.1/16' });
  await ns.addresses.add({ link: br.index, address: '2001:db8::1/64', nodad: true });
  await addressesSettled(t, ns);
  return { ns, br, veth };
}

ptest('add() makes routes of every kind as ip -j -d route shows them; replace and delete change them', async (t) => {
  const { ns, br } = await setup(t);
  await ns.routes.add({ dst: 'default', gateway: '172.17.0.254' });
  await ns.routes.add({ dst: '10.1.0.0/16', gateway: '172.17.0.253', oif: 'br0', priority: 10, table: 1000, protocol: 'static', metrics: { mtu: 1400, advmss: 1360, lock: 1 << C.RTAX_MTU } });
  await ns.routes.add({ dst: '10.2.0.5', oif: br.index, prefsrc: '172.17.0.1' });
  await ns.routes.add({ dst: '10.3.0.0/16', type: 'blackhole' });
  await ns.routes.add({ dst: '10.4.0.0/16', type: 'unreachable', priority: 5 });
  await ns.routes.add({ dst: '10.5.0.0/16', type: 'prohibit', table: 'main' });
  await ns.routes.add({ dst: '10.6.0.0/16', multipath: [{ gateway: '172.17.0.10', oif: 'br0', weight: 3 }, { gateway: '172.17.0.11', oif: br.index }] });
  await ns.routes.add({ dst: '10.7.0.0/16', gateway: '192.168.99.1', oif: br.index, onlink: true, scope: 'universe' });
  await ns.routes.add({ dst: '10.8.0.0/24', oif: br.index, scope: 'link', table: 'local', type: 'broadcast' });
  await ns.routes.add({ dst: '2001:db8:1::/64', gateway: '2001:db8::2', priority: 7 });
  await ns.routes.add({ dst: '2001:db8:2::/64', oif: br.index, type: 'unreachable' });
  await ns.routes.add({ dst: 'default', family: 6, gateway: 'fe80::1', oif: 'br0', pref: 1 });
  const ours = await checkAll(t, ns);
  t.like(ours.find((r) => r.dst === '10.1.0.0/16'), { table: 1000, protocol: C.RTPROT_STATIC, priority: 10, metrics: { mtu: 1400, advmss: 1360, lock: 4 } });
  t.deepEqual(ours.find((r) => r.dst === '10.6.0.0/16').multipath.map((h) => [h.gateway, h.oif, h.weight]), [['172.17.0.10', br.index, 3], ['172.17.0.11', br.index, 1]]);
  t.is(ours.find((r) => r.dst === '10.2.0.5/32').scope, C.RT_SCOPE_LINK, 'no gateway: scope link, as ip route add does');
  t.true((ours.find((r) => r.dst === '10.7.0.0/16').flags & C.RTNH_F_ONLINK) !== 0);
  t.is(ours.find((r) => r.dst === '::/0').pref, 1);

  await ns.routes.replace({ dst: 'default', gateway: '172.17.0.250', priority: 0 });
  await ns.routes.append({ dst: '2001:db8:1::/64', gateway: '2001:db8::3', priority: 7 });
  await ns.routes.delete({ dst: '10.3.0.0/16', type: 'blackhole' });
  await ns.routes.delete({ dst: '10.1.0.0/16', table: 1000 });
  const after = await checkAll(t, ns);
  t.is(after.find((r) => r.dst === '0.0.0.0/0').gateway, '172.17.0.250');
  t.false(after.some((r) => r.dst === '10.3.0.0/16' || r.dst === '10.1.0.0/16'));
  t.deepEqual((await ns.routes.list({ table: 1000 })), []);
  const main4 = await ns.routes.list({ table: 'main', family: 4 });
  t.true(main4.length > 0 && main4.every((r) => r.table === 254 && r.family === 4), 'table main, IPv4');
  t.true((await ns.routes.list({ protocol: 'kernel' })).every((r) => r.protocol === C.RTPROT_KERNEL), 'protocol kernel');
  t.true((await ns.routes.list({ type: 'unreachable' })).every((r) => r.type === 'unreachable'), 'type unreachable');
  const viaBr0 = await ns.routes.list({ oif: 'br0', family: 4 });
  t.true(viaBr0.every((r) => r.oif === br.index || r.multipath?.some((h) => h.oif === br.index)), 'oif br0 (or a next hop through it)');
});

ptest('get() resolves a destination as ip route get does', async (t) => {
  const { ns, br } = await setup(t);
  await ns.routes.add({ dst: 'default', gateway: '172.17.0.254' });
  await ns.routes.add({ dst: '10.9.0.0/16', gateway: '172.17.0.9', table: 77 });
  await ns.rules.add({ priority: 100, dst: '10.9.0.0/16', table: 77 });
  for (const [dst, args] of [
    ['8.8.8.8', []],
    ['172.17.3.4', []],
    ['10.9.1.1', []],
    ['2001:db8::55', []],
    ['8.8.4.4', ['mark', '7']],
  ]) {
    const [j] = ipj(ns, 'route', 'get', dst, ...args);
    const r = await ns.routes.get(dst, args.length ? { mark: 7 } : {});
    t.is(r.dst, routeDst({ dst: j.dst }, r.family), dst);
    t.is(r.gateway, j.gateway, `${dst} gateway`);
    t.is(r.oif, br.index, `${dst} dev`);
    t.is(r.prefsrc, j.prefsrc, `${dst} prefsrc`);
    if (r.family === 4) t.true((r.flags & C.RTM_F_CLONED) !== 0, `${dst}: a resolved route`);
    if (args.length) t.is(r.mark, 7);
  }
  t.is((await ns.routes.get('10.9.1.1')).table, 77, 'the table the lookup found it in');
  const fib = await ns.routes.get('10.9.1.1', { fibMatch: true });
  t.is(fib.dst, '10.9.0.0/16');
  const none = await t.throwsAsync(ns.routes.get('2001:db8:ffff::1'), { instanceOf: NetlinkError });
  t.is(none.code, 'ENETUNREACH');
});

ptest('routes added with ip decode as ip -j -d route shows them', async (t) => {
  const { ns } = await setup(t);
  inNs(ns, [
    'ip route add 10.10.0.0/16 via 172.17.0.2 metric 3 proto bird',
    'ip route add 10.11.0.0/16 nexthop via 172.17.0.3 weight 5 nexthop via 172.17.0.4 weight 1',
    'ip route add throw 10.12.0.0/16 table 500',
    'ip route add 10.13.0.0/24 dev br0 src 172.17.0.1 table 200 initcwnd 10 rto_min 50ms',
    'ip -6 route add 2001:db8:9::/48 via 2001:db8::9 metric 1024 expires 600',
  ].join(' && '));
  const ours = await checkAll(t, ns);
  t.is(ours.find((r) => r.dst === '10.12.0.0/16').type, 'throw');
  t.like(ours.find((r) => r.dst === '10.13.0.0/24').metrics, { initcwnd: 10, rtoMin: 50 });
});

ptest('route errors are typed, with the kernel text', async (t) => {
  const { ns } = await setup(t);
  const unreachable = await t.throwsAsync(ns.routes.add({ dst: '10.0.0.0/8', gateway: '192.168.1.1' }), { instanceOf: NetlinkError });
  t.is(unreachable.code, 'ENETUNREACH');
  t.is(unreachable.extack, 'Nexthop has invalid gateway');
  await ns.routes.add({ dst: '10.0.0.0/8', gateway: '172.17.0.5' });
  await t.throwsAsync(ns.routes.add({ dst: '10.0.0.0/8', gateway: '172.17.0.5' }), { instanceOf: NetlinkError, code: 'EEXIST' });
  await t.throwsAsync(ns.routes.delete({ dst: '10.99.0.0/16' }), { instanceOf: NetlinkError, code: 'ESRCH' });
  await t.throwsAsync(ns.routes.add({ dst: '10.0.0.0/8', oif: 'nope' }), { instanceOf: NetlinkError, code: 'ENODEV' });
  const bad = await t.throwsAsync(ns.routes.add({ dst: '10.0.0.0/8', gateway: '172.17.0.5', table: 'nope' }), { instanceOf: ValidationError });
  t.is(bad.field, 'table');
});

ptest('a dump of 5,000 routes (added with ip -batch) decodes completely', async (t) => {
  const { ns } = await setup(t);
  const lines = [];
  for (let i = 0; i < 5000; i++) lines.push(`route add 10.${(i >> 8) & 255}.${i & 255}.0/24 via 172.17.0.2 table 300`);
  ipBatch(ns, lines);
  const started = process.hrtime.bigint();
  const routes = await ns.routes.list({ table: 300 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.is(routes.length, 5000);
  t.is(new Set(routes.map((r) => r.dst)).size, 5000);
  t.true(routes.every((r) => r.gateway === '172.17.0.2' && r.table === 300));
  t.is((await ns.routes.list()).filter((r) => r.table === 300).length, 5000, 'also within a dump of every table');
  t.log(`5000 routes listed and decoded in ${ms.toFixed(1)} ms`);
});
