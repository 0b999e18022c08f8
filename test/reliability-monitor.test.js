// The event stream under load: a monitor (links and addresses) is open while `ip -batch`
// makes 5,000 changes in one go. The JS thread is blocked meanwhile (spawnSync), so the
// socket's buffer overflows: the monitor must say so with an `overflow` event (the signal
// to resync), keep delivering afterwards, and a consumer that resyncs with list() must end
// with the view `ip -j` has — then stay correct by applying the events that follow.
import { spawn } from 'node:child_process';
import { ipBatch, freshNs, ipj } from './fixtures/rtnl/support.js';
import { ptest, shAsync } from './helpers.js';

/** `ip -n NS -batch -` without blocking the event loop (the monitor keeps reading meanwhile). */
function ipBatchAsync(ns, lines) {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['-n', ns.name, '-batch', '-'], { stdio: ['pipe', 'ignore', 'inherit'] });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ip -batch exited ${code}`))));
    child.stdin.end(`${lines.join('\n')}\n`);
  });
}

/** name → sorted IPv4 addresses, from netplumb's list(). */
async function listView(ns) {
  const links = await ns.links.list();
  const addrs = await ns.addresses.list({ family: 4 });
  const view = new Map(links.map((l) => [l.index, { name: l.name, addrs: new Set() }]));
  for (const a of addrs) view.get(a.index)?.addrs.add(`${a.address}/${a.prefixlen}`);
  return view;
}

/** The same from `ip -j addr` (the oracle). */
function ipView(ns) {
  return Object.fromEntries(ipj(ns, 'addr').map((l) => [l.ifname, l.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`).sort()]));
}

function plain(view) {
  return Object.fromEntries([...view.values()].map((v) => [v.name, [...v.addrs].sort()]));
}

/** Applies one event to the view. */
function apply(view, ev) {
  if (ev.type === 'link') {
    if (ev.action === 'del') view.delete(ev.link.index);
    else view.set(ev.link.index, { name: ev.link.name, addrs: view.get(ev.link.index)?.addrs ?? new Set() });
  } else if (ev.type === 'address' && ev.address.family === 4) {
    const l = view.get(ev.address.index);
    const key = `${ev.address.address}/${ev.address.prefixlen}`;
    if (ev.action === 'del') l?.addrs.delete(key);
    else l?.addrs.add(key);
  }
}

/**
 * Reads events, applying them, until the events have caught up with the kernel: a link
 * made now (asynchronously, so reading goes on meanwhile) is seen. A sentinel made while
 * the buffer was still full may be lost itself: after each overflow another one is made.
 */
async function catchUp(monitor, ns, view, stats) {
  let lost = false;
  let want = await sentinel(ns, stats);
  for (;;) {
    const { value: ev, done } = await monitor.next();
    if (done) throw new Error('monitor ended');
    stats.events++;
    if (ev.type === 'overflow') {
      stats.overflows++;
      lost = true;
      want = await sentinel(ns, stats);
      continue;
    }
    apply(view, ev);
    if (ev.type === 'link' && ev.action === 'new' && ev.link.name === want) return lost;
  }
}

async function sentinel(ns, stats) {
  const name = `s${stats.sentinels++}`;
  // Not awaited: the event loop must stay free to read while ip runs.
  shAsync('ip', ['-n', ns.name, 'link', 'add', name, 'type', 'veth', 'peer', 'name', `${name}p`]).catch(() => {});
  return name;
}

ptest.serial('5,000 changes while a monitor reads: overflow is reported, and a resync gives the view ip -j has', async (t) => {
  t.timeout(110000);
  const ns = await freshNs(t, 'm');
  // A modest receive buffer (256 KiB): what a busy consumer with defaults meets, sooner.
  const monitor = ns.monitor({ links: true, addresses: true, bufferBytes: 256 * 1024 });
  t.teardown(() => monitor.close());
  const view = await listView(ns);
  const stats = { changes: 0, events: 0, overflows: 0, sentinels: 0 };

  // 1300 veth pairs (2,600 links), an address on each of their ends, then part of it undone:
  // with the 200 changes of the second phase, 5,075 changes.
  const lines = [];
  for (let i = 0; i < 1300; i++) lines.push(`link add a${i} type veth peer name b${i}`);
  for (let i = 0; i < 1300; i++) lines.push(`addr add 10.${100 + (i >> 8)}.${i & 255}.1/32 dev a${i}`, `addr add 10.${120 + (i >> 8)}.${i & 255}.1/32 dev b${i}`);
  for (let i = 0; i < 1300; i += 2) lines.push(`addr del 10.${100 + (i >> 8)}.${i & 255}.1/32 dev a${i}`);
  for (let i = 1; i < 1300; i += 4) lines.push(`link del a${i}`);
  stats.changes = lines.length;
  ipBatch(ns, lines); // blocks this thread: nothing is read until it returns

  const lost = await catchUp(monitor, ns, view, stats);
  t.true(stats.overflows >= 1, `the loss was reported (${stats.events} events read)`);
  t.true(lost);
  // The event-built view is not to be trusted after an overflow; list() is.
  let resynced = await listView(ns);
  t.deepEqual(plain(resynced), ipView(ns), 'list() after the overflow equals ip -j');

  // After the resync, the events that follow keep the view exact (this time the reader is
  // not blocked; should the kernel still drop some, the consumer resyncs again).
  const more = [];
  for (let i = 0; i < 200; i += 2) more.push(`addr add 10.${100 + (i >> 8)}.${i & 255}.1/32 dev a${i}`);
  for (let i = 3; i < 400; i += 4) more.push(`link del a${i}`);
  stats.changes += more.length;
  await ipBatchAsync(ns, more);
  if (await catchUp(monitor, ns, resynced, stats)) resynced = await listView(ns);
  t.deepEqual(plain(resynced), ipView(ns), 'events after the resync keep the view equal to ip -j');
  t.log(`RELIABILITY monitor ${JSON.stringify(stats)}`);
});
