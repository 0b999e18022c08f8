// Docker's default bridge, step by step, as the walkthrough "Docker Networking" (containers
// and network namespaces) explores it — with netplumb instead of dockerd:
//   docker0 → `docker run -d nginx` (a namespace, a veth, eth0 172.17.0.2) → `curl 172.17.0.2`
//   → the host-side veth → `docker rm -f` → two containers see each other → another machine
//   cannot → `docker run -d -p 8080:80 nginx` → `curl http://localhost:8080`.
// The whole lab lives in namespaces this script creates: "lab-host" plays the Docker host,
// "lab-out" another machine on its LAN (TEST-NET-3 addresses); the machine's own network is
// never touched. Run as root: node test/sandbox.js node examples/default-bridge.js
import { BridgeNetwork, Netns } from 'netplumb';

const say = (...a) => console.log(...a);
const step = (s) => say(`\n# ${s}`);
function check(ok, what) {
  if (!ok) throw new Error(`not as expected: ${what}`);
  say(`  ok: ${what}`);
}
// An "nginx": answers every connection with its name and the address it saw the client at.
const serve = (ns, port, name) => ns.listen({ port }, (s) => {
  // Closed as soon as the answer is written: no socket waits on a peer's FIN that may never come.
  s.end(`${name} sees ${s.remoteAddress}`, () => s.destroy());
});
// A client in `ns` ("curl"): the server's answer, or the error code when there is none.
async function curl(ns, host, port, timeout = 5000) {
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

// The Docker host with an uplink ens160 (203.0.113.128/24) to another machine, 203.0.113.1.
const host = await Netns.create('lab-host');
const outside = await Netns.create('lab-out');
const made = [host, outside];
try {
  await host.links.set('lo', { up: true });
  await outside.links.set('lo', { up: true });
  await host.links.add({ kind: 'veth', name: 'ens160', up: true, peer: { name: 'eth0', netns: outside } });
  await outside.links.set('eth0', { up: true });
  await host.addresses.add({ link: 'ens160', address: '203.0.113.128/24' });
  await outside.addresses.add({ link: 'eth0', address: '203.0.113.1/24' });

  step('Installing Docker creates docker0 (ip link show docker0; ip addr show docker0)');
  const bridge = await BridgeNetwork.create({ netns: host, name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16' });
  const docker0 = await host.links.get('docker0');
  const [gw] = await host.addresses.list({ link: 'docker0', family: 4 });
  say(`  ${docker0.index}: docker0 up=${docker0.up} operstate=${docker0.operstate} link/ether ${docker0.address}`);
  say(`  inet ${gw.address}/${gw.prefixlen}`);
  check(gw.address === '172.17.0.1' && gw.prefixlen === 16, 'docker0 has 172.17.0.1/16');

  step('docker run -d nginx: a namespace of its own, joined to docker0 by a veth pair');
  const nginx = await Netns.create('nginx');
  made.push(nginx);
  const ep = await bridge.connect(nginx);
  const settings = ep.inspect();
  say(`  docker inspect: SandboxKey ${settings.sandboxKey}  Gateway ${settings.gateway}  IPAddress ${settings.ipAddress}  IPPrefixLen ${settings.ipPrefixLen}  MacAddress ${settings.macAddress}`);
  check(settings.ipAddress === '172.17.0.2' && settings.macAddress === '02:42:ac:11:00:02' && settings.gateway === '172.17.0.1', 'address, MAC and gateway as Docker gives them');
  const web = await serve(nginx, 80, 'nginx');

  step('curl 172.17.0.2 from the host');
  const page = await curl(host, '172.17.0.2', 80);
  say(`  ${page}`);
  check(page === 'nginx sees 172.17.0.1', 'the host reaches the container on the bridge, from the gateway address');

  step('ip addr | grep docker on the host; nsenter -n ip addr in the container');
  const hostVeth = await host.links.get(ep.hostIfname);
  say(`  host: ${hostVeth.index}: ${hostVeth.name}@if${hostVeth.link} master ${(await host.links.get(hostVeth.master)).name} up=${hostVeth.up}`);
  const eth0 = await nginx.links.get('eth0');
  const [inet] = await nginx.addresses.list({ link: 'eth0', family: 4 });
  say(`  container: ${eth0.index}: eth0@if${eth0.link} link/ether ${eth0.address} link-netnsid ${eth0.linkNetnsid}  inet ${inet.address}/${inet.prefixlen}`);
  check(hostVeth.master === docker0.index && hostVeth.link === eth0.index && eth0.link === hostVeth.index, `${hostVeth.name} on docker0 is the peer of the container's eth0`);

  step('docker container rm --force: the host-side veth goes with the container');
  web.close();
  await ep.remove();
  await nginx.delete();
  made.pop();
  let left = await host.links.find(hostVeth.name);
  for (let i = 0; left && i < 100; i++) {
    // The kernel destroys a dropped namespace's links in the background.
    await new Promise((r) => setTimeout(r, 20));
    left = await host.links.find(hostVeth.name);
  }
  check(left === undefined, `${hostVeth.name} is gone`);
  const ports = (await host.links.list()).filter((l) => l.master === docker0.index);
  check(ports.length === 0, 'docker0 has no port left (NO-CARRIER)');

  step('docker run -d --name=nginx nginx; docker run -it --name ubuntu ubuntu: containers on docker0 see each other');
  const c1 = await Netns.create('nginx');
  const c2 = await Netns.create('ubuntu');
  made.push(c1, c2);
  const ep1 = await bridge.connect(c1);
  const ep2 = await bridge.connect(c2);
  const server1 = await serve(c1, 80, 'nginx');
  const seen = await curl(c2, ep1.ipv4, 80);
  say(`  ubuntu -> ${ep1.ipv4}:80: ${seen}`);
  check(seen === `nginx sees ${ep2.ipv4}`, 'container to container across docker0, no NAT');

  step('Any other machine will not see it: 172.17.0.0/16 exists only on this host');
  const fromOutside = await curl(outside, ep1.ipv4, 80, 1500);
  say(`  203.0.113.1 -> ${ep1.ipv4}:80: ${fromOutside}`);
  check(fromOutside === 'ENETUNREACH', 'no route to the bridge subnet from outside');

  step('docker run -d -p 8080:80 nginx (the DNAT rule iptables -t nat shows)');
  const c3 = await Netns.create('published');
  made.push(c3);
  const ep3 = await bridge.connect(c3, { publish: [{ hostPort: 8080, containerPort: 80 }] });
  const server3 = await serve(c3, 80, 'published nginx');
  for (const [port, binds] of Object.entries(ep3.inspect().ports)) say(`  docker port: ${port} -> ${binds.map((b) => `${b.hostIp}:${b.hostPort}`).join(', ')}`);
  const local = await curl(host, '127.0.0.1', 8080);
  say(`  curl http://localhost:8080: ${local}`);
  check(local === 'published nginx sees 172.17.0.1', 'the host reaches the published port on localhost');
  const remote = await curl(outside, '203.0.113.128', 8080);
  say(`  curl http://203.0.113.128:8080 from the other machine: ${remote}`);
  check(remote === 'published nginx sees 203.0.113.1', 'the other machine reaches it on the host address, its own address kept (DNAT)');

  server1.close();
  server3.close();
  await Promise.all([ep1.remove(), ep2.remove(), ep3.remove()]);
  await bridge.remove();
} finally {
  for (const ns of made.reverse()) await ns.delete();
}
say('\ndone: every step proven with a real connection');
