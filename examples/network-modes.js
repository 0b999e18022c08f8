// Docker's five network modes, as the walkthrough "Networking with Docker" (Docker
// networking types) shows them — with netplumb instead of dockerd:
//   --net=host · the default bridge (+ -p 8080:80, masquerade) · a user-defined bridge
//   (`docker network create mynetwork`) · --network=container:container-a · --net=none.
// The whole lab lives in namespaces this script creates: "lab-host" plays the Docker host,
// "lab-out" a machine on the Internet side (TEST-NET-3 addresses); the machine's own
// network is never touched. Run as root: node test/sandbox.js node examples/network-modes.js
import { BridgeNetwork, Netns } from 'netplumb';

const say = (...a) => console.log(...a);
const step = (s) => say(`\n# ${s}`);
function check(ok, what) {
  if (!ok) throw new Error(`not as expected: ${what}`);
  say(`  ok: ${what}`);
}
// A server that answers every connection with its name and the address it saw the client at.
const serve = (ns, port, name, host) => ns.listen({ port, ...(host ? { host } : {}) }, (s) => {
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
// `ip addr` of a namespace, one line per address.
async function ipAddr(ns) {
  const links = new Map((await ns.links.list()).map((l) => [l.index, l.name]));
  return (await ns.addresses.list({ family: 4 })).map((a) => `${links.get(a.index)} ${a.address}/${a.prefixlen}`);
}

const host = await Netns.create('lab-host');
const outside = await Netns.create('lab-out');
const made = [host, outside];
const closing = [];
try {
  await host.links.set('lo', { up: true });
  await outside.links.set('lo', { up: true });
  await host.links.add({ kind: 'veth', name: 'eth0', up: true, peer: { name: 'eth0', netns: outside } });
  await outside.links.set('eth0', { up: true });
  await host.addresses.add({ link: 'eth0', address: '203.0.113.128/24' });
  await outside.addresses.add({ link: 'eth0', address: '203.0.113.1/24' });
  closing.push(await serve(outside, 80, 'internet'));
  const bridge = await BridgeNetwork.create({ netns: host, name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16' });

  step('docker run --rm --net=host busybox ip addr: no namespace of its own');
  const hostMode = await Netns.open(host.path); // the "container" is just another handle on the host's namespace
  const seenByHost = await ipAddr(host);
  const seenByContainer = await ipAddr(hostMode);
  say(`  host:      ${seenByHost.join(', ')}`);
  say(`  container: ${seenByContainer.join(', ')}`);
  check(hostMode.inode === host.inode && seenByContainer.join() === seenByHost.join(), 'the container sees the host\'s interfaces and addresses');
  const nginx1 = await serve(hostMode, 80, 'nginx on the host network');
  closing.push(nginx1);
  const fromLan = await ask(outside, '203.0.113.128', 80);
  say(`  203.0.113.1 -> 203.0.113.128:80: ${fromLan}`);
  check(fromLan === 'nginx on the host network sees 203.0.113.1', 'its port 80 is the host\'s port 80');
  let second = 'listening';
  try {
    closing.push(await serve(hostMode, 80, 'a second nginx'));
  } catch (e) {
    second = e.code;
  }
  say(`  a second --net=host nginx on port 80: ${second}`);
  check(second === 'EADDRINUSE', 'bind() to 0.0.0.0:80 failed (98: Address already in use)');
  hostMode.close();

  step('docker run -it --rm busybox (the default bridge): ip addr, ip route inside');
  const busybox = await Netns.create('busybox');
  made.push(busybox);
  const ep = await bridge.connect(busybox);
  say(`  ip addr: ${(await ipAddr(busybox)).join(', ')}`);
  for (const r of (await busybox.routes.list({ family: 4 })).filter((r) => r.table === 254)) {
    say(`  ip route: ${r.dst === '0.0.0.0/0' ? 'default' : r.dst}${r.gateway ? ` via ${r.gateway}` : ''} dev ${(await busybox.links.get(r.oif)).name}`);
  }
  const route = await busybox.routes.get('203.0.113.1');
  check(route.gateway === '172.17.0.1', 'eth0 172.17.0.2/16, default via 172.17.0.1');
  say(`  host side: ${ep.hostIfname}, a port of docker0`);
  const out = await ask(busybox, '203.0.113.1', 80);
  say(`  busybox -> 203.0.113.1:80: ${out}`);
  check(out === 'internet sees 203.0.113.128', 'outbound traffic leaves with the host\'s address (MASQUERADE)');

  step('docker run -p 8080:80 --name web -d nginx');
  const webNs = await Netns.create('web');
  made.push(webNs);
  const web = await bridge.connect(webNs, { publish: [{ hostPort: 8080, containerPort: 80 }] });
  closing.push(await serve(webNs, 80, 'web'));
  say(`  docker inspect web --format '{{json .NetworkSettings.IPAddress}}': "${web.ipv4}"`);
  const published = await ask(outside, '203.0.113.128', 8080);
  say(`  203.0.113.1 -> 203.0.113.128:8080: ${published}`);
  check(published === 'web sees 203.0.113.1', 'the published port, DNATed to 80 in the container');
  const unpublished = await ask(outside, web.ipv4, 80, 1500);
  check(unpublished === 'ENETUNREACH', `and nothing else: ${web.ipv4} is not reachable from outside (${unpublished})`);

  step('docker network create mynetwork; container-a and container-b on it');
  const mynetwork = await BridgeNetwork.create({ netns: host, name: 'mynetwork', subnet: '172.18.0.0/16' });
  const a = await Netns.create('container-a');
  const b = await Netns.create('container-b');
  made.push(a, b);
  const epA = await mynetwork.connect(a);
  const epB = await mynetwork.connect(b);
  closing.push(await serve(a, 5432, 'database'));
  const db = await ask(b, epA.ipv4, 5432);
  say(`  container-b -> container-a ${epA.ipv4}:5432: ${db}`);
  check(db === `database sees ${epB.ipv4}`, 'containers of one user-defined bridge reach each other\'s ports, nothing published');
  const isolated = await ask(busybox, epA.ipv4, 5432, 1500);
  say(`  busybox (default bridge) -> container-a: ${isolated}`);
  check(isolated === 'ETIMEDOUT', 'another bridge network cannot reach it (isolation)');
  const both = await mynetwork.connect(webNs); // `docker network connect mynetwork web`: eth1
  const fromBoth = await ask(webNs, epA.ipv4, 5432);
  say(`  web, now also on mynetwork as ${both.ifname} ${both.ipv4} -> container-a: ${fromBoth}`);
  check(fromBoth === `database sees ${both.ipv4}`, 'a container on both networks reaches both');

  step('docker run --name=container-b2 --network=container:container-a busybox: one namespace, two containers');
  const sidecar = await Netns.open(a.path);
  closing.push(await serve(a, 9000, 'container-a on localhost', '127.0.0.1'));
  const lo = await ask(sidecar, '127.0.0.1', 9000);
  say(`  container-b2 -> 127.0.0.1:9000: ${lo}`);
  check(lo === 'container-a on localhost sees 127.0.0.1', 'they share localhost');
  check((await ipAddr(sidecar)).join() === (await ipAddr(a)).join(), 'and the same address');
  sidecar.close();

  step('docker run --net=none --name busybox busybox ip a');
  const none = await Netns.create('none');
  made.push(none);
  await none.links.set('lo', { up: true });
  const links = await none.links.list();
  say(`  ip a: ${links.map((l) => `${l.name} ${l.up ? 'UP' : 'DOWN'}`).join(', ')}; ${(await ipAddr(none)).join(', ')}`);
  const nowhere = await ask(none, '203.0.113.1', 80, 1500);
  check(links.length === 1 && links[0].name === 'lo' && nowhere === 'ENETUNREACH', `loopback only, no way out (${nowhere})`);

  for (const s of closing) s.close();
  await Promise.all([ep.remove(), web.remove(), both.remove(), epA.remove(), epB.remove()]);
  await bridge.remove();
  await mynetwork.remove();
} finally {
  for (const s of closing) s.close();
  for (const ns of made.reverse()) if (!ns.closed) await ns.delete();
}
say('\ndone: every mode proven with a real connection');
