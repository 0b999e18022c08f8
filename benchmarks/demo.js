#!/usr/bin/env node
// The main job: builds the lab of Docker's default-networking walkthrough with netplumb
// alone, prints what `docker network inspect`, `docker inspect`, `docker port` and the
// NAT rules would show, proves each traffic path with a real TCP/UDP exchange, and tears
// everything down. Run it as `npm run demo` (as root): it runs inside a throwaway
// sandbox (new network + mount namespace), so the machine's own network is never touched.
import { execFileSync } from 'node:child_process';
import { BridgeNetwork, Netns, RtnlBatch } from '../dist/index.js';

if (process.env.NETPLUMB_SANDBOX !== '1') {
  console.error('demo: run it with `npm run demo` (as root), which puts it in a throwaway sandbox');
  process.exit(1);
}

const HOST = '203.0.113.128';
const OUTSIDE = '203.0.113.1';
const say = (s = '') => console.log(s);
const title = (s) => say(`\n== ${s} ${'='.repeat(Math.max(0, 74 - s.length))}`);

// The lab: this sandbox's namespace plays the Docker host; "outside" is another host on
// the uplink (TEST-NET-3 addresses), joined by a veth created in one message.
const host = await Netns.current();
const outside = await Netns.create('outside');
const uplink = await host.links.add({ kind: 'veth', name: 'ens160', up: true, peer: { name: 'wan', netns: outside } });
const wan = (await outside.links.get('wan')).index;
await new RtnlBatch(host).linkSet(1, { up: true }).addressAdd({ link: uplink.index, address: `${HOST}/24` }).commit();
await new RtnlBatch(outside).linkSet(1, { up: true }).linkSet(wan, { up: true }).addressAdd({ link: wan, address: `${OUTSIDE}/24` }).commit();

// docker0 and a user-defined network, as `docker network create` makes them.
const bridge = await BridgeNetwork.create({ netns: host, name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16' });
const user = await BridgeNetwork.create({ netns: host, name: 'user', bridge: 'br-user', subnet: '172.18.0.0/16', subnet6: 'fd00:18::/64' });

// Containers: c1, c2 on the default bridge; web publishes 80 as 81 (`docker run -p 81:80`)
// and 53/udp as 5353; u1 on the user network; both on the two networks; c2 also has a
// sidecar sharing its namespace (`--network container:c2`); none has only loopback.
const c1 = await Netns.create('c1');
const c2 = await Netns.create('c2');
const web = await Netns.create('web');
const u1 = await Netns.create('u1');
const both = await Netns.create('both');
const none = await Netns.create('none');
const eps = {
  c1: await bridge.connect(c1),
  c2: await bridge.connect(c2),
  web: await bridge.connect(web, { publish: [{ hostPort: 81, containerPort: 80 }, { hostPort: 5353, containerPort: 53, protocol: 'udp' }] }),
  u1: await user.connect(u1),
  bothA: await bridge.connect(both),
  bothB: await user.connect(both),
};
await none.links.set('lo', { up: true });
// The outside host knows the way to the containers (as a router upstream might): only
// published ports and replies may pass all the same.
await outside.routes.add({ dst: '172.17.0.0/16', gateway: HOST });
const sidecar = await Netns.open('/run/netns/c2');

title('docker network inspect bridge user');
for (const n of [bridge, user]) say(JSON.stringify(await n.inspect(), null, 2));
title('docker inspect (NetworkSettings) and docker port web');
for (const [name, ep] of Object.entries(eps)) {
  const i = ep.inspect();
  say(`${name.padEnd(6)} ${i.ifname} ${String(i.ipAddress).padEnd(11)} ${i.macAddress}  gw ${i.gateway ?? '-'}  ${i.globalIPv6Address ?? ''}  host veth ${i.hostIfname}  sandbox ${i.sandboxKey}`);
}
for (const [port, binds] of Object.entries(eps.web.inspect().ports)) say(`web ${port} -> ${binds.map((b) => `${b.hostIp}:${b.hostPort}`).join(', ')}`);
title('Network namespaces (ip netns / lsns -t net)');
for (const i of await Netns.list()) say(`${i.inode}  names: ${i.names.join(',') || '-'}  pids: ${i.pids.length}`);

title('NAT and filter rules (nft list table inet netplumb)');
try {
  say(execFileSync('nft', ['list', 'table', 'inet', 'netplumb'], { encoding: 'utf8' }));
} catch {
  // Without the nft tool, show our own read-back.
  const rs = await host.nft.list({ family: 'inet', table: 'netplumb' });
  for (const r of rs.rules) say(`${r.chain}: ${r.expressions.map((e) => e.kind).join(' ')}${r.comment ? ` # ${r.comment}` : ''}`);
}

// Every server answers with the address it sees the client coming from.
const servers = [];
const whoami = async (ns, port, hostAddr) => servers.push(await ns.listen({ port, ...(hostAddr ? { host: hostAddr } : {}) }, (s) => s.end(`${s.remoteAddress}`)));
await whoami(c1, 80);
await whoami(web, 80);
await whoami(u1, 80);
await whoami(outside, 8000);
await whoami(c2, 9000, '127.0.0.1');
const udp = await web.udpSocket({ port: 53 });
udp.on('message', (m, r) => udp.send(r.address, r.port, r.address));

async function tcp(from, addr, port) {
  try {
    const s = await from.connect(port, addr, { timeout: 1000 });
    return await new Promise((resolve) => {
      let acc = '';
      s.on('data', (d) => (acc += d));
      s.on('end', () => resolve(`answered, seen from ${acc}`));
      s.on('error', (e) => resolve(`error ${e.code}`));
    });
  } catch (e) {
    return e.code === 'ETIMEDOUT' ? 'blocked (no answer)' : `refused (${e.code})`;
  }
}
async function udpAsk(from, addr, port) {
  const s = await from.udpSocket();
  const answer = await Promise.race([
    new Promise((r) => {
      s.once('message', (m) => r(`answered, seen from ${m}`));
      s.send('who', port, addr);
    }),
    new Promise((r) => setTimeout(() => r('blocked (no answer)'), 1000)),
  ]);
  s.close();
  return answer;
}

title('Traffic paths');
const paths = [
  ['c2 -> c1:80 (same bridge)', () => tcp(c2, eps.c1.ipv4, 80)],
  [`outside -> ${HOST}:81 -> web:80 (published, DNAT)`, () => tcp(outside, HOST, 81)],
  [`outside -> ${HOST}:5353/udp -> web:53`, () => udpAsk(outside, HOST, 5353)],
  [`outside -> c1 ${eps.c1.ipv4}:80 routed (unpublished: closed)`, () => tcp(outside, eps.c1.ipv4, 80)],
  [`c1 -> outside ${OUTSIDE}:8000 (masquerade)`, () => tcp(c1, OUTSIDE, 8000)],
  ['host -> 127.0.0.1:81 -> web:80', () => tcp(host, '127.0.0.1', 81)],
  [`host -> ${HOST}:81 -> web:80`, () => tcp(host, HOST, 81)],
  [`host -> ${eps.c1.ipv4}:80 (container address)`, () => tcp(host, eps.c1.ipv4, 80)],
  [`c1 -> ${HOST}:81 -> web:80 (hairpin)`, () => tcp(c1, HOST, 81)],
  [`web -> ${HOST}:81 -> itself (hairpin)`, () => tcp(web, HOST, 81)],
  [`c1 -> u1 ${eps.u1.ipv4}:80 (other network: isolated)`, () => tcp(c1, eps.u1.ipv4, 80)],
  [`both -> c1 ${eps.c1.ipv4}:80 (on both networks)`, () => tcp(both, eps.c1.ipv4, 80)],
  [`both -> u1 ${eps.u1.ipv4}:80 (on both networks)`, () => tcp(both, eps.u1.ipv4, 80)],
  ['sidecar (container:c2) -> 127.0.0.1:9000 in c2', () => tcp(sidecar, '127.0.0.1', 9000)],
  [`none -> ${OUTSIDE}:8000 (network none)`, () => tcp(none, OUTSIDE, 8000)],
];
for (const [label, run] of paths) say(`${label.padEnd(58)} ${await run()}`);

// `--graph FILE`: the picture of this lab, drawn by the CLI from the kernel (docs/lab.svg).
const graphAt = process.argv.indexOf('--graph');
if (graphAt !== -1 && process.argv[graphAt + 1]) {
  const file = process.argv[graphAt + 1];
  const bin = new URL('../bin/netplumb.js', import.meta.url).pathname;
  execFileSync(process.execPath, [bin, 'graph', '--title', "netplumb demo: the walkthrough's Docker host", '-o', file], { stdio: 'inherit' });
  title(`netplumb graph -o ${file}`);
  say(`the picture of this lab: ${file}`);
}

title('Teardown');
for (const s of servers) s.close();
udp.close();
sidecar.close();
await Promise.all(Object.values(eps).map((e) => e.remove()));
await bridge.remove();
await user.remove();
for (const ns of [c1, c2, web, u1, both, none, outside]) await ns.delete();
await host.links.delete('ens160');
const left = (await host.links.list()).map((l) => l.name);
const tables = (await host.nft.listTables()).map((t) => `${t.family} ${t.name}`);
say(`links left: ${left.join(', ')}; nftables tables left: ${tables.length ? tables.join(', ') : 'none'}; named namespaces left: ${(await Netns.list()).filter((i) => i.names.length).length}`);
host.close();
