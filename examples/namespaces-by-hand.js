// "Docker network notes": network namespaces and a veth pair made by hand (`ip netns add`,
// `ip link add veth-a type veth peer name veth-b`, `ip link set veth-b netns test1` ...),
// then the other way round: given a container, find its namespace (SandboxKey, or its
// process's /proc/PID/ns/net) and the host-side veth of its eth0 (what `ethtool -S eth0`
// peer_ifindex and `ip link` tell), and `docker network create` + `network connect`.
// Everything happens in namespaces this script creates ("lab-host" plays the host); the
// machine's own network is never touched. Run as root:
//   node test/sandbox.js node examples/namespaces-by-hand.js
import { spawn } from 'node:child_process';
import { readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { BridgeNetwork, Netns } from 'netplumb';

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

const host = await Netns.create('lab-host');
const made = [host];
const servers = [];
let sleeper;
try {
  await host.links.set('lo', { up: true });

  step('sudo ip netns add test1; ls /var/run/netns; sudo ip netns exec test1 ip a');
  const test1 = await Netns.create('test1');
  made.push(test1);
  const named = (await Netns.list()).filter((n) => n.names.length).map((n) => n.names.join(','));
  say(`  /run/netns: ${named.join('  ')}`);
  const inside = await test1.links.list();
  say(`  test1: ${inside.map((l) => `${l.index}: ${l.name} ${l.up ? 'UP' : 'DOWN'}`).join(', ')}`);
  check(named.includes('test1') && inside.length === 1 && inside[0].name === 'lo', 'a new namespace has only lo, down');

  step('ip link add veth-a type veth peer name veth-b; ip link set veth-b netns test1');
  await host.links.add({ kind: 'veth', name: 'veth-a', peer: { name: 'veth-b' } });
  await host.links.set('veth-b', { netns: test1 });
  check((await host.links.find('veth-b')) === undefined && (await test1.links.find('veth-b')) !== undefined, 'veth-b moved into test1');

  step('ip netns exec test1 ip addr add 192.168.2.2/24 dev veth-b; ip l set veth-b up (and the host end, 192.168.2.1/24)');
  await test1.addresses.add({ link: 'veth-b', address: '192.168.2.2/24' });
  await test1.links.set('veth-b', { up: true });
  await host.addresses.add({ link: 'veth-a', address: '192.168.2.1/24' });
  await host.links.set('veth-a', { up: true });
  servers.push(await serve(test1, 80, 'test1'));
  const hello = await ask(host, '192.168.2.2', 80);
  say(`  host -> 192.168.2.2:80: ${hello}`);
  check(hello === 'test1 sees 192.168.2.1', 'now we can reach 192.168.2.2');

  step('docker run -dt ubuntu sleep infinity: a container on docker0');
  const bridge = await BridgeNetwork.create({ netns: host, name: 'bridge', bridge: 'docker0', subnet: '172.17.0.0/16' });
  // No namespace given: the endpoint makes one, mounted like Docker's /var/run/docker/netns/<id>.
  const ep = await bridge.connect(undefined, { netnsName: '49d0bee36a5c' });
  say(`  docker inspect --format='{{.NetworkSettings.SandboxKey}}': ${ep.inspect().sandboxKey}`);
  say(`  docker inspect --format='{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}': ${ep.ipv4}`);

  step('How to find the veth of a container: nsenter --net=SANDBOXKEY ethtool -S eth0; ip link | grep PEER_IFINDEX');
  const sandbox = await Netns.open(ep.inspect().sandboxKey);
  const peer = await sandbox.vethPeer('eth0');
  const hostVeth = await host.links.get(peer.ifindex);
  const eth0 = await sandbox.links.get('eth0');
  say(`  NIC statistics: peer_ifindex: ${peer.ifindex}`);
  say(`  ${hostVeth.index}: ${hostVeth.name}@if${eth0.index} master ${(await host.links.get(hostVeth.master)).name} ${hostVeth.up ? 'UP' : 'DOWN'}`);
  check(peer.netns.inode === host.inode && hostVeth.name === ep.hostIfname, `the container's eth0 is the peer of ${hostVeth.name} on docker0 in the host`);
  peer.netns.close();

  step('...or, when SandboxKey is empty, from the container\'s PID: nsenter -t PID -n ethtool -S eth0');
  // A process living in the container's namespace, as `sleep infinity` does in Docker's.
  sleeper = sandbox.run(() => spawn('sleep', ['600'], { stdio: 'ignore' }));
  await new Promise((resolve, reject) => sleeper.once('spawn', resolve).once('error', reject));
  const byPid = await Netns.fromPid(sleeper.pid);
  const link = readlinkSync(`/proc/${sleeper.pid}/ns/net`);
  say(`  docker inspect --format='{{.State.Pid}}': ${sleeper.pid}; ls -l /proc/${sleeper.pid}/ns/net -> ${link}`);
  const peerByPid = await byPid.vethPeer('eth0');
  say(`  NIC statistics: peer_ifindex: ${peerByPid.ifindex}`);
  check(link === `net:[${sandbox.inode}]` && peerByPid.ifindex === hostVeth.index, 'the same namespace, the same host-side veth');
  peerByPid.netns.close();
  const listed = (await Netns.list()).find((n) => n.inode === sandbox.inode);
  say(`  lsns -t net: ${listed.inode} names ${listed.names.join(',')} pids ${listed.pids.join(',')}`);
  check(listed.pids.includes(sleeper.pid), 'the namespace is listed with its process');

  step(`sudo ln -s /proc/${sleeper.pid}/ns/net /var/run/netns/${sleeper.pid}; ip netns list`);
  symlinkSync(`/proc/${sleeper.pid}/ns/net`, `/run/netns/${sleeper.pid}`);
  try {
    const byName = await Netns.open(String(sleeper.pid));
    check(byName.inode === sandbox.inode, `/run/netns/${sleeper.pid} opens the container's namespace`);
    byName.close();
  } finally {
    unlinkSync(`/run/netns/${sleeper.pid}`);
  }

  step('docker network create -d bridge demo-bridge; docker network connect demo-bridge test1 / test2');
  const demo = await BridgeNetwork.create({ netns: host, name: 'demo-bridge', subnet: '172.19.0.0/16' });
  const t1 = await demo.connect(sandbox); // the container from above: its second interface
  const test2 = await Netns.create('test2');
  made.push(test2);
  const t2 = await demo.connect(test2);
  const [eth1] = await sandbox.addresses.list({ link: t1.ifname, family: 4 });
  say(`  docker exec test1 ip a | grep global: inet ${eth1.address}/${eth1.prefixlen} scope global ${t1.ifname}`);
  servers.push(await serve(test2, 80, 'test2'));
  const pong = await ask(sandbox, t2.ipv4, 80);
  say(`  test1 -> ${t2.ipv4}:80: ${pong}`);
  check(t1.ifname === 'eth1' && pong === `test2 sees ${t1.ipv4}`, 'a second network is a second interface, eth1, and its neighbours answer');

  for (const s of servers.splice(0)) s.close();
  sleeper.kill();
  byPid.close();
  sandbox.close();
  await Promise.all([t1.remove(), t2.remove()]);
  await ep.remove();
  await demo.remove();
  await bridge.remove();
} finally {
  for (const s of servers) s.close();
  if (sleeper && sleeper.exitCode === null) sleeper.kill();
  for (const ns of made.reverse()) await ns.delete();
}
say('\ndone: every step proven against the kernel and with real connections');
