// Issue 10: one network used by several processes at once, with crashes among them. The
// kernel alone arbitrates; everything is judged by invariants read back through `ip -j`
// and `nft -j`, and by TCP through the published ports of the survivors.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BridgeNetwork, Netns, PortAllocatedError, cleanupNetworks } from '../dist/index.js';
import { ipJson, nftJson, ptest, uniqueName } from './helpers.js';
import { HOST_ADDR, lab, request, whoamiServer } from './network-lab.js';

const WORKER = fileURLToPath(new URL('./fixtures/multiprocess/worker.js', import.meta.url));

/** Runs a worker; resolves with its JSON lines and how it ended. */
function worker(args, env = {}) {
  const child = spawn(process.execPath, [WORKER, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const done = new Promise((resolve) => {
    // 'close', not 'exit': only then has all of its output been read.
    child.on('close', (code, signal) => resolve({ code, signal, stderr: err, lines: out.split('\n').filter(Boolean).map((l) => JSON.parse(l)) }));
  });
  return { child, done };
}

/** The named namespaces of this test (prefix), with their eth0 address and MAC per `ip -j`. */
function endpointsSeenByIp(prefix) {
  const out = [];
  for (const name of readdirSync('/run/netns').filter((n) => n.startsWith(prefix))) {
    for (const l of ipJson(name, 'addr', 'show')) {
      if (l.ifname === 'lo') continue;
      const a = l.addr_info.find((x) => x.family === 'inet');
      if (a) out.push({ ns: name, ip: a.local, mac: l.address });
    }
  }
  return out;
}

/** Element lists of netplumb's sets and maps per `nft -j`. */
function nftElements(hostName) {
  const sets = {};
  for (const x of nftJson(hostName, 'list', 'table', 'inet', 'netplumb').nftables) {
    const s = x.set ?? x.map;
    if (s) sets[s.name] = s.elem ?? [];
  }
  return sets;
}

/** The comment of an element in nft's JSON (plain or wrapped with its data). */
function commentOf(e) {
  const el = Array.isArray(e) ? e[0] : e;
  return el?.elem?.comment;
}

function dups(list) {
  return list.filter((x, i) => list.indexOf(x) !== i);
}

/**
 * Checks the invariants after a cleanup: every reservation belongs to a complete endpoint
 * and every endpoint link to a reservation; no address, MAC or port held twice.
 */
function assertNoOrphans(t, hostName, bridge, prefix) {
  const links = ipJson(hostName, '-d', 'link', 'show');
  const ports = links.filter((l) => l.master === bridge);
  t.deepEqual(ports.filter((l) => !l.ifalias?.startsWith('netplumb:endpoint')).map((l) => l.ifname), [], 'every bridge port carries its tag');
  t.deepEqual(links.filter((l) => l.ifname.startsWith('veth') && l.master !== bridge).map((l) => l.ifname), [], 'no veth off the bridge');
  const ids = new Set(ports.map((l) => JSON.parse(l.ifalias.slice('netplumb:endpoint '.length)).id));
  const sets = nftElements(hostName);
  for (const name of ['attached', 'addrs4', 'macs', 'hostports', 'ports4', 'published4']) {
    const owners = (sets[name] ?? []).map(commentOf).map((c) => /ep=(\w+)/.exec(c ?? '')?.[1]);
    t.deepEqual(owners.filter((id) => !ids.has(id)), [], `every ${name} element belongs to a live endpoint`);
  }
  t.is((sets.attached ?? []).length, ids.size, 'one attachment per endpoint');
  const seen = endpointsSeenByIp(prefix);
  t.is(seen.length, ids.size, 'every live endpoint is in a surviving namespace');
  t.deepEqual(dups(seen.map((e) => e.ip)), [], 'no address held twice');
  t.deepEqual(dups(seen.map((e) => e.mac)), [], 'no MAC held twice');
  return seen;
}

ptest('two processes connecting 12 endpoints each at once never share an address or MAC, and see each other', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'mp2', subnet: '172.31.0.0/24' });
  const prefix = uniqueName('mp');
  const runs = [0, 1].map(() => worker([l.hostName, 'mp2', '12', prefix], { KEEP: '1', PORTS: '0' }).done);
  const results = await Promise.all(runs);
  for (const r of results) t.is(r.code, 0, r.stderr);
  const connected = results.flatMap((r) => r.lines.filter((x) => x.event === 'connected'));
  t.is(connected.length, 24);
  t.deepEqual(dups(connected.map((c) => c.ip)), []);
  t.deepEqual(dups(connected.map((c) => c.mac)), []);
  const seen = assertNoOrphans(t, l.hostName, net.bridge, prefix);
  t.is(seen.length, 24);
  // A handle opened before all that sees the other processes' endpoints.
  t.is((await net.endpoints()).length, 24);
  const again = await BridgeNetwork.open('mp2', { netns: l.host });
  t.deepEqual((await again.endpoints()).map((e) => e.ipv4).sort(), seen.map((e) => e.ip).sort());
  for (const ep of await again.endpoints()) await ep.remove();
  t.is(ipJson(l.hostName, 'link', 'show', 'master', net.bridge).length, 0);
  for (const n of readdirSync('/run/netns').filter((x) => x.startsWith(prefix))) await Netns.unmount(n);
});

ptest('a port on every address and the same port on one address conflict across processes', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'mpport', subnet: '172.31.1.0/24' });
  const a = await net.connect(undefined, { publish: [{ hostPort: 8080, containerPort: 80 }] });
  const other = await BridgeNetwork.open('mpport', { netns: l.host });
  await t.throwsAsync(other.connect(undefined, { publish: [{ hostIp: HOST_ADDR, hostPort: 8080, containerPort: 80 }] }), { instanceOf: PortAllocatedError });
  await a.remove();
  const b = await other.connect(undefined, { publish: [{ hostIp: HOST_ADDR, hostPort: 8080, containerPort: 80 }] });
  await t.throwsAsync(net.connect(undefined, { publish: [{ hostPort: 8080, containerPort: 80 }] }), { instanceOf: PortAllocatedError });
  // Another address and another protocol are free.
  const c = await net.connect(undefined, { publish: [{ hostIp: '203.0.113.129', hostPort: 8080, containerPort: 80 }, { hostPort: 8080, containerPort: 80, protocol: 'udp' }] });
  await c.remove();
  await b.remove();
  t.deepEqual(nftElements(l.hostName).hostports ?? [], []);
});

ptest('after a crash, a restarted process never reuses the dead endpoint\'s address or port while its rules exist', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'mpcrash', subnet: '172.31.2.0/24' });
  // The restarted process's namespaces, made while the dead one's is still alive: the
  // kernel recycles a freed namespace's inode, and a connect whose namespace has the inode of
  // a dead endpoint's attachment rightly reclaims that endpoint (as cleanup would) — which is
  // not what this test is about.
  const spare = await Promise.all([0, 1].map(() => Netns.create()));
  t.teardown(() => spare.forEach((ns) => ns.close()));
  const w = worker([l.hostName, 'mpcrash', '1', uniqueName('mc'), '8080', '1'], { NOREMOVE: '1', KEEP: '0' });
  // The worker's endpoint lives in an anonymous namespace that dies with it.
  const r = await w.done;
  t.is(r.code, 0, r.stderr);
  const dead = r.lines.find((x) => x.event === 'connected');
  t.truthy(dead);
  const restarted = await BridgeNetwork.open('mpcrash', { netns: l.host });
  // The kernel destroys the dead process's namespace, and its veth with it, in the background.
  // (Under load the kernel's namespace cleanup runs late: a generous bound.)
  for (let i = 0; i < 600 && ipJson(l.hostName, 'link', 'show', 'master', net.bridge).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  const listed = await restarted.endpoints();
  t.is(listed.length, 1);
  t.false(listed[0].attached);
  const fresh = await restarted.connect(spare[0], {});
  t.not(fresh.ipv4, dead.ip);
  await t.throwsAsync(restarted.connect(spare[1], { publish: [{ hostPort: 8080, containerPort: 80 }] }), { instanceOf: PortAllocatedError });
  const report = await cleanupNetworks({ netns: l.host });
  t.deepEqual(report.endpoints.map((e) => e.reason), ['netns-gone']);
  const after = await restarted.connect(undefined, { publish: [{ hostPort: 8080, containerPort: 80 }] });
  await whoamiServer(t, after.netns, 80);
  t.regex(await request(l.outside, HOST_ADDR, 8080), /^203\.0\.113\.1$/);
  await after.remove();
  await fresh.remove();
});

ptest('hammer: 4 processes × 50 connect/remove cycles (two of them 4 at a time) with published ports and random SIGKILLs leave no duplicate and nothing cleanup misses', async (t) => {
  const l = await lab(t);
  const net = await l.network({ name: 'hammer', subnet: '172.31.4.0/22' });
  const prefix = uniqueName('hm');
  const CYCLES = 50;
  let kills = 0;
  const outcomes = [];
  await Promise.all(
    [0, 1, 2, 3].map(async (slot) => {
      let left = CYCLES;
      while (left > 0) {
        // Two of the four run 4 connects at a time (group-committed), killed amid them too.
        const w = worker([l.hostName, 'hammer', String(left), prefix, String(21000 + slot * 16), '24'], slot % 2 ? { INFLIGHT: '4' } : {});
        // Half the runs are killed at a random instant.
        let timer;
        if (kills < 10 && Math.random() < 0.6) {
          timer = setTimeout(() => {
            kills++;
            w.child.kill('SIGKILL');
          }, 150 + Math.random() * 1500);
        }
        const r = await w.done;
        clearTimeout(timer);
        outcomes.push(r);
        left -= Math.max(1, r.lines.filter((x) => x.event !== 'error').length);
      }
    }),
  );
  const errors = outcomes.flatMap((r) => r.lines.filter((x) => x.event === 'error'));
  t.deepEqual(errors, [], 'no failure other than a port taken by another process');
  t.true(outcomes.every((r) => r.signal === 'SIGKILL' || r.code === 0), outcomes.filter((r) => r.signal !== 'SIGKILL' && r.code !== 0).map((r) => `exit ${r.code}: ${r.stderr}`).join('\n'));
  t.log(`${outcomes.length} runs, ${kills} SIGKILLs, ${outcomes.flatMap((r) => r.lines).filter((x) => x.event === 'connected').length} connects`);

  await cleanupNetworks({ netns: l.host });
  const survivors = assertNoOrphans(t, l.hostName, net.bridge, prefix);
  t.deepEqual(dups((nftElements(l.hostName).ports4 ?? []).map((e) => JSON.stringify(e[0]?.elem?.val ?? e[0]))), [], 'no host port held twice');
  // Every survivor answers TCP on its published port, from outside.
  for (const ep of await net.endpoints()) {
    t.true(ep.attached);
    const ns = await Netns.open(ep.netnsPath);
    const server = await whoamiServer(t, ns, 80);
    t.is(await request(l.outside, HOST_ADDR, ep.ports[0].hostPort), '203.0.113.1', `${ep.ipv4} via ${ep.ports[0].hostPort}`);
    server.close();
    ns.close();
    await ep.remove();
  }
  t.true(survivors.length >= 0);
  for (const n of readdirSync('/run/netns').filter((x) => x.startsWith(prefix))) await Netns.unmount(n);
  t.deepEqual(ipJson(l.hostName, 'link', 'show', 'master', net.bridge), []);
});
