#!/usr/bin/env node
// Profiling driver for the endpoint hot path (run inside the sandbox): N sequential
// BridgeNetwork.connect() in attach mode (namespaces made beforehand, untimed) then N
// remove(), printing wall and CPU per endpoint. Run it under `node --cpu-prof`,
// `perf record -g` (with --perf-basic-prof) or `strace -c -f` to see where the time goes.
//
//   node test/sandbox.js node benchmarks/profile.js [N] [attach|full] [DIST]
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { existsSync } from 'node:fs';
import v8 from 'node:v8';

// Markers for `strace -f`: the timed connects lie between these two failing stats.
const mark = (what) => existsSync(`/netplumb-profile-${what}`);

const n = Number(process.argv[2] ?? 200);
const mode = process.argv[3] ?? 'attach';
const dist = resolve(process.argv[4] ?? 'dist');
const { BridgeNetwork, Netns } = await import(pathToFileURL(`${dist}/index.js`).href);

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
const eps = [];
mark('start');
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < n; i++) {
  const publish = [{ hostPort: 20000 + i, containerPort: 80 }];
  sample();
  eps.push(await (mode === 'attach' ? net.connect(handles[i], { publish }) : net.connect(undefined, { netnsName: `prof${i}`, publish })));
  sample();
}
const wall = performance.now() - t0;
mark('end');
const cpu = process.cpuUsage(cpu0);
console.log(`${mode} connect: ${((wall * 1000) / n).toFixed(0)} µs wall, ${((cpu.user + cpu.system) / n).toFixed(0)} µs CPU (user ${(cpu.user / n).toFixed(0)}, sys ${(cpu.system / n).toFixed(0)}), ~${Math.round(allocated / n / 1024)} KiB of JS heap allocated per endpoint`);
// Only the connects (e.g. to count their syscalls against a run with N=0).
if (process.env.PROFILE_CONNECT_ONLY) process.exit(0);
const cpu1 = process.cpuUsage();
const t1 = performance.now();
for (const ep of eps) await ep.remove();
const rcpu = process.cpuUsage(cpu1);
console.log(`${mode} remove: ${(((performance.now() - t1) * 1000) / n).toFixed(0)} µs wall, ${((rcpu.user + rcpu.system) / n).toFixed(0)} µs CPU per endpoint`);
for (const h of handles) await h.delete();
await net.remove({ force: true });
