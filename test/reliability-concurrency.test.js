// Concurrency: 200 connects and removes in flight at once on one network while two more
// networks are created and removed in parallel beside it — and, in a namespace of their
// own, two networks created and removed over and over in parallel (the last one removed
// takes netplumb's table with it while the other is being created). Checked through the
// kernel: no address or port given twice, no endpoint lost, nothing left of what was removed.
import { spawnSync } from 'node:child_process';
import { BridgeNetwork, Netns } from '../dist/index.js';
import { ipJson, nftJson, ptest, uniqueName } from './helpers.js';
import { HOST_ADDR, OUTSIDE_ADDR, lab, request } from './network-lab.js';

/** `ip -j args` run inside the namespace `ns` (held by this process) — an oracle that does not go through netplumb. */
function ipIn(ns, ...args) {
  const r = spawnSync('nsenter', [`--net=/proc/${process.pid}/fd/${ns.fd}`, 'ip', '-j', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/** Map/set elements of `inet netplumb` from `nft -j`, as { set, key, data, comment }. */
function elements(hostName) {
  const out = [];
  for (const x of nftJson(hostName).nftables) {
    const s = x.map ?? x.set;
    if (!s || s.table !== 'netplumb') continue;
    for (const e of s.elem ?? []) {
      const [k, data] = Array.isArray(e) ? e : [e, undefined];
      // Anchors also name their holder (pid, time), interface and owner: kept apart.
      const comment = k.elem?.comment;
      out.push({ set: s.name, key: JSON.stringify(k.elem?.val ?? k), data: JSON.stringify(data), comment: comment?.replace(/ (if|pid|t|owner)=\S+/g, ''), anchor: comment });
    }
  }
  return out;
}

ptest.serial('200 concurrent connects and removes on one network, two networks created and removed beside it', async (t) => {
  t.timeout(110000);
  const l = await lab(t);
  const net = await l.network({ name: 'busy', subnet: '10.70.0.0/16' });
  const N = 200;
  const removedIds = new Set();
  const churn = async (name, subnet) => {
    for (let i = 0; i < 5; i++) {
      const n = await BridgeNetwork.create({ netns: l.host, name, subnet });
      const ep = await n.connect(undefined, { publish: [{ hostPort: name === 'side1' ? 30000 + i : 30100 + i, containerPort: 80 }] });
      await ep.remove();
      await n.remove();
    }
  };
  // Every connect starts at once; every other endpoint is removed as soon as it exists,
  // while the rest are still connecting.
  const work = Array.from({ length: N }, async (_, i) => {
    const ep = await net.connect(undefined, { publish: [{ hostPort: 20000 + i, containerPort: 80 }] });
    if (i % 2 === 0) {
      await ep.remove();
      removedIds.add(ep.id);
    }
    return ep;
  });
  const [eps] = await Promise.all([Promise.all(work), churn('side1', '10.71.0.0/24'), churn('side2', '10.72.0.0/24')]);

  const live = eps.filter((e) => !removedIds.has(e.id));
  t.is(live.length, N / 2);
  const listed = await net.endpoints();
  t.deepEqual(listed.map((e) => e.id).sort(), live.map((e) => e.id).sort(), 'the kernel knows exactly the endpoints left');
  t.true(listed.every((e) => e.attached));
  // Removed endpoints' namespaces are destroyed by the kernel in the background: wait for their veths.
  for (let i = 0; i < 500 && ipJson(l.hostName, 'link', 'show', 'master', net.bridge).length > live.length; i++) await new Promise((r) => setTimeout(r, 20));

  // The kernel's view. Bridge ports: exactly the live endpoints' veths.
  t.deepEqual(ipJson(l.hostName, 'link', 'show', 'master', net.bridge).map((x) => x.ifname).sort(), live.map((e) => e.hostIfname).sort());
  // Inside each live endpoint: its own address, one per endpoint, no address given twice.
  const seen = new Map();
  for (const ep of live) {
    const [eth0] = ipIn(ep.netns, 'addr', 'show', 'eth0');
    const addrs = eth0.addr_info.filter((a) => a.family === 'inet').map((a) => a.local);
    t.deepEqual(addrs, [ep.ipv4], `${ep.id} has its address`);
    t.false(seen.has(addrs[0]), `${addrs[0]} given twice`);
    seen.set(addrs[0], ep.id);
  }
  // nftables: one port map element per live endpoint, distinct ports, each DNATing to its endpoint.
  const els = elements(l.hostName);
  const ports4 = els.filter((e) => e.set === 'ports4');
  t.is(ports4.length, live.length);
  t.is(new Set(ports4.map((e) => e.key)).size, live.length, 'no host port given twice');
  for (const ep of live) {
    const e = ports4.find((x) => x.comment === `netplumb net=busy ep=${ep.id}`);
    t.truthy(e, `${ep.id} published`);
    t.is(e && JSON.parse(e.data).concat[0], ep.ipv4, `${ep.id}'s port leads to its address`);
  }
  // Nothing of the removed endpoints or of the side networks is left.
  t.deepEqual(els.filter((e) => !(e.comment === 'netplumb net=busy' || live.some((ep) => e.comment === `netplumb net=busy ep=${ep.id}`))), [], 'only live elements, each naming its network');
  t.deepEqual(els.filter((e) => e.set === 'bridges').map((e) => e.comment), ['netplumb net=busy']);
  // The reservations: one attachment, address, MAC and host port per live endpoint, none held twice.
  for (const set of ['attached', 'addrs4', 'macs', 'hostports']) {
    const held = els.filter((e) => e.set === set);
    t.is(held.length, live.length, `${set}: one per endpoint`);
    t.is(new Set(held.map((e) => e.key)).size, live.length, `${set}: none held twice`);
  }
  t.deepEqual(els.filter((e) => e.set === 'addrs4').map((e) => JSON.parse(e.key)).sort(), live.map((e) => e.ipv4).sort());
  t.deepEqual(els.filter((e) => e.set === 'macs').map((e) => JSON.parse(e.key)).sort(), live.map((e) => e.mac).sort());
  t.false(JSON.stringify(nftJson(l.hostName)).includes('net=side'));
  t.deepEqual(ipJson(l.hostName, 'link', 'show', 'type', 'bridge').map((x) => x.ifname), [net.bridge]);

  // A few survivors answer through their published ports.
  for (const ep of live.slice(0, 5)) {
    const server = await ep.netns.listen({ port: 80 }, (s) => s.end(`${s.remoteAddress}\n`));
    try {
      t.is(await request(l.outside, HOST_ADDR, ep.ports[0].hostPort), OUTSIDE_ADDR);
    } finally {
      server.close();
    }
  }
  t.log(`RELIABILITY concurrency ${JSON.stringify({ connects: N + 10, removes: N / 2 + 10, networks: 10 })}`);
});

ptest.serial('two networks created and removed in parallel, over and over, in a namespace of their own', async (t) => {
  t.timeout(60000);
  const hostName = uniqueName('pc');
  const host = await Netns.create(hostName);
  t.teardown(() => host.delete());
  const ROUNDS = 15;
  const loop = async (name, subnet) => {
    for (let i = 0; i < ROUNDS; i++) {
      const n = await BridgeNetwork.create({ netns: host, name, subnet });
      const ep = await n.connect(undefined, { publish: [{ hostPort: name === 'pa' ? 1000 + i : 2000 + i, containerPort: 80 }] });
      await ep.remove();
      await n.remove();
    }
  };
  await Promise.all([loop('pa', '10.80.0.0/24'), loop('pb', '10.81.0.0/24')]);
  // The last one out took the table; nothing else is left (once the kernel has destroyed
  // the dropped namespaces' veths, which it does in the background).
  t.deepEqual(nftJson(hostName).nftables.filter((x) => !x.metainfo), []);
  for (let i = 0; i < 500 && ipJson(hostName, 'link').length > 1; i++) await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(ipJson(hostName, 'link').map((x) => x.ifname).filter((n) => n !== 'lo'), []);
});
