// Issue 10 §5: netplumb's networks beside another firewall that drops forwarded traffic by
// policy — iptables(-nft) FORWARD DROP as Docker and ufw leave it, Docker's DOCKER-USER,
// and someone's own nftables table. Proven with traffic, with a negative control each.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cleanupNetworks } from '../dist/index.js';
import { ip, nftJson, ptest, sh } from './helpers.js';
import { HOST_ADDR, OUTSIDE_ADDR, lab, request, unreachable, whoamiServer } from './network-lab.js';

const CRASH_CREATE = fileURLToPath(new URL('./fixtures/multiprocess/crash-create.js', import.meta.url));

function inNs(ns, cmd, ...args) {
  return sh('ip', ['netns', 'exec', ns, cmd, ...args]);
}

/** A container with a published port, and the outside's own server for the way out. */
async function setup(t, l, name, subnet) {
  const net = await l.network({ name, subnet });
  const c = await l.container();
  const ep = await net.connect(c, { publish: [{ hostPort: 8080, containerPort: 80 }] });
  await whoamiServer(t, c, 80);
  await whoamiServer(t, l.outside, 7000);
  return { net, c, ep };
}

async function traffic(l, c) {
  const out = await request(c, OUTSIDE_ADDR, 7000).catch(() => undefined);
  const inbound = await request(l.outside, HOST_ADDR, 8080).catch(() => undefined);
  return { out, inbound };
}

ptest('iptables FORWARD policy DROP (Docker, ufw): outbound and published ports pass through tagged accepts, the policy stays', async (t) => {
  const l = await lab(t);
  inNs(l.hostName, 'iptables', '-P', 'FORWARD', 'DROP');
  const { net, c } = await setup(t, l, 'fwipt', '172.29.0.0/24');
  t.deepEqual(await traffic(l, c), { out: '203.0.113.128', inbound: OUTSIDE_ADDR });
  const rules = inNs(l.hostName, 'iptables', '-S', 'FORWARD');
  t.regex(rules, /^-P FORWARD DROP$/m);
  t.regex(rules, new RegExp(`-o ${net.bridge} .*netplumb net=fwipt.* -j ACCEPT`));
  t.regex(rules, new RegExp(`-i ${net.bridge} .*netplumb net=fwipt.* -j ACCEPT`));
  const report = (await net.inspect()).foreignDrops;
  t.deepEqual(report, [{ family: 'ip', table: 'filter', chain: 'FORWARD', acceptIn: 'FORWARD', accepted: true }]);
  // Negative control: without netplumb's accepts the policy drops everything.
  inNs(l.hostName, 'iptables', '-D', 'FORWARD', '-o', net.bridge, '-m', 'comment', '--comment', 'netplumb net=fwipt', '-j', 'ACCEPT');
  inNs(l.hostName, 'iptables', '-D', 'FORWARD', '-i', net.bridge, '-m', 'comment', '--comment', 'netplumb net=fwipt', '-j', 'ACCEPT');
  t.deepEqual(await traffic(l, c), { out: undefined, inbound: undefined });
  t.false((await net.inspect()).foreignDrops[0].accepted);
  await net.remove({ force: true });
  t.regex(inNs(l.hostName, 'iptables', '-S', 'FORWARD'), /^-P FORWARD DROP$/m);
});

ptest('the tagged accepts go with the network, and into DOCKER-USER where Docker made one', async (t) => {
  const l = await lab(t);
  inNs(l.hostName, 'iptables', '-N', 'DOCKER-USER');
  inNs(l.hostName, 'iptables', '-A', 'DOCKER-USER', '-j', 'RETURN');
  inNs(l.hostName, 'iptables', '-A', 'FORWARD', '-j', 'DOCKER-USER');
  inNs(l.hostName, 'iptables', '-P', 'FORWARD', 'DROP');
  const { net, c } = await setup(t, l, 'fwdu', '172.29.1.0/24');
  t.deepEqual(await traffic(l, c), { out: '203.0.113.128', inbound: OUTSIDE_ADDR });
  t.notRegex(inNs(l.hostName, 'iptables', '-S', 'FORWARD'), /netplumb/);
  t.regex(inNs(l.hostName, 'iptables', '-S', 'DOCKER-USER'), /^-A DOCKER-USER -o np-fwdu .*-j ACCEPT$/m);
  await net.remove({ force: true });
  t.notRegex(inNs(l.hostName, 'iptables', '-S'), /netplumb/);
  t.regex(inNs(l.hostName, 'iptables', '-S', 'DOCKER-USER'), /^-A DOCKER-USER -j RETURN$/m);
});

ptest('someone else\'s nftables forward chain with policy drop: accepts there, tagged, removed; the policy stays', async (t) => {
  const l = await lab(t);
  inNs(l.hostName, 'nft', 'add table inet fw; add chain inet fw fdrop { type filter hook forward priority 10; policy drop; }');
  const { net, c } = await setup(t, l, 'fwnft', '172.29.2.0/24');
  t.deepEqual(await traffic(l, c), { out: '203.0.113.128', inbound: OUTSIDE_ADDR });
  const chain = () => nftJson(l.hostName, 'list', 'chain', 'inet', 'fw', 'fdrop').nftables;
  t.is(chain().find((x) => x.chain)?.chain.policy, 'drop');
  t.is(chain().filter((x) => x.rule?.comment === 'netplumb net=fwnft').length, 2);
  await net.remove({ force: true });
  t.is(chain().filter((x) => x.rule).length, 0);
  t.is(chain().find((x) => x.chain)?.chain.policy, 'drop');
});

ptest('a create killed after its rules went in leaves accepts in the foreign chain that cleanupNetworks() removes', async (t) => {
  const l = await lab(t);
  inNs(l.hostName, 'iptables', '-P', 'FORWARD', 'DROP');
  const r = spawnSync(process.execPath, [CRASH_CREATE, l.hostName, 'fwcrash', '172.29.3.0/24', 'create:bridge'], { encoding: 'utf8' });
  t.is(r.signal, 'SIGKILL', r.stderr);
  t.regex(inNs(l.hostName, 'iptables', '-S', 'FORWARD'), /netplumb net=fwcrash/);
  const report = await cleanupNetworks({ netns: l.host });
  t.deepEqual(report.networks.map((n) => n.name), ['fwcrash']);
  t.is(report.rules.filter((x) => x.table === 'filter').length, 2);
  t.notRegex(inNs(l.hostName, 'iptables', '-S'), /netplumb/);
  t.regex(inNs(l.hostName, 'iptables', '-S', 'FORWARD'), /^-P FORWARD DROP$/m);
  t.deepEqual(nftJson(l.hostName, 'list', 'tables').nftables.filter((x) => x.table?.name === 'netplumb'), []);
  t.true(await unreachable(l.outside, HOST_ADDR, 8080));
  ip(l.hostName, 'link', 'show');
});
