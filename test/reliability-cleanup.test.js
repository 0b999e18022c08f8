// cleanupNetworks(), and what it is for: leftovers after crashes.
//
// 1. Every kind of leftover, made the way a crash leaves it (another process that exits
//    without cleaning up, or is SIGKILLed in the middle of create() or connect()) or a
//    careless hand does, is found, removed and reported — and look-alikes without
//    netplumb's tag (made with `ip` and `nft`) are never touched, nor is anything whose
//    operation may still be under way.
// 2. Crash mid-operation: an orchestrator process connecting and removing endpoints in a
//    loop is killed with SIGKILL at random moments. After each kill, cleanupNetworks() and
//    BridgeNetwork.open() run in a fresh process (the restarted orchestrator); then `ip -j`,
//    `nft -j` and /run/netns must show no orphan, and every surviving endpoint must still
//    work: real TCP from the outside host through its published port.
// Checked through `ip -j`, `nft -j` and /run/netns. /run/netns is shared by every test file
// of the sandbox, and cleanupNetworks() sweeps it: these tests look only at the names they
// made (which carry this process's pid, or a pid of a child it started).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cleanupNetworks, Netns } from '../dist/index.js';
import { ip, ipJson, nftJson, ptest, sh, uniqueName } from './helpers.js';
import { HOST_ADDR, OUTSIDE_ADDR, lab, request } from './network-lab.js';

const LEFTOVERS = fileURLToPath(new URL('./fixtures/reliability/leftovers.js', import.meta.url));

/**
 * Runs `steps` in another process (fixtures/reliability/leftovers.js), which exits without
 * cleaning up or, with a `crashAt` step, is SIGKILLed there. Returns its pid and results.
 */
function inChild(hostName, steps) {
  const r = spawnSync(process.execPath, [LEFTOVERS, hostName, JSON.stringify(steps)], { encoding: 'utf8', timeout: 30000 });
  const crash = steps.some((s) => s.crashAt);
  if (crash ? r.signal !== 'SIGKILL' : r.status !== 0) throw new Error(`leftovers.js ended with ${r.status ?? r.signal}: ${r.stderr}`);
  return { pid: r.pid, results: r.stdout.split('\n').filter(Boolean).map((x) => JSON.parse(x)) };
}

function nft(ns, script) {
  sh('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** A comment without what only an anchor carries (interface, holder, owner): `netplumb net=N [ep=ID]`. */
const plain = (comment) => comment?.replace(/ (if|pid|t|owner)=\S+/g, '');

/** Elements of `inet netplumb`, as { set, key, comment } (comment as written, anchors included). */
function elements(ns) {
  const out = [];
  for (const x of nftJson(ns).nftables) {
    const s = x.map ?? x.set;
    if (!s || s.table !== 'netplumb' || s.family !== 'inet') continue;
    // A set element is {elem: {val, comment}} (or a bare value); a map element is [that, data].
    for (const e of s.elem ?? []) {
      const k = Array.isArray(e) ? e[0] : e;
      out.push({ set: s.name, key: k.elem?.val ?? k, comment: k.elem?.comment });
    }
  }
  return out;
}

/** Commented elements of `inet netplumb`, as "set comment" (anchors' extra fields dropped). */
function elementComments(ns) {
  return elements(ns).map((e) => `${e.set} ${plain(e.comment) ?? '(none)'}`).sort();
}

/** The endpoint id whose attachment names process `pid` as its holder. */
function endpointOf(ns, pid) {
  const anchor = elements(ns).find((e) => e.set === 'attached' && e.comment?.includes(` pid=${pid}:`));
  return /ep=(\S+)/.exec(anchor?.comment ?? '')?.[1];
}

/** Only the entries of a /run/netns list or cleanup report that this process's names made. */
const ours = (name) => new RegExp(`^[a-z]+${process.pid}x\\d+$`).test(name.replace('/run/netns/', ''));

async function until(what, check) {
  for (let i = 0; i < 250 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

ptest.serial('cleanupNetworks removes each kind of leftover, reports it, and touches nothing untagged', async (t) => {
  t.timeout(90000);
  const l = await lab(t);
  const h = l.hostName;
  const names = { own: uniqueName('own'), given: uniqueName('giv'), crashed: uniqueName('crg'), live: uniqueName('live') };
  t.teardown(() => {
    for (const n of Object.values(names)) spawnSync('ip', ['netns', 'del', n]);
  });
  // Another firewall whose forward chain drops by policy (as Docker's and ufw's do): each
  // network adds its tagged accepts there, and they must go with it.
  nft(h, 'add table inet other\nadd chain inet other guard { type filter hook forward priority 0; policy drop; }\n');
  const keep = await l.network({ name: 'keep', subnet: '10.130.0.0/24' });

  // A healthy endpoint of `keep`, which must survive and keep working.
  const live = await keep.connect(undefined, { netnsName: names.live, publish: [{ hostPort: 8080, containerPort: 80 }] });
  // Another process makes network `gone` with two endpoints and exits without cleaning up.
  const [, orphanOwned, orphanGiven] = inChild(h, [
    { create: { name: 'gone', subnet: '10.131.0.0/24' } },
    { connect: { network: 'gone', netnsName: names.own, publish: [{ hostPort: 8081, containerPort: 80 }] } }, // network-gone, with its own named namespace
    { connect: { network: 'gone', netns: names.given, publish: [{ hostPort: 8082, containerPort: 80 }] } }, // network-gone, a namespace not netplumb's
  ]).results;
  // Processes killed in the middle of connect(), after the veth, before its configuration and tag:
  // in a namespace that outlives them (incomplete), and in the anonymous one netplumb made, which died with it (netns-gone).
  const crashGiven = inChild(h, [{ crashAt: 'connect:configure' }, { connect: { network: 'keep', netns: names.crashed, publish: [{ hostPort: 8084, containerPort: 80 }] } }]);
  const incomplete = endpointOf(h, crashGiven.pid);
  const crashOwn = inChild(h, [{ crashAt: 'connect:configure' }, { connect: { network: 'keep', publish: [{ hostPort: 8085, containerPort: 80 }] } }]);
  const netnsGone = endpointOf(h, crashOwn.pid);
  t.truthy(incomplete);
  t.truthy(netnsGone);
  t.true(ipJson(h, 'link').some((x) => x.ifname === `veth${incomplete.slice(0, 7)}` && !x.ifalias), 'the crash left an untagged veth');
  // The kernel destroys the dead process's namespace, and the veth with it, in the background.
  await until('the crashed namespace to go', () => !ipJson(h, 'link').some((x) => x.ifname === `veth${netnsGone.slice(0, 7)}`));
  // A process killed in the middle of create(): bridge made, untagged; reservation and rules in place.
  const crashCreate = inChild(h, [{ crashAt: 'create:sysctl' }, { create: { name: 'half', subnet: '10.132.0.0/24' } }]);
  t.true(ipJson(h, 'link').some((x) => x.ifname === 'np-half' && !x.ifalias), 'the crash left an untagged bridge');
  // Endpoints of this process, damaged by hand:
  const unplugged = await keep.connect(await l.container(), { publish: [{ hostPort: 8083, containerPort: 80 }] }); // not-on-bridge
  const unreserved = await keep.connect(await l.container(), { publish: [{ hostPort: 8086, containerPort: 80 }] }); // unreserved
  const inflight = await keep.connect(await l.container(), {}); // looks incomplete, but its process (this one) runs and it is young

  // Crash-like damage, made by hand:
  ip(h, 'link', 'del', 'np-gone'); // the network vanished without its rules, reservations and endpoints
  ip(h, 'link', 'set', unplugged.hostIfname, 'nomaster');
  nft(h, `delete element inet netplumb attached { "np-keep" . ${unreserved.netnsInode} }\n`); // its reservation's anchor gone (a flushed table)
  ip(h, 'link', 'set', inflight.hostIfname, 'alias', ''); // untagged, as in the middle of connect()
  // Elements and a rule of endpoints and networks that do not exist.
  nft(h, [
    'add element inet netplumb ports4 { tcp . 9001 comment "netplumb net=keep ep=0123456789ab" : 10.130.0.99 . 80 }',
    'add element inet netplumb bridges { "np-ghost" comment "netplumb net=ghost" }',
    'add rule inet netplumb postrouting ip saddr 10.199.0.0/24 masquerade comment "netplumb net=ghost"',
  ].join('\n') + '\n');

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
    'add element inet netplumb addrs4 { 10.130.0.96 comment "netplumb-ish net=keep ep=0123456789ab" }',
    'add rule inet netplumb postrouting ip saddr 10.198.0.0/24 masquerade', // no comment
    'add table inet netplumb2',
    'add chain inet netplumb2 c',
    'add rule inet netplumb2 c ip saddr 10.197.0.0/24 counter comment "netplumb-ish net=ghost"',
    'add rule inet other guard ip saddr 10.196.0.0/24 counter accept comment "someone else"',
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
    elements: elementComments(h).filter((c) => c === 'ports4 (none)' || c.includes('not netplumb') || c.includes('netplumb-ish')),
    rules: nftJson(h).nftables.filter((x) => x.rule && (x.rule.table === 'netplumb2' || (x.rule.table === 'netplumb' && x.rule.family === 'ip') || x.rule.comment === 'someone else')).length +
      nftJson(h).nftables.filter((x) => x.rule?.table === 'netplumb' && x.rule.family === 'inet' && !x.rule.comment && JSON.stringify(x.rule.expr).includes('10.198.0.0')).length,
    foreignTables: nftJson(h).nftables.filter((x) => x.table && !(x.table.family === 'inet' && x.table.name === 'netplumb')).map((x) => `${x.table.family} ${x.table.name}`).sort(),
    foreignChains: nftJson(h).nftables.filter((x) => x.chain && x.chain.table !== 'netplumb').map((x) => `${x.chain.family} ${x.chain.table} ${x.chain.name} ${x.chain.policy ?? ''}`).sort(),
    foreignElements: JSON.stringify(nftJson(h).nftables.filter((x) => x.set?.family === 'ip')),
    runNetns: [untaggedNs, notEmpty.slice(11), dir.slice(11), link.slice(11)].map((n) => readdirSync('/run/netns').includes(n)),
  });
  const before = lookalikes();
  const rulesOf = (n) => nftJson(h).nftables.filter((x) => x.rule?.comment === `netplumb net=${n}`).map((x) => `${x.rule.family} ${x.rule.table}`);
  const goneRules = rulesOf('gone');
  const halfRules = rulesOf('half');
  t.true(goneRules.filter((r) => r === 'inet netplumb').length >= 3);
  t.deepEqual(goneRules.filter((r) => r === 'inet other'), ['inet other', 'inet other'], 'gone has its accepts in the other firewall');
  t.deepEqual(halfRules.filter((r) => r === 'inet other'), ['inet other', 'inet other'], 'half has its accepts in the other firewall');
  t.is(before.links.length, 6);
  t.is(before.rules, 3);
  t.deepEqual(before.foreignTables, ['inet netplumb2', 'inet other', 'ip netplumb']);

  // A dry run reports and changes nothing.
  const snapshot = () => ({ links: ipJson(h, '-d', 'link').map((x) => `${x.ifname} ${x.master ?? ''} ${x.ifalias ?? ''}`).sort(), nft: JSON.stringify(nftJson(h)), ns: readdirSync('/run/netns').filter(ours).sort() });
  const s0 = snapshot();
  const mineOnly = (report) => ({ ...report, netns: report.netns.filter((n) => ours(n.path)) });
  const dry = mineOnly(await cleanupNetworks({ netns: l.host, dryRun: true }));
  t.deepEqual(snapshot(), s0, 'dry run changes nothing');

  const report = mineOnly(await cleanupNetworks({ netns: l.host }));
  t.deepEqual(report, dry, 'the dry run reported exactly what the real run removed');
  const reasons = Object.fromEntries(report.endpoints.map((e) => [e.id, e.reason]));
  t.deepEqual(reasons, {
    [orphanOwned.id]: 'network-gone',
    [orphanGiven.id]: 'network-gone',
    [unplugged.id]: 'not-on-bridge',
    [unreserved.id]: 'unreserved',
    [incomplete]: 'incomplete',
    [netnsGone]: 'netns-gone',
  });
  t.deepEqual(report.networks.map((n) => `${n.name} ${n.bridge}`).sort(), ['gone np-gone', 'half np-half']);
  t.deepEqual(report.netns.map((n) => n.reason), ['endpoint-removed'], JSON.stringify(report.netns));
  t.true(report.netns.some((n) => n.path === orphanOwned.netnsPath));
  t.deepEqual(report.rules.map((r) => `${r.family} ${r.table} ${r.comment}`).sort(), [
    ...goneRules.map((r) => `${r} netplumb net=gone`),
    ...halfRules.map((r) => `${r} netplumb net=half`),
    'inet netplumb netplumb net=ghost',
  ].sort());
  t.false(report.table);
  t.true(report.elements.every((e) => /^netplumb net=(gone|half|ghost|keep ep=\S+)/.test(e.comment)), 'only elements of leftovers');

  // The kernel agrees. Leftovers gone:
  const links = ipJson(h, 'link').map((x) => x.ifname);
  for (const ep of [orphanOwned, orphanGiven, unplugged, unreserved]) t.false(links.includes(ep.hostIfname), ep.id);
  t.false(links.includes(`veth${incomplete.slice(0, 7)}`));
  t.false(links.includes('np-half'));
  t.false(existsSync(orphanOwned.netnsPath));
  for (const n of [names.given, names.crashed]) t.true(existsSync(`/run/netns/${n}`), 'a namespace netplumb was given is never removed');
  t.deepEqual(elementComments(h).filter((c) => !c.includes('(none)') && !c.includes('not netplumb') && !c.includes('netplumb-ish')), [
    ...['networks', 'subnets4', 'bridges', 'cursors'].map((s) => `${s} netplumb net=keep`),
    ...['attached', 'addrs4', 'macs', 'hostports', 'hostports6', 'ports4', 'published4'].map((s) => `${s} netplumb net=keep ep=${live.id}`),
    ...['attached', 'addrs4', 'macs'].map((s) => `${s} netplumb net=keep ep=${inflight.id}`),
  ].sort());
  t.notRegex(JSON.stringify(nftJson(h).nftables.filter((x) => x.rule)), /"netplumb net=(gone|ghost|half)"/);
  // ...the other firewall keeps its policy, its own rule and keep's accepts...
  t.deepEqual(rulesOf('keep').filter((r) => r === 'inet other'), ['inet other', 'inet other']);
  // ...the live endpoint and the one whose connect may still be under way are kept...
  t.true(links.includes(live.hostIfname));
  t.true(links.includes(inflight.hostIfname));
  // ...and every look-alike is untouched.
  t.deepEqual(lookalikes(), before);

  // The survivor still works (through the other firewall's drop policy, thanks to keep's
  // accepts), and another process reading the network sees exactly it.
  const server = await live.netns.listen({ port: 80 }, (s) => s.end(`${s.remoteAddress}\n`));
  t.teardown(() => server.close());
  t.is(await request(l.outside, HOST_ADDR, 8080), OUTSIDE_ADDR);
  t.deepEqual((await keep.endpoints()).map((e) => e.id), [live.id], 'a connect under way is not listed');
  t.deepEqual(mineOnly(await cleanupNetworks({ netns: l.host })), { endpoints: [], networks: [], elements: [], rules: [], table: false, netns: [] }, 'nothing left to find');
  t.log(`RELIABILITY cleanup ${JSON.stringify({ endpoints: report.endpoints.length, networks: report.networks.length, elements: report.elements.length, rules: report.rules.length, netns: report.netns.length, lookalikes: 6 + 3 + 3 + 4 })}`);
  // Tidy up for the lab: the untagged port of our bridge and the look-alike bridge with its name.
  for (const x of ['vethfake01', 'vethfake03', 'np-ghost', 'lookalike0']) ip(h, 'link', 'del', x);
  void crashCreate;
});

const STALE_NAMES = fileURLToPath(new URL('./fixtures/reliability/stale-names.js', import.meta.url));

ptest('cleanupNetworks takes the /run/netns names dead creates left, never one a create holds, a mount or a non-empty file', (t) => {
  // In a sandbox of its own (its own /run/netns): the sweep is of the whole directory, and
  // the cleanups of tests running beside this one must not take its planted files first.
  const env = { ...process.env };
  delete env.NETPLUMB_SANDBOX;
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('./sandbox.js', import.meta.url)), process.execPath, STALE_NAMES], { env, encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  const o = JSON.parse(r.stdout);
  const at = (name) => `/run/netns/${name}`;
  t.deepEqual(o.dry, [{ path: at('stale'), reason: 'not-mounted' }], 'a dry run finds only the dead create\'s file');
  t.deepEqual(o.real, o.dry, 'the real run removes what the dry run reported');
  t.deepEqual(o.afterReal, { stale: false, held: true, mounted: true, nonEmpty: true });
  // The create holding its file dies, and the lock goes with it: the lock, not the file's
  // age, is what kept it.
  t.deepEqual(o.again, [{ path: at('held'), reason: 'not-mounted' }]);
  t.deepEqual(o.afterAgain, { stale: false, held: false, mounted: true, nonEmpty: true });
});

ptest.serial('cleanupNetworks({ networks }) limits itself to the named networks; the last network out takes the table', async (t) => {
  const l = await lab(t);
  const h = l.hostName;
  // Made by another process that is gone, so that nothing of them may be an operation under way.
  const names = [uniqueName('fa'), uniqueName('fb')];
  t.teardown(() => {
    for (const n of names) spawnSync('ip', ['netns', 'del', n]);
  });
  inChild(h, [
    { create: { name: 'fa', subnet: '10.140.0.0/24' } },
    { create: { name: 'fb', subnet: '10.142.0.0/24' } },
    { connect: { network: 'fa', netns: names[0], publish: [{ hostPort: 7001, containerPort: 80 }] } },
    { connect: { network: 'fb', netns: names[1], publish: [{ hostPort: 7002, containerPort: 80 }] } },
  ]);
  ip(h, 'link', 'del', 'np-fa');
  ip(h, 'link', 'del', 'np-fb');
  const onlyA = await cleanupNetworks({ netns: l.host, networks: ['fa'] });
  t.deepEqual([...new Set(onlyA.endpoints.map((e) => e.network))], ['fa']);
  t.deepEqual(onlyA.networks, [{ name: 'fa', bridge: 'np-fa' }]);
  t.true(onlyA.rules.every((r) => r.comment === 'netplumb net=fa'));
  t.true(onlyA.elements.every((e) => e.comment.startsWith('netplumb net=fa')));
  t.deepEqual(onlyA.netns, [], 'a limited cleanup leaves /run/netns alone');
  t.true(elementComments(h).some((c) => c.includes('net=fb')), 'fb is left alone');
  t.false(elementComments(h).some((c) => c.includes('net=fa')), 'fa is gone');
  t.false(onlyA.table, 'the table stays while fb has rules in it');
  const rest = await cleanupNetworks({ netns: l.host, networks: ['fb'] });
  t.deepEqual([...new Set(rest.endpoints.map((e) => e.network))], ['fb']);
  t.true(rest.table, 'no network left: the table goes');
  t.false(JSON.stringify(nftJson(h)).includes('netplumb'));
  t.deepEqual(ipJson(h, 'link', 'show', 'type', 'veth').map((x) => x.ifname), ['uplink']);
});

const CHILD = fileURLToPath(new URL('./fixtures/reliability/crash-child.js', import.meta.url));
const RESTART = fileURLToPath(new URL('./fixtures/reliability/restart.js', import.meta.url));
/** Rounds of start, run, SIGKILL, restart. Bounded: each costs about half a second. */
const ROUNDS = Number(process.env.NETPLUMB_CRASH_ROUNDS ?? 15);

/** Starts the child, waits for "ready", lets it run `ms`, kills it and waits for it to be reaped. Resolves with its pid. */
async function runAndKill(args, ms) {
  const child = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
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
  return pid;
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
  // /run/netns names the children made: `cu<pid>x<n>` (the caller's own, given to connect)
  // and `cr<pid>x<n>` (netplumb's, named) — only those of children this test started.
  const children = new Set();
  const childEntries = (kind = 'c[ur]') => readdirSync('/run/netns').filter((x) => children.has(new RegExp(`^${kind}(\\d+)x`).exec(x)?.[1]));
  // The caller's own namespaces: mounted ones only (an empty file a kill left between
  // creating the mount point and mounting is no namespace, and cleanup removes it).
  const nsfs = statSync('/proc/self/ns/net').dev;
  const userNamespaces = () => childEntries('cu').filter((n) => statSync(`/run/netns/${n}`).dev === nsfs);
  t.teardown(() => {
    for (const n of childEntries()) {
      try {
        ip(null, 'netns', 'del', n);
      } catch {}
    }
  });

  for (let round = 0; round < ROUNDS; round++) {
    // Kill anywhere from "at once" to a few hundred operations in.
    const ms = Math.floor(random() * 250);
    children.add(String(await runAndKill([l.hostName, name, '10.230.0.0/16', String(20000 + round * 100), String(round + 1)], ms)));
    // The anonymous namespaces netplumb made for the child held only by it: the kernel
    // destroys them, and their veths, in the background. The restarted orchestrator comes
    // after that (else it would find endpoints that are about to vanish).
    await until('the killed child\'s namespaces to go', () => !taggedVeths(l.hostName).some((v) => v.tag.own && v.tag.ns === undefined));
    const userBefore = userNamespaces();
    const { report, again, networks } = restart(l.hostName, name, `${name}b`);
    stats.rounds++;
    for (const k of Object.keys(stats.removed)) stats.removed[k] += report[k].length;
    for (const e of report.endpoints) stats.reasons[e.reason] = (stats.reasons[e.reason] ?? 0) + 1;
    const where = `round ${round} (killed after ${ms} ms)`;
    // (/run/netns entries other test files left are not this test's to judge.)
    t.deepEqual({ ...again, netns: again.netns.filter((n) => childEntries().includes(n.path.slice(11))) }, { endpoints: [], networks: [], elements: [], rules: [], table: false, netns: [] }, `${where}: a second cleanup finds nothing`);

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
      // `netplumb net=N [ep=ID]`, and on the anchors also the interface, holder and owner.
      const m = /^netplumb net=(\S+)(?: ep=(\S+))?(?: (?:if|pid|t|owner)=\S+)*$/.exec(e.comment ?? '');
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
    for (const n of childEntries('cr').filter((x) => statSync(`/run/netns/${x}`).dev === nsfs)) t.true(survivorsNs.has(`/run/netns/${n}`), `${where}: /run/netns/${n} is a survivor's`);
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
