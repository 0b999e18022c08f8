// The rules of Docker's default bridge network (shared/reference/docker-default-
// networking-l3-nat.txt), built with netplumb using maps for per-port entries, checked
// through `nft -j list ruleset` against what nft itself makes of the same ruleset, then
// proven with real TCP traffic: DNAT from an outside host to a container, masquerade of
// the container's outbound traffic, hairpin NAT, the host reaching its own published
// port, and isolation between two bridges.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netns } from '../dist/netns.js';
import { nft } from '../dist/nft/index.js';
import { ip, ipNetns, nftJson, ptest, sh, uniqueName } from './helpers.js';

const { ip: ipv4, meta, th, tcp, fib, ct, concat, counter, masquerade, dnat, accept, drop, jump } = nft;
const family = 'ip';
const table = 'netplumb';

/** The same ruleset in nft's language: the expectation netplumb's result is compared with. */
const NFT_TEXT = `
table ip netplumb {
  comment "managed by netplumb"
  map ports {
    type inet_proto . inet_service : ipv4_addr . inet_service
    comment "published ports"
  }
  set published {
    type ipv4_addr . inet_proto . inet_service
  }
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    fib daddr type local counter jump docker
  }
  chain output {
    type nat hook output priority -100; policy accept;
    ip daddr != 127.0.0.0/8 fib daddr type local jump docker
  }
  chain docker {
    dnat ip to meta l4proto . th dport map @ports comment "published ports"
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr 172.17.0.0/16 oifname != "docker0" masquerade
    ip saddr 172.17.0.2 ip daddr 172.17.0.2 tcp dport 80 masquerade comment "hairpin"
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "docker0" oifname "docker1" drop comment "isolation"
    iifname "docker1" oifname "docker0" drop comment "isolation"
    oifname "docker0" ip daddr . meta l4proto . th dport @published accept
    iifname "docker0" accept
    iifname "docker1" accept
  }
}
add element ip netplumb ports { tcp . 81 comment "web" : 172.17.0.2 . 80 }
add element ip netplumb published { 172.17.0.2 . tcp . 80 }
`;

/** The Docker ruleset through a netplumb transaction. */
function build(tx) {
  tx.addTable({ family, name: table, comment: 'managed by netplumb' });
  tx.addSet({ family, table, name: 'ports', keyType: ['inet_proto', 'inet_service'], dataType: ['ipv4_addr', 'inet_service'], comment: 'published ports' });
  tx.addSet({ family, table, name: 'published', keyType: ['ipv4_addr', 'inet_proto', 'inet_service'] });
  tx.addChain({ family, table, name: 'prerouting', type: 'nat', hook: 'prerouting', priority: 'dstnat', policy: 'accept' });
  tx.addChain({ family, table, name: 'output', type: 'nat', hook: 'output', priority: -100, policy: 'accept' });
  tx.addChain({ family, table, name: 'docker' });
  tx.addChain({ family, table, name: 'postrouting', type: 'nat', hook: 'postrouting', priority: 'srcnat', policy: 'accept' });
  tx.addChain({ family, table, name: 'forward', type: 'filter', hook: 'forward', priority: 'filter', policy: 'drop' });
  const rule = (chain, expressions, comment) => tx.addRule({ family, table, chain, expressions, ...(comment ? { comment } : {}) });
  rule('prerouting', [fib.daddr.type.eq('local'), counter(), jump('docker')]);
  rule('output', [ipv4.daddr.ne('127.0.0.0/8'), fib.daddr.type.eq('local'), jump('docker')]);
  rule('docker', [dnat.map('@ports', [meta.l4proto, th.dport])], 'published ports');
  rule('postrouting', [ipv4.saddr.in('172.17.0.0/16'), meta.oifname.ne('docker0'), masquerade()]);
  rule('postrouting', [ipv4.saddr.eq('172.17.0.2'), ipv4.daddr.eq('172.17.0.2'), tcp.dport.eq(80), masquerade()], 'hairpin');
  rule('forward', [ct.state.in(['established', 'related']), accept()]);
  rule('forward', [meta.iifname.eq('docker0'), meta.oifname.eq('docker1'), drop()], 'isolation');
  rule('forward', [meta.iifname.eq('docker1'), meta.oifname.eq('docker0'), drop()], 'isolation');
  rule('forward', [meta.oifname.eq('docker0'), concat(ipv4.daddr, meta.l4proto, th.dport).in('@published'), accept()]);
  rule('forward', [meta.iifname.eq('docker0'), accept()]);
  rule('forward', [meta.iifname.eq('docker1'), accept()]);
  tx.addElements({ family, table, set: 'ports', elements: [{ key: ['tcp', 81], data: ['172.17.0.2', 80], comment: 'web' }] });
  tx.addElements({ family, table, set: 'published', elements: [{ key: ['172.17.0.2', 'tcp', 80] }] });
}

/** `nft -j list ruleset` without handles and counters (which differ between two equal rulesets). */
function normalized(ns) {
  const strip = (v) => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      const out = {};
      for (const [k, x] of Object.entries(v)) {
        if (k === 'handle' || k === 'metainfo') continue;
        out[k] = k === 'counter' ? { packets: 0, bytes: 0 } : strip(x);
      }
      return out;
    }
    return v;
  };
  return strip(nftJson(ns).nftables.filter((o) => !o.metainfo));
}

/** Runs `node -e SCRIPT` inside namespace `ns`; resolves once it prints "ready"; killed by PID at teardown. */
function nodeIn(t, ns, script) {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {}
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', () => resolve(child));
  });
}

/**
 * Whether a connection from namespace `name` to host:port fails (refused, or no answer
 * within `ms`), tried by a child process so that a connect left hanging dies with it.
 */
function unreachable(name, host, port, ms = 700) {
  const script = `require('net').connect(${port}, '${host}').on('connect', () => process.exit(0)).on('error', () => process.exit(1))`;
  const r = spawnSync('ip', ['netns', 'exec', name, process.execPath, '-e', script], { timeout: ms + 300, killSignal: 'SIGKILL' });
  return r.status !== 0;
}

/** A TCP server that answers each connection with the peer's address, then closes. */
const echoPeer = (port) =>
  `require('net').createServer((s) => { s.on('error', () => {}); s.end(s.remoteAddress + '\\n'); }).listen(${port}, '0.0.0.0', () => console.log('ready'))`;

/** Connects from `ns` (a Netns) and returns what the server said. */
async function ask(ns, host, port) {
  const socket = await ns.connect(port, host);
  return new Promise((resolve, reject) => {
    let data = '';
    socket.setEncoding('utf8');
    socket.on('data', (d) => (data += d));
    socket.on('end', () => resolve(data.trim()));
    socket.on('error', reject);
  });
}

ptest('the Docker NAT and filter rules read back in nft -j exactly as nft makes them', async (t) => {
  const ours = uniqueName('nd');
  const ns = await Netns.create(ours);
  t.teardown(() => ns.delete());
  const tx = ns.nft.transaction();
  build(tx);
  const { rules } = await tx.commit();
  t.is(rules.length, 11);
  t.true(rules.every((r) => Number.isInteger(r.handle) && r.handle > 0));

  const theirs = ipNetns(t);
  const file = join(mkdtempSync(join(tmpdir(), 'nft-')), 'docker.nft');
  writeFileSync(file, NFT_TEXT);
  sh('ip', ['netns', 'exec', theirs, 'nft', '-f', file]);

  t.deepEqual(normalized(ours), normalized(theirs));
  // And `nft list ruleset` prints it as it was written.
  const text = sh('ip', ['netns', 'exec', ours, 'nft', 'list', 'ruleset']);
  t.regex(text, /elements = \{ tcp \. 81 comment "web" : 172\.17\.0\.2 \. 80 \}/);
  t.regex(text, /dnat ip to meta l4proto \. th dport map @ports comment "published ports"/);
  t.regex(text, /ct state established,related accept/);
});

ptest.serial('Docker rules carry real traffic: DNAT, masquerade, hairpin, host to its own published port, isolation', async (t) => {
  const H = uniqueName('nh');
  const host = await Netns.create(H);
  t.teardown(() => host.delete());
  const O = ipNetns(t);
  const C = ipNetns(t);
  const C2 = ipNetns(t);
  // outside 203.0.113.1 <-> host 203.0.113.128; docker0 172.17.0.1/16 with container C
  // 172.17.0.2; docker1 172.18.0.1/16 with container C2 172.18.0.2.
  ip(H, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', O);
  ip(H, 'addr', 'add', '203.0.113.128/24', 'dev', 'eth0');
  ip(H, 'link', 'set', 'eth0', 'up');
  ip(O, 'addr', 'add', '203.0.113.1/24', 'dev', 'eth0');
  ip(O, 'link', 'set', 'eth0', 'up');
  ip(O, 'link', 'set', 'lo', 'up');
  ip(H, 'link', 'set', 'lo', 'up');
  for (const [br, net, c, veth] of [
    ['docker0', '172.17', C, 'vethc1'],
    ['docker1', '172.18', C2, 'vethc2'],
  ]) {
    ip(H, 'link', 'add', br, 'type', 'bridge');
    ip(H, 'addr', 'add', `${net}.0.1/16`, 'dev', br);
    ip(H, 'link', 'set', br, 'up');
    ip(H, 'link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', c);
    ip(H, 'link', 'set', veth, 'master', br, 'up');
    // As Docker does without its userland proxy: with br_netfilter loaded, a hairpin
    // DNAT is bridged back out of the port it came in on, which needs hairpin mode.
    ip(H, 'link', 'set', veth, 'type', 'bridge_slave', 'hairpin', 'on');
    ip(c, 'addr', 'add', `${net}.0.2/16`, 'dev', 'eth0');
    ip(c, 'link', 'set', 'eth0', 'up');
    ip(c, 'link', 'set', 'lo', 'up');
    ip(c, 'route', 'add', 'default', 'via', `${net}.0.1`);
  }
  await host.sysctl.set('net.ipv4.ip_forward', 1);

  const tx = host.nft.transaction();
  build(tx);
  await tx.commit();

  await nodeIn(t, C, echoPeer(80));
  await nodeIn(t, O, echoPeer(9000));
  await nodeIn(t, C2, echoPeer(80));
  const outside = await Netns.open(O);
  const container = await Netns.open(C);
  t.teardown(() => [outside, container].forEach((n) => n.close()));

  // DNAT: outside -> host:81 reaches container:80, which sees the outside address.
  t.is(await ask(outside, '203.0.113.128', 81), '203.0.113.1');
  // Masquerade: the container reaching outside appears as the host.
  t.is(await ask(container, '203.0.113.1', 9000), '203.0.113.128');
  // Hairpin: the container reaching its own published port, masqueraded to the gateway.
  t.is(await ask(container, '203.0.113.128', 81), '172.17.0.1');
  // The host itself reaching its published port (nat output chain).
  t.is(await ask(host, '203.0.113.128', 81), '203.0.113.128');
  // Isolation: docker1's container cannot reach docker0's, although docker0's reaches out.
  t.false(unreachable(C, '203.0.113.1', 9000), 'the probe itself works in time');
  t.true(unreachable(C2, '172.17.0.2', 80));
  // Unpublished: after deleting the element, outside -> host:81 gets nowhere.
  const del = host.nft.transaction();
  del.deleteElements({ family, table, set: 'ports', elements: [{ key: ['tcp', 81] }] });
  await del.commit();
  t.true(unreachable(O, '203.0.113.128', 81));
});
