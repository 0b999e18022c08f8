#!/usr/bin/env node
// The long run: 10,000 connect/remove cycles (every kind of endpoint, a published port
// each, a few always live), with real traffic through a live endpoint's published port
// every 1,000 cycles. Run by CI on its own, not by npm test (minutes, not seconds):
//
//   node test/sandbox.js node test/soak.js [CYCLES]
//
// Prints one JSON line per sample and a summary; exits non-zero if open fds, heap, RSS or
// kernel objects (links, nftables elements, /run/netns entries) grew, or traffic failed.
import { BridgeNetwork, Netns } from '../dist/index.js';
import { runCycles, sample, settle } from './fixtures/reliability/cycles.js';

const CYCLES = Number(process.argv[2] ?? 10000);
const EVERY = Math.max(1, Math.min(1000, Math.floor(CYCLES / 10)));
/** Growth allowed between the first sample (after warm-up) and the last. */
const HEAP_GROWTH_MIB = 8;
const RSS_GROWTH_MIB = 64;

if (process.env.NETPLUMB_SANDBOX !== '1') {
  console.error('soak: run me inside the sandbox: node test/sandbox.js node test/soak.js');
  process.exit(2);
}

const HOST_ADDR = '203.0.113.128';
const OUTSIDE_ADDR = '203.0.113.1';
const host = await Netns.create(`soakh${process.pid}`);
const outside = await Netns.create(`soako${process.pid}`);
await host.links.set('lo', { up: true });
await outside.links.set('lo', { up: true });
await host.links.add({ kind: 'veth', name: 'uplink', up: true, peer: { name: 'wan', netns: outside } });
await host.addresses.add({ link: 'uplink', address: `${HOST_ADDR}/24` });
await outside.addresses.add({ link: 'wan', address: `${OUTSIDE_ADDR}/24` });
await outside.links.set('wan', { up: true });
const net = await BridgeNetwork.create({ netns: host, name: 'soak', subnet: '10.120.0.0/16' });

/** One request from the outside host to HOST_ADDR:port; resolves with what the server said. */
async function request(port) {
  const s = await outside.connect(port, HOST_ADDR, { timeout: 3000 });
  return new Promise((resolve, reject) => {
    let acc = '';
    s.on('data', (d) => (acc += d));
    s.on('end', () => resolve(acc.trim()));
    s.on('error', reject);
    s.setTimeout(3000, () => reject(new Error('read timed out')));
  }).finally(() => s.destroy());
}

const baseLinks = (await host.links.list()).length;
const failures = [];
const samples = [];
const t0 = Date.now();
/** Traffic through the newest live endpoint's published port; records a failure. */
async function traffic(done, live) {
  // The kernel lists exactly the endpoints this process holds.
  const listed = (await net.endpoints()).map((e) => e.id).sort();
  if (JSON.stringify(listed) !== JSON.stringify(live.map((e) => e.id).sort())) failures.push(`cycle ${done}: the kernel lists ${listed.length} endpoints, ${live.length} are live`);
  const ep = live.at(-1);
  const server = await ep.netns.listen({ port: 80 }, (s) => s.end(`${s.remoteAddress}\n`));
  try {
    const answer = await request(ep.ports[0].hostPort);
    if (answer !== OUTSIDE_ADDR) failures.push(`cycle ${done}: answer ${answer}`);
  } catch (e) {
    failures.push(`cycle ${done}: ${e.message}`);
  } finally {
    await new Promise((r) => server.close(r));
  }
}

// Warm-up: every path once (sockets opened on first use, code compiled), traffic included.
await runCycles({ net, cycles: 60, prefix: 'sw', every: { n: 30, fn: traffic } });
await settle(host, baseLinks);
const first = { cycles: 0, ...(await sample(host)) };
samples.push(first);
console.log(JSON.stringify(first));

await runCycles({
  net,
  cycles: CYCLES,
  prefix: 'sk',
  every: {
    n: EVERY,
    fn: async (done, live) => {
      await traffic(done, live);
      const s = { cycles: done, perSecond: +((done / (Date.now() - t0)) * 1000).toFixed(1), ...(await sample(host)) };
      samples.push(s);
      console.log(JSON.stringify(s));
    },
  },
});
await settle(host, baseLinks);
const last = { cycles: CYCLES, ...(await sample(host)) };
samples.push(last);
console.log(JSON.stringify(last));

if (last.fds > first.fds) failures.push(`open fds grew: ${first.fds} → ${last.fds}`);
for (const k of ['links', 'elements', 'runNetns']) if (last[k] !== first[k]) failures.push(`${k}: ${first[k]} → ${last[k]}`);
if (last.heapMiB - first.heapMiB >= HEAP_GROWTH_MIB) failures.push(`heap grew ${first.heapMiB} → ${last.heapMiB} MiB`);
if (last.rssMiB - first.rssMiB >= RSS_GROWTH_MIB) failures.push(`RSS grew ${first.rssMiB} → ${last.rssMiB} MiB`);
const left = await net.endpoints();
if (left.length !== 0) failures.push(`${left.length} endpoints left`);

await net.remove();
await host.delete();
await outside.delete();
const summary = { cycles: CYCLES, seconds: Math.round((Date.now() - t0) / 1000), first, last, failures };
console.log(`SOAK ${JSON.stringify(summary)}`);
process.exit(failures.length ? 1 : 0);
