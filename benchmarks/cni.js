#!/usr/bin/env node
// ADD and DEL of netplumb-cni end to end, as a runtime calls them (a new process per call,
// CNI_* in the environment, the configuration on stdin), beside the reference chain
// bridge + host-local + portmap from /usr/lib/cni (Debian's containernetworking-plugins),
// in one run: medians and p90 at 1 and at 200 live containers. Each measured container
// publishes one host port (portMappings). Run it in the sandbox:
//
//   node test/sandbox.js node benchmarks/cni.js [--iterations N] [--live 1,200] [--out FILE]
//
// Writes JSON to benchmarks/results/cni-DATE-HOST.json. Spawn costs are included on
// purpose: a plugin's start-up is part of every ADD.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { round, summarize } from './lib/stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const NETPLUMB = join(here, '..', 'bin', 'netplumb-cni.js');
const REF_DIR = '/usr/lib/cni';

const { values: opts } = parseArgs({
  options: {
    iterations: { type: 'string', default: '40' },
    live: { type: 'string', default: '1,200' },
    out: { type: 'string' },
  },
});
const ITER = Number(opts.iterations);
const LEVELS = opts.live.split(',').map(Number);

if (process.env.NETPLUMB_SANDBOX !== '1') {
  console.error('run inside the sandbox: node test/sandbox.js node benchmarks/cni.js');
  process.exit(2);
}
const log = (m) => process.stderr.write(`${m}\n`);
const work = mkdtempSync(join(os.tmpdir(), 'cni-bench-'));

/** One plugin call; resolves with wall time in ms (process spawn to exit) and the parsed stdout. */
function call(exe, env, stdin) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(exe, [], { env: { PATH: process.env.PATH, CNI_PATH: REF_DIR, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) reject(new Error(`${exe} ${env.CNI_COMMAND} exited ${code}: ${out} ${err}`));
      else resolve({ ms, result: out.trim() ? JSON.parse(out) : undefined });
    });
    child.stdin.end(JSON.stringify(stdin));
  });
}

/** A plugin set under test: how to ADD and DEL one container, as libcni would run its conflist. */
const setups = {
  netplumb: () => {
    const conf = {
      cniVersion: '1.0.0',
      name: 'benchnp',
      type: 'netplumb-cni',
      bridge: 'np-bench0',
      isGateway: true,
      ipMasq: true,
      ipam: { ranges: [[{ subnet: '10.64.0.0/16' }]], routes: [{ dst: '0.0.0.0/0' }] },
    };
    return {
      async add(env, port) {
        return (await call(NETPLUMB, env, { ...conf, runtimeConfig: { portMappings: [{ hostPort: port, containerPort: 80, protocol: 'tcp' }] } })).ms;
      },
      async del(env, port) {
        return (await call(NETPLUMB, env, { ...conf, runtimeConfig: { portMappings: [{ hostPort: port, containerPort: 80, protocol: 'tcp' }] } })).ms;
      },
    };
  },
  reference: () => {
    const list = { cniVersion: '1.0.0', name: 'benchref' };
    const bridge = {
      ...list,
      type: 'bridge',
      bridge: 'ref-bench0',
      isGateway: true,
      ipMasq: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.65.0.0/16' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(work, 'host-local') },
    };
    const portmap = { ...list, type: 'portmap', capabilities: { portMappings: true } };
    const pm = (port) => ({ runtimeConfig: { portMappings: [{ hostPort: port, containerPort: 80, protocol: 'tcp' }] } });
    const cache = new Map();
    return {
      // libcni: each plugin of the conflist in order, the previous result as prevResult.
      async add(env, port) {
        const b = await call(join(REF_DIR, 'bridge'), env, bridge);
        const p = await call(join(REF_DIR, 'portmap'), env, { ...portmap, ...pm(port), prevResult: b.result });
        cache.set(env.CNI_CONTAINERID, p.result);
        return b.ms + p.ms;
      },
      // ... and DEL in reverse order, with the cached result.
      async del(env, port) {
        const prevResult = cache.get(env.CNI_CONTAINERID);
        const p = await call(join(REF_DIR, 'portmap'), env, { ...portmap, ...pm(port), prevResult });
        const b = await call(join(REF_DIR, 'bridge'), env, { ...bridge, prevResult });
        cache.delete(env.CNI_CONTAINERID);
        return p.ms + b.ms;
      },
    };
  },
};

let nsCounter = 0;
function newNetns() {
  const name = `bench${++nsCounter}`;
  execFileSync('ip', ['netns', 'add', name]);
  return name;
}
function envOf(command, ns) {
  return { CNI_COMMAND: command, CNI_CONTAINERID: `ctr-${ns}`, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0' };
}

/** Runs `n` tasks with at most `width` at once. */
async function pool(n, width, task) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await task(next++);
  }));
}

/** Both plugin sets at each live count, their measured calls interleaved so that noise hits both alike. */
async function measure(names) {
  const plugins = Object.fromEntries(names.map((n) => [n, setups[n]()]));
  const live = Object.fromEntries(names.map((n) => [n, []]));
  let port = 20000;
  const out = Object.fromEntries(names.map((n) => [n, {}]));
  const s = (v) => {
    const x = summarize(v);
    return { median: round(x.median), p90: round(x.p90), min: round(x.min), n: x.n };
  };
  for (const level of LEVELS) {
    // Bring the live count to level - 1: the measured container is the level-th.
    for (const n of names) {
      await pool(level - 1 - live[n].length, 4, async () => {
        const ns = newNetns();
        const p = port++;
        await plugins[n].add(envOf('ADD', ns), p);
        live[n].push({ ns, port: p });
      });
    }
    const samples = Object.fromEntries(names.map((n) => [n, { add: [], del: [] }]));
    for (let i = 0; i < ITER; i++) {
      for (const n of i % 2 ? [...names].reverse() : names) {
        const ns = newNetns();
        const p = port++;
        samples[n].add.push(await plugins[n].add(envOf('ADD', ns), p));
        samples[n].del.push(await plugins[n].del(envOf('DEL', ns), p));
        execFileSync('ip', ['netns', 'del', ns]);
      }
    }
    for (const n of names) {
      out[n][level] = { add: s(samples[n].add), del: s(samples[n].del) };
      log(`${n} at ${level} live: ADD median ${out[n][level].add.median} ms p90 ${out[n][level].add.p90} ms; DEL median ${out[n][level].del.median} ms p90 ${out[n][level].del.p90} ms`);
    }
  }
  for (const n of names) {
    await pool(live[n].length, 4, async (i) => {
      await plugins[n].del(envOf('DEL', live[n][i].ns), live[n][i].port);
      execFileSync('ip', ['netns', 'del', live[n][i].ns]);
    });
  }
  return out;
}

/** Start-up alone: VERSION, the cheapest call. */
async function startup(exe) {
  const v = [];
  for (let i = 0; i < 20; i++) v.push((await call(exe, { CNI_COMMAND: 'VERSION' }, { cniVersion: '1.0.0' })).ms);
  const x = summarize(v);
  return { median: round(x.median), p90: round(x.p90), min: round(x.min), n: x.n };
}

const started = new Date();
const loadBefore = os.loadavg();
const results = {
  benchmark: 'cni',
  date: started.toISOString(),
  host: os.hostname(),
  cpus: os.cpus().length,
  node: process.version,
  kernel: os.release(),
  iterations: ITER,
  unit: 'ms, wall clock per call from spawn to exit (reference: bridge+portmap calls summed; bridge runs host-local itself)',
  note: 'noisy: the machine is shared; load averages before and after are recorded',
  loadavgBefore: loadBefore.map((l) => round(l)),
  startup: { netplumb: await startup(NETPLUMB), reference: await startup(join(REF_DIR, 'bridge')) },
  ...(await measure(['netplumb', 'reference'])),
  loadavgAfter: os.loadavg().map((l) => round(l)),
};
rmSync(work, { recursive: true, force: true });
const file = opts.out ?? join(here, 'results', `cni-${started.toISOString().slice(0, 10)}-${os.hostname()}.json`);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(file, `${JSON.stringify(results, null, 1)}\n`);
log(`results: ${file}`);
