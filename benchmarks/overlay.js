#!/usr/bin/env node
// Overlay control-plane costs (issue 14): what adding one peer and one remote endpoint
// costs, and what a connect costs on a host that knows 100 peers × 10 remote endpoints
// each, against one that knows none. One host namespace with an underlay NIC; the peers'
// VTEPs are addresses where nobody listens (the cost measured is the host's own kernel
// state, which is all a peer adds).
//
//   npm run build:ts && node test/sandbox.js node benchmarks/overlay.js [--json]
import { performance } from 'node:perf_hooks';
import { Netns, OverlayNetwork } from '../dist/index.js';

const PEERS = 100;
const PER_PEER = 10;
const CONNECTS = 20;

function stats(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, medianMs: +q(0.5).toFixed(3), p90Ms: +q(0.9).toFixed(3), meanMs: +(s.reduce((a, b) => a + b, 0) / s.length).toFixed(3) };
}

async function timed(fn) {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

const host = await Netns.create();
const wire = await Netns.create();
await host.links.add({ kind: 'veth', name: 'eth0', peer: { name: 'wire', netns: wire } });
await host.addresses.add({ link: 'eth0', address: '198.51.100.1/16' });
await host.links.set('eth0', { up: true });
await host.links.set('lo', { up: true });

const net = await OverlayNetwork.create({ netns: host, name: 'bench', subnet: '10.200.0.0/16', vni: 1, underlay: 'eth0', hostIndex: 1, static: true });

async function connects() {
  const ms = [];
  for (let i = 0; i < CONNECTS; i++) {
    let ep;
    ms.push(await timed(async () => (ep = await net.connect())));
    await ep.remove();
  }
  return stats(ms);
}

const connectAt0 = await connects();
const peerMs = [];
const endpointMs = [];
for (let p = 0; p < PEERS; p++) {
  const vtep = `198.51.${101 + Math.floor(p / 250)}.${(p % 250) + 2}`;
  peerMs.push(await timed(() => net.addPeer({ vtep })));
  for (let e = 0; e < PER_PEER; e++) {
    const n = p * PER_PEER + e;
    const mac = `02:00:00:00:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
    endpointMs.push(await timed(() => net.addRemoteEndpoint({ vtep, mac, ip: `10.200.${100 + (n >> 8)}.${(n & 255) + 0}` })));
  }
}
const known = await net.peers();
const connectAtScale = await connects();
const inspectMs = await timed(() => net.inspect());
const removePeerMs = await timed(() => net.removePeer('198.51.101.2'));

const result = {
  benchmark: 'overlay',
  peers: known.peers.length,
  remoteEndpoints: known.remoteEndpoints.length,
  addPeer: stats(peerMs),
  addRemoteEndpoint: stats(endpointMs),
  connectWithNoPeers: connectAt0,
  [`connectWith${PEERS}PeersX${PER_PEER}Endpoints`]: connectAtScale,
  inspectAtScaleMs: +inspectMs.toFixed(3),
  removePeerWith10EndpointsMs: +removePeerMs.toFixed(3),
};
await net.remove({ force: true });
host.close();
wire.close();
if (process.argv.includes('--json')) console.log(JSON.stringify(result));
else {
  console.log(`overlay: ${result.peers} peers, ${result.remoteEndpoints} remote endpoints`);
  console.log(`  addPeer             median ${result.addPeer.medianMs} ms  p90 ${result.addPeer.p90Ms} ms  (n=${result.addPeer.n})`);
  console.log(`  addRemoteEndpoint   median ${result.addRemoteEndpoint.medianMs} ms  p90 ${result.addRemoteEndpoint.p90Ms} ms  (n=${result.addRemoteEndpoint.n})`);
  console.log(`  connect, no peers   median ${connectAt0.medianMs} ms  p90 ${connectAt0.p90Ms} ms`);
  console.log(`  connect, ${PEERS}×${PER_PEER}     median ${connectAtScale.medianMs} ms  p90 ${connectAtScale.p90Ms} ms`);
  console.log(`  inspect at scale ${result.inspectAtScaleMs} ms; removePeer (10 endpoints behind it) ${result.removePeerWith10EndpointsMs} ms`);
}
