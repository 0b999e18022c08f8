#!/usr/bin/env node
// Profiling driver for the endpoint hot path (run inside the sandbox): N
// BridgeNetwork.connect() in attach mode (namespaces made beforehand, untimed), one at a
// time or IN_FLIGHT at once, then N remove(), printing wall and CPU per endpoint (and, in
// flight, the JS thread's share). Run it under `node --cpu-prof`, `perf record -g` (with
// --perf-basic-prof) or `strace -c -f` to see where the time goes.
//
//   node test/sandbox.js node benchmarks/profile.js [N] [attach|full] [DIST] [IN_FLIGHT]
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import v8 from 'node:v8';
import { subscribe } from 'node:diagnostics_channel';

let timing = false;

// Markers for `strace -f`: the timed connects lie between these two failing stats.
const mark = (what) => existsSync(`/netplumb-profile-${what}`);

const n = Number(process.argv[2] ?? 200);
const mode = process.argv[3] ?? 'attach';
const dist = resolve(process.argv[4] ?? 'dist');
const inFlight = Number(process.argv[5] ?? 1);
// CPU time of the JS thread (the process's main thread), µs, from /proc.
const mainThreadUs = () => {
  const f = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100;
};
const { BridgeNetwork, Netns } = await import(pathToFileURL(`${dist}/index.js`).href);
// Wall time of each native pipeline run, JS side (submit to resolution): with the steps'
// own times below, what the thread hop and the sysctl step cost; the rest of a connect is JS.
const { native } = await import(pathToFileURL(`${dist}/native.js`).href);
const pipelineUs = [];
if (native.pipeline) {
  const real = native.pipeline;
  native.pipeline = async (...args) => {
    const t = performance.now();
    try {
      return await real.apply(native, args);
    } finally {
      if (timing) pipelineUs.push((performance.now() - t) * 1000);
    }
  };
}

const net = await BridgeNetwork.create({ name: 'prof', bridge: 'npprof0', subnet: '172.29.0.0/16' });
const handles = [];
if (mode === 'attach') for (let i = 0; i < n; i++) handles.push(await Netns.create(`prof${i}`));
// warm-up
for (let i = 0; i < 20; i++) {
  const ep = await net.connect(undefined, { publish: [{ hostPort: 30000 + i, containerPort: 80 }] });
  await ep.remove();
}
// JS heap allocated: new-space usage sampled around every connect (a drop means a scavenge
// emptied it; what was allocated since the last sample is then the usage itself).
const newSpace = () => v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space').space_used_size;
let allocated = 0;
let last = newSpace();
const sample = () => {
  const u = newSpace();
  allocated += u >= last ? u - last : u;
  last = u;
};
// Each netlink step's own time on the addon thread (netplumb:batch), by what it does.
const steps = new Map();
subscribe('netplumb:batch', (m) => {
  if (!timing) return;
  const op = m.operations.find((o) => !o.startsWith('NFNL_MSG_BATCH')) ?? m.operations[0];
  const key = m.family === 'netfilter' ? `nft: ${m.messages - 2} messages` : m.messages > 1 ? `rtnl batch of ${m.messages} (${op.split(' ')[0]} ...)` : op.replace(/veth[0-9a-f]+/, 'vethX');
  if (!steps.has(key)) steps.set(key, []);
  steps.get(key).push(m.durationMs * 1000);
});
const eps = [];
timing = true;
mark('start');
const cpu0 = process.cpuUsage();
const main0 = mainThreadUs();
const t0 = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (next < n) {
      const i = next++;
      const publish = [{ hostPort: 20000 + i, containerPort: 80 }];
      sample();
      eps.push(await (mode === 'attach' ? net.connect(handles[i], { publish }) : net.connect(undefined, { netnsName: `prof${i}`, publish })));
      sample();
    }
  }),
);
const wall = performance.now() - t0;
const mainUs = mainThreadUs() - main0;
mark('end');
timing = false;
const cpu = process.cpuUsage(cpu0);
console.log(`${mode} connect${inFlight > 1 ? `, ${inFlight} in flight` : ''}: ${((wall * 1000) / n).toFixed(0)} µs wall, ${((cpu.user + cpu.system) / n).toFixed(0)} µs CPU (user ${(cpu.user / n).toFixed(0)}, sys ${(cpu.system / n).toFixed(0)}; JS thread ${(mainUs / n).toFixed(0)}), ${(n / wall * 1000).toFixed(0)}/s, ~${Math.round(allocated / n / 1024)} KiB of JS heap allocated per endpoint`);
const med = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const [k, v] of steps) console.log(`  step ${k}: median ${med(v).toFixed(0)} µs on the addon thread (${v.length} times)`);
if (pipelineUs.length) console.log(`  native.pipeline, submit to resolution: median ${med(pipelineUs).toFixed(0)} µs (${pipelineUs.length} runs)`);
// Only the connects (e.g. to count their syscalls against a run with N=0).
if (process.env.PROFILE_CONNECT_ONLY) process.exit(0);
const cpu1 = process.cpuUsage();
const t1 = performance.now();
for (const ep of eps) await ep.remove();
const rcpu = process.cpuUsage(cpu1);
console.log(`${mode} remove: ${(((performance.now() - t1) * 1000) / n).toFixed(0)} µs wall, ${((rcpu.user + rcpu.system) / n).toFixed(0)} µs CPU per endpoint`);
for (const h of handles) await h.delete();
await net.remove({ force: true });
