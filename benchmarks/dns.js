#!/usr/bin/env node
// The embedded DNS resolver's throughput and latency: questions per second and p50/p99
// per question, asked inside a container namespace at 127.0.0.11:53 by a load generator
// in its own process (so the resolver's event loop is measured, not the client's):
// names of the container's network over UDP and TCP, one at a time and many in flight,
// names read from the kernel (endpointRecords over a bridge network), and a name
// forwarded to an upstream nameserver in an "outside" namespace (198.51.100.0/24,
// itself a separate process). Bounded: a fixed number of questions per scenario.
//
//   node benchmarks/dns.js             20000 questions per scenario (about a minute on 2 cores)
//   node benchmarks/dns.js --quick     2000
//   node benchmarks/dns.js --out FILE  also write the results as JSON
//
// Runs in a throwaway network + mount namespace (re-executing itself through
// test/sandbox.js); never touches the machine's network.
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { summarize, round } from './lib/stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const quick = args.includes('--quick');
const outIdx = args.indexOf('--out');
const out = outIdx >= 0 ? args[outIdx + 1] : undefined;
const COUNT = quick ? 2000 : 20000;

if (process.getuid?.() !== 0) {
  console.error('dns bench: needs root (it creates namespaces, inside a sandbox)');
  process.exit(1);
}
if (process.env.NETPLUMB_SANDBOX !== '1') {
  const r = spawnSync(process.execPath, [join(root, 'test/sandbox.js'), process.execPath, fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const { BridgeNetwork, DnsResolver, Netns, endpointRecords } = await import('../dist/index.js');
const execFileP = promisify(execFile);
const ip = (...a) => spawnSync('ip', a, { stdio: 'inherit' });
const log = (msg) => process.stderr.write(`${msg}\n`);

// A network of 1000 names; the resolver asks this source at every question, as it would the network layer.
const NAMES = 1000;
const table = new Map(Array.from({ length: NAMES }, (_, i) => [`c${i}`, `172.31.${i >> 8}.${(i & 255) + 1}`]));
const records = { lookup: (network, name, type) => (table.has(name) ? (type === 'A' ? [table.get(name)] : []) : undefined) };

const container = await Netns.create('dnsbench-c');
const outside = await Netns.create('dnsbench-o');
ip('-n', 'dnsbench-c', 'link', 'set', 'lo', 'up');
ip('-n', 'dnsbench-o', 'link', 'set', 'lo', 'up');
ip('link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'wan', 'netns', 'dnsbench-o');
ip('addr', 'add', '198.51.100.1/24', 'dev', 'uplink');
ip('link', 'set', 'uplink', 'up');
ip('-n', 'dnsbench-o', 'addr', 'add', '198.51.100.53/24', 'dev', 'wan');
ip('-n', 'dnsbench-o', 'link', 'set', 'wan', 'up');

// The upstream: answers every A question with 203.0.113.7, in its own process.
const upstreamSrc = `
const dgram = require('node:dgram'); const p = require(${JSON.stringify(join(root, 'node_modules/dns-packet'))});
const s = dgram.createSocket('udp4');
s.on('message', (m, r) => { const q = p.decode(m); s.send(p.encode({ type: 'response', id: q.id, flags: p.RECURSION_AVAILABLE, questions: q.questions, answers: [{ type: 'A', name: q.questions[0].name, ttl: 60, data: '203.0.113.7' }] }), r.port, r.address); });
s.bind(53, '198.51.100.53', () => process.stdout.write('ready\\n'));`;
const upstream = spawn('ip', ['netns', 'exec', 'dnsbench-o', process.execPath, '-e', upstreamSrc], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve) => upstream.stdout.once('data', resolve));

const dir = mkdtempSync(join(os.tmpdir(), 'np-dnsbench-'));
const resolvConf = join(dir, 'resolv.conf');
writeFileSync(resolvConf, 'nameserver 198.51.100.53\n');
const resolver = new DnsResolver({ records, resolvConf });
await resolver.attach(container, 'bench');

// The same questions answered from the kernel: a bridge network with ENDPOINTS endpoints named by their owner label.
const ENDPOINTS = 20;
const host = await Netns.current();
const kernelNet = await BridgeNetwork.create({ netns: host, name: 'dnsbench', bridge: 'dnsbench', subnet: '172.30.0.0/24' });
const kernelContainers = [];
for (let i = 0; i < ENDPOINTS; i++) {
  const ns = await Netns.create(`dnsbench-k${i}`);
  ip('-n', `dnsbench-k${i}`, 'link', 'set', 'lo', 'up');
  await kernelNet.connect(ns, { owner: `k${i}/eth0` });
  kernelContainers.push(ns);
}
const kernelResolver = new DnsResolver({ records: endpointRecords({ netns: host, namesOf: (ep) => [ep.owner.split('/')[0]] }), resolvConf });
await kernelResolver.attach(kernelContainers[0], 'dnsbench');

async function scenario(label, o) {
  const spec = { timeoutMs: 2000, count: COUNT, netns: 'dnsbench-c', ...o };
  const cpu0 = process.cpuUsage();
  const { stdout } = await execFileP('ip', ['netns', 'exec', spec.netns, process.execPath, join(here, 'lib/dns-load.js'), JSON.stringify(spec)], {
    maxBuffer: 64 << 20,
  });
  const cpu = process.cpuUsage(cpu0);
  const r = JSON.parse(stdout);
  const s = summarize(r.latencies);
  const row = {
    scenario: label,
    transport: spec.transport,
    inFlight: spec.concurrency,
    questions: spec.count,
    answered: s.n,
    lost: r.lost,
    qps: round((s.n / r.wallUs) * 1e6),
    p50Us: round(s.median),
    p99Us: round(s.p99),
    maxUs: round(s.max),
    // CPU time of the resolver's process (this one) per answered question: what contention on a shared machine does not inflate.
    resolverCpuUsPerQuestion: round((cpu.user + cpu.system) / Math.max(1, s.n)),
    rcodes: r.rcodes,
  };
  if (row.rcodes[0] !== row.answered) throw new Error(`${label}: answers other than NOERROR: ${JSON.stringify(row.rcodes)}`);
  log(`  ${label.padEnd(28)} ${spec.transport} in flight ${String(spec.concurrency).padStart(2)}: ${String(row.qps).padStart(6)} q/s  p50 ${row.p50Us} µs  p99 ${row.p99Us} µs  cpu ${row.resolverCpuUsPerQuestion} µs/q  lost ${row.lost}`);
  return row;
}

const results = [];
try {
  log(`dns bench: ${COUNT} questions per scenario, ${NAMES} names on the network`);
  results.push(await scenario('own name, one at a time', { transport: 'udp', name: 'c500', type: 'A', concurrency: 1 }));
  results.push(await scenario('own name', { transport: 'udp', name: 'c500', type: 'A', concurrency: 32 }));
  results.push(await scenario('own name', { transport: 'tcp', name: 'c500', type: 'A', concurrency: 32 }));
  results.push(await scenario('unknown type (no data)', { transport: 'udp', name: 'c500', type: 'AAAA', concurrency: 32 }));
  results.push(await scenario('names from the kernel', { transport: 'udp', name: 'k7', type: 'A', concurrency: 32, netns: 'dnsbench-k0' }));
  results.push(await scenario('forwarded upstream', { transport: 'udp', name: 'example.test', type: 'A', concurrency: 32, count: Math.min(COUNT, 5000) }));
} finally {
  await resolver.close();
  await kernelResolver.close();
  await kernelNet.remove({ force: true });
  for (const ns of kernelContainers) await ns.delete();
  host.close();
  upstream.kill('SIGKILL');
  await container.delete();
  await outside.delete();
  rmSync(dir, { recursive: true, force: true });
}
const report = { date: new Date().toISOString(), machine: { cpus: os.cpus().length, kernel: os.release(), node: process.version, loadavg: os.loadavg().map((x) => round(x)) }, results };
if (out) writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
process.stdout.write(`${JSON.stringify(report)}\n`);
