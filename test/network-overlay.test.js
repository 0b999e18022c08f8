// Issue 14, overlay networks (Docker's overlay driver, flannel's vxlan backend) with the
// caller's control plane: three simulated hosts — each its own namespace and its own
// netplumb process — on an underlay bridge; the test plays the orchestrator, feeding each
// host its peers and the remote endpoints from its "store".
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Netns } from '../dist/index.js';
import { ip, nftJson, ptest, sh, uniqueName } from './helpers.js';
import { request, udpRequest, udpWhoami, unreachable, whoamiServer } from './network-lab.js';

const HOST_SCRIPT = fileURLToPath(new URL('./fixtures/overlay/host.js', import.meta.url));
const OUTSIDE = '198.51.100.100';
const VTEPS = ['198.51.100.11', '198.51.100.12', '198.51.100.13'];

/** A netplumb process for one host: call(op, args) resolves with its answer. */
function hostProcess(t) {
  const child = spawn(process.execPath, [HOST_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map();
  let next = 0;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const m = JSON.parse(line);
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.ok) w.resolve(m.value);
    else w.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
  });
  t.teardown(() => child.stdin.end());
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    pid: child.pid,
    /** Ends the process (its netplumb state stays in the kernel). */
    exit() {
      child.stdin.end();
      return exited;
    },
    call(op, args) {
      const id = next++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        child.stdin.write(`${JSON.stringify({ id, op, args })}\n`);
      });
    },
  };
}

/** The underlay: a bridge in its own namespace, three hosts and an outside namespace on it. */
async function underlay(t) {
  const ul = uniqueName('ul');
  sh('ip', ['netns', 'add', ul]);
  const hosts = VTEPS.map(() => uniqueName('oh'));
  const out = uniqueName('oo');
  const names = [...hosts, out];
  for (const n of names) sh('ip', ['netns', 'add', n]);
  t.teardown(() => {
    for (const n of [...names, ul]) {
      try {
        sh('ip', ['netns', 'del', n]);
      } catch {}
    }
  });
  ip(ul, 'link', 'add', 'ul0', 'type', 'bridge');
  ip(ul, 'link', 'set', 'ul0', 'up');
  [...VTEPS, OUTSIDE].forEach((addr, i) => {
    const n = names[i];
    ip(ul, 'link', 'add', `p${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', n);
    ip(ul, 'link', 'set', `p${i}`, 'master', 'ul0', 'up');
    ip(n, 'addr', 'add', `${addr}/24`, 'dev', 'eth0');
    ip(n, 'link', 'set', 'eth0', 'up');
    ip(n, 'link', 'set', 'lo', 'up');
  });
  return { hosts, out };
}

ptest('overlay across three hosts: TCP, UDP, 10 MB, local ARP answers, a published port, removePeer cuts traffic, nothing left', async (t) => {
  const { hosts, out } = await underlay(t);
  const procs = hosts.map(() => hostProcess(t));
  t.is(new Set([process.pid, ...procs.map((p) => p.pid)]).size, 4, 'one netplumb process per host');
  const parts = await Promise.all(procs.map((p, i) => p.call('create', { hostNs: hosts[i], options: { name: 'ov', subnet: '10.200.0.0/16', vni: 42, underlay: 'eth0', hostIndex: i + 1, static: true } })));
  t.deepEqual(parts.map((p) => [p.local, p.ipRange, p.gateway, p.mtu]), [
    [VTEPS[0], '10.200.1.0/24', '10.200.1.1', 1450],
    [VTEPS[1], '10.200.2.0/24', '10.200.2.1', 1450],
    [VTEPS[2], '10.200.3.0/24', '10.200.3.1', 1450],
  ]);
  const [vx] = JSON.parse(sh('ip', ['-j', '-d', '-n', hosts[0], 'link', 'show', parts[0].vxlan]));
  t.like(vx.linkinfo.info_data, { id: 42, local: VTEPS[0], port: 4789, learning: false, proxy: true });
  t.is(vx.mtu, 1450);

  const names = hosts.map(() => uniqueName('oc'));
  const eps = await Promise.all(procs.map((p, i) => p.call('connect', { name: names[i], ...(i === 1 ? { publish: [{ hostPort: 8080, containerPort: 80 }] } : {}) })));
  t.deepEqual(eps.map((e) => e.ipv4), ['10.200.1.2', '10.200.2.2', '10.200.3.2'], 'each host from its own block, no coordination');
  // The orchestrator feeds every host from its store: peers, then remote endpoints.
  for (const [i, p] of procs.entries()) {
    for (const [j, e] of eps.entries()) {
      if (i === j) continue;
      await p.call('addPeer', { vtep: VTEPS[j] });
      await p.call('addRemoteEndpoint', { vtep: VTEPS[j], mac: e.mac, ip: e.ipv4 });
    }
  }
  const info = await procs[0].call('inspect');
  t.deepEqual(info.peers.map((p) => p.vtep).sort(), [VTEPS[1], VTEPS[2]]);
  t.deepEqual(info.remoteEndpoints.map((e) => `${e.ip} ${e.mac} ${e.vtep}`).sort(), [`${eps[1].ipv4} ${eps[1].mac} ${VTEPS[1]}`, `${eps[2].ipv4} ${eps[2].mac} ${VTEPS[2]}`]);
  t.is(info.driver, 'overlay');

  const c = await Promise.all(names.map((n) => Netns.open(n)));
  t.teardown(() => c.forEach((ns) => ns.close()));
  t.is(JSON.parse(sh('ip', ['-j', '-n', names[0], 'link', 'show', 'eth0']))[0].mtu, 1450, 'the endpoint has the overlay MTU');
  await whoamiServer(t, c[1], 80);
  await udpWhoami(t, c[2], 53);
  t.is(await request(c[0], eps[1].ipv4, 80), eps[0].ipv4, 'TCP host 1 → host 2, no NAT across the overlay');
  t.is(await udpRequest(c[0], eps[2].ipv4, 53), eps[0].ipv4, 'UDP host 1 → host 3');

  // 10 MB: full-size segments must fit the overlay MTU.
  const size = 10 * 1024 * 1024;
  const big = await c[2].listen({ port: 9000 }, (s) => s.end(Buffer.alloc(size, 7)));
  t.teardown(() => big.close());
  const sock = await c[0].connect(9000, eps[2].ipv4, { timeout: 5000 });
  const got = await new Promise((resolve, reject) => {
    let n = 0;
    sock.on('data', (d) => (n += d.length));
    sock.on('end', () => resolve(n));
    sock.on('error', reject);
    setTimeout(() => reject(new Error(`10 MB transfer: ${n} bytes after 20 s`)), 20000).unref();
  });
  t.is(got, size);

  // ARP for a remote endpoint is answered on this host: one behind a VTEP where no host is.
  await procs[0].call('addRemoteEndpoint', { vtep: '198.51.100.99', mac: '02:00:00:00:99:99', ip: '10.200.9.9' });
  const probe = await c[0].udpSocket({ family: 4 });
  probe.send('x', 9, '10.200.9.9');
  probe.send('x', 9, '10.200.9.10');
  await new Promise((r) => setTimeout(r, 1500));
  probe.close();
  const neigh = JSON.parse(sh('ip', ['-j', '-n', names[0], 'neigh', 'show', 'dev', 'eth0']));
  t.is(neigh.find((n) => n.dst === '10.200.9.9')?.lladdr, '02:00:00:00:99:99', 'answered from the supplied entry');
  t.falsy(neigh.find((n) => n.dst === '10.200.9.10')?.lladdr, 'an address nobody supplied gets no answer: nothing is flooded to ask the peers');

  // A published port on host 2 reaches its container from outside.
  const outside = await Netns.open(out);
  t.teardown(() => outside.close());
  t.is(await request(outside, VTEPS[1], 8080), OUTSIDE);

  // Removing a peer cuts its traffic.
  await procs[0].call('removePeer', { vtep: VTEPS[1] });
  t.true(await unreachable(c[0], eps[1].ipv4, 80), 'host 1 no longer reaches host 2');
  t.is(await udpRequest(c[0], eps[2].ipv4, 53), eps[0].ipv4, 'but still host 3');
  const after = await procs[0].call('inspect');
  t.deepEqual(after.peers.map((p) => p.vtep), [VTEPS[2]]);
  t.false(after.remoteEndpoints.some((e) => e.vtep === VTEPS[1]), 'its remote endpoints went with it');

  // Nothing is left anywhere.
  for (const p of procs) await p.call('remove');
  for (const h of hosts) {
    t.deepEqual(JSON.parse(sh('ip', ['-j', '-n', h, 'link', 'show'])).map((l) => l.ifname).sort(), ['eth0', 'lo'], `${h}: no bridge, vxlan or veth`);
    t.false(nftJson(h).nftables.some((x) => x.table?.name === 'netplumb'), `${h}: no netplumb table`);
  }
  for (const n of names) t.false(sh('ip', ['netns', 'list']).includes(n), `${n} removed with its endpoint`);
});

ptest('overlay: made by a process that has exited and lost its bridge, its VXLAN device is reclaimed by cleanupNetworks(); a complete one is left alone', async (t) => {
  const { hosts } = await underlay(t);
  const p = hostProcess(t);
  const part = await p.call('create', { hostNs: hosts[0], options: { name: 'ovc', subnet: '10.201.0.0/16', vni: 7, underlay: 'eth0', hostIndex: 5 } });
  t.is(part.ipRange, '10.201.5.0/24');
  await p.exit();
  const { cleanupNetworks } = await import('../dist/index.js');
  const host = await Netns.open(hosts[0]);
  t.teardown(() => host.close());
  t.deepEqual((await cleanupNetworks({ netns: host, dryRun: true })).networks, [], 'complete: left alone');
  ip(hosts[0], 'link', 'del', part.bridge);
  const report = await cleanupNetworks({ netns: host });
  t.true(report.networks.some((n) => n.bridge === part.vxlan), 'the VXLAN device is reported');
  t.deepEqual(JSON.parse(sh('ip', ['-j', '-n', hosts[0], 'link', 'show'])).map((l) => l.ifname).sort(), ['eth0', 'lo']);
  t.false(nftJson(hosts[0]).nftables.some((x) => x.table?.name === 'netplumb'));
});

ptest('overlay without supplied endpoints (flood mode): ARP and unknown destinations go to every peer', async (t) => {
  const { hosts } = await underlay(t);
  const procs = hosts.slice(0, 2).map(() => hostProcess(t));
  await Promise.all(procs.map((p, i) => p.call('create', { hostNs: hosts[i], options: { name: 'ovf', subnet: '10.202.0.0/16', vni: 8, underlay: 'eth0', hostIndex: i + 1 } })));
  const names = procs.map(() => uniqueName('of'));
  const eps = await Promise.all(procs.map((p, i) => p.call('connect', { name: names[i] })));
  await procs[0].call('addPeer', { vtep: VTEPS[1] });
  await procs[1].call('addPeer', { vtep: VTEPS[0] });
  const c = await Promise.all(names.map((n) => Netns.open(n)));
  t.teardown(() => c.forEach((ns) => ns.close()));
  await whoamiServer(t, c[1], 80);
  t.is(await request(c[0], eps[1].ipv4, 80), eps[0].ipv4);
  for (const p of procs) await p.call('remove');
});
