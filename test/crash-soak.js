#!/usr/bin/env node
// Crash rounds (issue 10 §7): ROUNDS workers connect and remove endpoints with published
// ports on one network and are SIGKILLed at random instants; afterwards cleanupNetworks()
// must leave no orphan of any kind — judged through `ip -j` and `nft -j`. Run in the
// sandbox: node test/sandbox.js node test/crash-soak.js [ROUNDS]
import { spawn, execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BridgeNetwork, Netns, cleanupNetworks } from '../dist/index.js';

const ROUNDS = Number(process.argv[2] ?? 200);
const WORKER = fileURLToPath(new URL('./fixtures/multiprocess/worker.js', import.meta.url));
const j = (args) => JSON.parse(execFileSync('ip', ['-j', ...args], { encoding: 'utf8' }) || '[]');

const host = await Netns.create('soakhost');
const net = await BridgeNetwork.create({ netns: host, name: 'crash', subnet: '172.27.0.0/20' });
let kills = 0;
let connects = 0;
for (let round = 0; round < ROUNDS; round += 2) {
  // Two at a time, so that crashes also land amid another process's work; the second
  // connects 4 at a time, so that they also land amid group commits.
  await Promise.all(
    [0, 1].map(
      (k) =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, [WORKER, 'soakhost', 'crash', '40', `sk${round + k}x`, String(30000 + k * 8), '8'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NOREMOVE: Math.random() < 0.5 ? '1' : '0', INFLIGHT: k ? '4' : '1' } });
          let out = '';
          // Killed at a random instant once it has started connecting (its first connect
          // is reported), or after 5 s if it never gets there.
          let timer = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.stdout.on('data', (d) => {
            if (!out) {
              clearTimeout(timer);
              timer = setTimeout(() => child.kill('SIGKILL'), Math.random() * 120);
            }
            out += d;
          });
          child.on('exit', (code, signal) => {
            clearTimeout(timer);
            if (signal === 'SIGKILL') kills++;
            else if (code !== 0) console.error(`worker exited ${code}: ${out}`);
            connects += out.split('\n').filter((l) => l.includes('"connected"')).length;
            resolve();
          });
        }),
    ),
  );
}
// The kernel destroys dead processes' namespaces in the background; give it a moment.
await new Promise((r) => setTimeout(r, 1000));
const report = await cleanupNetworks({ netns: host });
await new Promise((r) => setTimeout(r, 500));
const again = await cleanupNetworks({ netns: host });

const problems = [];
const links = j(['-n', 'soakhost', '-d', 'link', 'show']);
const ports = links.filter((l) => l.master === net.bridge);
if (ports.some((l) => !l.ifalias?.startsWith('netplumb:endpoint'))) problems.push('untagged bridge port');
if (links.some((l) => l.ifname.startsWith('veth') && l.master !== net.bridge)) problems.push('veth off the bridge');
const ids = new Set(ports.map((l) => JSON.parse(l.ifalias.slice('netplumb:endpoint '.length)).id));
const table = JSON.parse(execFileSync('ip', ['netns', 'exec', 'soakhost', 'nft', '-j', 'list', 'table', 'inet', 'netplumb'], { encoding: 'utf8' }));
for (const x of table.nftables) {
  const s = x.set ?? x.map;
  for (const e of s?.elem ?? []) {
    const c = (Array.isArray(e) ? e[0] : e)?.elem?.comment ?? '';
    const id = /ep=(\w+)/.exec(c)?.[1];
    if (id && !ids.has(id)) problems.push(`${s.name} element of a dead endpoint ${id}`);
  }
}
const named = readdirSync('/run/netns').filter((n) => n.startsWith('sk'));
if (named.length !== ids.size) problems.push(`${named.length} named namespaces but ${ids.size} endpoints`);
const anyLeft = again.endpoints.length + again.elements.length + again.networks.length;
if (anyLeft) problems.push(`a second cleanup still found ${anyLeft} things`);
console.log(`crash soak: ${ROUNDS} worker runs, ${kills} SIGKILLs, ${connects} connects; cleanup reclaimed ${report.endpoints.length} endpoints and ${report.elements.length} elements; ${ids.size} survivors`);
for (const ep of await net.endpoints()) await ep.remove();
for (const n of named) await Netns.unmount(n);
await net.remove();
await host.delete();
if (problems.length || kills < ROUNDS / 2) {
  console.error(`crash soak FAILED: ${problems.slice(0, 10).join('; ') || `only ${kills} SIGKILLs`}`);
  process.exit(1);
}
