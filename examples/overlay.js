#!/usr/bin/env node
// An overlay network across three simulated hosts, fed by an orchestrator's store — the
// way flannel feeds its vxlan backend from etcd. netplumb builds no control plane: each
// host runs an agent that watches the store and tells its OverlayNetwork about the other
// hosts (addPeer/removePeer) and their endpoints (addRemoteEndpoint/removeRemoteEndpoint).
//
//   npm run build:ts && node test/sandbox.js node examples/overlay.js
//
// (The sandbox gives it a private network namespace: the "hosts" are namespaces on an
// underlay bridge, 198.51.100.0/24; nothing touches the machine's own network.)
import { EventEmitter } from 'node:events';
import { Netns, OverlayNetwork } from '../dist/index.js';

/** The orchestrator's store: keys under /hosts/ and /endpoints/, with a watch (etcd, the Kubernetes API ...). */
class Store extends EventEmitter {
  data = new Map();
  put(key, value) {
    this.data.set(key, value);
    this.emit('change', { type: 'put', key, value });
  }
  delete(key) {
    const value = this.data.get(key);
    this.data.delete(key);
    this.emit('change', { type: 'delete', key, value });
  }
  /** Calls `fn` for what is there, then for every change: a watch from revision 0. */
  watch(fn) {
    for (const [key, value] of this.data) fn({ type: 'put', key, value });
    this.on('change', fn);
  }
}

/** One host's agent: applies the store to this host's part of the overlay. */
function agent(store, net) {
  const work = [];
  store.watch((ev) => {
    const [, kind] = ev.key.split('/');
    const v = ev.value;
    if (v.vtep === net.local) return; // this host's own entries
    if (kind === 'hosts') work.push(ev.type === 'put' ? net.addPeer({ vtep: v.vtep }) : net.removePeer(v.vtep));
    if (kind === 'endpoints') work.push(ev.type === 'put' ? net.addRemoteEndpoint(v) : net.removeRemoteEndpoint(v.ip));
  });
  return { settled: () => Promise.all(work.splice(0)) };
}

const store = new Store();
const hosts = [];
const underlay = await Netns.create();
await underlay.links.add({ kind: 'bridge', name: 'ul0', up: true });

for (let i = 1; i <= 3; i++) {
  // A host: its own namespace, its underlay NIC eth0 on the underlay bridge.
  const host = await Netns.create();
  await underlay.links.add({ kind: 'veth', name: `h${i}`, master: 'ul0', up: true, peer: { name: 'eth0', netns: host } });
  await host.addresses.add({ link: 'eth0', address: `198.51.100.${10 + i}/24` });
  await host.links.set('eth0', { up: true });
  await host.links.set('lo', { up: true });
  // Its part of the overlay: its own block of 10.200.0.0/16 (no coordination needed).
  const net = await OverlayNetwork.create({ netns: host, name: 'demo', subnet: '10.200.0.0/16', vni: 100, underlay: 'eth0', hostIndex: i, static: true });
  hosts.push({ host, net, agent: agent(store, net) });
  store.put(`/hosts/${i}`, { vtep: net.local });
}

// Containers: each host connects one, and publishes it in the store.
const containers = [];
for (const h of hosts) {
  const ep = await h.net.connect();
  containers.push(ep);
  store.put(`/endpoints/${ep.id}`, { vtep: h.net.local, mac: ep.mac, ip: ep.ipv4 });
}
await Promise.all(hosts.map((h) => h.agent.settled()));

for (const h of hosts) {
  const { peers, remoteEndpoints } = await h.net.peers();
  console.log(`host ${h.net.local} (${h.net.ipRange}): peers ${peers.map((p) => p.vtep).join(', ')}; remote endpoints ${remoteEndpoints.map((e) => e.ip).join(', ')}`);
}

// Traffic across hosts: a server in container 3, a client in container 1.
const [c1, , c3] = containers;
const server = await c3.netns.listen({ port: 80 }, (s) => s.end(`hello from ${c3.ipv4} to ${s.remoteAddress}\n`));
const sock = await c1.netns.connect(80, c3.ipv4);
console.log((await new Promise((r) => { let t = ''; sock.on('data', (d) => (t += d)); sock.on('end', () => r(t)); })).trim());
server.close();

// A host leaves: the store says so, every agent removes it.
store.delete('/hosts/2');
await Promise.all(hosts.map((h) => h.agent.settled()));
console.log(`after host 2 left, host 1 knows: ${(await hosts[0].net.peers()).peers.map((p) => p.vtep).join(', ')}`);

for (const h of hosts) {
  await h.net.remove({ force: true });
  h.host.close();
}
underlay.close();
