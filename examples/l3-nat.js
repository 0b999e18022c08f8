// Layer 3 of Docker's default bridge, as "Exploring Default Docker Networking Part 2" walks
// it — with netplumb instead of dockerd: a container pings the host's own address (routing,
// no NAT), reaches a host on the LAN (MASQUERADE), a web server published on one host
// address (`-p HOSTIP:81:80`, DNAT keeping the client's address), and the filter table
// (`FORWARD policy DROP` with an accept for the published container port).
// The blog's host 172.16.211.128 and Host01 172.16.211.1 become TEST-NET-3 addresses
// 203.0.113.128 and 203.0.113.1, in namespaces this script creates ("lab-host", "lab-out");
// the machine's own network is never touched. Run as root:
//   node test/sandbox.js node examples/l3-nat.js
import { BridgeNetwork, Netns, nft } from 'netplumb';

const say = (...a) => console.log(...a);
const step = (s) => say(`\n# ${s}`);
function check(ok, what) {
  if (!ok) throw new Error(`not as expected: ${what}`);
  say(`  ok: ${what}`);
}
// A server that answers every connection with its name and the address it saw the client at.
const serve = (ns, port, name) => ns.listen({ port }, (s) => {
  // Closed as soon as the answer is written: no socket waits on a peer's FIN that may never come.
  s.end(`${name} sees ${s.remoteAddress}`, () => s.destroy());
});
// A client in `ns`: the server's answer, or the error code when there is none.
async function ask(ns, host, port, timeout = 5000) {
  try {
    const s = await ns.connect(port, host, { timeout });
    return await new Promise((resolve, reject) => {
      let answer = '';
      s.on('data', (d) => (answer += d));
      s.on('end', () => resolve(answer));
      s.on('error', reject);
    });
  } catch (e) {
    return e.code;
  }
}
// `ip route` (main table) of a namespace.
async function ipRoute(ns) {
  const names = new Map((await ns.links.list()).map((l) => [l.index, l.name]));
  return (await ns.routes.list({ family: 4, table: 'main' })).map((r) => `${r.dst === '0.0.0.0/0' ? 'default' : r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${names.get(r.oif)}${r.prefsrc ? ` src ${r.prefsrc}` : ''}`);
}
// A rule of netplumb's table, shortly: its expressions' kinds and its comment.
const rule = (r) => `${r.chain}: ${r.expressions.map((e) => e.kind).join(' ')}${r.comment ? `  # ${r.comment}` : ''}`;

const HOST = '203.0.113.128';
const HOST01 = '203.0.113.1';
const host = await Netns.create('lab-host');
const host01 = await Netns.create('lab-out');
const made = [host, host01];
const servers = [];
try {
  await host.links.set('lo', { up: true });
  await host01.links.set('lo', { up: true });
  await host.links.add({ kind: 'veth', name: 'ens160', up: true, peer: { name: 'eth0', netns: host01 } });
  await host01.links.set('eth0', { up: true });
  await host.addresses.add({ link: 'ens160', address: `${HOST}/24` });
  await host01.addresses.add({ link: 'eth0', address: `${HOST01}/24` });
  const bridge = await BridgeNetwork.create({ netns: host, name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16' });
  const c1 = await Netns.create('c1');
  const webNs = await Netns.create('web');
  made.push(c1, webNs);
  const ep1 = await bridge.connect(c1);
  // docker run -tid --name web -p 172.16.211.128:81:80 python:3; python -m http.server 80
  const web = await bridge.connect(webNs, { publish: [{ hostIp: HOST, hostPort: 81, containerPort: 80 }] });
  servers.push(await serve(webNs, 80, 'web'), await serve(webNs, 8000, 'web:8000'));
  servers.push(await serve(host, 7, 'the host'), await serve(host01, 80, 'Host01'));

  step(`A ping in the dark: c1 -> the host's ens160 address ${HOST}`);
  for (const r of await ipRoute(c1)) say(`  c1$ ip route: ${r}`);
  for (const r of await ipRoute(host)) say(`  host$ ip route: ${r}`);
  const via = await c1.routes.get(HOST);
  say(`  c1$ ip route get ${HOST}: via ${via.gateway} src ${via.prefsrc}`);
  check(via.gateway === '172.17.0.1', 'two layer-2 networks: the container routes through its gateway, docker0');
  const toHost = await ask(c1, HOST, 7);
  say(`  c1 -> ${HOST}:7: ${toHost}`);
  check(toHost === `the host sees ${ep1.ipv4}`, 'delivered to the host itself: routed, not translated');

  step(`c1 -> Host01 ${HOST01} on the LAN: the nat table's POSTROUTING MASQUERADE`);
  say(`  host$ sysctl net.ipv4.ip_forward = ${(await host.sysctl.get('net.ipv4.ip_forward')).trim()}`);
  const ruleset = await host.nft.list({ family: 'inet', table: 'netplumb' });
  for (const r of ruleset.rules.filter((r) => r.chain === 'postrouting' && r.expressions.some((e) => e.kind === 'masq'))) say(`  ${rule(r)}`);
  const toLan = await ask(c1, HOST01, 80);
  say(`  c1 -> ${HOST01}:80: ${toLan}`);
  check(toLan === `Host01 sees ${HOST}`, 'the source became the address of the interface it left by (ens160)');

  step(`Host01 browses http://${HOST}:81 — DNAT to web ${web.ipv4}:80`);
  const dnat = ruleset.sets.find((s) => s.name === 'ports4_addr');
  say(`  map ${dnat.name}: ${dnat.elements.length} element(s) (host address . protocol . port : container address . port)`);
  for (const [port, binds] of Object.entries(web.inspect().ports)) say(`  docker port web: ${port} -> ${binds.map((b) => `${b.hostIp}:${b.hostPort}`).join(', ')}`);
  const page = await ask(host01, HOST, 81);
  say(`  Host01 -> ${HOST}:81: ${page}`);
  check(page === `web sees ${HOST01}`, 'the container\'s log shows Host01\'s own address: only the destination was translated');
  await host.addresses.add({ link: 'ens160', address: '203.0.113.129/24' });
  const otherIp = await ask(host01, '203.0.113.129', 81);
  check(otherIp === 'ECONNREFUSED', `published on ${HOST} only: the host's other address 203.0.113.129:81 is not forwarded (${otherIp})`);

  step('A quick stop at the filter table: FORWARD policy DROP, accept what was published');
  // Host01 learns a route to the containers, so it could try them directly.
  await host01.routes.add({ dst: '172.17.0.0/16', gateway: HOST });
  // netplumb's own forward chain is closed by default: replies, and the published ports.
  for (const r of ruleset.rules.filter((r) => r.chain === 'forward')) say(`  ${rule(r)}`);
  const direct0 = await ask(host01, web.ipv4, 80);
  check(direct0 === `web sees ${HOST01}`, `Host01 -> ${web.ipv4}:80 directly: the published container port is accepted`);
  const unpublished0 = await ask(host01, web.ipv4, 8000, 1500);
  check(unpublished0 === 'ETIMEDOUT', `Host01 -> ${web.ipv4}:8000, never published: dropped (${unpublished0})`);
  // Docker's own filter table (iptables -L -t filter) does the same, made here with netplumb's
  // own nftables API: policy DROP; replies; docker0 out and within; DOCKER: the published
  // container port — its real address and port, because filtering comes after DNAT.
  const f = { family: 'ip', table: 'filter' };
  const tx = host.nft.transaction();
  tx.addTable({ family: 'ip', name: 'filter' });
  tx.addChain({ ...f, name: 'DOCKER' });
  tx.addChain({ ...f, name: 'FORWARD', type: 'filter', hook: 'forward', priority: 'filter', policy: 'drop' });
  tx.addRule({ ...f, chain: 'FORWARD', expressions: [nft.meta.oifname.eq('docker0'), nft.ct.state.in(['established', 'related']), nft.accept()].flat() });
  tx.addRule({ ...f, chain: 'FORWARD', expressions: [nft.meta.oifname.eq('docker0'), nft.jump('DOCKER')].flat() });
  tx.addRule({ ...f, chain: 'FORWARD', expressions: [nft.meta.iifname.eq('docker0'), nft.meta.oifname.ne('docker0'), nft.accept()].flat() });
  tx.addRule({ ...f, chain: 'FORWARD', expressions: [nft.meta.iifname.eq('docker0'), nft.meta.oifname.eq('docker0'), nft.accept()].flat() });
  tx.addRule({ ...f, chain: 'DOCKER', expressions: [nft.meta.iifname.ne('docker0'), nft.meta.oifname.eq('docker0'), nft.ip.daddr.eq(web.ipv4), nft.tcp.dport.eq(80), nft.accept()].flat() });
  await tx.commit();
  const filter = await host.nft.list({ family: 'ip', table: 'filter' });
  for (const r of filter.rules) say(`  ${rule(r)}`);
  const published = await ask(host01, HOST, 81);
  check(published === `web sees ${HOST01}`, `Host01 -> ${HOST}:81 still works: after DNAT it is ${web.ipv4}:80, which DOCKER accepts`);
  const direct = await ask(host01, web.ipv4, 80);
  check(direct === `web sees ${HOST01}`, `Host01 -> ${web.ipv4}:80 directly: the same accept`);
  const unpublished = await ask(host01, web.ipv4, 8000, 1500);
  check(unpublished === 'ETIMEDOUT', `Host01 -> ${web.ipv4}:8000, never published: dropped by the policy (${unpublished})`);
  const out = await ask(c1, HOST01, 80);
  check(out === `Host01 sees ${HOST}`, 'and containers still reach out: docker0 -> !docker0 accept, replies accepted');

  for (const s of servers.splice(0)) s.close();
  await Promise.all([ep1.remove(), web.remove()]);
  await bridge.remove();
} finally {
  for (const s of servers) s.close();
  for (const ns of made.reverse()) await ns.delete();
}
say('\ndone: routing, masquerade, DNAT and filtering proven with real connections');
