// cleanupNetworks(), and what it is for: leftovers after crashes.
//
// 1. Every kind of leftover, made the way a crash or a careless hand leaves it, is found,
//    removed and reported — and look-alikes without netplumb's tag (made with `ip` and
//    `nft`) are never touched.
// 2. Crash mid-operation: an orchestrator process connecting and removing endpoints in a
//    loop is killed with SIGKILL at random moments. After each kill, cleanupNetworks() and
//    BridgeNetwork.open() run in a fresh process (the restarted orchestrator); then `ip -j`,
//    `nft -j` and /run/netns must show no orphan, and every surviving endpoint must still
//    work: real TCP from the outside host through its published port.
// Checked through `ip -j`, `nft -j` and /run/netns. One file, so these tests — the only ones
// whose cleanups sweep /run/netns, which every test file of the sandbox shares — run one
// after the other.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BridgeNetwork, Netns, cleanupNetworks } from '../dist/index.js';
import { ip, ipJson, nftJson, ptest, sh, uniqueName } from './helpers.js';
import { HOST_ADDR, OUTSIDE_ADDR, lab, request } from './network-lab.js';

/** A pid no process has: one that just exited (and was reaped). */
function deadPid() {
  return spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim() | 0;
}

/** Rewrites one field of a link's netplumb tag (alias JSON), as a forged or stale tag would read. */
function retag(ns, link, prefix, change) {
  const [l] = ipJson(ns, 'link', 'show', link);
  const tag = JSON.parse(l.ifalias.slice(prefix.length));
  ip(ns, 'link', 'set', link, 'alias', prefix + JSON.stringify({ ...tag, ...change }));
}

function nft(ns, script) {
  sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Commented elements of `inet netplumb`, as "set comment". */
function elementComments(ns) {
  const out = [];
  for (const x of nftJson(ns).nftables) {
    const s = x.map ?? x.set;
    if (!s || s.table !== 'netplumb' || s.family !== 'inet') continue;
    for (const e of s.elem ?? []) out.push(`${s.name} ${(Array.isArray(e) ? e[0] : e).elem?.comment ?? '(none)'}`);
  }
  return out.sort();
}

ptest.serial('cleanupNetworks removes each kind of leftover, reports it, and touches nothing untagged', async (t) => {
  t.timeout(60000);
  const l = await lab(t);
  const h = l.hostName;
  const keep = await l.network({ name: 'keep', subnet: '10.130.0.0/24' });
  const gone = await BridgeNetwork.create({ netns: l.host, name: 'gone', subnet: '10.131.0.0/24' });
  const half = await BridgeNetwork.create({ netns: l.host, name: 'half', subnet: '10.132.0.0/24' });

  // A healthy endpoint of `keep`, which must survive and keep working.
  const live = await keep.connect(undefined, { netnsName: uniqueName('live'), publish: [{ hostPort: 8080, containerPort: 80 }] });
  // Endpoints that become leftovers:
  const orphanOwned = await gone.connect(undefined, { netnsName: uniqueName('own'), publish: [{ hostPort: 8081, containerPort: 80 }] }); // network-gone, with its own named namespace
  const given = await l.container();
  const orphanGiven = await gone.connect(given, { publish: [{ hostPort: 8082, containerPort: 80 }] }); // network-gone, namespace not ours
  const unplugged = await keep.connect(await l.container(), { publish: [{ hostPort: 8083, containerPort: 80 }] }); // not-on-bridge
  const ghostNs = await keep.connect(await l.container(), {}); // netns-gone (its tag names a namespace that does not exist)
  const unconfigured = await keep.connect(await l.container(), { publish: [{ hostPort: 8084, containerPort: 80 }] }); // incomplete: address missing
  const unpublished = await keep.connect(await l.container(), { publish: [{ hostPort: 8085, containerPort: 80 }] }); // incomplete: port missing
  const inflight = await keep.connect(await l.container(), {}); // looks incomplete, but its process (this one) runs

  // Crash-like damage, made by hand:
  ip(h, 'link', 'del', gone.bridge); // the network vanished without its rules, elements and endpoints
  ip(h, 'link', 'set', unplugged.hostIfname, 'nomaster');
  retag(h, ghostNs.hostIfname, 'netplumb:endpoint ', { ino: 1 });
  const dead = deadPid();
  retag(h, unconfigured.hostIfname, 'netplumb:endpoint ', { pid: dead });
  ip(unconfigured.netns.name, 'addr', 'flush', 'dev', 'eth0');
  retag(h, unpublished.hostIfname, 'netplumb:endpoint ', { pid: dead });
  nft(h, `delete element inet netplumb ports4 { tcp . 8085 }\n`);
  retag(h, inflight.hostIfname, 'netplumb:endpoint ', { pid: process.pid });
  ip(inflight.netns.name, 'addr', 'flush', 'dev', 'eth0');
  // A network whose create() was cut short: bridge tagged by a dead process, no rules.
  retag(h, half.bridge, 'netplumb:network ', { pid: dead });
  const halfRules = nftJson(h).nftables.filter((x) => x.rule?.comment === 'netplumb net=half').map((x) => x.rule);
  nft(h, [`delete element inet netplumb bridges { "${half.bridge}" }`, ...halfRules.map((r) => `delete rule inet netplumb ${r.chain} handle ${r.handle}`)].join('\n') + '\n');
  // Elements and a rule of endpoints and networks that do not exist.
  nft(h, [
    'add element inet netplumb ports4 { tcp . 9001 comment "netplumb net=keep ep=0123456789ab" : 10.130.0.99 . 80 }',
    'add element inet netplumb bridges { "np-ghost" comment "netplumb net=ghost" }',
    'add rule inet netplumb postrouting ip saddr 10.199.0.0/24 masquerade comment "netplumb net=ghost"',
  ].join('\n') + '\n');
  // An empty, unmounted file in /run/netns: a crash between creating the mount point and mounting.
  const stale = `/run/netns/${uniqueName('stale')}`;
  writeFileSync(stale, '');
  utimesSync(stale, new Date(Date.now() - 60000), new Date(Date.now() - 60000)); // not a create in flight
  // A fresh one may be a create() in flight (in any process): it must be left alone.
  const fresh = `/run/netns/${uniqueName('fresh')}`;
  writeFileSync(fresh, '');
  t.teardown(() => rmSync(fresh, { force: true }));

  // Look-alikes without netplumb's tag: all must survive.
  ip(h, 'link', 'add', 'np-ghost', 'type', 'bridge'); // named like ours, untagged
  ip(h, 'link', 'add', 'lookalike0', 'type', 'bridge');
  ip(h, 'link', 'set', 'lookalike0', 'alias', 'netplumb:network {broken json');
  ip(h, 'link', 'add', 'vethfake01', 'type', 'veth', 'peer', 'name', 'vethfake02');
  ip(h, 'link', 'set', 'vethfake01', 'master', keep.bridge); // an untagged port of our bridge
  ip(h, 'link', 'set', 'vethfake02', 'alias', 'netplumb:endpointish {"id":"x"}');
  ip(h, 'link', 'add', 'vethfake03', 'type', 'veth', 'peer', 'name', 'vethfake04');
  ip(h, 'link', 'set', 'vethfake03', 'alias', 'netplumb:endpoint not json');
  nft(h, [
    'add element inet netplumb ports4 { tcp . 9002 : 10.130.0.98 . 80 }', // no comment
    'add element inet netplumb ports4 { tcp . 9003 comment "not netplumb net=ghost ep=0123456789ab" : 10.130.0.97 . 80 }',
    'add rule inet netplumb postrouting ip saddr 10.198.0.0/24 masquerade', // no comment
    'add table inet netplumb2',
    'add chain inet netplumb2 c',
    'add rule inet netplumb2 c ip saddr 10.197.0.0/24 counter comment "netplumb net=ghost"',
    'add table ip netplumb',
    'add set ip netplumb bridges { type ifname; }',
    'add element ip netplumb bridges { "np-ghost" comment "netplumb net=ghost" }',
  ].join('\n') + '\n');
  const untaggedNs = uniqueName('ipns');
  ip(null, 'netns', 'add', untaggedNs); // `ip netns add`: mounted, empty, untagged
  t.teardown(() => spawnSync('ip', ['netns', 'del', untaggedNs]));
  const notEmpty = `/run/netns/${uniqueName('data')}`;
  writeFileSync(notEmpty, 'someone else\n');
  const dir = `/run/netns/${uniqueName('dir')}`;
  mkdirSync(dir);
  const link = `/run/netns/${uniqueName('lnk')}`;
  symlinkSync('/nonexistent', link);
  t.teardown(() => {
    for (const p of [notEmpty, dir, link]) rmSync(p, { recursive: true, force: true });
  });

  const lookalikes = () => ({
    links: ipJson(h, '-d', 'link').filter((x) => /^(np-ghost|lookalike0|vethfake0[1-4])$/.test(x.ifname)).map((x) => `${x.ifname} ${x.master ?? ''} ${x.ifalias ?? ''}`).sort(),
    elements: elementComments(h).filter((c) => c === 'ports4 (none)' || c.includes('not netplumb')),
    rules: nftJson(h).nftables.filter((x) => x.rule && (x.rule.table === 'netplumb2' || (x.rule.table === 'netplumb' && x.rule.family === 'ip'))).length +
      nftJson(h).nftables.filter((x) => x.rule?.table === 'netplumb' && x.rule.family === 'inet' && !x.rule.comment && JSON.stringify(x.rule.expr).includes('10.198.0.0')).length,
    foreignTables: nftJson(h).nftables.filter((x) => x.table && !(x.table.family === 'inet' && x.table.name === 'netplumb')).map((x) => `${x.table.family} ${x.table.name}`).sort(),
    foreignElements: JSON.stringify(nftJson(h).nftables.filter((x) => x.set?.family === 'ip')),
    runNetns: [untaggedNs, notEmpty.slice(11), dir.slice(11), link.slice(11)].map((n) => readdirSync('/run/netns').includes(n)),
  });
  const before = lookalikes();
  const goneRules = nftJson(h).nftables.filter((x) => x.rule?.comment === 'netplumb net=gone').length;
  t.true(goneRules >= 3);
  t.is(before.links.length, 6);
  t.is(before.rules, 2);
  t.deepEqual(before.foreignTables, ['inet netplumb2', 'ip netplumb']);

  // A dry run reports and changes nothing.
  const snapshot = () => ({ links: ipJson(h, '-d', 'link').map((x) => `${x.ifname} ${x.master ?? ''} ${x.ifalias ?? ''}`).sort(), nft: JSON.stringify(nftJson(h)), ns: readdirSync('/run/netns').sort() });
  const s0 = snapshot();
  const dry = await cleanupNetworks({ netns: l.host, dryRun: true });
  t.deepEqual(snapshot(), s0, 'dry run changes nothing');

  const report = await cleanupNetworks({ netns: l.host });
  t.deepEqual(report, { ...dry }, 'the dry run reported exactly what the real run removed');
  const reasons = Object.fromEntries(report.endpoints.map((e) => [e.id, e.reason]));
  t.deepEqual(reasons, {
    [orphanOwned.id]: 'network-gone',
    [orphanGiven.id]: 'network-gone',
    [unplugged.id]: 'not-on-bridge',
    [ghostNs.id]: 'netns-gone',
    [unconfigured.id]: 'incomplete',
    [unpublished.id]: 'incomplete',
  });
  t.deepEqual(report.networks, [{ name: 'half', bridge: half.bridge }]);
  t.deepEqual(report.netns.map((n) => n.reason).sort(), ['endpoint-removed', 'not-mounted']);
  t.true(report.netns.some((n) => n.path === stale));
  t.true(report.netns.some((n) => n.path === orphanOwned.netns.path));
  t.deepEqual(report.rules.map((r) => r.comment).sort(), ['netplumb net=ghost', ...Array(goneRules).fill('netplumb net=gone')]);
  t.false(report.table);

  // The kernel agrees. Leftovers gone:
  const links = ipJson(h, 'link').map((x) => x.ifname);
  for (const ep of [orphanOwned, orphanGiven, unplugged, ghostNs, unconfigured, unpublished]) t.false(links.includes(ep.hostIfname), ep.id);
  t.false(links.includes(half.bridge));
  t.false(existsSync(stale));
  t.true(existsSync(fresh), 'an unmounted file younger than 2 s may be a create in flight: kept');
  t.false(existsSync(orphanOwned.netns.path));
  t.true(existsSync(`/run/netns/${given.name}`), 'a namespace netplumb was given is never removed');
  t.deepEqual(elementComments(h).filter((c) => !c.includes('(none)') && !c.includes('not netplumb')), [
    `bridges netplumb net=keep`,
    `ports4 netplumb net=keep ep=${live.id}`,
    `published4 netplumb net=keep ep=${live.id}`,
  ]);
  t.notRegex(JSON.stringify(nftJson(h).nftables.filter((x) => x.rule?.table === 'netplumb' && x.rule.family === 'inet')), /net=(gone|ghost|half)/);
  // ...the live endpoint and the one whose process still runs are kept...
  t.true(links.includes(live.hostIfname));
  t.true(links.includes(inflight.hostIfname));
  // ...and every look-alike is untouched.
  t.deepEqual(lookalikes(), before);

  // The survivor still works, and open() in another process would see exactly it (and the in-flight one).
  const server = await live.netns.listen({ port: 80 }, (s) => s.end(`${s.remoteAddress}\n`));
  t.teardown(() => server.close());
  t.is(await request(l.outside, HOST_ADDR, 8080), OUTSIDE_ADDR);
  t.deepEqual(await cleanupNetworks({ netns: l.host }), { endpoints: [], networks: [], elements: [], rules: [], table: false, netns: [] }, 'nothing left to find');
  t.log(`RELIABILITY cleanup ${JSON.stringify({ endpoints: report.endpoints.length, networks: report.networks.length, elements: report.elements.length, rules: report.rules.length, netns: report.netns.length, lookalikes: 6 + 2 + 2 + 2 + 4 })}`);
  // Tidy up for the lab: the untagged port of our bridge and the look-alike bridge with its name.
  for (const x of ['vethfake01', 'vethfake03', 'np-ghost', 'lookalike0']) ip(h, 'link', 'del', x);
});

ptest.serial('cleanupNetworks({ networks }) limits itself to the named networks; the last network out takes the table', async (t) => {
  const l = await lab(t);
  const h = l.hostName;
  const a = await BridgeNetwork.create({ netns: l.host, name: 'fa', subnet: '10.140.0.0/24' });
  const b = await BridgeNetwork.create({ netns: l.host, name: 'fb', subnet: '10.141.0.0/24' });
  await a.connect(await l.container(), { publish: [{ hostPort: 7001, containerPort: 80 }] });
  await b.connect(await l.container(), { publish: [{ hostPort: 7002, containerPort: 80 }] });
  ip(h, 'link', 'del', a.bridge);
  ip(h, 'link', 'del', b.bridge);
  const onlyA = await cleanupNetworks({ netns: l.host, networks: ['fa'] });
  t.deepEqual([...new Set(onlyA.endpoints.map((e) => e.network))], ['fa']);
  t.true(onlyA.rules.every((r) => r.comment === 'netplumb net=fa'));
  t.true(elementComments(h).some((c) => c.includes('net=fb')), 'fb is left alone');
  t.false(onlyA.table, 'the table stays while fb has rules in it');
  const rest = await cleanupNetworks({ netns: l.host });
  t.deepEqual([...new Set(rest.endpoints.map((e) => e.network))], ['fb']);
  t.true(rest.table, 'no network left: the table goes');
  t.false(JSON.stringify(nftJson(h)).includes('netplumb'));
  t.deepEqual(ipJson(h, 'link', 'show', 'type', 'veth').map((x) => x.ifname), ['uplink']);
});

const CHILD = fileURLToPath(new URL('./fixtures/reliability/crash-child.js', import.meta.url));
const RESTART = fileURLToPath(new URL('./fixtures/reliability/restart.js', import.meta.url));
/** Rounds of start, run, SIGKILL, restart. Bounded: each costs about half a second. */
const ROUNDS = Number(process.env.NETPLUMB_CRASH_ROUNDS ?? 15);

/** Starts the child, waits for "ready", lets it run `ms`, kills it and waits for it to be reaped. */
async function runAndKill(args, ms) {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => d.toString().includes('ready') && resolve());
    exited.then((r) => reject(new Error(`child exited before it was ready (${JSON.stringify(r)}): ${stderr}`)));
  });
  await new Promise((r) => setTimeout(r, ms));
  child.kill('SIGKILL');
  const r = await exited;
  if (r.signal !== 'SIGKILL') throw new Error(`child died on its own (${JSON.stringify(r)}): ${stderr}`);
}

/** The restarted orchestrator's view: cleanup report, a second (empty) cleanup, and open() of each network. */
function restart(hostName, ...names) {
  const r = spawnSync(process.execPath, [RESTART, hostName, ...names], { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`restart failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The endpoint tags of the host's veths, read with `ip -j -d link` (the oracle parses them itself). */
function taggedVeths(hostName) {
  return ipJson(hostName, '-d', 'link', 'show', 'type', 'veth')
    .filter((l) => l.ifalias?.startsWith('netplumb:endpoint '))
    .map((l) => ({ name: l.ifname, master: l.master, tag: JSON.parse(l.ifalias.slice('netplumb:endpoint '.length)) }));
}

/** Every commented element and rule of `inet netplumb`, from `nft -j`. */
function nftObjects(hostName) {
  const all = nftJson(hostName).nftables;
  const elements = [];
  for (const x of all) {
    const s = x.map ?? x.set;
    if (!s || s.table !== 'netplumb') continue;
    // A set element is {elem: {val, comment}}; a map element is [{elem: {val, comment}}, data].
    for (const e of s.elem ?? []) elements.push({ set: s.name, comment: (Array.isArray(e) ? e[0] : e).elem?.comment });
  }
  const rules = all.filter((x) => x.rule?.table === 'netplumb' && x.rule.comment).map((x) => x.rule.comment);
  return { elements, rules, table: all.some((x) => x.table?.name === 'netplumb') };
}

ptest.serial(`crash mid-operation: ${ROUNDS} SIGKILLs at random moments leave no orphan, and survivors work`, async (t) => {
  t.timeout(120000);
  const l = await lab(t);
  const name = 'crash';
  const stats = { rounds: 0, survivors: 0, requests: 0, removed: { endpoints: 0, networks: 0, elements: 0, rules: 0, netns: 0 }, reasons: {} };
  let seed = 0x5eed;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  // The caller's own namespaces: mounted ones only (an empty file a kill left between
  // creating the mount point and mounting is no namespace, and cleanup removes it).
  const nsfs = statSync('/proc/self/ns/net').dev;
  const userNamespaces = () => readdirSync('/run/netns').filter((n) => n.startsWith('cu') && statSync(`/run/netns/${n}`).dev === nsfs);
  t.teardown(() => {
    for (const n of readdirSync('/run/netns').filter((x) => /^c[ur]\d/.test(x))) {
      try {
        ip(null, 'netns', 'del', n);
      } catch {}
    }
  });

  for (let round = 0; round < ROUNDS; round++) {
    // Kill anywhere from "at once" to a few hundred operations in.
    const ms = Math.floor(random() * 250);
    await runAndKill([l.hostName, name, '10.230.0.0/16', String(20000 + round * 100), String(round + 1)], ms);
    const userBefore = userNamespaces();
    const { report, again, networks } = restart(l.hostName, name, `${name}b`);
    stats.rounds++;
    for (const k of Object.keys(stats.removed)) stats.removed[k] += report[k].length;
    for (const e of report.endpoints) stats.reasons[e.reason] = (stats.reasons[e.reason] ?? 0) + 1;
    const where = `round ${round} (killed after ${ms} ms)`;
    t.deepEqual(again, { endpoints: [], networks: [], elements: [], rules: [], table: false, netns: [] }, `${where}: a second cleanup finds nothing`);

    const net = networks[name];
    t.truthy(net, where);
    const ids = new Set(net.endpoints.map((e) => e.id));
    // Links: every tagged veth is a port of its network's bridge and an endpoint open() took over.
    const veths = taggedVeths(l.hostName);
    t.deepEqual(veths.map((v) => v.tag.id).sort(), [...ids].sort(), `${where}: tagged veths = endpoints`);
    t.true(veths.every((v) => v.master === net.bridge), `${where}: every veth on the bridge`);
    t.deepEqual(ipJson(l.hostName, 'link', 'show', 'type', 'veth').map((x) => x.ifname).filter((n) => !veths.some((v) => v.name === n)), ['uplink'], `${where}: no untagged veth`);
    // The second network exists only when its create() finished, and then has its rules.
    const bridges = ipJson(l.hostName, '-d', 'link', 'show', 'type', 'bridge').filter((b) => b.ifalias?.startsWith('netplumb:network '));
    const nft = nftObjects(l.hostName);
    for (const b of bridges) {
      const n = JSON.parse(b.ifalias.slice('netplumb:network '.length)).name;
      t.true(nft.elements.some((e) => e.set === 'bridges' && e.comment === `netplumb net=${n}`), `${where}: bridge ${b.ifname} has its rules`);
    }
    // nftables: every element and rule belongs to a network and endpoint that exist.
    const netNames = new Set(bridges.map((b) => JSON.parse(b.ifalias.slice('netplumb:network '.length)).name));
    for (const e of nft.elements) {
      const m = /^netplumb net=(\S+)(?: ep=(\S+))?$/.exec(e.comment ?? '');
      t.truthy(m, `${where}: element in ${e.set} without our comment`);
      t.true(netNames.has(m[1]), `${where}: element of missing network ${m[1]}`);
      if (m[2]) t.true(ids.has(m[2]), `${where}: element in ${e.set} of missing endpoint ${m[2]}`);
    }
    t.true(nft.rules.every((c) => netNames.has(c.slice('netplumb net='.length))), `${where}: rules of missing networks`);
    // Every endpoint publishes exactly the one port the child gave it.
    for (const ep of net.endpoints) {
      t.is(ep.ports.length, 1, `${where}: endpoint ${ep.id} ports`);
      t.is(nft.elements.filter((e) => e.set === 'ports4' && e.comment?.endsWith(`ep=${ep.id}`)).length, 1, `${where}: ${ep.id} in ports4`);
    }
    // /run/netns: every namespace netplumb named belongs to a survivor; the caller's own
    // namespaces (untagged) are all still there. (An empty file a kill left between creating
    // a mount point and mounting is taken once it is 2 s old: checked after the last round.)
    const survivorsNs = new Set(net.endpoints.map((e) => e.sandboxKey));
    for (const n of readdirSync('/run/netns').filter((x) => x.startsWith('cr') && statSync(`/run/netns/${x}`).dev === nsfs)) t.true(survivorsNs.has(`/run/netns/${n}`), `${where}: /run/netns/${n} is a survivor's`);
    t.deepEqual(userNamespaces(), userBefore, `${where}: the caller's namespaces are untouched`);

    // Traffic: outside → host:PORT → each surviving endpoint.
    for (const ep of net.endpoints) {
      t.truthy(ep.sandboxKey, `${where}: survivor ${ep.id} has a namespace path`);
      const ns = await Netns.open(ep.sandboxKey);
      const server = await ns.listen({ port: 80 }, (s) => s.end(`${s.remoteAddress}\n`));
      try {
        const answer = await request(l.outside, HOST_ADDR, ep.ports[0].hostPort).catch((e) => {
          // Say what the endpoint looked like, so a failure can be understood from the log.
          const inside = ep.sandboxKey.startsWith('/run/netns/') ? ep.sandboxKey.slice(11) : null;
          t.log(JSON.stringify({ ep, report, inside: inside && [ip(inside, 'addr'), ip(inside, 'route')] }, null, 1));
          throw e;
        });
        t.is(answer, OUTSIDE_ADDR, `${where}: ${ep.id} via ${ep.ports[0].hostPort}`);
        stats.requests++;
      } finally {
        server.close();
        ns.close();
      }
    }
    stats.survivors += net.endpoints.length;
  }
  // After the last round: files left unmounted by kills are old enough to be taken now;
  // then the network is removed, and nothing netplumb made is left.
  await new Promise((r) => setTimeout(r, 2100));
  const last = restart(l.hostName, name);
  stats.removed.netns += last.report.netns.length;
  const childEntries = () => readdirSync('/run/netns').filter((x) => /^c[ur]\d/.test(x));
  t.deepEqual(childEntries().filter((n) => statSync(`/run/netns/${n}`).dev !== nsfs), [], 'no unmounted file left');
  const final = spawnSync(process.execPath, [RESTART, l.hostName, '--remove', name, `${name}b`], { encoding: 'utf8', timeout: 60000 });
  t.is(final.status, 0, final.stderr);
  for (const n of userNamespaces()) ip(null, 'netns', 'del', n);
  t.deepEqual(childEntries(), [], 'the owned namespaces went with their endpoints');
  t.false(JSON.stringify(nftJson(l.hostName)).includes('netplumb'));
  t.deepEqual(ipJson(l.hostName, 'link').map((x) => x.ifname).sort(), ['lo', 'uplink']);
  t.log(`RELIABILITY crash ${JSON.stringify(stats)}`);
  t.is(stats.rounds, ROUNDS);
});
