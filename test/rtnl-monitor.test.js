// ns.monitor(): changes made by iproute2 arrive as decoded events; losses are reported.
import { setTimeout as sleep } from 'node:timers/promises';
import { ValidationError } from '../dist/errors.js';
import { openMonitor } from '../dist/rtnl/index.js';
import { ptest } from './helpers.js';
import { freshNs, inNs, ipBatch } from './fixtures/rtnl/support.js';

/** Reads events until `done(events)` holds or `ms` pass; returns what arrived. */
async function collect(monitor, done, ms = 3000) {
  const events = [];
  const deadline = sleep(ms).then(() => 'timeout');
  while (!done(events)) {
    const r = await Promise.race([monitor.next(), deadline]);
    if (r === 'timeout' || r.done) break;
    events.push(r.value);
  }
  return events;
}

ptest('changes made with ip arrive as decoded events of every type', async (t) => {
  const ns = await freshNs(t);
  const monitor = ns.monitor();
  t.teardown(() => monitor.close());
  inNs(ns, [
    'ip link add br0 type bridge',
    'ip link set br0 up',
    'ip addr add 192.0.2.1/24 dev br0',
    'ip -6 addr add 2001:db8::1/64 dev br0 nodad',
    'ip route add 198.51.100.0/24 via 192.0.2.254',
    'ip neigh add 192.0.2.7 lladdr 02:00:00:00:00:07 dev br0',
    'ip rule add from 203.0.113.0/24 table 9 pref 99',
    'bridge fdb add 02:00:00:00:00:99 dev br0 self local',
    'ip link del br0',
  ].join(' && '));
  const has = (evs, pred) => evs.some(pred);
  const events = await collect(monitor, (evs) =>
    has(evs, (e) => e.type === 'link' && e.action === 'del') &&
    has(evs, (e) => e.type === 'rule') &&
    has(evs, (e) => e.type === 'fdb' && e.entry.lladdr === '02:00:00:00:00:99'),
  );
  const link = events.find((e) => e.type === 'link' && e.action === 'new');
  t.like(link.link, { name: 'br0', kind: 'bridge' });
  const index = link.link.index;
  t.like(events.find((e) => e.type === 'address' && e.address.family === 4).address, { address: '192.0.2.1', prefixlen: 24, index });
  t.like(events.find((e) => e.type === 'address' && e.address.address === '2001:db8::1').address, { family: 6, prefixlen: 64 });
  t.like(events.find((e) => e.type === 'route' && e.route.dst === '198.51.100.0/24').route, { gateway: '192.0.2.254', oif: index, table: 254 });
  t.like(events.find((e) => e.type === 'neighbor').neighbor, { dst: '192.0.2.7', lladdr: '02:00:00:00:00:07', index });
  t.like(events.find((e) => e.type === 'rule' && e.action === 'new').rule, { priority: 99, src: '203.0.113.0/24', table: 9 });
  t.like(events.find((e) => e.type === 'fdb' && e.entry.lladdr === '02:00:00:00:00:99').entry, { index, dst: undefined });
  t.like(events.find((e) => e.type === 'link' && e.action === 'del').link, { name: 'br0', index });
  t.true(events.some((e) => e.type === 'route' && e.action === 'del'), 'routes of the deleted link go away too');
  t.false(events.some((e) => e.type === 'overflow'));
});

ptest('a monitor watches only what it is asked for', async (t) => {
  const ns = await freshNs(t);
  const monitor = openMonitor(ns, { addresses: true, family: 6 });
  t.teardown(() => monitor.close());
  inNs(ns, 'ip link add br0 type bridge && ip addr add 192.0.2.1/24 dev br0 && ip addr add 2001:db8::9/64 dev br0 nodad');
  const events = await collect(monitor, (evs) => evs.some((e) => e.type === 'address' && e.address.address === '2001:db8::9'));
  t.true(events.length > 0);
  t.true(events.every((e) => e.type === 'address' && e.address.family === 6), events.map((e) => e.type).join(','));
  t.throws(() => openMonitor(ns, { maxQueue: 0 }), { instanceOf: ValidationError });
});

ptest('a consumer that falls behind is told to resync with an overflow event', async (t) => {
  const ns = await freshNs(t);
  inNs(ns, 'ip link add br0 type bridge && ip link set br0 up && ip addr add 192.0.2.1/24 dev br0');
  // More waiting events than maxQueue: the queue is replaced by one overflow event.
  const small = ns.monitor({ routes: true, maxQueue: 50 });
  t.teardown(() => small.close());
  // A receive buffer far too small for a burst: the kernel drops events (ENOBUFS).
  const tiny = ns.monitor({ routes: true, bufferBytes: 4096 });
  t.teardown(() => tiny.close());
  const lines = [];
  for (let i = 0; i < 2000; i++) lines.push(`route add 10.${i >> 8}.${i & 255}.0/24 via 192.0.2.254`);
  ipBatch(ns, lines);
  await sleep(200);
  const first = await small.next();
  t.deepEqual(first.value, { type: 'overflow' }, 'maxQueue exceeded');
  const seen = await collect(tiny, (evs) => evs.some((e) => e.type === 'overflow'), 2000);
  t.true(seen.some((e) => e.type === 'overflow'), `ENOBUFS reported (${seen.length} events read)`);
  t.true(seen.length < 2000, 'events were lost, and said so');

  // After the overflow, new changes arrive again.
  inNs(ns, 'ip route add 172.16.0.0/12 via 192.0.2.254');
  const after = await collect(small, (evs) => evs.some((e) => e.type === 'route' && e.route.dst === '172.16.0.0/12'));
  t.true(after.some((e) => e.type === 'route' && e.route.dst === '172.16.0.0/12'));
});

ptest('close() ends the iteration, also for a for-await loop waiting on it', async (t) => {
  const ns = await freshNs(t);
  const monitor = ns.monitor({ links: true });
  const loop = (async () => {
    let n = 0;
    for await (const ev of monitor) if (ev) n++;
    return n;
  })();
  await sleep(20);
  monitor.close();
  t.is(await loop, 0);
  t.true(monitor.closed);
  t.deepEqual(await monitor.next(), { value: undefined, done: true });
});
